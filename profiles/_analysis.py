"""Helping a user add a meter: why a profile matched, and a starting profile file.

:func:`explain_detection` says, criterion by criterion, why a profile's
``[detect]`` takes a meter or not; :func:`starting_profile` writes a meter
profile naming every record of a telegram by its generic name, for a user to
rename and extend (the ``analyze`` commands of ``mbus`` and ``wmbus`` use both).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._engine import generic_name
from ._meter import Detection
from ._selectors import IntSet, RecordHead, contains

__all__ = ["explain_detection", "starting_profile"]

_SKIPPED = ("manufacturer_specific", "more_records_follow", "global_readout")


def _ranges(ranges: IntSet) -> str:
    return ", ".join(f"0x{low:02x}" if low == high else f"0x{low:02x}-0x{high:02x}"
                     for low, high in ranges)


def explain_detection(detect: Detection, manufacturer: str | None, version: int | None,
                      device_type: int | None, ci: int | None,
                      payload: bytes = b"") -> tuple[bool, list[str]]:
    """Whether ``detect`` takes this meter, and one reason per criterion."""
    matches = manufacturer in detect.manufacturers
    reasons = [f"manufacturer {manufacturer or '(none)'} "
               f"{'is' if matches else 'is not'} {', '.join(sorted(detect.manufacturers))}"]
    for label, ranges, value in (("version", detect.version, version),
                                 ("device type", detect.device_type, device_type),
                                 ("CI", detect.ci, ci)):
        if ranges is None:
            reasons.append(f"{label}: any")
            continue
        inside = value is not None and contains(ranges, value)
        matches = matches and inside
        shown = "(none)" if value is None else f"0x{value:02x}"
        reasons.append(f"{label} {shown} {'in' if inside else 'not in'} {_ranges(ranges)}")
    if detect.prefix is not None:
        inside = payload.startswith(detect.prefix)
        matches = matches and inside
        reasons.append(f"payload {'starts' if inside else 'does not start'} with "
                       f"{detect.prefix.hex()}")
    return matches, reasons


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def starting_profile(name: str, *, manufacturer: str | None, version: int | None,
                     device_type: int | None, heads: Sequence[RecordHead],
                     values: Sequence[object] = (), manufacturer_data: bytes = b"") -> str:
    """A meter profile (TOML text) naming every record of a telegram by its generic name.

    ``values`` (record *i*'s value) and ``manufacturer_data`` go into comments, so the
    user sees what each field read. The file loads as it is; rename fields to the
    ``<what>_<unit>`` convention and describe manufacturer bytes with a layout.
    """
    lines = ['kind = "meter"', "", "[profile]", f"name = {_quote(name)}",
             f"description = {_quote('Describe the meter family here')}",
             "source = " + _quote("Written by analyze from one telegram: check against "
                                  "the data sheet"),
             "", "[detect]", f"manufacturer = {_quote(manufacturer or 'XXX')}"]
    if version is not None:
        lines.append(f"version = 0x{version:02x}")
    if device_type is not None:
        lines.append(f"device_type = 0x{device_type:02x}")
    taken: set[tuple[object, ...]] = set()
    for index, head in enumerate(heads):
        value = values[index] if index < len(values) else None
        if head.function in _SKIPPED:
            continue
        key = (head.function, head.storage, head.tariff, head.subunit, head.quantity,
               head.vif_hex, tuple(head.extensions))
        if key in taken:
            lines += ["", f"# record {index}: the same coding as an earlier record; "
                          "record keys cannot tell them apart"]
            continue
        taken.add(key)
        lines += ["", "[[fields]]"]
        if head.quantity in ("manufacturer_specific", "unknown", "any"):
            lines += [f"name = {_quote(f'manufacturer_{head.vif_hex}')}",
                      f"vib = {_quote(head.vif_hex)}  # {head.quantity}: describe it "
                      "with a [[status]] table or a layout"]
        else:
            field, unit = generic_name(head)
            lines += [f"name = {_quote(field)}", f"quantity = {_quote(head.quantity)}"]
            if unit:
                lines.append(f"unit = {_quote(unit)}")
            if head.extensions:
                lines.append("extensions = [" + ", ".join(_quote(extension) for extension
                                                         in head.extensions) + "]")
        if head.function != "instantaneous":
            lines.append(f"function = {_quote(head.function)}")
        for axis in ("storage", "tariff", "subunit"):
            if getattr(head, axis):
                lines.append(f"{axis} = {getattr(head, axis)}")
        if value is not None:
            lines[-1] += f"  # this telegram: {value} {head.unit}".rstrip()
    if manufacturer_data:
        lines += ["", "# Manufacturer data after DIF 0F/1F (" + manufacturer_data.hex() + "):",
                  "# [[layouts]]", '# from = "manufacturer_data"',
                  '# items = [ { quantity = "...", length = 2 } ]']
    return "\n".join(lines) + "\n"
