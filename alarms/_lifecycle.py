"""The ISA-18.2 alarm life cycle: one table, (state, input) -> (next state, announcement).

Rules of the table:

* ``RAISE`` and ``CLEAR`` come from the rule machine (:mod:`alarms._state`);
  ``CLEAR_LATCHED`` is a clear of a latching rule, which keeps the alarm in
  alarm until an operator ``RESET``. ``ACKNOWLEDGE`` and ``RESET`` are operator
  actions.
* An alarm is announced (an X.733 raise notification) when it leaves the
  inactive states (``NORMAL``, ``RTN_UNACKNOWLEDGED``) and cleared when it
  enters them: that is when a notification goes out.
* Acknowledging keeps the alarm active if the condition still holds
  (``ACKNOWLEDGED``) and returns it to ``NORMAL`` if it had already returned
  to normal (``RTN_UNACKNOWLEDGED``).
* A latched alarm whose condition returns re-joins the active states without a
  second raise. ``RESET`` of an unacknowledged latched alarm clears it but
  still awaits the acknowledgement (``RTN_UNACKNOWLEDGED``).
* Any pair missing here raises :class:`alarms.TransitionError`.

Shelving, suppression and out-of-service are orthogonal to this table: they
only hold back notifications (see :class:`alarms.Engine`).
"""

from __future__ import annotations

import enum

from ._errors import TransitionError

__all__ = [
    "ACTIVE_ACK_STATES",
    "LIFECYCLE_TABLE",
    "AckState",
    "Announcement",
    "LifecycleInput",
    "lifecycle_transition",
]


class AckState(enum.Enum):
    """ISA-18.2 alarm state (acknowledgement and latching)."""

    NORMAL = "normal"
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    RTN_UNACKNOWLEDGED = "rtn_unacknowledged"
    LATCHED_UNACKNOWLEDGED = "latched_unacknowledged"
    LATCHED_ACKNOWLEDGED = "latched_acknowledged"


class LifecycleInput(enum.Enum):
    """What happened to an alarm: a process raise or clear, or an operator action."""

    RAISE = "raise"
    CLEAR = "clear"
    CLEAR_LATCHED = "clear_latched"
    ACKNOWLEDGE = "acknowledge"
    RESET = "reset"


class Announcement(enum.Enum):
    """Which notification a life-cycle transition sends out, if any."""

    NONE = "none"
    RAISED = "raised"
    CLEARED = "cleared"


_S = AckState
_I = LifecycleInput
_N = Announcement

#: The whole ISA-18.2 life cycle. Pairs absent here are illegal.
LIFECYCLE_TABLE: dict[tuple[AckState, LifecycleInput], tuple[AckState, Announcement]] = {
    (_S.NORMAL, _I.RAISE): (_S.UNACKNOWLEDGED, _N.RAISED),
    (_S.UNACKNOWLEDGED, _I.CLEAR): (_S.RTN_UNACKNOWLEDGED, _N.CLEARED),
    (_S.UNACKNOWLEDGED, _I.CLEAR_LATCHED): (_S.LATCHED_UNACKNOWLEDGED, _N.NONE),
    (_S.UNACKNOWLEDGED, _I.ACKNOWLEDGE): (_S.ACKNOWLEDGED, _N.NONE),
    (_S.ACKNOWLEDGED, _I.CLEAR): (_S.NORMAL, _N.CLEARED),
    (_S.ACKNOWLEDGED, _I.CLEAR_LATCHED): (_S.LATCHED_ACKNOWLEDGED, _N.NONE),
    (_S.RTN_UNACKNOWLEDGED, _I.RAISE): (_S.UNACKNOWLEDGED, _N.RAISED),
    (_S.RTN_UNACKNOWLEDGED, _I.ACKNOWLEDGE): (_S.NORMAL, _N.NONE),
    (_S.LATCHED_UNACKNOWLEDGED, _I.RAISE): (_S.UNACKNOWLEDGED, _N.NONE),
    (_S.LATCHED_UNACKNOWLEDGED, _I.ACKNOWLEDGE): (_S.LATCHED_ACKNOWLEDGED, _N.NONE),
    (_S.LATCHED_UNACKNOWLEDGED, _I.RESET): (_S.RTN_UNACKNOWLEDGED, _N.CLEARED),
    (_S.LATCHED_ACKNOWLEDGED, _I.RAISE): (_S.ACKNOWLEDGED, _N.NONE),
    (_S.LATCHED_ACKNOWLEDGED, _I.RESET): (_S.NORMAL, _N.CLEARED),
}

#: States in which the alarm is announced as active (a raise without its clear).
ACTIVE_ACK_STATES: frozenset[AckState] = frozenset(
    {
        _S.UNACKNOWLEDGED,
        _S.ACKNOWLEDGED,
        _S.LATCHED_UNACKNOWLEDGED,
        _S.LATCHED_ACKNOWLEDGED,
    }
)


def lifecycle_transition(state: AckState, event: LifecycleInput) -> tuple[AckState, Announcement]:
    """Look up ``(state, event)`` in :data:`LIFECYCLE_TABLE`.

    Raises :class:`alarms.TransitionError` naming both when the pair is illegal.
    """
    try:
        return LIFECYCLE_TABLE[state, event]
    except (KeyError, TypeError):
        raise TransitionError(
            f"alarm state {getattr(state, 'name', state)} has no transition on "
            f"{getattr(event, 'name', event)}",
            state=state,
            input=event,
        ) from None
