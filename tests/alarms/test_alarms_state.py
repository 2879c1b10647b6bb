"""The two state tables: total over state x input (hypothesis), and their contents."""

from __future__ import annotations

import pytest
from hypothesis import example, given
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
from alarms._alarm import AlarmRecord, PointRecord
from alarms._state import quiet_inputs

junk = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=5),
    st.sampled_from([*AckState, *RuleState, *Input, *LifecycleInput, "normal", "clear"]),
)


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


def _legal_rule_move(state: RuleState, event: Input) -> tuple[RuleState, Action] | None:
    """The rule machine restated from the semantics of LimitRule (not read from RULE_TABLE):
    None where the pair is illegal."""
    raise_pending, clear_pending = RuleState.RAISE_PENDING, RuleState.CLEAR_PENDING
    if event is Input.DEADLINE:  # only a running delay can expire
        if state is raise_pending:
            return RuleState.ACTIVE, Action.RAISE
        if state is clear_pending:
            return RuleState.NORMAL, Action.CLEAR
        return None
    if state is RuleState.NORMAL:  # the condition starts the raise delay
        if event is Input.CONDITION:
            return raise_pending, Action.START_RAISE_DELAY
        return state, Action.NONE
    if state is raise_pending:  # any sample without the condition cancels it
        if event is Input.CONDITION:
            return state, Action.NONE
        return RuleState.NORMAL, Action.CANCEL_RAISE
    if state is RuleState.ACTIVE:  # only the clear condition starts the clear delay
        if event is Input.CLEAR:
            return clear_pending, Action.START_CLEAR_DELAY
        return state, Action.NONE
    # clear pending: any sample outside the clear condition cancels it
    if event is Input.CLEAR:
        return state, Action.NONE
    return RuleState.ACTIVE, Action.CANCEL_CLEAR


def _check_rule_pair(state: object, event: object) -> None:
    legal = None
    if isinstance(state, RuleState) and isinstance(event, Input):
        legal = _legal_rule_move(state, event)
    if legal is None:
        with pytest.raises(TransitionError) as caught:
            transition(state, event)  # type: ignore[arg-type]
        assert caught.value.state is state and caught.value.input is event
    else:
        assert transition(state, event) == legal  # type: ignore[arg-type]


@pytest.mark.parametrize("event", list(Input))
@pytest.mark.parametrize("state", list(RuleState))
def test_rule_table_accepts_exactly_the_legal_moves(state: RuleState, event: Input) -> None:
    """Over the whole state x input product: a legal pair moves as the semantics say, an
    illegal one raises TransitionError naming the pair."""
    _check_rule_pair(state, event)


@given(st.one_of(st.sampled_from(list(RuleState)), junk), junk)
@example(RuleState.NORMAL, "condition")
@example("normal", Input.CONDITION)
def test_rule_table_rejects_anything_else(state: object, event: object) -> None:
    """Values that are not a (RuleState, Input) pair (strings, numbers, the life cycle's
    enums) are refused too."""
    _check_rule_pair(state, event)


def _legal_lifecycle_move(
    state: AckState, event: LifecycleInput
) -> tuple[AckState, Announcement] | None:
    """The ISA-18.2 life cycle restated from the rules in alarms/_lifecycle.py's docstring."""
    s, i, n = AckState, LifecycleInput, Announcement
    if event is i.RAISE:
        if state in (s.NORMAL, s.RTN_UNACKNOWLEDGED):  # leaves the inactive states: announced
            return s.UNACKNOWLEDGED, n.RAISED
        if state is s.LATCHED_UNACKNOWLEDGED:  # a latched alarm re-joins without a raise
            return s.UNACKNOWLEDGED, n.NONE
        if state is s.LATCHED_ACKNOWLEDGED:
            return s.ACKNOWLEDGED, n.NONE
        return None  # already active
    if event is i.CLEAR:  # enters the inactive states: announced
        if state is s.UNACKNOWLEDGED:
            return s.RTN_UNACKNOWLEDGED, n.CLEARED
        if state is s.ACKNOWLEDGED:
            return s.NORMAL, n.CLEARED
        return None
    if event is i.CLEAR_LATCHED:  # stays in alarm until a reset
        if state is s.UNACKNOWLEDGED:
            return s.LATCHED_UNACKNOWLEDGED, n.NONE
        if state is s.ACKNOWLEDGED:
            return s.LATCHED_ACKNOWLEDGED, n.NONE
        return None
    if event is i.ACKNOWLEDGE:
        if state is s.UNACKNOWLEDGED:
            return s.ACKNOWLEDGED, n.NONE
        if state is s.LATCHED_UNACKNOWLEDGED:
            return s.LATCHED_ACKNOWLEDGED, n.NONE
        if state is s.RTN_UNACKNOWLEDGED:  # had returned to normal already
            return s.NORMAL, n.NONE
        return None
    # RESET clears a latched alarm; unacknowledged, it still awaits the acknowledgement
    if state is s.LATCHED_UNACKNOWLEDGED:
        return s.RTN_UNACKNOWLEDGED, n.CLEARED
    if state is s.LATCHED_ACKNOWLEDGED:
        return s.NORMAL, n.CLEARED
    return None


def _check_lifecycle_pair(state: object, event: object) -> None:
    legal = None
    if isinstance(state, AckState) and isinstance(event, LifecycleInput):
        legal = _legal_lifecycle_move(state, event)
    if legal is None:
        with pytest.raises(TransitionError) as caught:
            lifecycle_transition(state, event)  # type: ignore[arg-type]
        assert caught.value.state is state and caught.value.input is event
    else:
        assert lifecycle_transition(state, event) == legal  # type: ignore[arg-type]


@pytest.mark.parametrize("event", list(LifecycleInput))
@pytest.mark.parametrize("state", list(AckState))
def test_lifecycle_table_accepts_exactly_the_legal_moves(
    state: AckState, event: LifecycleInput
) -> None:
    """The same for the life cycle: legal pairs move as ISA-18.2 says, others raise."""
    _check_lifecycle_pair(state, event)


@given(st.one_of(st.sampled_from(list(AckState)), junk), junk)
@example(AckState.NORMAL, "raise")
def test_lifecycle_table_rejects_anything_else(state: object, event: object) -> None:
    _check_lifecycle_pair(state, event)


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
    alarm = AlarmRecord(rule, 0, PointRecord("p"))
    alarm.state = state
    event = alarm.classify(value)
    assert event is (Input.CONDITION if rule.condition(value) else
                     Input.CLEAR if rule.clear_condition(value) else Input.DEADBAND)
    low, high = alarm.quiet_interval()
    if low < value < high:
        assert event in quiet_inputs(state)
