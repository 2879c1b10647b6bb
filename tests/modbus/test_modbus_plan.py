"""Request planning and the sans-IO read cycle (splitting, failures, scale points)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modbus import (
    ProtocolError,
    ReadCycle,
    ReadRequest,
    RegisterMap,
    RegisterPoint,
    plan_reads,
    split_request,
)

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def p(name: str, address: int, kind: str = "uint16", table: str = "holding",
      **keys: Any) -> RegisterPoint:
    return RegisterPoint(name=name, table=table, address=address, type=kind,
                         **keys)


def spans(requests: tuple[ReadRequest, ...]) -> list[tuple[str, int, int]]:
    return [(r.table, r.address, r.count) for r in requests]


def test_points_join_across_small_gaps_and_split_at_large_ones() -> None:
    m = RegisterMap(name="m", max_gap=3, points=(
        p("a", 0, "float32"), p("b", 5), p("c", 9, "uint32"), p("d", 20)))
    assert spans(plan_reads(m)) == [("holding", 0, 11), ("holding", 20, 1)]


def test_the_block_limit_is_kept() -> None:
    m = RegisterMap(name="m", max_registers=10, max_gap=125,
                    points=tuple(p(f"x{i}", 2 * i, "float32") for i in range(12)))
    plan = plan_reads(m)
    assert spans(plan) == [("holding", 0, 10), ("holding", 10, 10), ("holding", 20, 4)]
    assert all(r.count <= 10 for r in plan)


def test_tables_are_planned_apart_in_function_code_order() -> None:
    m = RegisterMap(name="m", points=(
        p("i", 0, table="input"), p("h", 1), p("c", 0, "bool", table="coil"),
        p("d", 7, "bool", table="discrete")))
    assert [(r.table, r.function) for r in plan_reads(m)] == [
        ("coil", 1), ("discrete", 2), ("holding", 3), ("input", 4)]


def test_bits_of_one_register_are_one_read() -> None:
    m = RegisterMap(name="m", max_gap=0, points=(p("a", 4, "bit", bit=0), p("b", 4, "bit", bit=9)))
    assert plan_reads(m) == (ReadRequest("holding", 4, 1, ("a", "b")),)


def test_split_first_into_gap_free_runs_then_single_points() -> None:
    m = RegisterMap(name="m", points=(p("a", 0), p("b", 1), p("c", 5), p("d", 6, "float32")))
    (joined,) = plan_reads(m)
    runs = split_request(m, joined)
    assert spans(runs) == [("holding", 0, 2), ("holding", 5, 3)]
    assert spans(split_request(m, runs[1])) == [("holding", 5, 1), ("holding", 6, 2)]
    assert split_request(m, ReadRequest("holding", 6, 2, ("d",))) == ()


@given(st.lists(st.tuples(st.integers(0, 300), st.sampled_from(["uint16", "float32", "int64"])),
                max_size=40),
       st.integers(1, 125), st.integers(0, 20))
def test_every_point_is_read_once_within_the_limits(layout: list[tuple[int, str]], limit: int,
                                                    gap: int) -> None:
    points: list[RegisterPoint] = []
    taken: set[int] = set()
    for index, (address, kind) in enumerate(layout):
        size = {"uint16": 1, "float32": 2, "int64": 4}[kind]
        cells = set(range(address, address + size))
        if cells & taken or size > limit:
            continue
        taken |= cells
        points.append(p(f"p{index}", address, kind))
    m = RegisterMap(name="m", max_registers=limit, max_gap=gap, points=tuple(points))
    plan = plan_reads(m)
    served = [name for r in plan for name in r.points]
    assert sorted(served) == sorted(x.name for x in points)
    for request in plan:
        assert 1 <= request.count <= limit
        for name in request.points:
            point = m.point(name)
            assert request.address <= point.address and point.end <= request.end


def sunspec_like() -> RegisterMap:
    return RegisterMap(name="m", points=(
        p("w", 0, "int16", scale_point="w_sf", unit="W"),
        p("w_sf", 1, "int16", no_value=0x8000),
        p("wh", 10, "uint32", scale_point="wh_sf", unit="Wh"),
        p("wh_sf", 12, "int16", no_value=0x8000)))


def test_a_cycle_decodes_with_scale_points_and_leaves_them_out() -> None:
    cycle = ReadCycle(sunspec_like())
    request = cycle.next_request()
    assert request == ReadRequest("holding", 0, 13, ("w", "w_sf", "wh", "wh_sf"))
    cycle.answered(request, [1234, 0xFFFF] + [0] * 8 + [0x0001, 0x0000, 3])
    assert cycle.next_request() is None
    readings = cycle.readings(T0, prefix="m1.")
    assert [(r.point, r.value, r.unit, r.quality) for r in readings] == [
        ("m1.w", Decimal("123.4"), "W", ()), ("m1.wh", Decimal("65536E+3"), "Wh", ())]


def test_an_illegal_address_splits_and_the_plan_remembers() -> None:
    m = RegisterMap(name="m", points=(p("a", 0), p("b", 4), p("c", 5)))
    cycle = ReadCycle(m)
    joined = cycle.next_request()
    assert joined is not None and joined.count == 6
    assert cycle.refused(joined, 2) is True
    first = cycle.next_request()
    assert first == ReadRequest("holding", 0, 1, ("a",))
    cycle.answered(first, [7])
    second = cycle.next_request()
    assert second == ReadRequest("holding", 4, 2, ("b", "c"))
    cycle.answered(second, [8, 9])
    assert cycle.next_request() is None
    assert {r.point: r.value for r in cycle.readings(T0)} == {"a": 7, "b": 8, "c": 9}
    assert spans(cycle.plan) == [("holding", 0, 1), ("holding", 4, 2)]
    again = ReadCycle(m, cycle.plan)
    assert again.next_request() == first


def test_other_exceptions_and_failures_mark_points_comm_failure() -> None:
    m = RegisterMap(name="m", max_gap=0, points=(p("a", 0), p("b", 4), p("c", 9)))
    cycle = ReadCycle(m)
    first = cycle.next_request()
    assert first is not None
    assert cycle.refused(first, 4) is False
    second = cycle.next_request()
    assert second is not None
    cycle.answered(second, [5])
    cycle.abandon("no answer")
    values = {r.point: (r.value, r.quality) for r in cycle.readings(T0)}
    assert values == {"a": (None, ("comm_failure",)), "b": (5, ()),
                      "c": (None, ("comm_failure",))}
    assert len(cycle.errors) == 2


def test_a_short_answer_is_refused_and_never_becomes_a_value() -> None:
    m = RegisterMap(name="m", points=(p("a", 0, "float32"),))
    cycle = ReadCycle(m)
    request = cycle.next_request()
    assert request is not None
    with pytest.raises(ProtocolError):
        cycle.answered(request, [0x4366])
    [reading] = cycle.readings(T0)
    assert (reading.value, reading.quality) == (None, ("comm_failure",))


def test_answers_out_of_turn_are_a_caller_error() -> None:
    m = RegisterMap(name="m", points=(p("a", 0),))
    cycle = ReadCycle(m)
    with pytest.raises(ValueError, match="not the next request"):
        cycle.answered(ReadRequest("holding", 9, 1, ("a",)), [1])


def test_a_cycle_for_some_points_reads_their_scale_points_too() -> None:
    cycle = ReadCycle(sunspec_like(), points=["wh"])
    request = cycle.next_request()
    assert request == ReadRequest("holding", 10, 3, ("wh", "wh_sf"))
    cycle.answered(request, [0, 5, 0xFFFF])
    assert [(r.point, r.value) for r in cycle.readings(T0)] == [("wh", Decimal("0.5"))]
