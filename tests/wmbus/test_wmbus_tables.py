"""Flat reading rows: telegrams -> rows -> Arrow/pandas/polars, exact values, quality flags."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

import mbus
import mbus.tables
import profiles
import wmbus
from tests.mbus.corpus import wmbus_lines

UTC = dt.timezone.utc


def _corpus_capture() -> tuple[bytes, dict[str, str]]:
    """The dev corpus as a time,hex CSV capture (prior telegrams first) and its keys."""
    lines: list[str] = []
    keys: dict[str, str] = {}
    start = dt.datetime(2026, 11, 24, tzinfo=UTC)
    for line in wmbus_lines():
        for number, hexed in enumerate([*line.get("prior_telegrams", []), line["telegram"]]):
            lines.append(f"{(start + dt.timedelta(minutes=len(lines))).isoformat()},{hexed}")
            del number
        key = line.get("key", "NOKEY")
        if key != "NOKEY":  # stored by meter id: the decoded one (some lines name none)
            frame = bytes.fromhex(line["telegram"])
            with contextlib.suppress(wmbus.WMBusError, mbus.MBusError):
                decoded = wmbus.decode(frame, bytes.fromhex(key), already_decrypted=True)
                keys.update((ident, key) for ident in (decoded.id, decoded.link.id) if ident)
    return ("\n".join(lines) + "\n").encode(), keys


def test_corpus_capture_rows_match_the_decoded_records() -> None:
    data, keys = _corpus_capture()
    table = wmbus.decode_capture(wmbus.Capture(data, "csv", name="corpus"), keys,
                                 already_decrypted=True, profiles=False)
    decoder = wmbus.Decoder(keys, already_decrypted=True, profiles=False)
    expected: list[tuple[Any, ...]] = []
    failures = 0
    for time, source, frame in wmbus.Capture(data, "csv", name="corpus"):
        try:
            telegram = decoder.decode(frame)
        except (wmbus.WMBusError, mbus.MBusError):
            failures += 1
            continue
        for record in telegram.records:
            if record.function in ("manufacturer_specific", "more_records_follow"):
                continue
            unverified = telegram.security.decrypted_by == "input"
            invalid = any("invalid" in flag for flag in record.flags)
            expected.append((time, source, telegram.id, record.quantity, repr(record.value),
                             record.unit, record.storage,
                             ("unverified",) * unverified + ("invalid",) * invalid))
    got = [(r.time, r.source, r.meter_id, r.name, repr(r.value), r.unit, r.storage, r.quality)
           for r in table]
    assert got == expected
    assert len(got) > 1000 and len(table.problems) == failures
    assert sum(row[-1] == ("unverified",) for row in got) > 100
    arrow = table.to_arrow()
    assert arrow.num_rows == len(got)
    assert arrow.schema.field("value").type == pa.decimal128(38, 9)
    # Every number held in the decimal column is the exact value; value_text round-trips.
    for row, held in zip(table, arrow.column("value").to_pylist(), strict=True):
        if isinstance(row.value, (int, Decimal)) and not isinstance(row.value, bool):
            assert Decimal(row.value_text) == row.value
            if held is not None:
                assert held == row.value
    assert sum(v is not None for v in arrow.column("value").to_pylist()) > 1000


def _row(value: Any, **changes: Any) -> mbus.tables.ReadingRow:
    fields: dict[str, Any] = {
        "time": dt.datetime(2026, 11, 24, 8, tzinfo=UTC), "meter_id": "12345678",
        "manufacturer": "KAM", "medium": "water", "profile": None, "name": "volume",
        "value": value, "value_text": str(value), "unit": "m3", "storage": 0, "tariff": 0,
        "subunit": 0, "function": "instantaneous", "quality": (), "source": "cap:1"}
    fields.update(changes)
    return mbus.tables.ReadingRow(**fields)


@pytest.mark.parametrize(("value", "held"), [
    (Decimal("28504.27"), Decimal("28504.27")),
    (12345678901234567890, Decimal(12345678901234567890)),
    (Decimal("0.000000001"), Decimal("0.000000001")),
    (Decimal("1.2300000000000"), Decimal("1.23")),  # trailing zeros past 10^-9: still exact
    (Decimal("0.0000000001"), None),  # finer than 10^-9: text only
    (10**29, None),  # 30 integer digits do not fit decimal128(38, 9)
    (Decimal("-99999999999999999999999999999"), Decimal("-99999999999999999999999999999")),
    (0.1, Decimal("0.1")),  # a float: the decimal of its shortest repr
    ("ABC-123", None),
    (dt.date(2026, 11, 24), None),
])
def test_exactness_rule(value: Any, held: Any) -> None:
    table = mbus.tables.ReadingTable([_row(value)])
    column = table.to_arrow().column("value").to_pylist()
    assert column == [held]
    if held is not None:
        assert column[0] == Decimal(repr(value) if isinstance(value, float) else value)


def test_pandas_and_polars_keep_decimals() -> None:
    table = mbus.tables.ReadingTable([_row(Decimal("28504.27")), _row(7, quality=("invalid",))])
    frame = table.to_pandas()
    assert list(frame.columns) == list(mbus.tables.READING_COLUMNS)
    assert list(frame["value"]) == [Decimal("28504.27"), Decimal(7)]
    assert list(frame["quality"].map(list)) == [[], ["invalid"]]
    polars = table.to_polars()
    assert str(polars.schema["value"]).startswith("Decimal")
    assert polars["value"].to_list() == [Decimal("28504.27"), Decimal(7)]


def test_invalid_record_data_is_flagged() -> None:
    bad_bcd = wmbus.decode(wmbus.build_telegram(
        manufacturer="KAM", id="12345678",
        records=[mbus.records.decode_records(bytes.fromhex("0C13FF000000"))[0]]))
    assert mbus.tables.telegram_rows(bad_bcd)[0].quality == ("invalid",)


class _Carrying:
    """A telegram carrying its named fields, as a decoder that applied profiles gives it."""

    def __init__(self, telegram: wmbus.Telegram, meter: profiles.MeterFields) -> None:
        self._telegram = telegram
        self.meter = meter

    def __getattr__(self, name: str) -> Any:
        return getattr(self._telegram, name)


def test_profile_fields_name_the_rows() -> None:
    shipped = profiles.shipped_meter_profiles()
    checked = 0
    for line in wmbus_lines():
        expected = line.get("expected") or {}
        if line.get("driver") != "multical21" or "total_m3" not in expected:
            continue
        key = line.get("key", "NOKEY")
        decoder = wmbus.Decoder(already_decrypted=True, profiles=False)
        for prior in line.get("prior_telegrams", []):
            decoder.decode(bytes.fromhex(prior))
        telegram = decoder.decode(bytes.fromhex(line["telegram"]),
                                  None if key == "NOKEY" else bytes.fromhex(key))
        rows = {row.name: row for row in mbus.tables.telegram_rows(telegram, profiles=shipped)}
        total = rows["total_m3"]
        assert (total.profile, total.unit, total.storage) == ("kamstrup_multical21", "m3", 0)
        assert total.value == Decimal(str(expected["total_m3"]))  # wmbusmeters' value
        assert "volume" in [row.name for row in mbus.tables.telegram_rows(telegram)]
        named = wmbus.Decoder(already_decrypted=True).decode(bytes.fromhex(line["telegram"]),
                                                            None if key == "NOKEY"
                                                            else bytes.fromhex(key))
        assert [(r.name, r.value) for r in mbus.tables.telegram_rows(named)] == [
            (r.name, r.value) for r in rows.values()]  # decoders name fields by default
        values = [record.value for record in telegram.records]
        carried = mbus.tables.telegram_rows(_Carrying(telegram, shipped.apply(
            [record.shape for record in telegram.records], values.__getitem__,
            manufacturer="KAM", ci=telegram.ci, version=telegram.link.version,
            device_type=telegram.link.device_type)))
        assert [(r.name, r.value) for r in carried] == [(r.name, r.value) for r in rows.values()]
        checked += 1
    assert checked >= 3


def test_consumption_per_period_is_exact() -> None:
    start = dt.datetime(2026, 11, 24, tzinfo=UTC)
    readings = {"A": [(0, "1.000"), (5, "1.500"), (26, "2.250"), (50, "2.300")],
                "B": [(1, "10"), (30, "11")]}
    rows = [_row(Decimal(value), meter_id=meter, time=start + dt.timedelta(hours=hour))
            for meter, items in readings.items() for hour, value in items]
    rows.append(_row(Decimal("99"), meter_id="A", storage=1, time=start))  # not current
    frame = mbus.tables.ReadingTable(rows).to_pandas()
    daily = mbus.tables.consumption(frame, "volume", "D")
    assert [str(period) for period in daily.index] == ["2026-11-24", "2026-11-25",
                                                       "2026-11-26"]
    assert daily.loc["2026-11-25", "A"] == Decimal("0.75")
    assert daily.loc["2026-11-26", "A"] == Decimal("0.05")
    assert str(daily.loc["2026-11-25", "A"]) == "0.75"  # exact, without the trailing zeros
    assert daily.loc["2026-11-25", "B"] == Decimal("1")
    assert daily.isna().to_numpy().tolist() == [[True, True], [False, False], [False, True]]
