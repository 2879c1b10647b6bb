"""Table-driven tests of every sentence of the alarm semantics (issue 5, alarms).

Each case names the sentence it pins. Samples are ``(time, value)`` of point
``p``; expected notifications are ``(event time, event, observed value)``.
"""

from __future__ import annotations

from typing import Any

import pytest

from alarms import Engine, LimitRule, Rule, StaleRule

from ._helpers import brief, run

R = "raised"
C = "cleared"

# (id, rule keyword arguments, samples, advance-to, expected)
Case = tuple[str, dict[str, Any], list[tuple[float, float]], float | None, list[Any]]
LIMIT_CASES: list[Case] = [
    # "an upper rule's condition holds while value >= limit (inclusive by default)"
    ("upper-exactly-at-limit-raises", {"limit": 80}, [(0, 79.9), (1, 80.0)], None, [(1, R, 80.0)]),
    ("upper-below-limit-quiet", {"limit": 80}, [(0, 79.999)], 10, []),
    # "inclusive = false makes it >"
    ("upper-exclusive-at-limit-quiet", {"limit": 80, "inclusive": False}, [(0, 80.0)], 10, []),
    (
        "upper-exclusive-above-limit-raises",
        {"limit": 80, "inclusive": False},
        [(0, 80.0), (1, 80.001)],
        None,
        [(1, R, 80.001)],
    ),
    # "it raises when the condition has held continuously for raise_delay"
    (
        "raise-after-delay",
        {"limit": 80, "raise_delay": 5},
        [(0, 85), (3, 86)],
        10,
        [(5, R, 86)],
    ),
    # "values hold between samples, so the raise happens at the deadline even if no sample
    # arrives then"
    (
        "raise-at-deadline-without-sample",
        {"limit": 80, "raise_delay": 5},
        [(0, 85)],
        7,
        [(5, R, 85)],
    ),
    (
        "raise-at-deadline-found-by-later-sample",
        {"limit": 80, "raise_delay": 5},
        [(0, 85), (9, 70)],
        None,
        [(5, R, 85), (9, C, 70)],
    ),
    # "the observed value is the last sample at or before it" (a sample exactly at the deadline)
    (
        "sample-exactly-at-raise-deadline-is-observed",
        {"limit": 80, "raise_delay": 5},
        [(0, 85), (5, 91)],
        None,
        [(5, R, 91)],
    ),
    (
        "sample-after-deadline-not-observed",
        {"limit": 80, "raise_delay": 5},
        [(0, 85), (5.001, 95)],
        None,
        [(5, R, 85)],
    ),
    ("advance-before-deadline-quiet", {"limit": 80, "raise_delay": 5}, [(0, 85)], 4.999, []),
    # "a pending raise is cancelled when the condition stops holding"
    (
        "pending-raise-cancelled-below-limit",
        {"limit": 80, "raise_delay": 5},
        [(0, 85), (2, 79), (4, 85)],
        20,
        [(9, R, 85)],
    ),
    (
        "pending-raise-cancelled-inside-hysteresis-band",
        {"limit": 80, "hysteresis": 5, "raise_delay": 5},
        [(0, 85), (2, 79)],
        20,
        [],
    ),
    (
        "sample-exactly-at-raise-deadline-breaking-condition-cancels",
        {"limit": 80, "raise_delay": 5},
        [(0, 85), (5, 79.99)],
        20,
        [],
    ),
    (
        "pending-raise-kept-while-condition-holds-at-limit",
        {"limit": 80, "raise_delay": 5},
        [(0, 85), (2, 80), (4, 81)],
        20,
        [(5, R, 81)],
    ),
    # "It clears when value < limit - hysteresis has held continuously for clear_delay"
    (
        "clear-below-hysteresis-after-delay",
        {"limit": 80, "hysteresis": 2, "clear_delay": 3},
        [(0, 85), (10, 77)],
        20,
        [(0, R, 85), (13, C, 77)],
    ),
    (
        "clear-exactly-at-limit-minus-hysteresis-does-not-clear",
        {"limit": 80, "hysteresis": 2},
        [(0, 85), (10, 78)],
        20,
        [(0, R, 85)],
    ),
    (
        "clear-just-below-limit-minus-hysteresis",
        {"limit": 80, "hysteresis": 2},
        [(0, 85), (10, 77.999)],
        20,
        [(0, R, 85), (10, C, 77.999)],
    ),
    (
        "inside-hysteresis-band-stays-active",
        {"limit": 80, "hysteresis": 2},
        [(0, 85), (1, 79), (2, 78.5), (3, 81), (4, 79.5)],
        20,
        [(0, R, 85)],
    ),
    (
        "clear-at-deadline-without-sample",
        {"limit": 80, "hysteresis": 2, "clear_delay": 3},
        [(0, 85), (10, 70)],
        13,
        [(0, R, 85), (13, C, 70)],
    ),
    (
        "sample-exactly-at-clear-deadline-is-observed",
        {"limit": 80, "hysteresis": 2, "clear_delay": 3},
        [(0, 85), (10, 70), (13, 72)],
        None,
        [(0, R, 85), (13, C, 72)],
    ),
    # "a pending clear is cancelled when value >= limit - hysteresis"
    (
        "pending-clear-cancelled-at-limit-minus-hysteresis",
        {"limit": 80, "hysteresis": 2, "clear_delay": 3},
        [(0, 85), (10, 70), (12, 78)],
        30,
        [(0, R, 85)],
    ),
    (
        "sample-exactly-at-clear-deadline-cancelling",
        {"limit": 80, "hysteresis": 2, "clear_delay": 3},
        [(0, 85), (10, 70), (13, 78)],
        30,
        [(0, R, 85)],
    ),
    (
        "pending-clear-restarts-after-cancel",
        {"limit": 80, "hysteresis": 2, "clear_delay": 3},
        [(0, 85), (10, 70), (12, 90), (14, 70)],
        30,
        [(0, R, 85), (17, C, 70)],
    ),
    # "A lower rule mirrors this (value <= limit; clears when value > limit + hysteresis)"
    (
        "lower-exactly-at-limit-raises",
        {"kind": "lower", "limit": 10},
        [(0, 10.001), (1, 10)],
        None,
        [(1, R, 10)],
    ),
    ("lower-exclusive-at-limit-quiet", {"kind": "lower", "limit": 10, "inclusive": False},
     [(0, 10)], 5, []),
    (
        "lower-raise-delay-and-observed-value",
        {"kind": "lower", "limit": 10, "raise_delay": 4},
        [(0, 9), (2, 5)],
        9,
        [(4, R, 5)],
    ),
    (
        "lower-exactly-at-limit-plus-hysteresis-does-not-clear",
        {"kind": "lower", "limit": 10, "hysteresis": 1},
        [(0, 5), (1, 11)],
        9,
        [(0, R, 5)],
    ),
    (
        "lower-clears-above-limit-plus-hysteresis",
        {"kind": "lower", "limit": 10, "hysteresis": 1, "clear_delay": 2},
        [(0, 5), (1, 11.5)],
        9,
        [(0, R, 5), (3, C, 11.5)],
    ),
    (
        "lower-pending-clear-cancelled",
        {"kind": "lower", "limit": 10, "hysteresis": 1, "clear_delay": 2},
        [(0, 5), (1, 11.5), (2, 11)],
        9,
        [(0, R, 5)],
    ),
    # "A delay of 0 acts on the sample itself."
    (
        "zero-delays-act-on-the-sample",
        {"limit": 80},
        [(0, 50), (1, 80), (2, 79.999), (3, 90)],
        None,
        [(1, R, 80), (2, C, 79.999), (3, R, 90)],
    ),
    # inclusive = false: the clear threshold is the exact complement (value <= limit - hysteresis)
    (
        "exclusive-clears-at-limit",
        {"limit": 80, "inclusive": False},
        [(0, 81), (1, 80)],
        None,
        [(0, R, 81), (1, C, 80)],
    ),
    (
        "exclusive-lower-clears-at-limit-plus-hysteresis",
        {"kind": "lower", "limit": 10, "hysteresis": 1, "inclusive": False},
        [(0, 9), (1, 10.5), (2, 11)],
        None,
        [(0, R, 9), (2, C, 11)],
    ),
]


@pytest.mark.parametrize(
    ("rule", "samples", "until", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in LIMIT_CASES],
)
def test_limit_semantics(
    rule: dict[str, Any],
    samples: list[tuple[float, float]],
    until: float | None,
    expected: list[Any],
) -> None:
    arguments: dict[str, Any] = {"point": "p", "kind": "upper", **rule}
    assert brief(run([LimitRule(**arguments)], samples, until=until)) == expected


STALE_CASES: list[tuple[str, list[tuple[float, float]], float | None, float | None, list[Any]]] = [
    # "no sample of a point for timeout seconds raises ... at last sample + timeout"
    ("raise-at-last-sample-plus-timeout", [(0, 1), (4, 1)], None, 30, [(14, R, 10)]),
    ("raise-found-by-next-sample-then-cleared", [(0, 1), (25, 2)], None, None,
     [(10, R, 10), (25, C, 25)]),
    # "the next sample clears it"
    ("next-sample-clears", [(0, 1), (12, 1), (13, 1)], None, 40, [(10, R, 10), (12, C, 12),
                                                                 (23, R, 10)]),
    # a sample exactly at last + timeout is in time
    ("sample-exactly-at-timeout-prevents-raise", [(0, 1), (10, 1)], None, 19.999, []),
    ("advance-exactly-to-timeout-raises", [(0, 1)], None, 10, [(10, R, 10)]),
    # armed at start_time for a point never seen; not armed without it
    ("armed-at-start-time", [], 100, 111, [(110, R, 10)]),
    ("not-armed-without-samples", [], None, 1000, []),
]


@pytest.mark.parametrize(
    ("samples", "start", "until", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in STALE_CASES],
)
def test_stale_semantics(
    samples: list[tuple[float, float]],
    start: float | None,
    until: float | None,
    expected: list[Any],
) -> None:
    rule = StaleRule(point="p", timeout=10)
    notifications = run([rule], samples, until=until, start_time=start)
    assert brief(notifications) == expected
    for notification in notifications:
        assert notification.event_type.value == "communicationsAlarm"
        assert notification.probable_cause == "lossOfSignal"


def test_high_high_is_a_further_rule() -> None:
    high = LimitRule(point="p", kind="upper", limit=80, alarm_id="p.h", severity="major")  # type: ignore[arg-type]
    high_high = LimitRule(
        point="p", kind="upper", limit=95, alarm_id="p.hh", severity="critical"  # type: ignore[arg-type]
    )
    notifications = run([high_high, high], [(0, 50), (1, 85), (2, 96), (3, 90), (4, 70)])
    seen = [(n.event_time, n.event, n.alarm_id, n.perceived_severity.value) for n in notifications]
    assert seen == [
        (1, R, "p.h", "major"),
        (2, R, "p.hh", "critical"),
        (3, C, "p.hh", "cleared"),
        (4, C, "p.h", "cleared"),
    ]


def test_deadlines_run_in_time_order_between_samples() -> None:
    rules: list[Rule] = [
        LimitRule(point="a", kind="upper", limit=1, raise_delay=7, alarm_id="a"),
        LimitRule(point="b", kind="upper", limit=1, raise_delay=3, alarm_id="b"),
        StaleRule(point="c", timeout=5, alarm_id="c"),
    ]
    notifications = run(rules, [(0, "a", 2), (0, "b", 2), (0, "c", 0), (20, "x", 0)])
    assert [(n.event_time, n.alarm_id) for n in notifications] == [(3, "b"), (5, "c"), (7, "a")]
    assert [n.notification_id for n in notifications] == [1, 2, 3]


def test_equal_deadlines_follow_rule_order() -> None:
    rules = [
        LimitRule(point="p", kind="upper", limit=1, raise_delay=2, alarm_id="second-limit"),
        LimitRule(point="p", kind="upper", limit=0, raise_delay=2, alarm_id="first-limit"),
    ]
    notifications = run(rules, [(0, 5)], until=10)
    assert [n.alarm_id for n in notifications] == ["second-limit", "first-limit"]


def test_next_deadline_says_when_to_advance() -> None:
    engine = Engine(
        [LimitRule(point="p", kind="upper", limit=80, raise_delay=5, clear_delay=2),
         StaleRule(point="p", timeout=60)]
    )
    assert engine.next_deadline() is None
    engine.feed("p", 85, 100)
    assert engine.next_deadline() == 105
    assert engine.advance(104.9) == ()
    assert [n.event for n in engine.advance(105)] == [R]
    assert engine.next_deadline() == 160  # the watchdog
    engine.feed("p", 50, 110)
    assert engine.next_deadline() == 112
    engine.advance(112)
    engine.feed("p", 50, 150)
    assert engine.next_deadline() == 210  # the watchdog moved on with the sample


def test_threshold_info_and_correlation() -> None:
    rule = LimitRule(point="p", kind="upper", limit=80, hysteresis=2)
    raised, cleared, raised_again = run([rule], [(0, 81), (5, 70), (9, 82)])
    assert raised.threshold_info is not None and cleared.threshold_info is not None
    assert raised.threshold_info.to_dict() == {
        "triggered_threshold": "upper",
        "threshold_level": 80.0,
        "hysteresis": 2.0,
        "direction": "up",
        "observed_value": 81,
        "arm_time": None,
    }
    assert cleared.correlated_notifications == (raised.notification_id,)
    assert cleared.perceived_severity.value == "cleared"
    assert raised.correlated_notifications == ()
    assert raised_again.threshold_info is not None
    assert raised_again.threshold_info.arm_time == 5  # re-armed by the clear


def test_texts_fill_placeholders() -> None:
    rule = LimitRule(
        point="tank",
        kind="lower",
        limit=10,
        hysteresis=1.5,
        alarm_id="tank.low",
        alarm_class="process",
        severity="minor",  # type: ignore[arg-type]
        raise_text="{point} {kind} {value:.1f}<={limit} {alarm_id}/{alarm_class} {severity} "
        "{event} t={time} h={hysteresis}",
        clear_text="{event}: {value}",
    )
    raised, cleared = run([rule], [(3, "tank", 9.25), (4, "tank", 12)])
    assert raised.additional_text == (
        "tank lower 9.2<=10.0 tank.low/process minor raised t=3.0 h=1.5"
    )
    assert cleared.additional_text == "cleared: 12.0"
