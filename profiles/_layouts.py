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
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from operator import itemgetter, pos
from typing import Any, NamedTuple, cast

from ._errors import ProfileError
from ._fields import field_json
from ._selectors import FUNCTIONS, RecordSelector, read_selector
from ._toml import TableReader
from ._units import UNITS

__all__ = ["ITEM_TYPES", "Layout", "LayoutError", "LayoutHead", "LayoutItem", "LayoutRecord",
           "compile_layout", "layout_head", "read_layout", "read_layout_into",
           "read_layout_table", "scaled_value"]

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
    steps: tuple[_Step, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", compile_layout(self.items))


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
    heads: list[LayoutHead] = []
    values: list[Decimal | int | str] = []
    fault = read_layout_into(layout, data, heads, values, [])
    return list(map(LayoutRecord, heads, values)), fault


def read_layout_into(layout: Layout, data: bytes, heads: list[LayoutHead],
                     values: list[Decimal | int | str], json_values: list[int | float | str],
                     *, lazy: bool = False, path: list[object] | None = None,
                     quick: bool = False, program: _Program | None = None
                     ) -> LayoutError | None:
    """:func:`read_layout` appending each synthetic record's head, value and the JSON form
    of its value (by :func:`profiles._fields.field_json`'s rules) to the lists; the fault
    that stopped it (None when every item was read). With ``lazy``, a value scaled by a
    fraction is appended as ``(product, exponent)``, the Decimal not made:
    :func:`scaled_value` makes it where it is read.

    ``path``, where given, gets what stands for the heads appended (for plans kept per
    path): the places (``len(json_values)``) where a record was left out (a date not set, a
    no-value pattern), then the last block read; or, where the items were read one by one,
    the tuple of the heads. Bytes that append other heads never append an equal path.

    With ``quick``, only ``json_values`` and ``path`` are sure to be complete: blocks of
    plain numbers, scaled numbers and dates append their JSON values alone (what
    MeterProfiles.document needs once it knows the plan of the path). ``program``: the
    layout's blocks, where the caller holds them (else looked up)."""
    count, made = len(heads), len(json_values)  # heads and values go in pairs, even quick
    mark = 0 if path is None else len(path)
    last = _read_blocks(program or _program(layout), data, heads, values,  # type: ignore[arg-type]
                        json_values, lazy, path, quick)
    if last is None:
        return _read_again(layout, data, heads, values, json_values, count, made, path, mark,
                           True)
    if path is not None:
        path.append(last)
    return None


def _read_again(layout: Layout, data: bytes, heads: list[LayoutHead],
                values: list[Decimal | int | str], json_values: list[int | float | str],
                count: int, made: int, path: list[object] | None, mark: int, located: bool
                ) -> LayoutError | None:
    """After :func:`_read_blocks` met a fault (or a pattern too many): the records it
    appended from ``count`` (``made`` JSON values, ``mark`` in ``path``) on dropped, the
    item by item reading names the fault exactly (:func:`read_layout_into`); ``located``
    False: the fault as the item raised it, its ``table`` not filled in (its message is the
    same: what MeterProfiles.document reads)."""
    del heads[count:], values[count:], json_values[made:]
    fault = None
    try:
        _read_steps(layout.steps, data, {}, heads, values, json_values, 0, 0)
    except LayoutError as error:
        fault = error.located(table=layout.table) if located else error
    if path is not None:
        del path[mark:]
        path.append(tuple(heads[count:]))
    return fault  # type: ignore[return-value]


def scaled_value(value: Decimal | int | str | tuple[int, int]) -> Decimal | int | str:
    """A value :func:`read_layout_into` appended, made: ``(product, exponent)`` (``lazy``)
    is ``Decimal(product).scaleb(exponent)``."""
    if type(value) is tuple:
        product, exponent = value
        return Decimal(product).scaleb(exponent)
    return value  # type: ignore[return-value]


# What a compiled step is: its kind, then for groups of a count read from an item.
_UINT, _INT, _BCD, _HEX, _DATE, _DATETIME, _SKIP, _GROUP = range(8)
_KINDS = {"uint": _UINT, "int": _INT, "bcd": _BCD, "hex": _HEX, "date": _DATE,
          "datetime": _DATETIME, "skip": _SKIP, "group": _GROUP}
_EXACT_DECIMAL = 10**28  # a product of fewer digits is what Decimal's 28 digits make of it
_EXACT_FLOAT = 10**15  # a decimal of at most 15 significant digits survives a float
# How a step scales: not at all, by a whole multiplier, as a decimal fraction (coefficient
# and exponent), or by the Decimal itself (a scale that is not positive).
_NO_SCALE, _WHOLE, _FRACTION, _DECIMAL = range(4)


class _Step(NamedTuple):
    """One item compiled for reading: groups of a fixed count unrolled (their members'
    storage resolved), ``present_if`` of the item and of its group in ``gates``, the head
    of its records made once. ``head`` None: no record (or, for the members of a group
    whose count an item gives, ``record`` holds the head's attributes but storage)."""

    label: str
    kind: int
    start: int | None  # a fixed offset; None: where the previous item ended
    length: int
    order: str  # "big" or "little"
    first_bit: int
    bit_mask: int  # 0: the whole item
    sign_bit: int  # 0: unsigned
    invalid: int | None
    name: str | None
    gates: tuple[tuple[str, int], ...]
    head: LayoutHead | None
    record: tuple[str, str, str, int, int] | None  # quantity, unit, function, tariff, subunit
    scaling: int  # _NO_SCALE ...
    coefficient: int  # _WHOLE: the multiplier; _FRACTION: the scale's coefficient
    exponent: int  # _FRACTION: the scale's exponent (negative)
    scale: Decimal | None
    repeat: str | None  # a group: the item that gives the count
    storage_start: int
    members: tuple[_Step, ...]


def compile_layout(items: tuple[LayoutItem, ...]) -> tuple[_Step, ...]:
    """The steps that read ``items``: static offsets, unrolled groups, shared heads, int
    scales. Speed trick: see :func:`_read_steps`."""
    steps: list[_Step] = []
    for item in items:
        gates = (item.present_if,) if item.present_if is not None else ()
        if item.type != "group":
            steps.append(_step(item, gates, item.storage, fixed=True))
        elif isinstance(item.repeat, int):
            for index in range(item.repeat):
                steps.extend(_step(member, gates + ((member.present_if,) if member.present_if
                                                    else ()),
                                   item.storage_start + index, fixed=True)
                             for member in item.group)
        else:
            members = tuple(_step(member, (member.present_if,) if member.present_if else (),
                                  0, fixed=False) for member in item.group)
            steps.append(_Step(item.label, _GROUP, None, 0, "", 0, 0, 0, None, None, gates,
                               None, None, _NO_SCALE, 1, 0, None, str(item.repeat),
                               item.storage_start, members))
    return tuple(steps)


def _step(item: LayoutItem, gates: tuple[tuple[str, int], ...], storage: int,
          fixed: bool) -> _Step:
    bit_mask = first_bit = 0
    width = item.length * 8
    if item.bits is not None:
        first_bit, last = item.bits
        width = last - first_bit + 1
        bit_mask = (1 << width) - 1
    head = record = None
    if item.quantity is not None:
        record = (item.quantity, item.unit, item.function, item.tariff, item.subunit)
        if fixed:
            head = layout_head(item.quantity, item.unit, storage, item.function, item.tariff,
                               item.subunit)
            record = None
    scaling, coefficient, exponent = _NO_SCALE, 1, 0
    scale = item.scale
    if scale is not None:
        _, digits, power = scale.as_tuple()
        scaling = _DECIMAL
        if scale.is_finite() and scale > 0 and isinstance(power, int):
            coefficient = int("".join(map(str, digits)))
            if power >= 0:
                scaling, coefficient = _WHOLE, coefficient * 10**power
            else:
                scaling, exponent = _FRACTION, power
    return _Step(item.label, _KINDS[item.type], item.offset, item.length,
                 "big" if item.big_endian else "little", first_bit, bit_mask,
                 1 << (width - 1) if item.type == "int" else 0, item.invalid, item.name, gates,
                 head, record, scaling, coefficient, exponent, scale, None, 0, ())


def _read_steps(steps: tuple[_Step, ...], data: bytes, named: dict[str, int],
                heads: list[LayoutHead], values: list[Decimal | int | str],
                json_values: list[int | float | str], position: int, storage: int) -> int:
    """Read ``steps`` from ``data`` at ``position`` (``storage``: of a group member whose
    head is made here), appending to the lists; the position after them.

    Compiled steps instead of reading the items one by one (with Decimal scales and a
    head lookup per record), kept because they pay: decrypt + decode + to_dict of the 56
    dev-corpus telegrams whose profile has layouts and no formulas, 375k -> 321k
    instructions per warm telegram (14 %; their meter part 198k -> 144k), the whole
    wireless dev corpus 422k -> 410k (callgrind, December 2026). Reading runs of alike
    numbers with one struct call gained only 4 % more on those telegrams: not done."""
    size = len(data)
    for (label, kind, start, length, order, first_bit, bit_mask, sign_bit, invalid, name,
         gates, head, record, scaling, coefficient, exponent, scale, repeat, storage_start,
         members) in steps:
        if gates:
            for gate, mask in gates:
                if not named.get(gate, 0) & mask:
                    break
            else:
                gates = ()
            if gates:
                continue
        if kind == _GROUP:
            assert repeat is not None
            times = named.get(repeat, 0)
            if not 0 <= times <= MAX_REPEAT:
                raise LayoutError(f"repeat count {times} is outside 0-{MAX_REPEAT}",
                                  offset=position, item=label)
            for index in range(times):
                position = _read_steps(members, data, named, heads, values, json_values,
                                       position, storage_start + index)
            continue
        if start is None:
            start = position
        end = start + length
        if end > size:
            raise LayoutError(f"needs {length} bytes, {max(size - start, 0)} left",
                              offset=start, item=label)
        position = end
        if kind == _SKIP:
            continue
        value: Decimal | int | str
        if kind <= _INT:
            number = int.from_bytes(data[start:end], order)  # type: ignore[arg-type]
            if bit_mask:
                number = (number >> first_bit) & bit_mask
            if number & sign_bit:
                number -= sign_bit << 1
            if number == invalid:  # a no-value pattern
                continue
            value = number
        elif kind == _BCD:
            raw = data[start:end]
            digits = (raw if order == "big" else raw[::-1]).hex()
            if not digits.isdigit():
                raise LayoutError(f"{raw.hex()} is not BCD", offset=start, item=label)
            value = int(digits)
        else:
            text = _text(kind, data[start:end])
            if text is None:  # a date not set
                continue
            if head is None and record is None:
                continue
            heads.append(head or _member_head(record, storage))  # type: ignore[arg-type]
            values.append(text)
            json_values.append(text)
            continue
        if name is not None:
            named[name] = value
        if head is None:
            if record is None:  # read for present_if or repeat only
                continue
            head = _member_head(record, storage)
        heads.append(head)
        if scaling == _NO_SCALE:
            values.append(value)
            json_values.append(value)
            continue
        product = value * coefficient
        if scaling == _WHOLE and -_EXACT_DECIMAL < product < _EXACT_DECIMAL:
            values.append(product)
            json_values.append(product)
        elif scaling == _FRACTION and -_EXACT_DECIMAL < product < _EXACT_DECIMAL:
            # value * scale keeps the scale's exponent: the same Decimal, made exactly.
            scaled = Decimal(product).scaleb(exponent)
            values.append(scaled)
            json_values.append(product / 10**-exponent if -_EXACT_FLOAT < product < _EXACT_FLOAT
                               else str(scaled))
        else:
            assert scale is not None
            python, json = _decimal_scaled(value, scale)
            values.append(python)
            json_values.append(json)
    return position


def _decimal_scaled(value: int, scale: Decimal) -> tuple[Decimal | int, int | float | str]:
    """``value * scale`` the Decimal way (a scale that is not positive, a product too long
    for int arithmetic), and its JSON form."""
    result = value * scale
    if result == result.to_integral_value() and \
            result.as_tuple().exponent >= 0:  # type: ignore[operator]
        return int(result), int(result)
    return result, field_json(result)


def _member_head(record: tuple[str, str, str, int, int], storage: int) -> LayoutHead:
    quantity, unit, function, tariff, subunit = record
    return layout_head(quantity, unit, storage, function, tariff, subunit)


def _bcd_number(number: int) -> int:
    """The number of BCD digits read as an int (ValueError: a digit a-f, not BCD)."""
    return int(hex(number)[2:])  # the hex digits of the bytes are the BCD digits


def _scaled_json(bcd: bool, coefficient: int, divisor: int) -> Callable[[int], float]:
    """What makes the JSON value of an item scaled by a fraction (op _SCALED of a block)
    from its number: one call, as a quick read calls it per item."""
    if bcd:  # _bcd_number inline: one call per item, not two
        return lambda number: int(hex(number)[2:]) * coefficient / divisor
    return lambda number: number * coefficient / divisor


class _DateTexts(dict[bytes, "str | None"]):
    """The texts of type G dates by their bytes, made at first sight (few dates recur,
    telegram after telegram: set dates, month ends); lookups are cheaper than making."""

    def __missing__(self, raw: bytes) -> str | None:
        text = _text(_DATE, raw)
        if len(self) < _DATES_LIMIT:
            self[raw] = text
        return text


_DATES_LIMIT = 4096
_DATE_TEXTS = _DateTexts()


def _text(kind: int, raw: bytes) -> str | None:
    """The value of a hex, date or datetime item (None: a date or time not set)."""
    if kind == _HEX:
        return raw.hex()
    if kind == _DATE:  # EN 13757-3 Annex A type G
        day, month = raw[0] & 0x1F, raw[1] & 0x0F
        year = 2000 + (((raw[0] & 0xE0) >> 5) | ((raw[1] & 0xF0) >> 1))
        return f"{year:04d}-{month:02d}-{day:02d}" if 1 <= month <= 12 and day else None
    # type F
    minute, hour, day, month = raw[0] & 0x3F, raw[1] & 0x1F, raw[2] & 0x1F, raw[3] & 0x0F
    year = 2000 + (((raw[2] & 0xE0) >> 5) | ((raw[3] & 0xF0) >> 1))
    if not (1 <= month <= 12 and day and hour < 24 and minute < 60):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}"


# --- blocks: the steps compiled for a pattern of gates and repeat counts ------------------
#
# Per telegram a layout costs its reads. The steps that are read for sure, once the gates
# and repeat counts before them are known, make one block: one struct read at static
# offsets, heads made once; a block ends at the first gate or repeat count not known yet,
# where the named values read so far choose the next block (made at first sight, then
# kept). A fault (bytes that end early, a digit that is not BCD, a count out of range)
# makes read_layout_into read item by item again, which names it. Speed trick, kept
# because it pays: see _read_blocks.

# What an item of a block does with the number its struct read (BCD digits made a number
# first): append it (a record as read); a number scaled by a fraction (products of at most
# 15 digits: the JSON value is the float, the Decimal made lazily); a text; anything else
# (bits, signs, no-value patterns, names, other scales) the way _read_steps does.
_AS_READ, _SCALED, _TEXT, _GENERAL = range(4)
_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_GATE, _REPEAT = range(2)
_BLOCKS_LIMIT = 256  # blocks per layout (patterns of gates and counts); beyond: item by item
_PROGRAMS_LIMIT = 4096


class _Item(NamedTuple):
    """One item of a block: its value is what the block's read number ``read`` gave."""

    op: int  # _AS_READ ...
    read: int
    head: LayoutHead | None  # None: no record (read for a name)
    coefficient: int  # _SCALED: the product is value * coefficient ...
    divisor: int  # ... and the JSON value product / divisor
    exponent: int  # ... the Decimal Decimal(product).scaleb(exponent)
    step: _Step  # the rest (_TEXT: the kind; _GENERAL: everything)
    order: str | None  # read as bytes: the int's byte order (None: the struct's)
    sign_bit: int  # _GENERAL: the step's, 0 where the struct read the int signed
    bcd: bool  # what was read is BCD digits


# An _Item as a plain tuple, its fields in order (_Block.items).
_ItemTuple = tuple[int, int, "LayoutHead | None", int, int, int, _Step, "str | None", int, bool]


class _Block:
    """Steps read for sure in one pattern (see above): the reads, the items, what decides
    the next block. Not a value: ``children`` grows (only the program's lock-free cache)."""

    __slots__ = ("children", "chunks", "decided", "decision", "heads", "items", "mask", "name",
                 "plain", "position", "quick", "rest", "size")

    def __init__(self, chunks: tuple[tuple[struct.Struct, int], ...], size: int,
                 items: tuple[_Item, ...], decision: int | None, name: str, mask: int,
                 rest: tuple[_Step, ...], position: int,
                 decided: dict[tuple[str, int], bool]) -> None:
        self.chunks = chunks  # (struct, offset): reads in byte order, concatenated
        self.size = size  # the bytes the block needs
        # Plain tuples: _read_blocks unpacks each, and a NamedTuple unpacks the slow way
        # (as an iterable, not as a tuple).
        self.items = cast("tuple[_ItemTuple, ...]", tuple(map(tuple, items)))
        self.heads = tuple(item.head for item in items if item.head is not None)
        # Every item a plain record, read in order: values extend the lists as read.
        self.plain = all(item.op == _AS_READ and not item.bcd and item.order is None
                         and item.read == index for index, item in enumerate(items))
        self.quick = _quick(items)
        self.decision = decision  # None: the end; _GATE (name, mask); _REPEAT (name)
        self.name = name
        self.mask = mask
        self.rest = rest  # the steps from the decision on
        self.position = position  # where the next block's first item without offset reads
        self.decided = decided  # the gates known here, for the next blocks
        self.children: dict[int, _Block] = {}


# What a quick read (read_layout_into's ``quick``) of a block does: each item's JSON value
# made by a function of its number, all in one map; whether one can be None (a date not
# set, a no-value pattern: no record, see _left_out).
_Quick = tuple["Callable[[Any], Any] | None", tuple["Callable[[Any], Any]", ...], bool]
if sys.version_info >= (3, 11):
    from operator import call as _call
else:
    def _call(function: Callable[[Any], Any], argument: object) -> Any:
        return function(argument)


def _quick(items: tuple[_Item, ...]) -> _Quick | None:
    """How a quick read makes the JSON values of ``items``: (what picks their numbers from
    the block's (None: all, in order), a function per item, whether one can give None);
    None where an item needs more (bits, signs, names, other scales)."""
    makers: list[Callable[[Any], Any]] = []
    for item in items:
        if item.order is not None:  # read as bytes: the makers take ints
            return None
        op, invalid = item.op, item.step.invalid
        if op == _GENERAL and invalid is not None:  # the maker checks the pattern
            op = _item(item.step, item.read, item.order, checked=False).op
        maker: Callable[[Any], Any]
        if op == _AS_READ:
            maker = _bcd_number if item.bcd else pos
        elif op == _SCALED and item.coefficient == 1 and not item.bcd:
            maker = item.divisor.__rtruediv__  # number / divisor, as _read_blocks
        elif op == _SCALED:
            maker = _scaled_json(item.bcd, item.coefficient, item.divisor)
        elif op == _TEXT and item.head is not None:
            maker = (_DATE_TEXTS.__getitem__ if item.step.kind == _DATE
                     else partial(_text, item.step.kind))
        else:
            return None
        makers.append(maker if op == _TEXT or invalid is None else _unless(invalid, maker))
    reads = tuple(item.read for item in items)
    # One item reads number 0 of one: itemgetter (a tuple of two numbers or more) not needed.
    return (None if reads == tuple(range(len(reads))) else itemgetter(*reads), tuple(makers),
            any(item.op == _TEXT or item.step.invalid is not None for item in items))


def _left_out(made: list[Any], count: int, path: list[object] | None) -> list[Any]:
    """A quick read's JSON values ``made`` without the Nones (records left out: a date not
    set, a no-value pattern), whose places go to ``path`` as _read_blocks appends them
    (``count``: the JSON values before ``made``)."""
    kept: list[Any] = []
    for json in made:
        if json is not None:
            kept.append(json)
        elif path is not None:
            path.append(count + len(kept))
    return kept


def _unless(invalid: int, maker: Callable[[Any], Any]) -> Callable[[int], Any]:
    """``maker``, giving None for the no-value pattern ``invalid`` (no record)."""
    return lambda number: None if number == invalid else maker(number)


class _Program(NamedTuple):
    layout: Layout  # holds it, so that its id stays its own
    root: _Block
    blocks: list[int]  # how many blocks were made


_PROGRAMS: dict[int, _Program] = {}


def _program(layout: Layout) -> _Program:
    """The layout's blocks (the first made now, the others as patterns show up)."""
    program = _PROGRAMS.get(id(layout))
    if program is None or program.layout is not layout:
        if len(_PROGRAMS) >= _PROGRAMS_LIMIT:
            _PROGRAMS.clear()
        program = _PROGRAMS[id(layout)] = _Program(layout, _block(layout.steps, 0, {}), [1])
    return program


def _block(steps: tuple[_Step, ...], position: int, decided: dict[tuple[str, int], bool]
           ) -> _Block:
    """The block of the steps read for sure from the first of ``steps`` on, given the
    gates ``decided``: up to the first gate not decided or group of a count read here."""
    reads: dict[tuple[int, int, str], int] = {}  # (start, length, struct code) -> index
    found: list[tuple[_Step, tuple[int, int, str], str | None]] = []
    size = 0
    decision: int | None = None
    name, mask = "", 0
    rest: tuple[_Step, ...] = ()
    for number, step in enumerate(steps):
        gates = [decided.get(gate) for gate in step.gates]
        if False in gates:  # one closed gate is enough, whatever the others say
            continue
        if None in gates:
            decision, (name, mask), rest = _GATE, step.gates[gates.index(None)], steps[number:]
            break
        if step.kind == _GROUP:
            assert step.repeat is not None
            decision, name, rest = _REPEAT, step.repeat, steps[number:]
            break
        start = position if step.start is None else step.start
        position = start + step.length
        size = max(size, position)
        if step.kind == _SKIP:
            continue
        read, order = _read_of(step, start)
        reads.setdefault(read, len(reads))
        found.append((step, read, order))
        if step.name is not None:  # a name read again: its gates are open again
            decided = {gate: known for gate, known in decided.items() if gate[0] != step.name}
    chunks, indices = _chunks(reads)
    items = tuple(_item(step, indices[read], order) for step, read, order in found)
    return _Block(chunks, size, items, decision, name, mask, rest, position, decided)


def _read_of(step: _Step, start: int) -> tuple[tuple[int, int, str], str | None]:
    """How the block reads a step: (start, length, struct code) and, where the code reads
    bytes that make a number, their byte order."""
    if step.kind > _BCD:  # hex, date, datetime
        return (start, step.length, f"{step.length}s"), None
    code = _CODES.get(step.length)
    if code is None or (step.order == "big" and step.length > 1):
        return (start, step.length, f"{step.length}s"), step.order
    if step.kind == _INT and not step.bit_mask:
        code = code.lower()  # the struct makes the signed value
    return (start, step.length, code), None


def _chunks(reads: dict[tuple[int, int, str], int]
            ) -> tuple[tuple[tuple[struct.Struct, int], ...], dict[tuple[int, int, str], int]]:
    """Structs reading ``reads`` in byte order (a read that overlaps the one before starts
    a new struct) and each read's index in their results, concatenated."""
    chunks: list[tuple[str, int]] = []
    indices: dict[tuple[int, int, str], int] = {}
    end = -1
    for read in sorted(reads):
        start, length, code = read
        if start >= end >= 0:
            chunks[-1] = (chunks[-1][0] + ("" if start == end else f"{start - end}x") + code,
                          chunks[-1][1])
        else:
            chunks.append((code, start))
        end = start + length
        indices[read] = len(indices)
    return tuple((struct.Struct("<" + code), start) for code, start in chunks), indices


def _item(step: _Step, index: int, order: str | None, *, checked: bool = True) -> _Item:
    """The item of a block reading ``step`` (its number at ``index`` of the block's);
    ``checked`` False: its op as if it had no no-value pattern (for :func:`_quick`)."""
    sign_bit = step.sign_bit
    if step.kind == _INT and not step.bit_mask and order is None:
        sign_bit = 0  # the struct read it signed
    coefficient, divisor = step.coefficient, 10**-step.exponent
    # The largest value the item can have (BCD: its digits), for the products' bounds.
    largest = 10 ** (2 * step.length) if step.kind == _BCD else 2 ** (8 * step.length)
    fraction = (step.scaling == _FRACTION and coefficient * largest <= _EXACT_FLOAT
                and step.head is not None and step.name is None)
    op = _GENERAL
    if step.kind > _BCD:
        op = _TEXT
    elif not step.bit_mask and not sign_bit and (step.invalid is None or not checked):
        if step.name is None and step.head is not None and step.scaling == _NO_SCALE:
            op = _AS_READ
        elif fraction:
            op = _SCALED
    return _Item(op, index, step.head, coefficient, divisor, step.exponent, step, order,
                 sign_bit, step.kind == _BCD)


def _child(program: _Program, block: _Block, key: int) -> _Block | None:
    """The block after ``block`` where its decision came out as ``key`` (a gate: 0 or 1;
    a repeat: the count); None beyond the program's limit."""
    if program.blocks[0] >= _BLOCKS_LIMIT:
        return None
    program.blocks[0] += 1
    rest = block.rest
    if block.decision == _GATE:
        decided = {**block.decided, (block.name, block.mask): bool(key)}
    else:
        group, rest = rest[0], rest[1:]
        decided = block.decided
        members = tuple(
            member._replace(head=_member_head(member.record, group.storage_start + index),
                            record=None) if member.record is not None else member
            for index in range(key) for member in group.members)
        rest = members + rest
    child = block.children[key] = _block(rest, block.position, decided)
    return child


def _read_blocks(program: _Program, data: bytes, heads: list[LayoutHead],
                 values: list[Decimal | int | str | tuple[int, int]],
                 json_values: list[int | float | str], lazy: bool,
                 path: list[object] | None, quick: bool = False) -> _Block | None:
    """Read ``data`` block by block, appending to the lists as _read_steps does (and to
    ``path`` the places of records left out: see read_layout_into); the last block read,
    None at a fault (the lists then hold part of the records: read_layout_into drops them).
    With ``quick``, a block that has a _Quick appends the JSON values alone.

    Blocks instead of the steps one by one (with lazy Decimals in MeterProfiles.document
    and the transforms module kept), kept because they pay: decrypt + decode + to_dict of
    the 56 dev-corpus telegrams whose profile has layouts and no formulas, 270.1k ->
    241.3k instructions per warm telegram (11 %; their meter part 131.2k -> 102.3k;
    callgrind, December 2026)."""
    named: dict[str, int] = {}
    size = len(data)
    block = program.root
    while True:
        if size < block.size:
            return None
        raw: tuple[Any, ...] = ()  # ints and bytes, as the codes say
        for read, offset in block.chunks:
            raw += read.unpack_from(data, offset)
        items = block.items
        if block.plain:
            heads.extend(block.heads)
            values.extend(raw)
            json_values.extend(raw)
            items = ()
        elif quick and block.quick is not None:
            pick, makers, gaps = block.quick
            try:
                made = list(map(_call, makers, raw if pick is None else pick(raw)))
            except ValueError:  # a digit a-f: not BCD
                return None
            if gaps and None in made:
                made = _left_out(made, len(json_values), path)
            json_values += made
            items = ()
        for op, index, head, coefficient, divisor, exponent, step, order, sign_bit, bcd \
                in items:
            number = raw[index]
            if order is not None:
                number = int.from_bytes(number, order)  # type: ignore[arg-type]
            if bcd:
                try:  # _bcd_number, inline: a call per item costs
                    number = int(hex(number)[2:])
                except ValueError:  # a digit a-f: not BCD
                    return None
            if op == _AS_READ:
                heads.append(head)  # type: ignore[arg-type]  # these ops have a head
                values.append(number)
                json_values.append(number)
                continue
            if op == _SCALED:
                product = number * coefficient
                heads.append(head)  # type: ignore[arg-type]
                values.append((product, exponent) if lazy
                              else Decimal(product).scaleb(exponent))
                json_values.append(product / divisor)
                continue
            if op == _TEXT:
                text = _text(step.kind, number)
                if head is not None:
                    if text is None:  # a date not set: no record
                        if path is not None:
                            path.append(len(json_values))
                        continue
                    heads.append(head)
                    values.append(text)
                    json_values.append(text)
                continue
            if step.bit_mask:
                number = (number >> step.first_bit) & step.bit_mask
            if number & sign_bit:
                number -= sign_bit << 1
            if number == step.invalid:  # a no-value pattern: no record
                if path is not None and head is not None:
                    path.append(len(json_values))
                continue
            if step.name is not None:
                named[step.name] = number
            if head is None:
                continue
            heads.append(head)
            scaling = step.scaling
            if scaling == _NO_SCALE:
                values.append(number)
                json_values.append(number)
                continue
            product = number * coefficient
            if scaling == _WHOLE and -_EXACT_DECIMAL < product < _EXACT_DECIMAL:
                values.append(product)
                json_values.append(product)
            elif scaling == _FRACTION and -_EXACT_DECIMAL < product < _EXACT_DECIMAL:
                values.append((product, exponent) if lazy
                              else Decimal(product).scaleb(exponent))
                json_values.append(product / divisor if -_EXACT_FLOAT < product < _EXACT_FLOAT
                                   else str(Decimal(product).scaleb(exponent)))
            else:
                assert step.scale is not None
                python, json = _decimal_scaled(number, step.scale)
                values.append(python)
                json_values.append(json)
        if block.decision is None:
            return block
        if block.decision == _GATE:
            key = 1 if named.get(block.name, 0) & block.mask else 0
        else:
            key = named.get(block.name, 0)
            if not 0 <= key <= MAX_REPEAT:
                return None
        child = block.children.get(key)
        if child is None:
            child = _child(program, block, key)
            if child is None:
                return None
        block = child
