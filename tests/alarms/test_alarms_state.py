"""The two state tables: total over state x input (hypothesis), and their contents."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alarms import (
    LIFECYCLE_TABLE,
    RULE_TABLE,
    AckState,
    Action,
    Announcement,
    Input,
    LifecycleInput,
    LimitRule,
    RuleState,
    TransitionError,
    lifecycle_transition,
    rule_table_text,
    transition,
)
from alarms._engine import _Alarm, _Point
from alarms._state import quiet_inputs

junk = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.sampled_from(list(AckState)))


@given(st.sampled_from(list(RuleState)), st.sampled_from(list(Input)))
def test_rule_table_is_total(state: RuleState, event: Input) -> None:
    """Every state x every input either moves or raises the typed error."""
    try:
        next_state, action = transition(state, event)
    except TransitionError as exc:
        assert (state, event) not in RULE_TABLE
        assert exc.state is state and exc.input is event
        assert state.name in str(exc) and event.name in str(exc)
    else:
        assert isinstance(next_state, RuleState) and isinstance(action, Action)
        assert RULE_TABLE[state, event] == (next_state, action)


@given(
    st.one_of(st.sampled_from(list(RuleState)), junk),
    st.one_of(st.sampled_from(list(Input)), junk),
)
def test_rule_table_rejects_anything_else(state: object, event: object) -> None:
    with contextlib.suppress(TransitionError):
        transition(state, event)  # type: ignore[arg-type]


@given(st.sampled_from(list(AckState)), st.sampled_from(list(LifecycleInput)))
def test_lifecycle_table_is_total(state: AckState, event: LifecycleInput) -> None:
    try:
        next_state, announcement = lifecycle_transition(state, event)
    except TransitionError as exc:
        assert (state, event) not in LIFECYCLE_TABLE
        assert exc.state is state and exc.input is event
    else:
        assert isinstance(next_state, AckState) and isinstance(announcement, Announcement)


def test_only_running_delays_expire() -> None:
    for state in RuleState:
        legal = (state, Input.DEADLINE) in RULE_TABLE
        assert legal == (state in (RuleState.RAISE_PENDING, RuleState.CLEAR_PENDING))
    assert len(RULE_TABLE) == 14


def test_rule_table_reads_as_the_semantics() -> None:
    assert transition(RuleState.NORMAL, Input.CONDITION) == (
        RuleState.RAISE_PENDING,
        Action.START_RAISE_DELAY,
    )
    assert transition(RuleState.RAISE_PENDING, Input.DEADBAND)[1] is Action.CANCEL_RAISE
    assert transition(RuleState.RAISE_PENDING, Input.DEADLINE) == (RuleState.ACTIVE, Action.RAISE)
    assert transition(RuleState.ACTIVE, Input.DEADBAND) == (RuleState.ACTIVE, Action.NONE)
    assert transition(RuleState.CLEAR_PENDING, Input.DEADBAND)[1] is Action.CANCEL_CLEAR
    assert transition(RuleState.CLEAR_PENDING, Input.DEADLINE) == (RuleState.NORMAL, Action.CLEAR)


def test_lifecycle_announces_exactly_on_activity_changes() -> None:
    active = {
        AckState.UNACKNOWLEDGED,
        AckState.ACKNOWLEDGED,
        AckState.LATCHED_UNACKNOWLEDGED,
        AckState.LATCHED_ACKNOWLEDGED,
    }
    for (state, _event), (next_state, announcement) in LIFECYCLE_TABLE.items():
        if (state in active) == (next_state in active):
            assert announcement is Announcement.NONE
        elif next_state in active:
            assert announcement is Announcement.RAISED
        else:
            assert announcement is Announcement.CLEARED


def test_table_text_lists_every_pair() -> None:
    text = rule_table_text()
    assert text.splitlines()[0].split() == ["state", "CONDITION", "DEADBAND", "CLEAR", "DEADLINE"]
    assert "RAISE_PENDING/START_RAISE_DELAY" in text and text.count("(error)") == 2


@pytest.mark.parametrize("kind", ["upper", "lower"])
@pytest.mark.parametrize("inclusive", [True, False])
@pytest.mark.parametrize("state", list(RuleState))
@given(
    limit=st.floats(-1e6, 1e6),
    hysteresis=st.one_of(st.just(0.0), st.floats(0, 100)),
    value=st.floats(-2e6, 2e6),
)
def test_fast_path_interval_agrees_with_the_table(
    kind: str, inclusive: bool, state: RuleState, limit: float, hysteresis: float, value: float
) -> None:
    """Values inside the quiet interval are exactly the table's no-op inputs (or fewer)."""
    rule = LimitRule(
        point="p", kind=kind, limit=limit, hysteresis=hysteresis, inclusive=inclusive  # type: ignore[arg-type]
    )
    alarm = _Alarm(rule, 0, _Point("p"))
    alarm.state = state
    event = alarm.classify(value)
    assert event is (Input.CONDITION if rule.condition(value) else
                     Input.CLEAR if rule.clear_condition(value) else Input.DEADBAND)
    low, high = alarm.quiet_interval()
    if low < value < high:
        assert event in quiet_inputs(state)
