"""CSV export (issue 6, "CSV: ..."): RFC 4180, UTC ISO 8601, German profile, formula guard,
constant memory, and a reader that round-trips."""

from __future__ import annotations

import contextlib
import csv
import io
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporters import (
    CSV_COLUMNS,
    CsvFormatError,
    CsvProfile,
    CsvWriter,
    ExportError,
    Reading,
    read_csv,
    write_csv,
)

from .strategies_formats import readings, same_exactly

UTC = timezone.utc
T0 = datetime(2026, 11, 24, 8, 15, tzinfo=UTC)
HEADER = (
    "meter_id,meter_name,quantity,value,value_type,unit,timestamp,"
    "storage,tariff,subunit,function,status,metadata"
)


def make(**changes: Any) -> Reading:
    values: dict[str, Any] = {
        "meter_id": "12345678",
        "quantity": "energy",
        "value": Decimal("1234.5"),
        "unit": "Wh",
        "timestamp": T0,
    }
    values.update(changes)
    return Reading(**values)


def render(items: list[Reading], **options: Any) -> str:
    out = io.StringIO(newline="")
    write_csv(items, out, **options)
    return out.getvalue()


def rows(text: str, delimiter: str = ",") -> list[list[str]]:
    """Parse with the stdlib csv module: an independent RFC 4180 reader."""
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))


def test_header_row_and_crlf_record_ends() -> None:
    text = render([make()])
    # RFC 4180 2.1/2.3: CRLF ends every record, the first record is the header.
    assert text == (
        HEADER + "\r\n"
        "12345678,,energy,1234.5,decimal,Wh,2026-11-24T08:15:00Z,0,0,0,instantaneous,,\r\n"
    )
    assert tuple(HEADER.split(",")) == CSV_COLUMNS


def test_empty_export_still_has_the_header() -> None:
    assert render([]) == HEADER + "\r\n"


def test_header_can_be_left_out_for_appending() -> None:
    assert not render([make()], header=False).startswith("meter_id")


def test_timestamps_are_written_in_utc() -> None:
    cet = timezone(timedelta(hours=1))
    text = render([make(timestamp=datetime(2026, 1, 1, 0, 30, tzinfo=cet))])
    assert rows(text)[1][6] == "2025-12-31T23:30:00Z"


@pytest.mark.parametrize(
    ("name", "expected_cell"),
    [
        ("Flat 3, left", '"Flat 3, left"'),  # separator -> quoted (RFC 4180 2.6)
        ('the "big" one', '"the ""big"" one"'),  # quote -> quoted and doubled (2.7)
        ("two\r\nlines", '"two\r\nlines"'),  # line break -> quoted (2.6)
        ("plain", "plain"),  # nothing special -> not quoted
    ],
)
def test_rfc4180_quoting(name: str, expected_cell: str) -> None:
    text = render([make(meter_name=name)])
    record = text.split("\r\n", 1)[1]
    assert record.startswith("12345678," + expected_cell + ",energy,")
    assert rows(text)[1][1] == name


def test_value_forms() -> None:
    items = [
        make(value=Decimal("1E+3")),
        make(value=Decimal("0.000")),
        make(value=-7),
        make(value=2.5e-7),
        make(value="n/a"),
    ]
    cells = [(row[3], row[4]) for row in rows(render(items))[1:]]
    assert cells == [
        ("1000", "decimal"),
        ("0.000", "decimal"),
        ("-7", "integer"),
        ("2.5e-07", "float"),
        ("n/a", "string"),
    ]


def test_german_profile() -> None:
    text = render([make(value=Decimal("1234.5")), make(value=0.25), make(value=3)], profile="de")
    assert text.startswith(HEADER.replace(",", ";") + "\r\n")
    parsed = rows(text, delimiter=";")
    assert [row[3] for row in parsed[1:]] == ["1234,5", "0,25", "3"]
    # Only the value gets the decimal comma; the timestamp is still ISO 8601.
    assert parsed[1][6] == "2026-11-24T08:15:00Z"


def test_german_profile_quotes_semicolons_not_commas() -> None:
    text = render([make(meter_name="a;b", unit="m3,x")], profile="de")
    record = text.split("\r\n")[1]
    assert '"a;b"' in record
    assert ";m3,x;" in record


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\n", "\uff1d"])
def test_formula_injection_guard(start: str) -> None:
    payload = start + "HYPERLINK(\"http://x\")"
    item = make(meter_id=payload, meter_name=payload, quantity=payload, unit=payload,
                value=payload, function=payload, status=("-x",))  # fmt: skip
    parsed = rows(render([item]))[1]
    for column in ("meter_id", "meter_name", "quantity", "value", "unit", "function"):
        assert parsed[CSV_COLUMNS.index(column)] == "'" + payload
    assert parsed[CSV_COLUMNS.index("status")] == "'-x"
    assert list(read_csv(io.StringIO(render([item]), newline=""))) == [item]


def test_formula_guard_leaves_numbers_alone() -> None:
    parsed = rows(render([make(value=Decimal("-12.5")), make(value=-3)]))
    assert [row[3] for row in parsed[1:]] == ["-12.5", "-3"]


def test_apostrophe_is_escaped_so_the_guard_can_be_undone() -> None:
    item = make(meter_name="'quoted", value="'=1")
    parsed = rows(render([item]))[1]
    assert parsed[1] == "''quoted"
    assert parsed[3] == "''=1"
    assert list(read_csv(io.StringIO(render([item]), newline=""))) == [item]


def test_formula_guard_can_be_switched_off() -> None:
    item = make(meter_name="=1+1")
    text = render([item], formula_guard=False)
    assert rows(text)[1][1] == "=1+1"
    assert list(read_csv(io.StringIO(text, newline=""), formula_guard=False)) == [item]


def test_status_and_metadata_cells() -> None:
    item = make(status=("power_low", "temporary_error"), metadata={"b": "2", "a": "ü"})
    parsed = rows(render([item]))[1]
    assert parsed[11] == "power_low temporary_error"
    assert parsed[12] == '{"a":"ü","b":"2"}'


def test_custom_profile_and_bad_profiles() -> None:
    tab = CsvProfile(name="tab", delimiter="\t", decimal_separator=",")
    text = render([make()], profile=tab)
    assert text.split("\r\n")[1].split("\t")[3] == "1234,5"
    assert list(read_csv(io.StringIO(text, newline=""), profile=tab)) == [make()]
    with pytest.raises(CsvFormatError):
        CsvProfile(name="x", delimiter=",", decimal_separator=",")
    with pytest.raises(CsvFormatError):
        CsvProfile(name="x", delimiter='"', decimal_separator=".")
    with pytest.raises(CsvFormatError, match="unknown CSV profile"):
        render([], profile="fr")


def test_reader_detects_the_profile_and_skips_a_bom() -> None:
    items = [make(value=Decimal("0.5")), make(value=2.0)]
    for profile in ("default", "de"):
        text = "\ufeff" + render(items, profile=profile)
        assert list(read_csv(io.StringIO(text, newline=""))) == items


def test_reader_accepts_reordered_and_missing_optional_columns() -> None:
    text = (
        "timestamp,value,unit,quantity,meter_id\r\n"
        "2026-11-24T08:15:00Z,1234.5,Wh,energy,12345678\r\n"
    )
    assert list(read_csv(io.StringIO(text, newline=""))) == [make()]


def test_reader_infers_types_without_value_type() -> None:
    text = "meter_id;quantity;value;unit;timestamp\r\n" + "".join(
        f"1;q;{cell};u;2026-11-24T08:15:00Z\r\n" for cell in ("12", "1,50", "abc", "1,5,6")
    )
    values = [r.value for r in read_csv(io.StringIO(text, newline=""))]
    assert values == [12, Decimal("1.50"), "abc", "1,5,6"]


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("", 1, None),
        ("a,b\r\n", 1, None),
        ("meter_id,quantity,value,unit\r\n", 1, "timestamp"),
        ("meter_id,quantity,value,unit,timestamp,colour\r\n", 1, "colour"),
        ("meter_id,meter_id,quantity,value,unit,timestamp\r\n", 1, "meter_id"),
        (HEADER + "\r\n1,2,3\r\n", 2, None),
        (HEADER + "\r\n1,,q,1,integer,u,2026-11-24T08:15:00,0,0,0,f,,\r\n", 2, "timestamp"),
        (HEADER + "\r\n1,,q,1.5,integer,u,2026-11-24T08:15:00Z,0,0,0,f,,\r\n", 2, "value"),
        (HEADER + "\r\n1,,q,1,complex,u,2026-11-24T08:15:00Z,0,0,0,f,,\r\n", 2, "value_type"),
        (HEADER + "\r\n1,,q,1,integer,u,2026-11-24T08:15:00Z,-1,0,0,f,,\r\n", 2, "storage"),
        (HEADER + "\r\n1,,q,1,integer,u,2026-11-24T08:15:00Z,0,0,0,f,,[1]\r\n", 2, "metadata"),
        (HEADER + "\r\n1,,q,1,integer,u,2026-11-24T08:15:00Z,0,0,0,f,,{x\r\n", 2, "metadata"),
        (HEADER + '\r\n1,,q,1,integer,u,2026-11-24T08:15:00Z,0,0,0,f,,"{}\r\n', 2, None),
        (HEADER + "\r\n,,q,1,integer,u,2026-11-24T08:15:00Z,0,0,0,f,,\r\n", 2, "meter_id"),
    ],
)
def test_reader_errors_say_where(text: str, line: int, field: str | None) -> None:
    with pytest.raises(CsvFormatError) as info:
        list(read_csv(io.StringIO(text, newline="")))
    assert info.value.line == line
    if field is not None:
        assert info.value.field == field


@given(
    st.lists(readings(), max_size=8),
    st.sampled_from(["default", "de"]),
    st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_round_trip(items: list[Reading], profile: str, guard: bool) -> None:
    text = render(items, profile=profile, formula_guard=guard)
    back = list(read_csv(io.StringIO(text, newline=""), formula_guard=guard))
    assert len(back) == len(items)
    assert all(same_exactly(a, b) for a, b in zip(items, back, strict=True))
    # Every record parses with the standard library as well (RFC 4180 shape).
    delimiter = ";" if profile == "de" else ","
    assert all(len(row) == len(CSV_COLUMNS) for row in rows(text, delimiter))


@given(readings())
@settings(max_examples=100, deadline=None)
def test_no_text_cell_starts_a_formula(item: Reading) -> None:
    parsed = rows(render([item]))[1]
    for column in ("meter_id", "meter_name", "quantity", "unit", "function", "status"):
        cell = parsed[CSV_COLUMNS.index(column)]
        assert not cell or cell[0] not in "=+-@\t\r\n"
    if isinstance(item.value, str):
        assert not parsed[3] or parsed[3][0] not in "=+-@\t\r\n"


def test_duck_typed_readings_are_accepted() -> None:
    class Row:
        meter_id = "7"
        quantity = "volume"
        value = 3
        unit = "m3"
        timestamp = T0
        meter_name = None
        storage = tariff = subunit = 0
        function = "instantaneous"
        status: tuple[str, ...] = ()
        metadata: ClassVar[dict[str, str]] = {}

    assert rows(render([Row()]))[1][:4] == ["7", "", "volume", "3"]  # type: ignore[list-item]


def test_invalid_reading_raises_export_error() -> None:
    class Broken:
        meter_id = "7"

    with pytest.raises(ExportError):
        render([Broken()])  # type: ignore[list-item]


class _Sink(io.TextIOBase):
    """A text stream that forgets what it is given (measures the writer alone)."""

    def write(self, text: str) -> int:
        return len(text)


def _generated(count: int) -> Iterator[Reading]:
    for number in range(count):
        yield make(meter_id=f"{number % 5000:08d}", value=Decimal(number) / 100,
                   timestamp=T0 + timedelta(minutes=number))  # fmt: skip


def _peak(count: int) -> int:
    tracemalloc.start()
    try:
        writer = CsvWriter(_Sink())
        writer.write_many(_generated(count))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_memory_does_not_grow_with_the_row_count() -> None:
    small, large = _peak(2_000), _peak(20_000)
    # Ten times the rows must not need noticeably more memory (no row is kept).
    assert large < small + 64 * 1024


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_arbitrary_text_reads_or_raises_only_csv_format_error(text: str) -> None:
    with contextlib.suppress(CsvFormatError):
        list(read_csv(io.StringIO(text, newline="")))


cell = st.one_of(st.text(max_size=6), st.sampled_from(["", "0", "-1", "1" * 5000, "1,5", "x"]))


@given(st.lists(st.lists(cell, min_size=13, max_size=13), max_size=4))
@settings(max_examples=200, deadline=None)
def test_arbitrary_rows_under_a_good_header_raise_only_csv_format_error(
    table: list[list[str]],
) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(table)
    out.seek(0)
    with contextlib.suppress(CsvFormatError):
        list(read_csv(out))


def test_huge_integer_cells_are_a_csv_format_error() -> None:
    big = "9" * 5000
    text = HEADER + f"\r\n1,,q,{big},integer,u,2026-11-24T08:15:00Z,{big},0,0,f,,\r\n"
    with pytest.raises(CsvFormatError):
        list(read_csv(io.StringIO(text, newline="")))


def test_a_line_without_end_is_bounded() -> None:
    text = HEADER + "\r\n" + "x" * (2 << 20)
    with pytest.raises(CsvFormatError, match="longer than") as info:
        list(read_csv(io.StringIO(text, newline="")))
    assert info.value.line == 2
