"""The common frame of the procedures: a state table that maps (state, outcome type) to a
handler and the states it may lead to. An event without an entry raises ProcedureError
naming state and event; a handler that picks a state outside its entry is a bug and raises
the same error."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from ._master import Outcome, ProcedureFinished, Step
from ._master_errors import ProcedureError

__all__ = ["StateMachine", "Transition", "format_state_table"]

S = TypeVar("S", bound=enum.Enum)

# handler name, the states it may lead to
Transition = tuple[str, frozenset[Any]]


class StateMachine:
    """Base of every procedure: ``state``, ``TABLE``, ``handle`` by table lookup."""

    TABLE: ClassVar[Mapping[tuple[Any, type[Any]], Transition]]
    FINAL: ClassVar[frozenset[Any]]

    def __init__(self, state: Any) -> None:
        self.state = state
        self._progress: list[Any] = []
        self.result: Any = None

    def start(self) -> Step:
        """The first request (or the result at once)."""
        raise NotImplementedError

    def drain_progress(self) -> list[Any]:
        """Progress events since the last call."""
        events, self._progress = self._progress, []
        return events

    def handle(self, outcome: Outcome) -> Step:
        """Move by the table; returns the next request or :class:`ProcedureFinished`."""
        entry = self.TABLE.get((self.state, type(outcome)))
        if entry is None:
            raise ProcedureError(
                f"{type(self).__name__}: no transition from {self.state.name} on "
                f"{type(outcome).__name__}", state=self.state.name,
                event=type(outcome).__name__)
        name, allowed = entry
        handler: Callable[[Any], tuple[Any, Step]] = getattr(self, name)
        next_state, step = handler(outcome)
        if next_state not in allowed:
            raise ProcedureError(
                f"{type(self).__name__}: {name} led from {self.state.name} to "
                f"{next_state.name}, which the table does not allow", state=self.state.name,
                event=type(outcome).__name__)
        self.state = next_state
        if isinstance(step, ProcedureFinished):
            self.result = step.result
        return step


def format_state_table(machine: Any) -> str:
    """The table of a :class:`StateMachine` subclass as text, one line per (state, event).

    >>> from mbus import Exchange, format_state_table
    >>> print(format_state_table(Exchange))
    SENDING  AnswerReceived    -> DONE | SENDING
    SENDING  ResponseTimedOut  -> DONE | SENDING
    SENDING  CollisionDetected -> DONE | SENDING
    SENDING  ChecksumMismatch  -> DONE | SENDING
    """
    rows = [(state.name, event.__name__, " | ".join(sorted(s.name for s in allowed)))
            for (state, event), (_, allowed) in dict(machine.TABLE).items()]
    state_width = max(len(row[0]) for row in rows)
    event_width = max(len(row[1]) for row in rows)
    return "\n".join(f"{state.ljust(state_width)}  {event.ljust(event_width)} -> {targets}"
                     for state, event, targets in rows)
