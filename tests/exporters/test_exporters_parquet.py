"""Parquet export: round trip, exact decimals, bounded row groups, the ``exporters parquet`` CLI."""

from __future__ import annotations

import io
import json
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporters import (
    CSV_COLUMNS,
    PARQUET_COLUMNS,
    ParquetFormatError,
    ParquetWriter,
    Reading,
    read_parquet,
    write_parquet,
)
from exporters._cli import main

from .strategies_formats import readings

UTC = timezone.utc
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _reading(value: object, **changes: object) -> Reading:
    fields: dict[str, object] = {"meter_id": "12345678", "quantity": "volume", "value": value,
                                 "unit": "m3", "timestamp": T0}
    fields.update(changes)
    return Reading(**fields)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.lists(readings(), max_size=12))
def test_round_trip(items: list[Reading]) -> None:
    buffer = io.BytesIO()
    assert write_parquet(items, buffer, row_group_size=5) == len(items)
    buffer.seek(0)
    back = list(read_parquet(buffer))
    assert back == items
    # Values keep their exact form, trailing zeros included.
    assert [str(r.value) for r in back] == [str(r.value) for r in items]


def test_columns_and_exact_decimal_column() -> None:
    items = [
        _reading(Decimal("28504.270"), metadata={"manufacturer": "KAM", "medium": "water"}),
        _reading(12345678901234567890),
        _reading(Decimal("0.0000000001")),  # finer than 10^-9: only value_text holds it
        _reading(0.1),
        _reading("OK"),
    ]
    buffer = io.BytesIO()
    write_parquet(items, buffer)
    table = pq.read_table(io.BytesIO(buffer.getvalue()))
    assert tuple(table.column_names) == PARQUET_COLUMNS
    assert PARQUET_COLUMNS[:len(CSV_COLUMNS)] == CSV_COLUMNS
    assert table.schema.field("value").type == pa.decimal128(38, 9)
    assert table.column("value").to_pylist() == [
        Decimal("28504.27"), Decimal(12345678901234567890), None, Decimal("0.1"), None]
    assert table.column("value_text").to_pylist() == [
        "28504.270", "12345678901234567890", "0.0000000001", "0.1", "OK"]
    assert table.column("manufacturer").to_pylist() == ["KAM", None, None, None, None]
    assert table.column("medium").to_pylist()[0] == "water"
    assert table.column("timestamp").to_pylist()[0] == T0


def test_row_groups_bound_memory() -> None:
    buffer = io.BytesIO()
    with ParquetWriter(buffer, row_group_size=10) as writer:
        writer.write_many(_reading(n) for n in range(25))
        assert writer.count == 25
    metadata = pq.ParquetFile(io.BytesIO(buffer.getvalue())).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [
        10, 10, 5]


def test_not_parquet_and_foreign_parquet_are_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(ParquetFormatError, match="not a Parquet file"):
        list(read_parquet(io.BytesIO(b"PAR1 nonsense")))
    foreign = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"meter_id": ["1"]}), foreign)
    with pytest.raises(ParquetFormatError, match="missing column") as info:
        list(read_parquet(str(foreign)))
    assert info.value.field == "quantity"
    bad = tmp_path / "bad.parquet"
    write_parquet([_reading(5)], str(bad))
    table = pq.read_table(bad)
    table = table.set_column(table.schema.get_field_index("value_text"), "value_text",
                             pa.array(["five"]))
    pq.write_table(table, bad)
    with pytest.raises(ParquetFormatError) as error:
        list(read_parquet(str(bad)))
    assert (error.value.field, error.value.line) == ("value", 1)


DOCUMENT = {
    "header": {"id": "12345678", "manufacturer": "KAM", "medium": "heat", "status": 0},
    "records": [
        {"quantity": "energy", "unit": "Wh", "value": 28504.270, "dif": "04", "vif": "06"},
        {"quantity": "volume", "unit": "m3", "value": 12, "storage": 1},
    ],
}


def test_cli_writes_the_file_and_round_trips(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(DOCUMENT) + "\n"))
    assert main(["parquet", "--timestamp", "2026-11-24T08:00:00Z", "-o", str(target)]) == 0
    back = list(read_parquet(str(target)))
    assert [(r.meter_id, r.quantity, r.value, r.storage, r.timestamp) for r in back] == [
        ("12345678", "energy", Decimal("28504.270"), 0, T0),
        ("12345678", "volume", 12, 1, T0)]
    table = pq.read_table(target)
    assert table.column("manufacturer").to_pylist() == ["KAM", "KAM"]
    assert table.column("medium").to_pylist() == ["heat", "heat"]


def test_cli_to_stdout(monkeypatch: pytest.MonkeyPatch,
                       capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(DOCUMENT) + "\n"))
    assert main(["parquet", "--timestamp", "2026-11-24T08:00:00Z"]) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b"PAR1") and len(list(read_parquet(io.BytesIO(out)))) == 2


def test_cli_bad_input_writes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.parquet"
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(DOCUMENT) + "\n{broken\n"))
    assert main(["parquet", "--timestamp", "2026-11-24T08:00:00Z", "-o", str(target)]) == 1
    assert not target.exists() and list(tmp_path.iterdir()) == []
    assert "line 2" in capsys.readouterr().err
    assert main(["parquet", "--row-group-size", "0", "-o", str(target)]) == 1
