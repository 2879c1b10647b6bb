"""The compiled layout reader against a plain reference reading, item by item.

``profiles._layouts`` compiles a layout into flat steps (groups unrolled, heads made once,
int arithmetic for scales); the reference below reads the items as the format describes
them, one at a time, with Decimal scales. Both must give the same records (heads, values
of the same type and exponent), the same JSON forms and the same fault.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pytest import MonkeyPatch

from profiles import _layouts, field_json
from profiles._layouts import (
    MAX_REPEAT,
    Layout,
    LayoutError,
    LayoutItem,
    _program,
    layout_head,
    read_layout,
    read_layout_into,
    scaled_value,
)

# --- the reference: the format's meaning, item by item ----------------------------------


def reference(layout: Layout, data: bytes
              ) -> tuple[list[tuple[object, object]], tuple[int, str, str] | None]:
    """(head, value) of each record and (offset, item, message) of the fault, or None."""
    records: list[tuple[object, object]] = []
    named: dict[str, int] = {}
    position = [0]
    try:
        for item in layout.items:
            _reference_item(item, data, position, named, records, None)
    except LayoutError as error:
        return records, (error.offset, error.item, error.message)
    return records, None


def _reference_item(item: LayoutItem, data: bytes, position: list[int], named: dict[str, int],
                    records: list[tuple[object, object]], storage: int | None) -> None:
    if item.present_if is not None and not named.get(item.present_if[0], 0) & \
            item.present_if[1]:
        return
    if item.type == "group":
        times = item.repeat if isinstance(item.repeat, int) else named.get(str(item.repeat), 0)
        if not 0 <= times <= MAX_REPEAT:
            raise LayoutError(f"repeat count {times} is outside 0-{MAX_REPEAT}",
                              offset=position[0], item=item.label)
        for index in range(times):
            for member in item.group:
                _reference_item(member, data, position, named, records,
                                item.storage_start + index)
        return
    start = position[0] if item.offset is None else item.offset
    if start + item.length > len(data):
        raise LayoutError(f"needs {item.length} bytes, {max(len(data) - start, 0)} left",
                          offset=start, item=item.label)
    position[0] = start + item.length
    raw = data[start:start + item.length]
    value: Decimal | int | str | None
    if item.type == "skip":
        return
    if item.type == "hex":
        value = raw.hex()
    elif item.type == "date":
        day, month = raw[0] & 0x1F, raw[1] & 0x0F
        year = 2000 + (raw[0] >> 5 | (raw[1] >> 4) << 3)
        value = f"{year:04d}-{month:02d}-{day:02d}" if 1 <= month <= 12 and day else None
    elif item.type == "datetime":
        minute, hour, day, month = raw[0] & 0x3F, raw[1] & 0x1F, raw[2] & 0x1F, raw[3] & 0x0F
        year = 2000 + (raw[2] >> 5 | (raw[3] >> 4) << 3)
        value = (f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}"
                 if 1 <= month <= 12 and day and hour < 24 and minute < 60 else None)
    elif item.type == "bcd":
        digits = (raw if item.big_endian else raw[::-1]).hex()
        if not all(digit in "0123456789" for digit in digits):
            raise LayoutError(f"{raw.hex()} is not BCD", offset=start, item=item.label)
        value = int(digits)
    else:
        bits = [(byte >> bit) & 1 for byte in (raw[::-1] if item.big_endian else raw)
                for bit in range(8)]  # least significant first
        first, last = item.bits or (0, len(bits) - 1)
        chosen = bits[first:last + 1]
        value = sum(bit << index for index, bit in enumerate(chosen))
        if item.type == "int" and chosen[-1]:
            value -= 1 << len(chosen)
    if value is None or value == item.invalid:
        return
    if isinstance(value, int) and item.name is not None:
        named[item.name] = value
    if item.quantity is None:
        return
    if item.scale is not None and isinstance(value, int):
        scaled = value * item.scale
        value = int(scaled) if scaled == scaled.to_integral_value() and \
            int(scaled.as_tuple().exponent) >= 0 else scaled
    records.append((layout_head(item.quantity, item.unit, item.storage if storage is None
                                else storage, item.function, item.tariff, item.subunit),
                    value))


# --- random layouts, as the loader allows them ------------------------------------------

SCALES = [None, Decimal("0.001"), Decimal("0.01"), Decimal("0.5"), Decimal("0.00390625"),
          Decimal("2"), Decimal("1E+1"), Decimal("0.0010"), Decimal("-0.1"), Decimal("-3"),
          Decimal("1E-30"), Decimal("123456789012345678901234567")]


@st.composite
def items(draw: st.DrawFn, names: list[str], label: str, in_group: bool) -> LayoutItem:
    if not in_group and draw(st.integers(0, 3)) == 0:
        repeat: int | str = draw(st.integers(0, 4))
        if draw(st.booleans()) and names:
            repeat = draw(st.sampled_from(names))
        gate = _gate(draw, names)
        members = tuple(draw(items(names, f"{label}.group[{index}]", True))
                        for index in range(draw(st.integers(1, 3))))
        return LayoutItem(label, type="group", present_if=gate, repeat=repeat,
                          storage_start=draw(st.integers(0, 3)), group=members)
    kind = draw(st.sampled_from(["uint", "int", "bcd", "hex", "date", "datetime", "skip"]))
    length = {"date": 2, "datetime": 4}.get(kind) or draw(
        st.integers(1, 8 if kind in ("uint", "int", "bcd") else 6))
    bits = None
    if kind in ("uint", "int") and draw(st.booleans()):
        first = draw(st.integers(0, length * 8 - 1))
        bits = (first, draw(st.integers(first, length * 8 - 1)))
    numeric = kind in ("uint", "int", "bcd")
    name = None
    if numeric and draw(st.integers(0, 2)) == 0:
        name = f"n{len(names)}"
    gate = _gate(draw, names)
    unnamed = kind == "skip" or (name is not None and draw(st.booleans()))
    item = LayoutItem(
        label, kind, length,
        offset=draw(st.one_of(st.none(), st.integers(0, 12))),
        big_endian=draw(st.booleans()), bits=bits,
        quantity=None if unnamed else draw(st.sampled_from(["volume", "date", "hca_units"])),
        unit=draw(st.sampled_from(["", "m3"])),
        scale=draw(st.sampled_from(SCALES)) if numeric else None,
        storage=draw(st.integers(0, 2)), tariff=draw(st.integers(0, 1)),
        function=draw(st.sampled_from(["instantaneous", "maximum"])), name=name,
        present_if=gate,
        invalid=draw(st.one_of(st.none(), st.integers(-3, 3), st.just(0xFF), st.just(-128)))
        if kind in ("uint", "int") else None)
    if name is not None:
        names.append(name)
    return item


def _gate(draw: st.DrawFn, names: list[str]) -> tuple[str, int] | None:
    if not names or draw(st.integers(0, 2)) == 0:
        return None
    return draw(st.sampled_from(names)), draw(st.integers(1, 0xFF))


@st.composite
def layouts(draw: st.DrawFn) -> Layout:
    names: list[str] = []
    count = draw(st.integers(0, 7))
    return Layout("layouts[0]", "payload",
                  tuple(draw(items(names, f"layouts[0].items[{index}]", False))
                        for index in range(count)))


FLAGS = LayoutItem("layouts[0].items[0]", "uint", 1, name="flags")
GATED_GROUP = Layout("layouts[0]", "payload", (FLAGS, LayoutItem(
    "layouts[0].items[1]", type="group", present_if=("flags", 0x02), repeat=2, group=(
        LayoutItem("layouts[0].items[1].group[0]", "uint", 1, quantity="volume"),))))
# A product of 16 digits: its JSON form is the exact decimal as text, not a float.
LONG_PRODUCT = Layout("layouts[0]", "payload", (LayoutItem(
    "layouts[0].items[0]", "uint", 7, quantity="volume", scale=Decimal("0.001")),))

# Numbers read as bytes (3 bytes, big-endian): plain records, scaled, BCD, that a block
# reads as it reads the others, converted first; a quick read leaves them to the full one.
AS_BYTES = Layout("layouts[0]", "payload", tuple(
    LayoutItem(f"layouts[0].items[{index}]", kind, length, quantity="volume", storage=index,
               scale=scale, big_endian=big)
    for index, (kind, length, scale, big) in enumerate([
        ("uint", 3, None, False), ("uint", 2, None, True), ("bcd", 3, None, False),
        ("uint", 3, Decimal("0.01"), True), ("bcd", 3, Decimal("0.001"), True)])))
# Plain records only, one read as bytes: not extended as the struct read them.
PLAIN_BYTES = Layout("layouts[0]", "payload", tuple(
    LayoutItem(f"layouts[0].items[{index}]", "uint", length, quantity="volume", storage=index)
    for index, length in enumerate([2, 3, 1])))


@settings(max_examples=300)
@example(GATED_GROUP, bytes([0x01, 0x05, 0x06]))
@example(GATED_GROUP, bytes([0x02, 0x05, 0x06]))
@example(LONG_PRODUCT, (2**52).to_bytes(7, "little"))
@example(LONG_PRODUCT, (10**15 - 1).to_bytes(7, "little"))
@given(layouts(), st.binary(max_size=40))
def test_compiled_steps_read_what_the_items_say(layout: Layout, data: bytes) -> None:
    expected, expected_fault = reference(layout, data)
    records, fault = read_layout(layout, data)
    assert [(record.head, record.value) for record in records] == expected
    # The same types and Decimal exponents, not only equal numbers.
    assert [repr(record.value) for record in records] == [repr(value) for _, value in expected]
    assert [id(record.head) for record in records] == [id(head) for head, _ in expected]
    assert (None if fault is None else (fault.offset, fault.item, fault.message)) == \
        expected_fault
    heads: list[object] = []
    values: list[object] = []
    json_values: list[object] = []
    read_layout_into(layout, data, heads, values, json_values)  # type: ignore[arg-type]
    assert [repr(value) for value in json_values] == \
        [repr(field_json(value)) for _, value in expected]  # type: ignore[arg-type]


@given(layouts(), st.binary(max_size=40))
def test_digit_patterns_that_are_not_bcd_are_refused_in_both(layout: Layout,
                                                             data: bytes) -> None:
    data = bytes(byte | 0xA0 for byte in data)  # every byte's high digit is not a digit
    _, expected_fault = reference(layout, data)
    _, fault = read_layout(layout, data)
    assert (None if fault is None else (fault.offset, fault.item, fault.message)) == \
        expected_fault


# --- blocks: the steps compiled per pattern of gates and counts, kept per layout -------


def _lazy_read(layout: Layout, data: bytes) -> tuple[list[object], list[object], list[object]]:
    heads: list[object] = []
    values: list[object] = []
    json_values: list[object] = []
    read_layout_into(layout, data, heads, values, json_values,  # type: ignore[arg-type]
                     lazy=True)
    return heads, [scaled_value(value) for value in values], json_values  # type: ignore[arg-type]


# A name read again (a group's member) opens the gates decided on it again.
NAMED_TWICE = Layout("layouts[0]", "payload", (LayoutItem(
    "layouts[0].items[0]", type="group", repeat=2, group=(
        LayoutItem("layouts[0].items[0].group[0]", "uint", 1, name="flags"),
        LayoutItem("layouts[0].items[0].group[1]", "uint", 1, quantity="volume",
                   present_if=("flags", 0x01)))),))
# Whole and fractional scales, BCD, an int, a no-value pattern, bits: each way a block reads.
EVERY_WAY = Layout("layouts[0]", "payload", tuple(
    LayoutItem(f"layouts[0].items[{index}]", kind, length, quantity="volume", storage=index,
               scale=scale, invalid=invalid, bits=bits)
    for index, (kind, length, scale, invalid, bits) in enumerate([
        ("uint", 2, Decimal("2"), None, None), ("uint", 2, Decimal("0.01"), None, None),
        ("int", 2, Decimal("0.1"), None, None), ("bcd", 2, Decimal("0.001"), None, None),
        ("bcd", 3, None, None, None), ("uint", 1, None, 0xFF, None),
        ("int", 1, None, None, (1, 3)), ("uint", 3, Decimal("1E+1"), None, None)])))


@settings(max_examples=300)
@example(GATED_GROUP, [bytes([0x01, 0x05, 0x06]), bytes([0x02, 0x05, 0x06]), b"\x02\x05"])
@example(NAMED_TWICE, [b"\x01\x05\x00\x06", b"\x00\x05\x01\x06\x00", b"\x01\x05\x01\x06"])
@example(EVERY_WAY, [bytes(range(1, 20)), bytes(range(200, 219)), bytes(19), b"\x12" * 19,
                     b"\x12" * 7 + b"\x1a" * 12])
@example(AS_BYTES, [bytes(range(1, 15)), b"\x12" * 14, b"\x1a" * 14, b"\x12" * 13])
@example(PLAIN_BYTES, [bytes(range(1, 7)), b"\x12" * 5])
@given(layouts(), st.lists(st.binary(max_size=40), min_size=1, max_size=6))
def test_kept_blocks_read_what_the_items_say_telegram_after_telegram(
        layout: Layout, telegrams: list[bytes]) -> None:
    # The same layout over several byte strings (and each twice): blocks made for one
    # pattern and kept must read the next bytes as the items say, lazily made values too.
    for data in [*telegrams, *telegrams]:
        expected, expected_fault = reference(layout, data)
        records, fault = read_layout(layout, data)
        assert [(id(record.head), repr(record.value)) for record in records] == \
            [(id(head), repr(value)) for head, value in expected]
        assert (None if fault is None else (fault.offset, fault.item, fault.message)) == \
            expected_fault
        heads, values, json_values = _lazy_read(layout, data)
        assert [(id(head), repr(value)) for head, value in zip(heads, values, strict=True)] \
            == [(id(head), repr(value)) for head, value in expected]
        assert [repr(value) for value in json_values] == \
            [repr(field_json(value)) for _, value in expected]  # type: ignore[arg-type]


def test_blocks_are_made_once_per_pattern() -> None:
    layout = Layout("layouts[0]", "payload", (FLAGS, LayoutItem(
        "layouts[0].items[1]", "uint", 1, quantity="volume", present_if=("flags", 0x01)),
        LayoutItem("layouts[0].items[2]", "bcd", 2, quantity="volume", storage=1,
                   scale=Decimal("0.01"))))
    for data in (b"\x01\x07\x34\x12", b"\x00\x34\x12", b"\x01\x08\x34\x12"):
        assert read_layout(layout, data)[1] is None
    program = _program(layout)
    assert program.blocks == [3]  # the first, flags & 1 set, not set
    assert sorted(program.root.children) == [0, 1]
    assert program is _program(layout)
    records, _ = read_layout(layout, b"\x01\x07\x34\x12")
    assert [record.value for record in records] == [7, Decimal("12.34")]
    _, values, json_values = _lazy_read(layout, b"\x01\x07\x34\x12")
    assert values == [7, Decimal("12.34")] and json_values == [7, 12.34]


def test_patterns_beyond_the_limit_are_read_item_by_item(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr(_layouts, "_BLOCKS_LIMIT", 1)
    layout = Layout("layouts[0]", "payload", (FLAGS, LayoutItem(
        "layouts[0].items[1]", "uint", 1, quantity="volume", present_if=("flags", 0x01))))
    records, fault = read_layout(layout, b"\x01\x07")
    assert fault is None and [record.value for record in records] == [7]
    assert _program(layout).blocks == [1] and not _program(layout).root.children


# A date and a no-value pattern: records left out or not, telegram by telegram.
UNSET = Layout("layouts[0]", "payload", (
    LayoutItem("layouts[0].items[0]", "date", 2, quantity="date"),
    LayoutItem("layouts[0].items[1]", "uint", 1, quantity="volume", invalid=0xFF),
    LayoutItem("layouts[0].items[2]", "date", 2, quantity="date", storage=1)))


@settings(max_examples=300)
@example(UNSET, [b"\x00\x00\x01\xc1\x11", b"\xc1\x11\xff\x00\x00", b"\xc1\x11\x01\x00\x00",
                 b"\x00\x00\x01\x00\x00", b"\x00\x00\xff\xc1\x11", b"\xc1\x11\xff"])
@example(GATED_GROUP, [bytes([0x01, 0x05, 0x06]), bytes([0x02, 0x05, 0x06]), b"\x02\x05"])
@given(layouts(), st.lists(st.binary(max_size=40), min_size=1, max_size=8))
def test_equal_paths_stand_for_equal_heads(layout: Layout, telegrams: list[bytes]) -> None:
    # MeterProfiles.document keeps a plan per path (read_layout_into's path=): bytes that
    # give other heads (another pattern of gates and counts, a record left out elsewhere,
    # a fault) must never give an equal path; the lists are as without a path.
    seen: dict[tuple[object, ...], list[object]] = {}
    for data in [*telegrams, *telegrams]:
        heads: list[object] = [layout_head("volume", "m3", 9, "instantaneous", 0, 0)]
        values: list[object] = [1]
        json_values: list[object] = [1]
        path: list[object] = ["before"]
        fault = read_layout_into(layout, data, heads, values, json_values,  # type: ignore[arg-type]
                                 lazy=True, path=path)
        assert path[0] == "before"
        assert list(map(id, seen.setdefault(tuple(path), heads))) == list(map(id, heads))
        expected_heads, expected_values, expected_json = _lazy_read(layout, data)
        assert list(map(id, heads[1:])) == list(map(id, expected_heads))
        assert [repr(scaled_value(value))  # type: ignore[arg-type]
                for value in values[1:]] == list(map(repr, expected_values))
        assert json_values[1:] == expected_json
        assert (fault is None) == (reference(layout, data)[1] is None)


# Each way a quick read makes a JSON value in one map: plain and BCD numbers, scales by a
# fraction (BCD or not, a coefficient or not), dates (set or not), datetimes, hex, numbers
# with a no-value pattern.
QUICK_WAYS = Layout("layouts[0]", "payload", tuple(
    LayoutItem(f"layouts[0].items[{index}]", kind, length, quantity=quantity, storage=index,
               scale=scale, invalid=invalid)
    for index, (kind, length, quantity, scale, invalid) in enumerate([
        ("bcd", 4, "volume", Decimal("0.001"), None), ("date", 2, "date", None, None),
        ("int", 2, "volume", Decimal("0.001"), None), ("uint", 1, "volume", None, None),
        ("bcd", 2, "volume", None, None), ("uint", 2, "volume", Decimal("0.25"), None),
        ("bcd", 2, "volume", Decimal("0.5"), None), ("datetime", 4, "datetime", None, None),
        ("hex", 2, "volume", None, None), ("uint", 2, "volume", Decimal("0.01"), None),
        ("uint", 1, "volume", Decimal("0.001"), 0x12), ("int", 2, "volume", None, -1)])))
# No-value patterns, no date: the quick read's JSON values can be None all the same.
QUICK_GAPS = Layout("layouts[0]", "payload", (
    LayoutItem("layouts[0].items[0]", "uint", 1, quantity="volume", invalid=0xFF),
    LayoutItem("layouts[0].items[1]", "uint", 2, quantity="volume", scale=Decimal("0.01"),
               storage=1)))


@settings(max_examples=300)
@example(QUICK_WAYS, [bytes(range(1, 28)), b"\x12" * 27, bytes(27), b"\x1a" * 27,
                     bytes(range(1, 24)) + b"\x12\xff\xff", bytes(range(1, 24)) + b"\x13\xfe\xff"])
@example(UNSET, [b"\x00\x00\x01\xc1\x11", b"\xc1\x11\x02\x00\x00", b"\xc1\x11\x01\xc1\x11"])
@example(QUICK_GAPS, [b"\xff\x01\x02", b"\x01\x01\x02"])
@example(AS_BYTES, [bytes(range(1, 15)), b"\x12" * 14, b"\x1a" * 14])
@example(PLAIN_BYTES, [bytes(range(1, 7)), b"\x12" * 5])
@given(st.one_of(layouts(), st.sampled_from([QUICK_WAYS, UNSET, QUICK_GAPS, AS_BYTES,
                                             PLAIN_BYTES])),
       st.lists(st.binary(max_size=40), min_size=1, max_size=8))
def test_quick_reads_give_the_json_values_and_path_of_full_reads(
        layout: Layout, telegrams: list[bytes]) -> None:
    # MeterProfiles.document reads quickly (read_layout_into's quick=: blocks of numbers,
    # scales and dates make their JSON values in one map, no heads or values) where the
    # plan of the path is known: the JSON values, the path and the fault must be those of
    # the full read, telegram after telegram.
    for data in [*telegrams, *telegrams]:
        made = []
        for quick in (False, True):
            json_values: list[object] = ["before"]
            path: list[object] = []
            fault = read_layout_into(layout, data, [], [], json_values,  # type: ignore[arg-type]
                                     lazy=True, path=path, quick=quick)
            made.append(([repr(value) for value in json_values], path,
                         None if fault is None else (fault.offset, fault.item, fault.message)))
        assert made[0] == made[1]
    assert layout not in (QUICK_WAYS, QUICK_GAPS) or _program(layout).root.quick is not None


def test_date_texts_are_those_of_the_bytes() -> None:
    # Quick reads look dates up (_layouts._DATE_TEXTS, made at first sight and kept).
    for number in range(0, 65536, 7):
        raw = number.to_bytes(2, "little")
        assert _layouts._DATE_TEXTS[raw] == _layouts._text(_layouts._DATE, raw)
        assert _layouts._DATE_TEXTS[raw] == _layouts._text(_layouts._DATE, raw)
    assert len(_layouts._DATE_TEXTS) <= _layouts._DATES_LIMIT


@settings(max_examples=200)
@given(layouts(), st.binary(max_size=40))
def test_faults_not_located_say_what_located_ones_say(layout: Layout, data: bytes) -> None:
    # MeterProfiles.document's problems take the fault's message alone: the item by item
    # reading it falls back to (_read_again, located=False) leaves its table unset, and
    # says the rest alike.
    faults = [_layouts._read_again(layout, data, [], [], [], 0, 0, None, 0, located)
              for located in (True, False)]
    assert [fault is None for fault in faults] == [False, False] or faults == [None, None]
    if faults[0] is not None and faults[1] is not None:
        assert (faults[1].message, faults[1].offset, faults[1].item) == \
            (faults[0].message, faults[0].offset, faults[0].item)
        assert (faults[0].table, faults[1].table) == (layout.table, None)
