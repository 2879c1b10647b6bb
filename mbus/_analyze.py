"""``analyze``: a telegram's layers, records and bytes, and how profiles named them.

What a user adding a meter needs to see: each record with its DIF/VIF and data
bytes, which profile matched the meter and why (or why not), which field used
which record, which records no field used, and a starting profile file. The
``mbus analyze`` and ``wmbus analyze`` commands print :func:`analysis_lines`.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import profiles

from ._meter import MeterSource, meter_fields
from ._record_values import python_value, record_dict

__all__ = ["analysis_lines", "starting_profile_path", "write_starting_profile"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_DATA_FUNCTIONS = ("manufacturer_specific", "more_records_follow")


def _who(source: MeterSource) -> tuple[str | None, int | None, int | None]:
    header = source.header
    manufacturer = source.manufacturer or (header.manufacturer if header else None)
    return (manufacturer, header.version if header else None,
            header.medium if header else None)


def analysis_lines(library: profiles.MeterProfiles | None, source: MeterSource) -> list[str]:
    """The records with their bytes, the profile decision, the named fields, unused records."""
    manufacturer, version, device_type = _who(source)
    meter = meter_fields(library, source) if library is not None else None
    users: dict[int, list[str]] = {}
    if meter is not None:
        for field in meter.fields:
            if field.record is not None:
                users.setdefault(field.record, []).append(field.name)
    found = library.find(manufacturer, version, device_type, source.ci,
                         source.payload) if library is not None else None
    if found is not None:  # records read by status tables are used too
        for index, (shape, _) in enumerate(source.records):
            for table in found.status:
                if table.selector is not None and table.selector.matches(shape, False):
                    users.setdefault(index, []).append(f"[[status]] -> {table.into}")
    lines = [f"records ({len(source.records)}):"]
    for index, (shape, data) in enumerate(source.records):
        document = record_dict(shape, data)
        where = [f"{axis} {getattr(shape, axis)}" for axis in ("storage", "tariff", "subunit")
                 if getattr(shape, axis)]
        if shape.function != "instantaneous":
            where.insert(0, shape.function)
        if shape.extensions:
            where.append(", ".join(shape.extensions))
        detail = f" ({'; '.join(where)})" if where else ""
        used = ", ".join(users.get(index, [])) or "-"
        lines.append(f"  #{index:<2} DIF {shape.dif_hex or '-'} VIF {shape.vif_hex or '-'} "
                     f"data {data.hex() or '-'}: {shape.quantity}{detail} = "
                     f"{document['value']} {shape.unit}".rstrip() + f"  -> {used}")
    if library is None:
        lines.append("profiles: off")
        return lines
    candidates = [profile for profile in library.profiles
                  if manufacturer in profile.detect.manufacturers]
    if found is not None:
        lines.append(f"profile {found.name} ({found.file}) matched:")
        lines += [f"  {reason}" for reason in profiles.explain_detection(
            found.detect, manufacturer, version, device_type, source.ci, source.payload)[1]]
    else:
        lines.append(f"no profile matched: generic names ({len(candidates)} profiles of "
                     f"manufacturer {manufacturer or '(none)'})")
    for profile in candidates:
        if profile is found:
            continue
        takes, reasons = profiles.explain_detection(
            profile.detect, manufacturer, version, device_type, source.ci, source.payload)
        verdict = "also matches, less specific" if takes else "does not match"
        lines.append(f"  profile {profile.name} {verdict}: "
                     + "; ".join(reason for reason in reasons
                                 if takes or " not " in reason or "does not" in reason))
    assert meter is not None
    lines += meter.text_lines()
    unused = [str(index) for index, (shape, _) in enumerate(source.records)
              if index not in users and shape.function not in _DATA_FUNCTIONS]
    lines.append(f"records no field used: {', '.join(unused) or 'none'}")
    blocks = [bytes(data) for shape, data in source.records
              if shape.function in _DATA_FUNCTIONS]
    if blocks:
        lines.append(f"manufacturer data ({len(blocks[0])} bytes): {blocks[0].hex()} "
                     "(describe it with a [[layouts]] table)")
    return lines


def write_starting_profile(path: str | Path, source: MeterSource) -> str:
    """Write a starting profile for the telegram's meter to ``path`` (its name is the
    file's name); returns the text written."""
    manufacturer, version, device_type = _who(source)
    heads = [shape for shape, _ in source.records]
    values = [python_value(shape, data)[0] for shape, data in source.records]
    data = b"".join(bytes(data) for shape, data in source.records
                    if shape.function in _DATA_FUNCTIONS)
    text = profiles.starting_profile(Path(path).stem, manufacturer=manufacturer,
                                     version=version, device_type=device_type, heads=heads,
                                     values=values, manufacturer_data=data)
    Path(path).write_text(text, encoding="utf-8")
    return text


def starting_profile_path(text: str) -> Path:
    """The ``--write-profile`` path, checked (an argparse type): its name becomes the
    profile's name."""
    path = Path(text)
    if path.suffix != ".toml" or not _NAME.match(path.stem):
        raise argparse.ArgumentTypeError(
            f"{text!r}: the profile file is NAME.toml, NAME of letters, digits and "
            "underscores (it becomes the profile's name)")
    return path
