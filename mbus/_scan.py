"""Primary scan: SND_NKE to each address; an acknowledgement means a meter is there.

State table of :class:`PrimaryScan`::

    state    AnswerReceived    ResponseTimedOut    garbled (collision, checksum)
    PROBING  PROBING | DONE    PROBING | DONE      PROBING | DONE

An answer is a meter; a garbled answer (after the master's retries) is one or
more meters whose answers collide (reported with ``collision=True``); silence
is no meter and is not repeated. Several meters at one address all send E5,
which arrives as one E5: use ``verify=True`` to read each address as well
(REQ_UD2; a garbled readout then marks the collision).
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
from ._master_errors import AddressError
from ._requests import req_ud2, snd_nke

__all__ = ["FoundPrimary", "PrimaryScan", "ScanProgress", "ScanState"]


class ScanState(enum.Enum):
    """States of :class:`PrimaryScan`."""

    PROBING = "probing"
    DONE = "done"


_P = ScanState
SCAN_TABLE: dict[tuple[ScanState, type[Any]], Transition] = {
    (_P.PROBING, kind): ("_probed", frozenset({_P.PROBING, _P.DONE}))
    for kind in (AnswerReceived, ResponseTimedOut, CollisionDetected, ChecksumMismatch)
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundPrimary:
    """A meter answered at ``primary``; ``collision`` when the answers were garbled."""

    primary: int
    collision: bool = False

    def to_dict(self) -> dict[str, Any]:
        """``{"primary": 5}`` (plus ``"collision": true`` where answers collided)."""
        out: dict[str, Any] = {"primary": self.primary}
        if self.collision:
            out["collision"] = True
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanProgress:
    """After each probe: ``probes`` of ``total`` done, ``found`` meters so far."""

    probes: int
    total: int
    found: int
    address: int


class PrimaryScan(StateMachine):
    """Probe primary addresses (0-250 by default).

    Finishes with a tuple of :class:`FoundPrimary`.
    """

    TABLE: ClassVar[dict[tuple[Any, type[Any]], Transition]] = SCAN_TABLE
    FINAL: ClassVar[frozenset[Any]] = frozenset({ScanState.DONE})

    def __init__(self, addresses: Iterable[int] = range(251), *, verify: bool = False) -> None:
        super().__init__(ScanState.PROBING)
        self.addresses = tuple(addresses)
        for address in self.addresses:
            if not isinstance(address, int) or not 0 <= address <= 250:
                raise AddressError(f"{address!r} is not a primary address 0-250",
                                   field="primary")
        self.verify = verify
        self.found: list[FoundPrimary] = []
        self._index = 0
        self._verifying = False

    def _probe(self) -> Step:
        if self._index >= len(self.addresses):
            self.state = ScanState.DONE
            return ProcedureFinished(result=tuple(self.found))
        return snd_nke(self.addresses[self._index])

    def start(self) -> Step:
        return self._probe()

    def _probed(self, outcome: Outcome) -> tuple[ScanState, Step]:
        address = self.addresses[self._index]
        present = not isinstance(outcome, ResponseTimedOut)
        garbled = isinstance(outcome, CollisionDetected | ChecksumMismatch)
        if self._verifying:
            self._verifying = False
            self.found.append(FoundPrimary(primary=address, collision=garbled))
        elif present and self.verify and not garbled:
            self._verifying = True
            return ScanState.PROBING, req_ud2(address)
        elif present:
            self.found.append(FoundPrimary(primary=address, collision=garbled))
        self._index += 1
        self._progress.append(ScanProgress(probes=self._index, total=len(self.addresses),
                                           found=len(self.found), address=address))
        step = self._probe()
        return (ScanState.DONE if isinstance(step, ProcedureFinished) else ScanState.PROBING), step
