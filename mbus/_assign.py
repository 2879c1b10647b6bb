"""Automatic primary-address assignment: free addresses to meters found by secondary address.

State table of :class:`AssignAddresses`::

    state      AnswerReceived            ResponseTimedOut          garbled (collision, checksum)
    CHECKING   CHECKING | SELECTING      SELECTING                 CHECKING | SELECTING
               | DONE                                              | DONE
    SELECTING  WRITING                   CHECKING | SELECTING      WRITING
                                         | DONE
    WRITING    RESETTING                 CHECKING | SELECTING      CHECKING | SELECTING
                                         | DONE                    | DONE
    RESETTING  VERIFYING                 VERIFYING                 VERIFYING
    VERIFYING  CHECKING | SELECTING      CHECKING | SELECTING      CHECKING | SELECTING
               | DONE                    | DONE                    | DONE

For each meter: take the next candidate address and check that nobody
answers there (SND_NKE: silence means free; an answer means taken, try the
next); select the meter by its full secondary address; write the address
(SND_UD to 253, DIF 0x01 VIF 0x7A); reset the link at the new address
(SND_NKE) and read it back (REQ_UD2): the answer's ID must be the meter's.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from ._machine import StateMachine, Transition
from ._master import (
    AnswerReceived,
    ChecksumMismatch,
    CollisionDetected,
    Outcome,
    ProcedureFinished,
    ResponseTimedOut,
    Step,
)
from ._master_errors import AddressError, BusError, CollisionError, NoAnswerError, NoMeterError
from ._requests import (
    NETWORK_ADDRESS,
    SecondaryAddress,
    req_ud2,
    select,
    set_primary_address,
    snd_nke,
)

__all__ = ["AddressAssigned", "AssignAddresses", "AssignState", "Assignment"]


class AssignState(enum.Enum):
    """States of :class:`AssignAddresses`."""

    CHECKING = "checking"
    SELECTING = "selecting"
    WRITING = "writing"
    RESETTING = "resetting"
    VERIFYING = "verifying"
    DONE = "done"


_G = AssignState
_GARBLED = (CollisionDetected, ChecksumMismatch)
_NEXT_METER = frozenset({_G.CHECKING, _G.SELECTING, _G.DONE})
ASSIGN_TABLE: dict[tuple[AssignState, type[Any]], Transition] = {
    (_G.CHECKING, AnswerReceived): ("_taken", frozenset({_G.CHECKING, _G.SELECTING, _G.DONE})),
    (_G.CHECKING, ResponseTimedOut): ("_free", frozenset({_G.SELECTING})),
    **{(_G.CHECKING, kind): ("_taken", frozenset({_G.CHECKING, _G.SELECTING, _G.DONE}))
       for kind in _GARBLED},
    (_G.SELECTING, AnswerReceived): ("_selected", frozenset({_G.WRITING})),
    (_G.SELECTING, ResponseTimedOut): ("_not_selected", _NEXT_METER),
    **{(_G.SELECTING, kind): ("_selected", frozenset({_G.WRITING})) for kind in _GARBLED},
    (_G.WRITING, AnswerReceived): ("_written", frozenset({_G.RESETTING})),
    (_G.WRITING, ResponseTimedOut): ("_not_written", _NEXT_METER),
    **{(_G.WRITING, kind): ("_not_written", _NEXT_METER) for kind in _GARBLED},
    (_G.RESETTING, AnswerReceived): ("_reset", frozenset({_G.VERIFYING})),
    (_G.RESETTING, ResponseTimedOut): ("_reset", frozenset({_G.VERIFYING})),
    **{(_G.RESETTING, kind): ("_reset", frozenset({_G.VERIFYING})) for kind in _GARBLED},
    (_G.VERIFYING, AnswerReceived): ("_verified", _NEXT_METER),
    (_G.VERIFYING, ResponseTimedOut): ("_not_verified", _NEXT_METER),
    **{(_G.VERIFYING, kind): ("_not_verified", _NEXT_METER) for kind in _GARBLED},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    """One meter's outcome: the address it now has, or the error."""

    meter: SecondaryAddress
    primary: int | None = None
    error: BusError | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"secondary": ..., "primary": 7}`` or ``{"secondary": ..., "error": "..."}``."""
        out: dict[str, Any] = {"secondary": str(self.meter)}
        if self.error is None:
            out["primary"] = self.primary
        else:
            out["error"] = str(self.error)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressAssigned:
    """Progress: ``done`` of ``total`` meters handled; ``assignment`` is the latest."""

    done: int
    total: int
    assignment: Assignment


class AssignAddresses(StateMachine):
    """Give each meter (full secondary address) a free primary address, verified.

    ``free`` lists the candidate addresses in order (default 1-250); each is
    checked to be silent before use. Finishes with a tuple of :class:`Assignment`.
    """

    TABLE: ClassVar[dict[tuple[Any, type[Any]], Transition]] = ASSIGN_TABLE
    FINAL: ClassVar[frozenset[Any]] = frozenset({AssignState.DONE})

    def __init__(self, meters: Iterable[SecondaryAddress],
                 free: Iterable[int] | None = None) -> None:
        super().__init__(AssignState.CHECKING)
        self.meters = tuple(meters)
        for meter in self.meters:
            if meter.has_wildcards:
                raise AddressError(f"{meter} has wildcards: a full address is needed",
                                   field="secondary")
        self.free = list(range(1, 251) if free is None else free)
        for address in self.free:
            if not 0 <= address <= 250:
                raise AddressError(f"{address} is not a primary address 0-250", field="primary")
        self.assignments: list[Assignment] = []
        self._candidate_index = 0

    @property
    def _meter(self) -> SecondaryAddress:
        return self.meters[len(self.assignments)]

    @property
    def _candidate(self) -> int:
        return self.free[self._candidate_index]

    def start(self) -> Step:
        return self._check_next()[1]

    def _check_next(self) -> tuple[AssignState, Step]:
        if len(self.assignments) >= len(self.meters):
            self.state = AssignState.DONE
            return AssignState.DONE, ProcedureFinished(result=tuple(self.assignments))
        if self._candidate_index >= len(self.free):
            for meter in self.meters[len(self.assignments):]:
                self.assignments.append(Assignment(meter=meter, error=BusError(
                    f"no free primary address left for {meter}")))
            self.state = AssignState.DONE
            return AssignState.DONE, ProcedureFinished(result=tuple(self.assignments))
        return AssignState.CHECKING, snd_nke(self._candidate)

    def _record(self, assignment: Assignment) -> tuple[AssignState, Step]:
        self.assignments.append(assignment)
        self._progress.append(AddressAssigned(done=len(self.assignments),
                                              total=len(self.meters), assignment=assignment))
        return self._check_next()

    def _taken(self, outcome: Outcome) -> tuple[AssignState, Step]:
        self._candidate_index += 1
        return self._check_next()

    def _free(self, outcome: Outcome) -> tuple[AssignState, Step]:
        return AssignState.SELECTING, select(self._meter, retry=True)

    def _selected(self, outcome: Outcome) -> tuple[AssignState, Step]:
        return AssignState.WRITING, set_primary_address(NETWORK_ADDRESS, self._candidate)

    def _not_selected(self, outcome: Outcome) -> tuple[AssignState, Step]:
        return self._record(Assignment(meter=self._meter, error=NoMeterError(
            f"no meter acknowledged {self._meter}", address=NETWORK_ADDRESS)))

    def _written(self, outcome: Outcome) -> tuple[AssignState, Step]:
        return AssignState.RESETTING, snd_nke(self._candidate)

    def _not_written(self, outcome: Outcome) -> tuple[AssignState, Step]:
        return self._record(Assignment(meter=self._meter, error=NoAnswerError(
            f"{self._meter} did not acknowledge the new address {self._candidate}",
            address=NETWORK_ADDRESS)))

    def _reset(self, outcome: Outcome) -> tuple[AssignState, Step]:
        return AssignState.VERIFYING, req_ud2(self._candidate, retry_silence=True)

    def _verified(self, outcome: Outcome) -> tuple[AssignState, Step]:
        assert isinstance(outcome, AnswerReceived)
        header = outcome.telegram.header if outcome.telegram is not None else None
        if (header is not None and header.id is not None and header.manufacturer is not None
                and SecondaryAddress.from_header(header) == self._meter):
            address = self._candidate
            self._candidate_index += 1
            return self._record(Assignment(meter=self._meter, primary=address))
        return self._not_verified(outcome)

    def _not_verified(self, outcome: Outcome) -> tuple[AssignState, Step]:
        address = self._candidate
        self._candidate_index += 1  # something may answer there now: do not reuse it
        error: BusError = (NoAnswerError if isinstance(outcome, ResponseTimedOut)
                           else CollisionError)(
            f"reading {self._meter} back at its new address {address} failed",
            address=address)
        return self._record(Assignment(meter=self._meter, error=error))
