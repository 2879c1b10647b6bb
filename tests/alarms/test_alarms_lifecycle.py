"""ISA-18.2 life cycle: acknowledge, latch/reset, shelve, suppress, out of service."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from alarms import (
    AckState,
    AlarmRaised,
    Engine,
    LifecycleError,
    LimitRule,
    Rule,
    RuleState,
    StaleRule,
    StateFormatError,
    TimeError,
)

UPPER = LimitRule(point="p", kind="upper", limit=10, alarm_id="hi")
LATCHING = LimitRule(point="q", kind="upper", limit=10, alarm_id="latch", latch=True)


def events(notifications: tuple[object, ...]) -> list[tuple[float, str, str]]:
    return [(n.event_time, n.event, n.alarm_id) for n in notifications]  # type: ignore[attr-defined]


def engine() -> Engine:
    return Engine([UPPER, LATCHING], max_shelve=100)


def test_acknowledge_an_active_alarm_then_it_clears_to_normal() -> None:
    e = engine()
    e.feed("p", 11, 0)
    assert e.status("hi").state is AckState.UNACKNOWLEDGED
    assert e.acknowledge("hi", 1, reason="seen") == ()
    status = e.status("hi")
    assert status.state is AckState.ACKNOWLEDGED and status.active and status.acknowledged
    assert status.last_action is not None and status.last_action.reason == "seen"
    assert events(e.feed("p", 5, 2)) == [(2, "cleared", "hi")]
    assert e.status("hi").state is AckState.NORMAL
    assert e.active_alarms() == []


def test_returned_to_normal_unacknowledged_until_acknowledged() -> None:
    e = engine()
    e.feed("p", 11, 0)
    e.feed("p", 5, 1)
    status = e.status("hi")
    assert status.state is AckState.RTN_UNACKNOWLEDGED and not status.active
    assert [s.alarm_id for s in e.active_alarms()] == ["hi"]
    e.acknowledge("hi", 2)
    assert e.status("hi").state is AckState.NORMAL
    assert e.active_alarms() == []


def test_acknowledge_refused_when_nothing_to_acknowledge() -> None:
    e = engine()
    with pytest.raises(LifecycleError) as caught:
        e.acknowledge("hi", 0)
    assert caught.value.alarm_id == "hi" and caught.value.action == "acknowledge"
    e.feed("p", 11, 1)
    e.acknowledge("hi", 2)
    with pytest.raises(LifecycleError):
        e.acknowledge("hi", 3)
    with pytest.raises(LifecycleError, match="no rule"):
        e.acknowledge("nope", 3)


def test_latched_alarm_holds_until_reset() -> None:
    e = engine()
    (raised,) = e.feed("q", 12, 0)
    with pytest.raises(LifecycleError):
        e.reset("latch", 1)  # condition still holds
    assert e.feed("q", 3, 2) == ()  # no clear: latched
    status = e.status("latch")
    assert status.latched and status.active and status.condition is RuleState.NORMAL
    e.acknowledge("latch", 3)
    assert e.status("latch").state is AckState.LATCHED_ACKNOWLEDGED
    (cleared,) = e.reset("latch", 4, reason="checked the pump")
    assert (cleared.event, cleared.event_time) == ("cleared", 4)
    assert cleared.correlated_notifications == (raised.notification_id,)
    assert cleared.observed_value == 3
    assert e.status("latch").state is AckState.NORMAL


def test_latched_alarm_condition_returning_does_not_raise_again() -> None:
    e = engine()
    e.feed("q", 12, 0)
    e.feed("q", 3, 1)
    assert e.feed("q", 15, 2) == ()
    assert e.status("latch").state is AckState.UNACKNOWLEDGED
    e.feed("q", 3, 3)
    (cleared,) = e.reset("latch", 4)
    assert e.status("latch").state is AckState.RTN_UNACKNOWLEDGED  # reset before acknowledge
    assert cleared.event == "cleared"


def test_timed_shelve_holds_back_and_catches_up_at_expiry() -> None:
    e = engine()
    (raised,) = e.feed("p", 11, 0)
    assert e.shelve("hi", 1, reason="known fault", duration=10) == ()
    status = e.status("hi")
    assert status.shelved is not None and status.shelved.until == 11
    assert status.shelved.kind == "timed" and status.shelved.reason == "known fault"
    assert e.feed("p", 5, 2) == ()  # clear held back
    assert e.next_deadline() == 11
    (cleared,) = e.advance(11)
    assert (cleared.event, cleared.event_time, cleared.observed_value) == ("cleared", 11, 5)
    assert cleared.correlated_notifications == (raised.notification_id,)
    assert e.status("hi").shelved is None


def test_shelve_hides_a_raise_and_clear_entirely() -> None:
    e = engine()
    e.shelve("hi", 0, reason="commissioning", duration=10)
    assert e.feed("p", 11, 1) == ()
    assert e.feed("p", 5, 2) == ()
    assert e.advance(20) == ()
    assert e.status("hi").state is AckState.NORMAL


def test_unshelve_early_raises_what_is_active() -> None:
    e = engine()
    e.shelve("hi", 0, reason="noisy", duration=10)
    e.feed("p", 11, 1)
    assert events(e.unshelve("hi", 3)) == [(3, "raised", "hi")]
    with pytest.raises(LifecycleError, match="not shelved"):
        e.unshelve("hi", 4)


def test_shelve_limits() -> None:
    e = engine()
    with pytest.raises(LifecycleError, match="reason"):
        e.shelve("hi", 0, reason=" ", duration=5)
    with pytest.raises(LifecycleError, match="maximum"):
        e.shelve("hi", 0, reason="x", duration=101)
    with pytest.raises(LifecycleError, match="duration"):
        e.shelve("hi", 0, reason="x")
    with pytest.raises(LifecycleError, match="active"):
        e.shelve("hi", 0, reason="x", one_shot=True)
    e.shelve("hi", 0, reason="x", duration=100)
    with pytest.raises(LifecycleError, match="already"):
        e.shelve("hi", 1, reason="x", duration=1)


def test_one_shot_shelve_ends_when_the_alarm_clears() -> None:
    e = engine()
    e.feed("p", 11, 0)
    e.shelve("hi", 1, reason="operator busy", one_shot=True)
    assert e.status("hi").shelved is not None
    assert e.status("hi").shelved.until == 101  # type: ignore[union-attr]
    (cleared,) = e.feed("p", 5, 2)
    assert (cleared.event, cleared.event_time) == ("cleared", 2)
    assert e.status("hi").shelved is None
    (raised,) = e.feed("p", 11, 3)  # no longer shelved
    assert raised.event == "raised"


def test_one_shot_shelve_has_the_maximum_too() -> None:
    e = engine()
    e.feed("p", 11, 0)
    e.shelve("hi", 0, reason="x", one_shot=True, duration=5)
    assert e.advance(5) == ()  # still active: nothing held back
    assert e.status("hi").shelved is None


def test_suppress_and_out_of_service_with_reasons() -> None:
    e = engine()
    e.feed("p", 11, 0)
    e.suppress("hi", 1, reason="pump stopped by design")
    assert e.status("hi").suppressed == "pump stopped by design"
    with pytest.raises(LifecycleError, match="shelved, suppressed or out of service"):
        e.acknowledge("hi", 2)
    assert e.feed("p", 5, 3) == ()
    e.remove_from_service("hi", 4, reason="sensor replaced")
    assert e.status("hi").out_of_service == "sensor replaced"
    assert e.unsuppress("hi", 5) == ()  # still out of service
    assert events(e.return_to_service("hi", 6)) == [(6, "cleared", "hi")]
    with pytest.raises(LifecycleError, match="reason"):
        e.suppress("hi", 7, reason="")
    with pytest.raises(LifecycleError, match="not out of service"):
        e.return_to_service("hi", 7)
    with pytest.raises(LifecycleError, match="not suppressed"):
        e.unsuppress("hi", 7)


def test_refused_action_does_not_lose_due_notifications() -> None:
    e = Engine([LimitRule(point="p", kind="upper", limit=10, raise_delay=5, alarm_id="hi")])
    e.feed("p", 11, 0)
    with pytest.raises(LifecycleError):
        e.unsuppress("hi", 6)  # the raise at 5 ran before the refusal
    assert e.next_deadline() == 6
    assert events(e.advance(6)) == [(5, "raised", "hi")]
    assert e.advance(7) == ()


def test_active_alarm_snapshot_for_late_subscribers() -> None:
    e = Engine(
        [
            LimitRule(point="a", kind="upper", limit=1, alarm_id="a"),
            LimitRule(point="b", kind="lower", limit=1, alarm_id="b"),
            StaleRule(point="c", timeout=5, alarm_id="c"),
        ],
        start_time=0,
    )
    e.feed("b", 0, 1)
    (raised_a,) = e.feed("a", 2, 2)
    e.advance(10)
    snapshot = e.active_alarms()
    assert [s.alarm_id for s in snapshot] == ["b", "a", "c"]
    assert snapshot[1].raised == raised_a
    assert isinstance(snapshot[2].raised, AlarmRaised) and snapshot[2].kind == "stale"
    json.dumps([s.to_dict() for s in snapshot])


def test_save_restore_keeps_running_delays_and_shelves() -> None:
    rules: list[Rule] = [
        LimitRule(point="p", kind="upper", limit=10, raise_delay=5, clear_delay=5, alarm_id="hi"),
        LimitRule(point="q", kind="upper", limit=10, alarm_id="sh"),
        StaleRule(point="p", timeout=20, alarm_id="stale"),
    ]
    e = Engine(rules, start_time=0)
    e.feed("p", 11, 1)
    e.feed("q", 11, 2)
    e.shelve("sh", 3, reason="x", duration=10)
    e.feed("q", 0, 4)
    state = json.loads(json.dumps(e.save_state()))
    restored = Engine.from_state(rules, state)
    assert restored.next_deadline() == 6
    assert events(restored.advance(30)) == [
        (6, "raised", "hi"),
        (13, "cleared", "sh"),
        (21, "raised", "stale"),
    ]
    # a restart neither re-raises nor forgets
    again = Engine.from_state(rules, restored.save_state())
    assert events(again.feed("p", 11, 31)) == [(31, "cleared", "stale")]
    assert [s.alarm_id for s in again.active_alarms()] == ["sh", "hi", "stale"]
    assert [s.active for s in again.active_alarms()] == [False, True, False]


def test_restore_rejects_bad_state() -> None:
    rules: list[Rule] = [UPPER]
    fresh = Engine(rules)
    fresh.feed("p", 1, 0)
    state = fresh.save_state()
    with pytest.raises(StateFormatError, match="format"):
        Engine.from_state(rules, {**state, "format": "x"})
    with pytest.raises(StateFormatError, match="version"):
        Engine.from_state(rules, {**state, "version": 99})
    bad_alarm = {**state["alarms"]["hi"], "condition": "raise_pending"}
    with pytest.raises(StateFormatError, match="deadline"):
        Engine.from_state(rules, {**state, "alarms": {"hi": bad_alarm}})
    with pytest.raises(StateFormatError, match=r"alarms\.other"):
        Engine.from_state(rules, {**state, "alarms": {"other": state["alarms"]["hi"]}})
    Engine.from_state(rules, {**state, "alarms": {"other": state["alarms"]["hi"]}}, strict=False)
    with pytest.raises(StateFormatError, match="next_notification_id"):
        Engine.from_state(rules, {**state, "next_notification_id": "1"})
    with pytest.raises(StateFormatError):
        Engine.from_state(rules, [])  # type: ignore[arg-type]
    unacked = {**state["alarms"]["hi"], "state": "unacknowledged"}
    with pytest.raises(StateFormatError, match="raised"):
        Engine.from_state(rules, {**state, "alarms": {"hi": unacked}})


def test_time_must_not_go_backwards() -> None:
    e = engine()
    e.feed("p", 1, 10)
    calls: list[Callable[[], object]] = [
        lambda: e.feed("p", 1, 9),
        lambda: e.advance(9),
        lambda: e.acknowledge("hi", 9),
    ]
    for call in calls:
        with pytest.raises(TimeError) as caught:
            call()
        assert caught.value.engine_time == 10
    with pytest.raises(TimeError):
        e.advance(float("nan"))
    with pytest.raises(TimeError):
        e.feed("p", 1, float("inf"))


def test_restore_needs_the_value_an_active_alarm_was_raised_on() -> None:
    e = engine()
    e.feed("p", 11, 0)
    state = e.save_state()
    state["points"]["p"]["value"] = None
    with pytest.raises(StateFormatError, match=r"points\.p\.value"):
        Engine.from_state([UPPER, LATCHING], state)


def test_every_alarm_has_a_json_status() -> None:
    e = engine()
    e.feed("p", 11, 0)
    e.shelve("latch", 1, reason="maintenance", duration=50)
    statuses = {s.alarm_id: s.to_dict() for s in e.alarms()}
    assert statuses["hi"]["state"] == "unacknowledged" and statuses["hi"]["active"]
    assert statuses["hi"]["raised"]["notification_id"] == 1
    assert statuses["latch"]["shelved"] == {
        "kind": "timed",
        "since": 1.0,
        "until": 51.0,
        "reason": "maintenance",
    }
    assert statuses["latch"]["last_action"]["action"] == "shelve"
    json.dumps(statuses)
