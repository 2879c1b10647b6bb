"""The server's register image, sans-IO: atomic points, bad quality, checked writes."""

from __future__ import annotations

import struct
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modbus import MapError, RegisterImage, RegisterMap, RegisterPoint
from profiles import PointReading

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def p(name: str, address: int, kind: str = "uint16", table: str = "holding",
      **keys: Any) -> RegisterPoint:
    return RegisterPoint(name=name, table=table, address=address, type=kind,
                         **keys)


MAP = RegisterMap(name="m", points=(
    p("volts", 10, "float32", table="input"),
    p("energy", 14, "uint32", table="input", scale=Decimal("0.1"), word_order="little"),
    p("setpoint", 0, "int16", writable=True, minimum=Decimal(-5), maximum=Decimal(5)),
    p("limit", 1, "uint32", writable=True),
    p("fixed", 3),
    p("alarm", 4, "bit", bit=0, writable=True),
    p("enable", 4, "bit", bit=8, writable=True),
    p("relay", 2, "bool", table="coil", writable=True),
))


def words(fmt: str, value: object) -> list[int]:
    data = struct.pack(fmt, value)
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def test_published_values_read_back_with_gaps_as_zero() -> None:
    image = RegisterImage(MAP)
    image.set("volts", 230.2)
    image.set("energy", Decimal("1234.5"))
    assert image.read("input", 10, 6) == [*words(">f", 230.2), 0, 0, 12345, 0]
    assert image.read("input", 9, 2) == 2 and image.read("input", 14, 3) == 2
    assert image.read("coil", 2, 1) == 11  # nothing published yet
    assert image.read("discrete", 0, 1) == 2  # no such table in the map


def test_readings_feed_points_of_the_map_only() -> None:
    image = RegisterImage(MAP)
    readings = [PointReading(point="volts", time=T0, value=231.0),
                PointReading(point="meter9.volts", time=T0, value=1.0)]
    assert image.update_many(readings) == 1
    assert image.read("input", 10, 2) == words(">f", 231.0)


@pytest.mark.parametrize("quality", [("stale",), ("comm_failure",), ("invalid",)])
def test_bad_quality_policies(quality: tuple[str, ...]) -> None:
    # An invalid value never enters the registers; a stale one does (last_value shows it).
    last = 230.0 if quality == ("invalid",) else 229.0
    for policy, expected in [("exception", 11), ("no_value", [0x7FC0, 0]),
                             ("last_value", words(">f", last))]:
        image = RegisterImage(MAP, bad_quality=policy)
        image.set("volts", 230.0)
        image.set("volts", 229.0, quality)
        assert image.read("input", 10, 2) == expected, policy
    image = RegisterImage(MAP)
    image.set("volts", 229.0, ("out_of_range", "estimated"))
    assert image.read("input", 10, 2) == words(">f", 229.0)


def test_a_point_without_a_value_is_bad_under_every_policy() -> None:
    for policy in ("exception", "last_value"):
        assert RegisterImage(MAP, bad_quality=policy).read("input", 10, 2) == 11
    image = RegisterImage(MAP, bad_quality="no_value")
    assert image.read("input", 10, 2) == [0x7FC0, 0]
    assert image.read("coil", 2, 1) == 11  # a bit has no "no value" contents


def test_staleness_by_time() -> None:
    image = RegisterImage(MAP, stale_after=30)
    image.set("volts", 230.0, now=100.0)
    assert image.read("input", 10, 2, now=130.0) == words(">f", 230.0)
    assert image.quality("volts", now=130.0) == ()
    assert image.read("input", 10, 2, now=130.5) == 11
    assert image.quality("volts", now=130.5) == ("stale",)


def test_a_value_that_does_not_fit_is_not_published() -> None:
    image = RegisterImage(MAP)
    image.set("setpoint", 3)
    image.set("setpoint", 40000)
    assert image.quality("setpoint") == ("invalid",)
    assert image.read("holding", 0, 1) == 11


def test_checked_writes() -> None:
    image = RegisterImage(MAP)
    result = image.write("holding", 0, [0xFFFE], time=T0)
    assert result.exception is None
    assert [(r.point, r.value) for r in result.readings] == [("setpoint", -2)]
    assert image.read("holding", 0, 1) == [0xFFFE]
    assert image.write("holding", 0, [6]).exception == 3  # above maximum 5
    assert image.write("holding", 1, [0]).exception == 3  # half of a uint32
    assert image.write("holding", 1, [1, 2]).exception is None
    assert image.write("holding", 3, [1]).exception == 2  # not writable
    assert image.write("holding", 0, [1, 0, 0, 7]).exception == 2  # reaches "fixed"
    assert image.write("input", 10, [1]).exception == 1
    assert image.write("holding", 9, [1]).exception == 2
    result = image.write("holding", 4, [0x0101])
    assert sorted((r.point, r.value) for r in result.readings) == [
        ("alarm", True), ("enable", True)]
    result = image.write("coil", 2, [1])
    assert [(r.point, r.value) for r in result.readings] == [("relay", True)]
    assert image.read("coil", 2, 1) == [1]


def test_bits_of_a_register_are_published_apart() -> None:
    image = RegisterImage(MAP)
    image.set("alarm", True)
    image.set("enable", True)
    image.set("enable", False)
    assert image.read("holding", 4, 1) == [0x0001]


def test_scale_points_cannot_be_served() -> None:
    m = RegisterMap(name="s", points=(p("w", 0, "int16", scale_point="sf"), p("sf", 1, "int16")))
    with pytest.raises(MapError, match="scale"):
        RegisterImage(m)


@given(st.lists(st.tuples(st.sampled_from(["volts", "energy"]),
                          st.floats(0, 1e6, allow_nan=False)), max_size=30),
       st.sampled_from(["exception", "no_value", "last_value"]))
def test_reads_always_show_whole_points(updates: list[tuple[str, float]], policy: str) -> None:
    # After any sequence of updates every read answers an exception code or, per point,
    # the contents of one value set for it (or its "no value" contents): never a mixture.
    image = RegisterImage(MAP, bad_quality=policy)
    seen: dict[str, set[tuple[int, ...]]] = {"volts": {(0x7FC0, 0)}, "energy": {(0xFFFF,) * 2}}
    for name, number in updates:
        value = number if name == "volts" else Decimal(int(number))
        image.set(name, value)
        encoded = tuple(words(">f", number)) if name == "volts" else tuple(
            reversed(words(">I", int(number) * 10)))
        seen[name].add(encoded)
        contents = image.read("input", 10, 6)
        if isinstance(contents, int):
            assert contents == 11
            continue
        assert tuple(contents[0:2]) in seen["volts"] | {(0, 0)}
        assert tuple(contents[4:6]) in seen["energy"] | {(0, 0)}
