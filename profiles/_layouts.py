"""Manufacturer byte layouts: declarative reads of manufacturer-specific bytes.

A layout reads a byte string (the manufacturer data after DIF 0x0F/0x1F, the
payload of a manufacturer-specific CI, or the data of one record) item by
item and yields *synthetic records* (:class:`LayoutRecord`) that a profile's
field and status rules match like the telegram's own records. Every read is
bounds-checked: bytes that end early, a bad BCD digit or a repeat count out of
range is a :class:`LayoutError` naming the item and byte offset, never an
``IndexError`` or ``struct.error``; the records read before it are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from ._errors import ProfileError
from ._selectors import FUNCTIONS, RecordSelector, read_selector
from ._toml import TableReader
from ._units import UNITS

__all__ = ["ITEM_TYPES", "Layout", "LayoutError", "LayoutHead", "LayoutItem", "LayoutRecord",
           "layout_head", "read_layout", "read_layout_table"]

ITEM_TYPES = ("uint", "int", "bcd", "date", "datetime", "hex", "skip")
SOURCES = ("manufacturer_data", "payload", "record")
MAX_ITEMS = 256  # items of one layout, groups counted with their items
MAX_REPEAT = 64  # repetitions of one group
_BITS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIXED_LENGTHS = {"date": 2, "datetime": 4}


class LayoutError(ProfileError):
    """Manufacturer bytes that do not fit their layout; ``offset`` is the byte offset in
    the bytes the layout reads."""

    def __init__(self, message: str, *, offset: int, item: str, file: str | None = None,
                 table: str | None = None) -> None:
        self.offset = offset
        self.item = item
        super().__init__(f"item {item} at byte {offset}: {message}", file=file, table=table)

    def _state(self) -> dict[str, object]:
        return {**super()._state(), "offset": self.offset, "item": self.item}


class LayoutHead(NamedTuple):
    """What a synthetic record says of itself: the attributes of ``RecordHead``.

    Heads are shared (one object per distinct head, see :func:`layout_head`), as the
    decoders share record shapes, so the engine plans a telegram by its heads' ids.
    """

    quantity: str
    unit: str
    storage: int = 0
    function: str = "instantaneous"
    tariff: int = 0
    subunit: int = 0
    extensions: tuple[str, ...] = ()
    vif_hex: str = ""


class LayoutRecord(NamedTuple):
    """A synthetic record read by a layout: its (shared) head and its value."""

    head: LayoutHead
    value: Decimal | int | str


_HEADS: dict[tuple[str, str, int, str, int, int], LayoutHead] = {}
_HEADS_LIMIT = 65536


def layout_head(quantity: str, unit: str, storage: int, function: str, tariff: int,
                subunit: int) -> LayoutHead:
    """The one shared :class:`LayoutHead` with these attributes."""
    key = (quantity, unit, storage, function, tariff, subunit)
    head = _HEADS.get(key)
    if head is None:
        if len(_HEADS) >= _HEADS_LIMIT:
            _HEADS.clear()  # plans that hold older heads keep them alive
        head = _HEADS[key] = LayoutHead(quantity, unit, storage, function, tariff, subunit)
    return head


@dataclass(frozen=True, slots=True)
class LayoutItem:
    """One item of a layout (see the format's ``[[layouts]]``)."""

    label: str
    type: str = "uint"
    length: int = 0
    offset: int | None = None
    big_endian: bool = False
    bits: tuple[int, int] | None = None
    quantity: str | None = None
    unit: str = ""
    scale: Decimal | None = None
    storage: int = 0
    tariff: int = 0
    subunit: int = 0
    function: str = "instantaneous"
    name: str | None = None
    present_if: tuple[str, int] | None = None
    repeat: int | str | None = None
    storage_start: int = 0
    group: tuple[LayoutItem, ...] = ()
    invalid: int | None = None


@dataclass(frozen=True, slots=True)
class Layout:
    """A layout: which bytes it reads (``source``, with ``selector`` for ``record``), an
    optional transform and its items."""

    table: str
    source: str
    items: tuple[LayoutItem, ...]
    selector: RecordSelector | None = None
    transform: str | None = None


def read_layout_table(reader: TableReader, transforms: tuple[str, ...] = ()) -> Layout:
    """A ``[[layouts]]`` table, checked (``transforms``: the names that exist)."""
    source = reader.choice("from", SOURCES)
    selector = read_selector(reader) if source == "record" else None
    transform = reader.optional_text("transform", None)
    if transform is not None and transform not in transforms:
        raise reader.error("transform", f"no transform named {transform!r} (known: "
                                        f"{', '.join(transforms) or 'none'})")
    count = [0]
    names: set[str] = set()
    items = tuple(_read_item(item, names, count, inside_group=False)
                  for item in reader.tables("items"))
    reader.finish()
    return Layout(reader.table_name, source, items, selector, transform)


def _read_item(reader: TableReader, names: set[str], count: list[int],
               inside_group: bool) -> LayoutItem:
    count[0] += 1
    if count[0] > MAX_ITEMS:
        raise reader.error(None, f"a layout has at most {MAX_ITEMS} items")
    label = reader.table_name
    if reader.has("group"):
        if inside_group:
            raise reader.error("group", "groups do not nest")
        repeat_value = reader.raw("repeat")
        if isinstance(repeat_value, bool) or not isinstance(repeat_value, (int, str)):
            raise reader.error("repeat", "must be a count or the name of an earlier item")
        if isinstance(repeat_value, int) and not 0 <= repeat_value <= MAX_REPEAT:
            raise reader.error("repeat", f"must be 0 to {MAX_REPEAT}")
        if isinstance(repeat_value, str) and repeat_value not in names:
            raise reader.error("repeat", f"no earlier item named {repeat_value!r}")
        storage_start = reader.optional_integer("storage_start", 0, minimum=0)
        present_if = _present_if(reader, names)
        group = tuple(_read_item(item, names, count, inside_group=True)
                      for item in reader.tables("group"))
        reader.finish()
        return LayoutItem(label, type="group", present_if=present_if, repeat=repeat_value,
                          storage_start=storage_start, group=group)
    kind = reader.optional_choice("type", ITEM_TYPES, "uint")
    fixed = _FIXED_LENGTHS.get(kind)
    length = reader.optional_integer("length", fixed, minimum=1,
                                     maximum=8 if kind in ("uint", "int", "bcd") else 4096)
    if length is None:
        raise reader.error("length", "missing")
    if fixed is not None and length != fixed:
        raise reader.error("length", f"a {kind} has {fixed} bytes")
    offset = reader.optional_integer("offset", None, minimum=0, maximum=65535)
    endian = reader.optional_choice("endian", ("little", "big"), "little")
    bits = None
    if reader.has("bits"):
        text = reader.text("bits")
        found = _BITS.match(text)
        if found is None or kind not in ("uint", "int"):
            raise reader.error("bits", "bits are \"first-last\" of a uint or int item")
        first = int(found.group(1))
        last = int(found.group(2) or first)
        if not first <= last < length * 8:
            raise reader.error("bits", f"{text!r} is not within the item's {length * 8} bits")
        bits = (first, last)
    quantity = reader.optional_text("quantity", None)
    if quantity is None and kind != "skip" and not reader.has("name"):
        raise reader.error("quantity", "missing (an item without one needs a name, for "
                                       "present_if or repeat, or type skip)")
    unit = reader.optional_text("unit", "")
    if unit and unit not in UNITS:
        raise reader.error("unit", f"{unit!r} is not a unit meterkit knows")
    scale = reader.optional_decimal("scale", None)
    if scale is not None and kind not in ("uint", "int", "bcd"):
        raise reader.error("scale", "only numbers scale")
    name = reader.optional_text("name", None)
    if name is not None and (not _NAME.match(name) or name in names):
        raise reader.error("name", f"{name!r} is not a new name of letters, digits, _")
    present_if = _present_if(reader, names)
    invalid = reader.optional_integer("invalid", None)
    if invalid is not None and kind not in ("uint", "int"):
        raise reader.error("invalid", "only uint and int items have a no-value pattern")
    item = LayoutItem(
        label, kind, length, offset, endian == "big", bits, quantity, unit, scale,
        storage=reader.optional_integer("storage", 0, minimum=0),
        tariff=reader.optional_integer("tariff", 0, minimum=0),
        subunit=reader.optional_integer("subunit", 0, minimum=0),
        function=reader.optional_choice("function", FUNCTIONS, "instantaneous"),
        name=name, present_if=present_if, invalid=invalid)
    reader.finish()
    if name is not None:
        names.add(name)
    return item


def _present_if(reader: TableReader, names: set[str]) -> tuple[str, int] | None:
    condition = reader.optional_table("present_if")
    if condition is None:
        return None
    item = condition.text("item")
    if item not in names:
        raise condition.error("item", f"no earlier item named {item!r}")
    mask = condition.integer("mask", minimum=1)
    condition.finish()
    return item, mask


def read_layout(layout: Layout, data: bytes) -> tuple[list[LayoutRecord], LayoutError | None]:
    """The synthetic records ``layout`` reads from ``data``, and the fault that stopped it
    (None when every item was read)."""
    records: list[LayoutRecord] = []
    named: dict[str, int] = {}
    position = [0]
    try:
        for item in layout.items:
            _read(item, data, position, named, records, None)
    except LayoutError as error:
        return records, error.located(table=layout.table)  # type: ignore[return-value]
    return records, None


def _read(item: LayoutItem, data: bytes, position: list[int], named: dict[str, int],
          records: list[LayoutRecord], storage: int | None) -> None:
    if item.present_if is not None:
        gate, mask = item.present_if
        if not named.get(gate, 0) & mask:
            return
    if item.type == "group":
        times = item.repeat if isinstance(item.repeat, int) else named.get(str(item.repeat), 0)
        if not 0 <= times <= MAX_REPEAT:
            raise LayoutError(f"repeat count {times} is outside 0-{MAX_REPEAT}",
                              offset=position[0], item=item.label)
        for index in range(times):
            for member in item.group:
                _read(member, data, position, named, records, item.storage_start + index)
        return
    start = position[0] if item.offset is None else item.offset
    end = start + item.length
    if end > len(data):
        raise LayoutError(f"needs {item.length} bytes, {max(len(data) - start, 0)} left",
                          offset=start, item=item.label)
    position[0] = end
    if item.type == "skip":
        return
    raw = data[start:end]
    value: Decimal | int | str | None = _value(item, raw, start)
    if value is None or value == item.invalid:  # no value (a date not set, a no-value pattern)
        return
    if isinstance(value, int) and item.name is not None:
        named[item.name] = value
    if item.quantity is None:  # read for present_if or repeat only
        return
    if item.scale is not None and isinstance(value, int):
        scaled = value * item.scale
        value = int(scaled) if scaled == scaled.to_integral_value() and \
            scaled.as_tuple().exponent >= 0 else scaled  # type: ignore[operator]
    head = layout_head(item.quantity, item.unit, item.storage if storage is None else storage,
                       item.function, item.tariff, item.subunit)
    records.append(LayoutRecord(head, value))


def _value(item: LayoutItem, raw: bytes, start: int) -> Decimal | int | str | None:
    ordered = raw if item.big_endian else raw[::-1]  # most significant byte first
    if item.type == "hex":
        return raw.hex()
    if item.type == "bcd":
        digits = ordered.hex()
        if not digits.isdigit():
            raise LayoutError(f"{raw.hex()} is not BCD", offset=start, item=item.label)
        return int(digits)
    if item.type == "date":  # EN 13757-3 Annex A type G
        day, month = raw[0] & 0x1F, raw[1] & 0x0F
        year = 2000 + (((raw[0] & 0xE0) >> 5) | ((raw[1] & 0xF0) >> 1))
        return f"{year:04d}-{month:02d}-{day:02d}" if 1 <= month <= 12 and day else None
    if item.type == "datetime":  # type F
        minute, hour, day, month = raw[0] & 0x3F, raw[1] & 0x1F, raw[2] & 0x1F, raw[3] & 0x0F
        year = 2000 + (((raw[2] & 0xE0) >> 5) | ((raw[3] & 0xF0) >> 1))
        if not (1 <= month <= 12 and day and hour < 24 and minute < 60):
            return None
        return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}"
    number = int.from_bytes(ordered, "big")
    width = len(raw) * 8
    if item.bits is not None:
        first, last = item.bits
        width = last - first + 1
        number = (number >> first) & ((1 << width) - 1)
    if item.type == "int" and number >> (width - 1):
        number -= 1 << width
    return number
