"""Reading: validation, to_dict/from_dict, duck typing (issue 6, "A Reading ...")."""

from __future__ import annotations

import json
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from exporters import ExportError, Reading, ReadingError, as_reading
from exporters._reading import format_timestamp, parse_timestamp

UTC = timezone.utc
T0 = datetime(2026, 11, 24, 8, 15, tzinfo=UTC)


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


def test_defaults() -> None:
    r = make()
    assert (r.meter_name, r.storage, r.tariff, r.subunit) == (None, 0, 0, 0)
    assert r.function == "instantaneous"
    assert r.status == ()
    assert dict(r.metadata) == {}


def test_frozen_slotted_keyword_only() -> None:
    r = make()
    with pytest.raises(FrozenInstanceError):
        r.value = 1  # type: ignore[misc]
    assert not hasattr(r, "__dict__")
    with pytest.raises(TypeError):
        Reading("1", "energy", 1, "Wh", T0)  # type: ignore[call-arg]


def test_naive_timestamp_is_refused_with_an_export_error() -> None:
    with pytest.raises(ReadingError) as info:
        make(timestamp=datetime(2026, 11, 24, 8, 15))
    assert isinstance(info.value, ExportError)
    assert info.value.field == "timestamp"
    assert "timezone-aware" in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("meter_id", ""),
        ("meter_id", 12345678),
        ("quantity", ""),
        ("unit", None),
        ("value", True),
        ("value", None),
        ("value", float("nan")),
        ("value", float("inf")),
        ("value", Decimal("NaN")),
        ("value", Decimal("-Infinity")),
        ("value", [1]),
        ("timestamp", "2026-11-24T08:15:00Z"),
        ("storage", -1),
        ("tariff", 1.0),
        ("subunit", True),
        ("function", ""),
        ("status", "power_low"),
        ("status", ("power low",)),
        ("status", ("",)),
        ("metadata", {"": "x"}),
        ("metadata", {"k": 1}),
        ("metadata", [("k", "v")]),
    ],
)
def test_invalid_fields_name_the_field(name: str, value: object) -> None:
    with pytest.raises(ReadingError) as info:
        make(**{name: value})
    assert info.value.field == name


@pytest.mark.parametrize("value", [Decimal("1.50"), 7, -3, 2.5, "n/a", ""])
def test_value_types(value: object) -> None:
    assert make(value=value).value == value


def test_sequences_become_tuples_and_metadata_is_copied() -> None:
    meta = {"medium": "heat"}
    r = make(status=["power_low"], metadata=meta)
    meta["medium"] = "water"
    assert r.status == ("power_low",)
    assert dict(r.metadata) == {"medium": "heat"}
    with pytest.raises(TypeError):
        r.metadata["x"] = "y"  # type: ignore[index]


def test_empty_name_is_none() -> None:
    assert make(meter_name="").meter_name is None


def test_hashable_picklable_comparable() -> None:
    a = make(metadata={"k": "v"}, status=("x",))
    b = make(metadata={"k": "v"}, status=("x",))
    assert a == b and hash(a) == hash(b)
    assert pickle.loads(pickle.dumps(a)) == a
    assert a != make(metadata={"k": "w"}, status=("x",))
    assert len({a, b}) == 1


def test_same_instant_in_another_zone_is_equal() -> None:
    cet = timezone(timedelta(hours=1))
    assert make(timestamp=T0.astimezone(cet)) == make()


def test_to_dict_is_json_and_exact() -> None:
    r = make(value=Decimal("1E+3"), metadata={"k": "v"}, status=("power_low",))
    d = r.to_dict()
    text = json.dumps(d)
    assert json.loads(text) == d
    assert d["value"] == "1000"
    assert d["value_type"] == "decimal"
    assert d["timestamp"] == "2026-11-24T08:15:00Z"
    assert Reading.from_dict(d) == r


@pytest.mark.parametrize("value", [Decimal("0.001"), 12, 1.25, "text", Decimal("-0")])
def test_from_dict_round_trip_through_json(value: object) -> None:
    r = make(value=value, meter_name="Flat 3", storage=2, tariff=1, subunit=1)
    back = Reading.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back == r
    assert type(back.value) is type(r.value)


def test_from_dict_errors() -> None:
    with pytest.raises(ReadingError, match="is required"):
        Reading.from_dict({"meter_id": "1", "quantity": "q", "value": 1, "unit": ""})
    with pytest.raises(ReadingError, match="unknown key"):
        Reading.from_dict({**make().to_dict(), "vlaue": 1})
    with pytest.raises(ReadingError):
        Reading.from_dict({**make().to_dict(), "value_type": "integer", "value": "1.5"})
    with pytest.raises(ReadingError):
        Reading.from_dict([])  # type: ignore[arg-type]


def test_from_dict_without_value_type_keeps_json_types() -> None:
    d = make().to_dict()
    del d["value_type"]
    d["value"] = "1234.5"
    assert Reading.from_dict(d).value == "1234.5"


@dataclass
class DuckReading:
    meter_id: str = "1"
    quantity: str = "volume"
    value: int = 5
    unit: str = "m3"
    timestamp: datetime = T0
    meter_name: str | None = None
    storage: int = 0
    tariff: int = 0
    subunit: int = 0
    function: str = "instantaneous"
    status: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


def test_as_reading_accepts_duck_typed_objects() -> None:
    r = as_reading(DuckReading(status=["x"]))
    assert isinstance(r, Reading)
    assert r.status == ("x",)
    same = make()
    assert as_reading(same) is same


def test_as_reading_names_the_missing_attribute() -> None:
    class Partial:
        meter_id = "1"

    with pytest.raises(ReadingError) as info:
        as_reading(Partial())  # type: ignore[arg-type]
    assert info.value.field == "quantity"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T08:15:00Z", T0),
        ("2026-11-24T09:15:00+01:00", T0),
        ("2026-11-24T09:15:00+0100", T0),
        ("2026-11-24 08:15Z", T0),
        ("2026-11-24T08:15:00.5Z", T0 + timedelta(microseconds=500000)),
        ("2026-11-24T08:15:00.123456789Z", T0 + timedelta(microseconds=123456)),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-11-24T08:15:00", "2026-13-01T00:00:00Z", "yesterday", "2026-11-24T08:15+25:00"]
)
def test_parse_timestamp_refuses(text: str) -> None:
    with pytest.raises(ReadingError):
        parse_timestamp(text)


def test_format_timestamp_is_utc_z() -> None:
    cet = timezone(timedelta(hours=1))
    assert format_timestamp(datetime(2026, 1, 1, 0, 30, tzinfo=cet)) == "2025-12-31T23:30:00Z"
    assert format_timestamp(T0.replace(microsecond=7)) == "2026-11-24T08:15:00.000007Z"


@pytest.mark.parametrize(
    "value",
    [Decimal("1E+999999"), Decimal("1E-5000"), 10**5000, -(10**5000)],
    ids=["decimal-huge", "decimal-tiny", "int-huge", "int-huge-negative"],
)
def test_values_too_long_to_write_are_refused(value: object) -> None:
    with pytest.raises(ReadingError) as info:
        make(value=value)
    assert info.value.field == "value"


def test_large_but_writable_values_are_fine() -> None:
    assert make(value=Decimal("1E+3000")).value == Decimal("1E+3000")
    assert make(value=10**3000).value == 10**3000


def test_int_and_str_subclasses_become_plain_values() -> None:
    import enum

    class Register(enum.IntEnum):
        HISTORIC = 3

    class Unit(str, enum.Enum):
        WH = "Wh"

    r = make(value=Register.HISTORIC, storage=Register.HISTORIC)
    assert type(r.value) is int and type(r.storage) is int
    assert type(make(value=Unit.WH).value) is str
    assert make(value=Unit.WH).value == "Wh"


# --- hostile input (issue 10 section 2) ---------------------------------------------------


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:59:59-14:00", "9999-12-31T20:00:00-04:00", "0001-01-01T00:00:00+01:00"]
)
def test_a_timestamp_out_of_range_once_in_utc_is_a_reading_error(text: str) -> None:
    ts = parse_timestamp(text)  # a valid local time ...
    with pytest.raises(ReadingError, match="out of range once converted to UTC") as caught:
        make(timestamp=ts)  # ... whose UTC form does not exist
    assert caught.value.field == "timestamp"
    with pytest.raises(ReadingError):
        Reading.from_dict({**make().to_dict(), "timestamp": text})


def test_the_ends_of_the_calendar_that_exist_in_utc_are_fine() -> None:
    for text in ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-01:00"):
        assert format_timestamp(make(timestamp=parse_timestamp(text)).timestamp)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"meter_id": "12\ud800"}, "meter_id"),
        ({"meter_name": "\udfff"}, "meter_name"),
        ({"quantity": "energy\udc00"}, "quantity"),
        ({"unit": "\ud800"}, "unit"),
        ({"function": "\ud800x"}, "function"),
        ({"value": "\ud800"}, "value"),
        ({"status": ("ok", "\ud800")}, "status"),
        ({"metadata": {"vif": "\ud800"}}, "metadata.vif"),
        ({"metadata": {"\ud800": "x"}}, "metadata.\ud800"),
    ],
)
def test_a_lone_surrogate_in_any_text_field_is_a_reading_error(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ReadingError, match="lone surrogate") as caught:
        make(**changes)
    assert caught.value.field == field


def test_surrogate_pairs_as_json_gives_them_are_text() -> None:
    # json.loads('"\\ud83d\\ude00"') is one character: fine.
    assert make(unit=json.loads('"\\ud83d\\ude00"')).unit == "\U0001f600"


@pytest.mark.parametrize("name", ["storage", "tariff", "subunit"])
def test_an_index_of_thousands_of_digits_is_a_reading_error(name: str) -> None:
    # Found by fuzzing: the message itself did str() of the number (ValueError past 4300).
    for number in (-(10**5000), 10**5000):
        with pytest.raises(ReadingError) as caught:
            make(**{name: number})
        assert caught.value.field == name


def test_unknown_keys_are_quoted_so_the_message_is_text() -> None:
    # Found by fuzzing: a key "\ud800x" went raw into the message; printing it failed.
    with pytest.raises(ReadingError, match="unknown key") as caught:
        Reading.from_dict({**make().to_dict(), "\ud800x": 1})
    str(caught.value).encode("utf-8")
    assert caught.value.field == "'\\ud800x'"


def test_the_reading_protocol_names_point_time_and_quality() -> None:
    reading = make(status=("power_low",))
    assert reading.time == reading.timestamp
    assert reading.quality == ("power_low",)
    assert reading.point == f"{reading.meter_id}/{reading.quantity}"
    assert make(storage=1, tariff=2, subunit=3, function="maximum").point.endswith(
        "/storage1/tariff2/subunit3/maximum")
    assert make(metadata={"point": "flat3.heat_kwh"}).point == "flat3.heat_kwh"
