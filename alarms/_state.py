"""The rule state machine: one table, (state, input) -> (next state, action).

Rules of the table (they restate the semantics of :class:`alarms.LimitRule`):

* A sample is classified per rule into one input: ``CONDITION`` (the alarm
  condition holds, e.g. ``value >= limit`` for an upper rule), ``CLEAR`` (the
  clear condition holds, e.g. ``value < limit - hysteresis``) or ``DEADBAND``
  (neither: between the clear threshold and the limit). ``DEADLINE`` is the
  expiry of the rule's running delay.
* ``NORMAL`` + ``CONDITION`` starts the raise delay (``RAISE_PENDING``); a
  delay of 0 expires at the sample's own time, so it acts on the sample.
* ``RAISE_PENDING`` is cancelled by any sample on which the condition does
  not hold; its ``DEADLINE`` raises.
* ``ACTIVE`` + ``CLEAR`` starts the clear delay (``CLEAR_PENDING``), which any
  sample outside the clear condition cancels; its ``DEADLINE`` clears.
* A ``DEADLINE`` with no delay running is a bug in the caller of the table and
  raises :class:`alarms.TransitionError`, as does any pair missing here.

Stale (device failure) rules use the same table: the watchdog expiring feeds
``CONDITION`` (with a raise delay of 0) and every sample feeds ``CLEAR`` (with
a clear delay of 0).
"""

from __future__ import annotations

import enum

from ._errors import TransitionError

__all__ = [
    "CONDITION_ACTIVE_STATES",
    "RULE_TABLE",
    "Action",
    "Input",
    "RuleState",
    "quiet_inputs",
    "rule_table_text",
    "transition",
]


class RuleState(enum.Enum):
    """Where a rule's condition machine stands."""

    NORMAL = "normal"
    RAISE_PENDING = "raise_pending"
    ACTIVE = "active"
    CLEAR_PENDING = "clear_pending"


class Input(enum.Enum):
    """What happened to a rule: a classified sample or its delay expiring."""

    CONDITION = "condition"
    DEADBAND = "deadband"
    CLEAR = "clear"
    DEADLINE = "deadline"


class Action(enum.Enum):
    """What the engine does on a transition."""

    NONE = "none"
    START_RAISE_DELAY = "start_raise_delay"
    CANCEL_RAISE = "cancel_raise"
    RAISE = "raise"
    START_CLEAR_DELAY = "start_clear_delay"
    CANCEL_CLEAR = "cancel_clear"
    CLEAR = "clear"


_S = RuleState
_I = Input
_A = Action

#: The whole rule state machine. Pairs absent here are illegal.
RULE_TABLE: dict[tuple[RuleState, Input], tuple[RuleState, Action]] = {
    (_S.NORMAL, _I.CONDITION): (_S.RAISE_PENDING, _A.START_RAISE_DELAY),
    (_S.NORMAL, _I.DEADBAND): (_S.NORMAL, _A.NONE),
    (_S.NORMAL, _I.CLEAR): (_S.NORMAL, _A.NONE),
    (_S.RAISE_PENDING, _I.CONDITION): (_S.RAISE_PENDING, _A.NONE),
    (_S.RAISE_PENDING, _I.DEADBAND): (_S.NORMAL, _A.CANCEL_RAISE),
    (_S.RAISE_PENDING, _I.CLEAR): (_S.NORMAL, _A.CANCEL_RAISE),
    (_S.RAISE_PENDING, _I.DEADLINE): (_S.ACTIVE, _A.RAISE),
    (_S.ACTIVE, _I.CONDITION): (_S.ACTIVE, _A.NONE),
    (_S.ACTIVE, _I.DEADBAND): (_S.ACTIVE, _A.NONE),
    (_S.ACTIVE, _I.CLEAR): (_S.CLEAR_PENDING, _A.START_CLEAR_DELAY),
    (_S.CLEAR_PENDING, _I.CONDITION): (_S.ACTIVE, _A.CANCEL_CLEAR),
    (_S.CLEAR_PENDING, _I.DEADBAND): (_S.ACTIVE, _A.CANCEL_CLEAR),
    (_S.CLEAR_PENDING, _I.CLEAR): (_S.CLEAR_PENDING, _A.NONE),
    (_S.CLEAR_PENDING, _I.DEADLINE): (_S.NORMAL, _A.CLEAR),
}


#: States in which the alarm condition counts as holding (a clear delay may run).
CONDITION_ACTIVE_STATES: frozenset[RuleState] = frozenset({_S.ACTIVE, _S.CLEAR_PENDING})


def transition(state: RuleState, event: Input) -> tuple[RuleState, Action]:
    """Look up ``(state, event)`` in :data:`RULE_TABLE`.

    Raises :class:`alarms.TransitionError` naming both when the pair is illegal.
    """
    try:
        return RULE_TABLE[state, event]
    except (KeyError, TypeError):
        raise TransitionError(
            f"rule state {getattr(state, 'name', state)} has no transition on "
            f"{getattr(event, 'name', event)}",
            state=state,
            input=event,
        ) from None


def quiet_inputs(state: RuleState) -> frozenset[Input]:
    """Sample inputs that leave ``state`` unchanged with no action.

    The engine's fast path skips samples whose input is in this set.
    """
    return _QUIET[state]


_QUIET: dict[RuleState, frozenset[Input]] = {
    state: frozenset(
        event
        for event in (_I.CONDITION, _I.DEADBAND, _I.CLEAR)
        if RULE_TABLE[state, event] == (state, _A.NONE)
    )
    for state in RuleState
}


def rule_table_text() -> str:
    """Render :data:`RULE_TABLE` as a plain-text table (used in the docs)."""
    inputs = list(Input)
    header = ["state"] + [event.name for event in inputs]
    rows = [header]
    for state in RuleState:
        row = [state.name]
        for event in inputs:
            entry = RULE_TABLE.get((state, event))
            if entry is None:
                row.append("(error)")
            elif entry[1] is _A.NONE:
                row.append(entry[0].name)
            else:
                row.append(f"{entry[0].name}/{entry[1].name}")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = (
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
    return "\n".join(lines)
