"""Hypothesis properties from issue 5 (alarms part)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alarms import (
    AlarmsError,
    Engine,
    LifecycleError,
    LimitRule,
    Notification,
    Rule,
    RuleState,
    SampleError,
    StaleRule,
)

POINTS = ("a", "b")
# small grids so that samples land exactly on limits, hysteresis edges and deadlines
values = st.integers(0, 20).map(lambda v: v / 2)
steps = st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.5, 4.0])


@st.composite
def limit_rules(draw: st.DrawFn, index: int, zero: bool = False) -> Rule:
    return LimitRule(
        point=draw(st.sampled_from(POINTS)),
        kind=draw(st.sampled_from(["upper", "lower"])),
        limit=draw(values),
        hysteresis=0.0 if zero else draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        raise_delay=0.0 if zero else draw(st.sampled_from([0.0, 1.0, 2.5])),
        clear_delay=0.0 if zero else draw(st.sampled_from([0.0, 1.0, 2.5])),
        inclusive=draw(st.booleans()),
        latch=False if zero else draw(st.sampled_from([False, False, False, True])),
        alarm_id=f"r{index}",
    )


@st.composite
def rule_sets(draw: st.DrawFn) -> list[Rule]:
    count = draw(st.integers(1, 4))
    rules: list[Rule] = [draw(limit_rules(index)) for index in range(count)]
    if draw(st.booleans()):
        rules.append(
            StaleRule(
                point=draw(st.sampled_from(POINTS)),
                timeout=draw(st.sampled_from([1.0, 3.0])),
                alarm_id="stale",
                latch=draw(st.booleans()),
            )
        )
    return rules


def operations(alarm_ids: list[str]) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    ids = st.sampled_from(alarm_ids)
    kinds: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
        "feed": st.tuples(st.just("feed"), steps, st.sampled_from(POINTS), values),
        "advance": st.tuples(st.just("advance"), steps),
        "shelve": st.tuples(st.just("shelve"), steps, ids, st.sampled_from([None, 1.0, 3.0])),
    }
    for name in (
        "acknowledge",
        "reset",
        "unshelve",
        "suppress",
        "unsuppress",
        "remove_from_service",
        "return_to_service",
    ):
        kinds[name] = st.tuples(st.just(name), steps, ids)
    # samples dominate, as in the field; operator actions come now and then
    operation = st.sampled_from(["feed"] * 12 + ["advance"] * 2 + list(kinds)).flatmap(
        lambda name: kinds[name]
    )
    return st.lists(operation, max_size=60)


def apply(engine: Engine, now: float, op: tuple[Any, ...]) -> list[Any]:
    """Run one operation; a refused operator action is part of the outcome."""
    name = op[0]
    try:
        if name == "feed":
            result = engine.feed(op[2], op[3], now)
        elif name == "advance":
            result = engine.advance(now)
        elif name == "shelve":
            duration = op[3]
            result = engine.shelve(op[2], now, reason="test", duration=duration,
                                   one_shot=duration is None)
        elif name in ("suppress", "remove_from_service"):
            result = getattr(engine, name)(op[2], now, reason="test")
        else:
            result = getattr(engine, name)(op[2], now)
    except LifecycleError as exc:
        # deadlines up to now ran before the refusal; the next call delivers their notifications
        return [("refused", exc.action, exc.alarm_id), *engine.advance(now)]
    return list(result)


def run_all(engine: Engine, ops: list[tuple[Any, ...]], start: float = 0.0) -> list[Any]:
    out: list[Any] = []
    now = start
    for op in ops:
        now += op[1]
        out.extend(apply(engine, now, op))
    return out


def check_alternation(notifications: list[Notification]) -> None:
    last_raise: dict[str, int] = {}
    previous_id = 0
    previous_time = -1.0
    for n in notifications:
        assert n.notification_id == previous_id + 1
        assert n.event_time >= previous_time
        previous_id, previous_time = n.notification_id, n.event_time
        if n.event == "raised":
            assert n.alarm_id not in last_raise, "raised twice without a clear"
            last_raise[n.alarm_id] = n.notification_id
        else:
            assert n.alarm_id in last_raise, "clear without a raise"
            assert n.correlated_notifications == (last_raise.pop(n.alarm_id),)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_raise_is_followed_by_at_most_one_clear(data: st.DataObject) -> None:
    rules = data.draw(rule_sets())
    ops = data.draw(operations([rule.alarm_id for rule in rules]))
    engine = Engine(rules, start_time=0.0)
    out = run_all(engine, ops)
    out.extend(engine.advance(engine.now + 100 if engine.now is not None else 100))
    check_alternation([item for item in out if isinstance(item, Notification)])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(limit_rules(0, zero=True), min_size=1, max_size=3),
    st.lists(st.tuples(steps, st.sampled_from(POINTS), values), max_size=40),
)
def test_zero_delays_and_hysteresis_state_equals_condition(
    drawn: list[Rule], samples: list[tuple[float, str, float]]
) -> None:
    rules = [
        LimitRule(**{**rule.to_dict(), "alarm_id": f"r{index}"})
        for index, rule in enumerate(drawn)
    ]
    engine = Engine(rules)
    last: dict[str, float] = {}
    now = 0.0
    for step, point, value in samples:
        now += step
        engine.feed(point, value, now)
        last[point] = value
        for rule in rules:
            assert isinstance(rule, LimitRule)
            status = engine.status(rule.alarm_id)
            expected = rule.point in last and rule.condition(last[rule.point])
            assert status.active == expected
            assert status.condition is (RuleState.ACTIVE if expected else RuleState.NORMAL)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_save_restore_at_any_point_gives_the_same_future(data: st.DataObject) -> None:
    rules = data.draw(rule_sets())
    ids = [rule.alarm_id for rule in rules]
    before = data.draw(operations(ids))
    after = data.draw(operations(ids))
    engine = Engine(rules, start_time=0.0)
    run_all(engine, before)
    saved = json.loads(json.dumps(engine.save_state()))
    restored = Engine.from_state(rules, saved)
    now = engine.now if engine.now is not None else 0.0
    tail = [("advance", 50.0)]
    expected = run_all(engine, after + tail, start=now)
    got = run_all(restored, after + tail, start=now)
    assert [x.to_dict() if isinstance(x, Notification) else x for x in got] == [
        x.to_dict() if isinstance(x, Notification) else x for x in expected
    ]
    assert restored.save_state() == engine.save_state()
    assert [s.to_dict() for s in restored.active_alarms()] == [
        s.to_dict() for s in engine.active_alarms()
    ]


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.none(), st.text(max_size=3), st.floats(allow_nan=True, allow_infinity=True),
        st.integers(), st.booleans(), st.lists(st.integers(), max_size=2),
    ),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none(), st.text(max_size=2)),
)
def test_bad_samples_raise_only_our_errors(value: Any, now: Any) -> None:
    engine = Engine([LimitRule(point="p", kind="upper", limit=1)])
    with contextlib.suppress(AlarmsError):
        engine.feed("p", value, now)


def test_unhashable_point_is_our_error() -> None:
    engine = Engine([LimitRule(point="p", kind="upper", limit=1)])
    with pytest.raises(SampleError, match="point"):
        engine.feed(["p"], 1.0, 0.0)  # type: ignore[arg-type]


def test_a_refused_sample_changes_nothing() -> None:
    engine = Engine([LimitRule(point="p", kind="upper", limit=1, raise_delay=5)])
    engine.feed("p", 2.0, 0.0)
    with pytest.raises(SampleError):
        engine.feed("p", float("nan"), 10.0)
    assert engine.now == 0.0
    assert [n.event_time for n in engine.advance(10.0)] == [5.0]


class _ExactEngine(Engine):
    """The engine without its fast path: every sample goes through the table."""

    def _update_quiet(self, point: Any) -> None:
        point.lo, point.hi = float("inf"), float("-inf")


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fast_path_changes_nothing(data: st.DataObject) -> None:
    rules = data.draw(rule_sets())
    ops = data.draw(operations([rule.alarm_id for rule in rules]))
    fast = run_all(Engine(rules, start_time=0.0), [*ops, ("advance", 50.0)])
    exact = run_all(_ExactEngine(rules, start_time=0.0), [*ops, ("advance", 50.0)])
    assert fast == exact
