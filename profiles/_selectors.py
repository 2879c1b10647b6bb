"""Which records a field or status table takes: sets of numbers and record selectors.

A number set is written in a profile as an integer, a range string (``"1-12"``,
``"0x10-0x17"``) or a list of both; it is kept as sorted, merged, inclusive
ranges (a tuple of pairs), or None for "any". A :class:`RecordSelector` holds
what one ``[[fields]]`` or ``[[status]]`` table asks of a record's header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ._toml import TableReader

__all__ = ["FUNCTIONS", "IntSet", "RecordHead", "RecordSelector", "contains", "int_set",
           "intersects", "is_subset", "read_int_set", "read_selector", "set_values"]

IntSet = tuple[tuple[int, int], ...]
"""Inclusive ranges, sorted and merged; ``None`` where a set is used means "any"."""

FUNCTIONS = ("instantaneous", "maximum", "minimum", "error")
_RANGE = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|\d+)\s*(?:-\s*(0[xX][0-9a-fA-F]+|\d+)\s*)?$")
_VIB = re.compile(r"^(?:[0-9a-f]{2})+$")
_ZERO: IntSet = ((0, 0),)  # storage, tariff and subunit default to 0 (the actual value)
MAX_EXPANSION = 1000  # values one field may expand into (storage ranges of real meters: < 100)


class RecordHead(Protocol):
    """What profiles read of a record's header (``mbus.records.RecordShape`` satisfies it).

    ``function``, ``storage``, ``tariff``, ``subunit``, ``quantity``, ``unit`` as the
    decoder gives them, ``extensions`` (names of the combinable VIFEs) and ``vif_hex``
    (the VIF and VIFE bytes as lower-case hex). A head may also say its ``coding`` (as
    ``RecordShape`` does): ``"real32"`` tells that the record's values are floats, which
    converts them with less work.
    """

    @property
    def function(self) -> str: ...
    @property
    def storage(self) -> int: ...
    @property
    def tariff(self) -> int: ...
    @property
    def subunit(self) -> int: ...
    @property
    def quantity(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def extensions(self) -> tuple[str, ...]: ...
    @property
    def vif_hex(self) -> str: ...


def int_set(ranges: Iterable[tuple[int, int]]) -> IntSet:
    """Ranges sorted and merged (touching ranges join)."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return tuple(merged)


def contains(ranges: IntSet | None, value: int) -> bool:
    """Whether ``value`` is in the set (None = any)."""
    if ranges is None:
        return True
    return any(low <= value <= high for low, high in ranges)


def is_subset(inner: IntSet | None, outer: IntSet | None) -> bool:
    """Whether every value of ``inner`` is in ``outer`` (None = any)."""
    if outer is None:
        return True
    if inner is None:
        return False
    return all(any(o_low <= low and high <= o_high for o_low, o_high in outer)
               for low, high in inner)


def intersects(first: IntSet | None, second: IntSet | None) -> bool:
    """Whether the sets share a value (None = any)."""
    if first is None or second is None:
        return True
    return any(low <= o_high and o_low <= high for low, high in first for o_low, o_high in second)


def set_values(ranges: IntSet) -> list[int]:
    """The values of a set, in order."""
    return [value for low, high in ranges for value in range(low, high + 1)]


def read_int_set(reader: TableReader, key: str, *, minimum: int = 0, maximum: int,
                 default: IntSet | None = None) -> IntSet | None:
    """The number set under ``key`` (``default`` when absent; None for ``"any"``), each
    value within the bounds."""
    if not reader.has(key):
        reader.raw(key, None)
        return default
    value = reader.raw(key)
    if value == "any":
        return None
    items = value if isinstance(value, list) else [value]
    if not items:
        raise reader.error(key, "an empty list matches nothing; leave the key out to match any")
    ranges: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            low = high = item
        elif isinstance(item, str) and (found := _RANGE.match(item)):
            low = int(found.group(1), 0)
            high = int(found.group(2), 0) if found.group(2) else low
            if high < low:
                raise reader.error(key, f"range {item!r} runs backwards")
        else:
            raise reader.error(key, f"{item!r} is not an integer or a range such as \"1-12\"")
        if low < minimum or high > maximum:
            raise reader.error(key, f"{item!r} is outside {minimum}-{maximum}")
        ranges.append((low, high))
    return int_set(ranges)


@dataclass(frozen=True, slots=True)
class RecordSelector:
    """What a record's header must say to be taken (None = any; a profile's absent keys
    give function instantaneous and storage, tariff and subunit 0).

    ``extensions`` is the exact set of combinable VIFEs the record must carry
    (None: any). ``origin`` is ``"record"``, ``"layout"`` or None (both).
    """

    functions: frozenset[str] | None = None
    storage: IntSet | None = None
    tariff: IntSet | None = None
    subunit: IntSet | None = None
    quantity: str | None = None
    vif: IntSet | None = None
    vib: str | None = None
    extensions: frozenset[str] | None = frozenset()
    origin: str | None = None

    def matches(self, head: RecordHead, synthetic: bool) -> bool:
        """Whether the record with header ``head`` is taken (``synthetic``: from a layout)."""
        if self.origin is not None and (self.origin == "layout") != synthetic:
            return False
        if self.quantity is not None and head.quantity != self.quantity:
            return False
        if self.vib is not None and head.vif_hex != self.vib:
            return False
        # contains() written out (no call, no tuple), the checks that reject most first: this
        # runs for each new record head and field rule. With the rule index by quantity, the
        # meter part of a first pass over the wireless dev corpus went from 736k to 419k
        # instructions per telegram (callgrind; decode + to_dict without profiles: 458k).
        ranges = self.storage
        if ranges is not None:
            value = head.storage
            for low, high in ranges:
                if low <= value <= high:
                    break
            else:
                return False
        ranges = self.tariff
        if ranges is not None:
            value = head.tariff
            for low, high in ranges:
                if low <= value <= high:
                    break
            else:
                return False
        ranges = self.subunit
        if ranges is not None:
            value = head.subunit
            for low, high in ranges:
                if low <= value <= high:
                    break
            else:
                return False
        if self.functions is not None and head.function not in self.functions:
            return False
        if self.vif is not None:
            vif_hex = head.vif_hex
            if not vif_hex or not contains(self.vif, int(vif_hex[:2], 16) & 0x7F):
                return False
        extensions = self.extensions
        return extensions is None or (frozenset(head.extensions) == extensions
                                      if head.extensions else not extensions)

    @property
    def is_empty(self) -> bool:
        """True when the selector names no quantity, VIF or VIB (it would take any record)."""
        return self.quantity is None and self.vif is None and self.vib is None


SELECTOR_KEYS = ("quantity", "function", "storage", "tariff", "subunit", "vif", "vib",
                 "extensions", "any_extensions", "origin")


def read_selector(reader: TableReader) -> RecordSelector:
    """The record selector keys of one table (see the format's ``[[fields]]``)."""
    functions: list[str] | None = reader.optional_text_list("function", ["instantaneous"])
    if functions == ["any"]:
        functions = None
    if functions is not None:
        for function in functions:
            if function not in FUNCTIONS:
                raise reader.error("function", f"{function!r} is not one of "
                                               f"{', '.join(FUNCTIONS)}")
    vib = reader.optional_text("vib", None)
    if vib is not None:
        vib = vib.replace(" ", "").lower()
        if not _VIB.match(vib):
            raise reader.error("vib", f"{vib!r} is not hex bytes (such as \"fd17\")")
    extensions_list = reader.optional_text_list("extensions", None)
    any_extensions = reader.optional_boolean("any_extensions", False)
    if any_extensions and extensions_list is not None:
        raise reader.error("any_extensions", "give either extensions or any_extensions")
    if extensions_list is not None:
        extensions: frozenset[str] | None = frozenset(extensions_list)
    elif any_extensions or vib is not None:
        extensions = None
    else:
        extensions = frozenset()
    return RecordSelector(
        functions=None if functions is None else frozenset(functions),
        storage=read_int_set(reader, "storage", maximum=2**40, default=_ZERO),
        tariff=read_int_set(reader, "tariff", maximum=2**20, default=_ZERO),
        subunit=read_int_set(reader, "subunit", maximum=2**10, default=_ZERO),
        quantity=reader.optional_text("quantity", None),
        vif=read_int_set(reader, "vif", maximum=0x7F),
        vib=vib,
        extensions=extensions,
        origin=reader.optional_choice("origin", ("record", "layout"), None),
    )
