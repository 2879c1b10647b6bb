"""Rules added to a running engine (devices found at run time) behave as rules given at
construction, and save/restore with them."""

from __future__ import annotations

import pytest

import alarms


def stale(point: str, timeout: float = 10.0) -> alarms.StaleRule:
    return alarms.StaleRule(point=point, timeout=timeout, severity=alarms.Severity.MAJOR)


def test_an_added_stale_rule_arms_at_its_points_first_sample() -> None:
    engine = alarms.Engine([stale("a")], start_time=0.0)
    engine.advance(5.0)
    engine.add_rules([stale("b")])
    assert engine.next_deadline() == 10.0  # only a's watchdog: b was never sampled
    assert engine.feed("b", 1.0, 7.0) == ()
    raised = engine.advance(17.0)
    assert [(n.alarm_id, n.event, n.event_time) for n in raised] == [
        ("a.stale", "raised", 10.0), ("b.stale", "raised", 17.0)]
    cleared = engine.feed("b", 1.0, 18.0)
    assert [(n.alarm_id, n.event) for n in cleared] == [("b.stale", "cleared")]


def test_an_added_rule_on_a_sampled_point_arms_from_its_last_sample() -> None:
    engine = alarms.Engine([alarms.LimitRule(point="p", kind="upper", limit=5.0)],
                           start_time=0.0)
    engine.feed("p", 1.0, 2.0)
    engine.add_rules([stale("p", 4.0)])
    assert engine.next_deadline() == 6.0
    assert [n.alarm_id for n in engine.advance(6.0)] == ["p.stale"]
    # the limit rule of the same point still works beside it
    assert {(n.alarm_id, n.event) for n in engine.feed("p", 9.0, 7.0)} == {
        ("p.upper", "raised"), ("p.stale", "cleared")}


def test_added_rules_are_saved_and_restored_with_the_others() -> None:
    engine = alarms.Engine([stale("a")], start_time=0.0)
    engine.add_rules([stale("b", 3.0)])
    engine.feed("b", 1.0, 1.0)
    engine.advance(4.0)
    assert engine.status("b.stale").active
    saved = engine.save_state()
    restored = alarms.Engine.from_state([stale("a"), stale("b", 3.0)], saved)
    assert restored.status("b.stale").active
    assert [r.alarm_id for r in restored.rules] == ["a.stale", "b.stale"]


def test_a_duplicate_or_non_rule_adds_nothing() -> None:
    engine = alarms.Engine([stale("a")], start_time=0.0)
    with pytest.raises(alarms.RuleError, match=r"duplicate alarm id 'a\.stale'"):
        engine.add_rules([stale("b"), stale("a")])
    with pytest.raises(alarms.RuleError, match="not a rule"):
        engine.add_rules([stale("c"), "d"])  # type: ignore[list-item]
    assert [r.alarm_id for r in engine.rules] == ["a.stale"]
    assert [a.alarm_id for a in engine.alarms()] == ["a.stale"]
