"""Secondary search: find every meter on a segment by narrowing wildcard selections.

State table of :class:`SecondarySearch`::

    state              AnswerReceived                  ResponseTimedOut     garbled
    SELECTING          READING                         SELECTING | DONE     SELECTING | DONE
    READING            CONFIRM_SELECTING | SELECTING   SELECTING | DONE     SELECTING | DONE
                       | DONE
    CONFIRM_SELECTING  CONFIRM_READING                 SELECTING | DONE     SELECTING | DONE
    CONFIRM_READING    RECHECK_SELECTING | SELECTING   SELECTING | DONE     SELECTING | DONE
                       | DONE
    RECHECK_SELECTING  RECHECK_READING                 SELECTING | DONE     SELECTING | DONE
    RECHECK_READING    SELECTING | DONE                SELECTING | DONE     SELECTING | DONE

Rules (see the field notes on collisions):

- A probe selects a mask. Silence: nobody matches, prune (no repeat: silence is clean).
- E5 proves only that someone matches (several E5 arrive as one), so REQ_UD2 follows.
  One clean answer whose address matches the mask: a candidate. Anything else
  (garbled, truncated, silence, an address outside the mask) means several
  meters or a broken answer: descend.
- A candidate is confirmed by selecting its full address and reading it again;
  the collision of several answers can yield a valid checksum and a made-up ID.
- A confirmed candidate proves that this meter exists, not that it answered the
  wildcard read alone: the AND of several answers can be a frame with a valid
  checksum that carries the ID of one of them (10102991 AND 00000001 is 00000001),
  and when every other answer is a bitwise superset of one meter's frame, the AND
  is exactly that frame. A meter counts its telegrams in the access number, and
  the AND of numbers is never larger than any of them. So the meter is kept, and:
  the confirmation must carry the wildcard answer's access number plus one (else
  the wildcard answer was not this meter's telegram); then the wildcard mask is
  selected and read once more, and must give this meter's next telegram (same
  header, access number one up). Having answered the confirmation alone, the
  meter is one count ahead of a hidden twin, which therefore no longer covers its
  frame: the collision shows. Whatever fails is narrowed further. A meter whose
  access number stays the same is taken as found alone (no read can tell; a twin
  hiding behind it, or a twin whose count was ahead, is not detectable).
- Descending sets one wildcard ID digit to 0-9: the digit where the meters
  found so far differ most, the least significant first at the start (IDs
  that share long prefixes differ in their last digits). When the children do
  not explain the parent (none answers, or the parent's answers collided and
  its children hold one meter), A-E are tried, then the parent again with that
  digit left at F (F is the wildcard itself; this also recovers an
  acknowledgement lost to noise).
  At a full ID that still collides, the medium, then the version byte are
  narrowed, then the manufacturer is tried among common codes and those found
  so far (when they are wildcards). What cannot be told apart is reported as
  unresolved.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from ._header import Header, encode_manufacturer
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
from ._requests import NETWORK_ADDRESS, SecondaryAddress, req_ud2, select
from ._telegram import Telegram

__all__ = [
    "COMMON_MANUFACTURERS",
    "FoundMeter",
    "MeterFound",
    "SearchProgress",
    "SearchResult",
    "SearchState",
    "SecondarySearch",
    "UnresolvedMask",
]


class SearchState(enum.Enum):
    """States of :class:`SecondarySearch`."""

    SELECTING = "selecting"
    READING = "reading"
    CONFIRM_SELECTING = "confirm_selecting"
    CONFIRM_READING = "confirm_reading"
    RECHECK_SELECTING = "recheck_selecting"
    RECHECK_READING = "recheck_reading"
    DONE = "done"


_S = SearchState
_GARBLED = (CollisionDetected, ChecksumMismatch)
_GO_ON = frozenset({_S.SELECTING, _S.DONE})
SEARCH_TABLE: dict[tuple[SearchState, type[Any]], Transition] = {
    (_S.SELECTING, AnswerReceived): ("_acknowledged", frozenset({_S.READING})),
    (_S.SELECTING, ResponseTimedOut): ("_nobody", _GO_ON),
    **{(_S.SELECTING, kind): ("_somebody", _GO_ON) for kind in _GARBLED},
    (_S.READING, AnswerReceived): ("_read", frozenset({_S.CONFIRM_SELECTING, _S.SELECTING,
                                                       _S.DONE})),
    (_S.READING, ResponseTimedOut): ("_read_failed", _GO_ON),
    **{(_S.READING, kind): ("_read_failed", _GO_ON) for kind in _GARBLED},
    (_S.CONFIRM_SELECTING, AnswerReceived): ("_confirm_selected",
                                             frozenset({_S.CONFIRM_READING})),
    (_S.CONFIRM_SELECTING, ResponseTimedOut): ("_not_confirmed", _GO_ON),
    **{(_S.CONFIRM_SELECTING, kind): ("_not_confirmed", _GO_ON) for kind in _GARBLED},
    (_S.CONFIRM_READING, AnswerReceived): ("_confirmed", frozenset({_S.RECHECK_SELECTING,
                                                                   _S.SELECTING, _S.DONE})),
    (_S.CONFIRM_READING, ResponseTimedOut): ("_not_confirmed", _GO_ON),
    **{(_S.CONFIRM_READING, kind): ("_not_confirmed", _GO_ON) for kind in _GARBLED},
    (_S.RECHECK_SELECTING, AnswerReceived): ("_recheck_selected",
                                             frozenset({_S.RECHECK_READING})),
    (_S.RECHECK_SELECTING, ResponseTimedOut): ("_not_alone", _GO_ON),
    **{(_S.RECHECK_SELECTING, kind): ("_not_alone", _GO_ON) for kind in _GARBLED},
    (_S.RECHECK_READING, AnswerReceived): ("_rechecked", _GO_ON),
    (_S.RECHECK_READING, ResponseTimedOut): ("_not_alone", _GO_ON),
    **{(_S.RECHECK_READING, kind): ("_not_alone", _GO_ON) for kind in _GARBLED},
}

Slot = int | str  # an ID digit position (0 = most significant), "medium", "version" or
#                   "manufacturer"

# Manufacturers tried when meters share ID, version and medium (the 2-byte field has
# 32768 values, too many to enumerate): common FLAG codes of wired M-Bus meters, plus
# every manufacturer found so far in the same search.
COMMON_MANUFACTURERS = (
    "ABB", "ACW", "AMT", "APA", "BMT", "DME", "DWZ", "EFE", "EHW", "ELS", "EMH", "EMU",
    "GAV", "GWF", "HYD", "ITW", "KAM", "LSE", "LUG", "MAD", "NZR", "QDS", "REL", "SAP",
    "SBC", "SEN", "SIE", "SLB", "SON", "SPX", "TCH", "WZG", "ZRI", "ZRM",
)
_BCD, _HEX = "0123456789", "ABCDE"


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundMeter:
    """A meter found and confirmed: its full address, primary address and header."""

    address: SecondaryAddress
    primary: int
    header: Header

    def to_dict(self) -> dict[str, Any]:
        """``{"secondary": "1234567824232504", "id", "manufacturer", "version", "medium",
        "primary"}``."""
        out = self.address.to_dict()
        out["medium"] = self.header.medium_name
        out["primary"] = self.primary
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class UnresolvedMask:
    """Someone answers under ``mask`` but could not be told apart or read (``reason``)."""

    mask: SecondaryAddress
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """``{"unresolved": "<mask>", "reason": "..."}``."""
        return {"unresolved": str(self.mask), "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    """What a search found; ``probes`` is the number of selections made."""

    meters: tuple[FoundMeter, ...]
    unresolved: tuple[UnresolvedMask, ...]
    probes: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"meters": [meter.to_dict() for meter in self.meters],
                "unresolved": [mask.to_dict() for mask in self.unresolved],
                "probes": self.probes}


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchProgress:
    """After each selection: ``probes`` made so far, ``found`` meters, the ``mask`` probed."""

    probes: int
    found: int
    mask: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterFound:
    """A meter was confirmed."""

    meter: FoundMeter


@dataclass(eq=False)
class _Group:
    parent: _Node
    slot: Slot
    stage: str
    pending: int = 0
    hits: int = 0
    singles: int = 0


@dataclass(eq=False)
class _Node:
    mask: SecondaryAddress
    slots: tuple[Slot, ...]
    group: _Group | None = None
    concluded: bool = field(default=False)
    many: bool = False  # its readout collided: at least two meters answered
    child_hits: int = 0  # over all narrowing stages of its slot
    child_singles: int = 0


def _count_step(first: Telegram | None, second: Telegram | None) -> int | None:
    """How far the access number moved from ``first`` to ``second`` (mod 256), when both
    carry the same header otherwise; None when they do not. A meter counts its RSP_UD
    telegrams (EN 13757-3), so its next telegram is one up; its readout may differ."""
    if first is None or second is None or first.header is None or second.header is None:
        return None
    before, after = first.header.access_number, second.header.access_number
    if (before is None or after is None or first.header._replace(access_number=None)
            != second.header._replace(access_number=None)):
        return None
    return (after - before) % 256


def _narrow(mask: SecondaryAddress, slot: Slot, value: str | int) -> SecondaryAddress:
    if isinstance(slot, int):
        return mask.with_digit(slot, str(value))
    if slot == "medium":
        return SecondaryAddress(id=mask.id, manufacturer=mask.manufacturer,
                                version=mask.version, medium=int(value))
    if slot == "manufacturer":
        return SecondaryAddress(id=mask.id, manufacturer=int(value), version=mask.version,
                                medium=mask.medium)
    return SecondaryAddress(id=mask.id, manufacturer=mask.manufacturer,
                            version=int(value), medium=mask.medium)


class SecondarySearch(StateMachine):
    """Find all meters whose address matches ``mask`` (default: all).

    Args:
        mask: the root mask; fix digits or bytes to search a part of the segment.
        manufacturer, version, medium: filters (set those bytes of the root mask).
        max_probes: bound on selections (a safety net against a broken bus).
        recheck_silence: repeat a selection nobody acknowledged (up to the master's
            ``retries``). Off by default: on a sound bus silence is clean and repeating
            it is what makes libmbus slow; on a noisy bus a lost E5 hides a meter.

    Finishes with a :class:`SearchResult`.
    """

    TABLE: ClassVar[dict[tuple[Any, type[Any]], Transition]] = SEARCH_TABLE
    FINAL: ClassVar[frozenset[Any]] = frozenset({SearchState.DONE})

    def __init__(self, mask: SecondaryAddress | None = None, *, manufacturer: int | None = None,
                 version: int | None = None, medium: int | None = None,
                 max_probes: int = 20000, recheck_silence: bool = False) -> None:
        super().__init__(SearchState.SELECTING)
        root = mask or SecondaryAddress(id="FFFFFFFF")
        root = SecondaryAddress(
            id=root.id,
            manufacturer=root.manufacturer if manufacturer is None else manufacturer,
            version=root.version if version is None else version,
            medium=root.medium if medium is None else medium)
        self.root = root
        self.max_probes = max_probes
        self.recheck_silence = recheck_silence
        slots: list[Slot] = [pos for pos in range(7, -1, -1) if root.id[pos] == "F"]
        if root.medium == 0xFF:
            slots.append("medium")
        if root.version == 0xFF:
            slots.append("version")
        if root.manufacturer == 0xFFFF:
            slots.append("manufacturer")
        self.found: dict[SecondaryAddress, FoundMeter] = {}
        self.unresolved: list[UnresolvedMask] = []
        self.probes = 0
        self._stack: list[_Node] = [_Node(mask=root, slots=tuple(slots))]
        self._digit_counts: list[dict[str, int]] = [{} for _ in range(8)]
        self._node: _Node | None = None
        self._candidate: SecondaryAddress | None = None
        self._wildcard_answer: Telegram | None = None  # the read that gave the candidate
        self._confirmation: Telegram | None = None

    # -- probing -----------------------------------------------------------------------

    def start(self) -> Step:
        return self._probe_next()[1]

    def _probe_next(self) -> tuple[SearchState, Step]:
        if not self._stack or self.probes >= self.max_probes:
            if self._stack:
                for node in self._stack:
                    self.unresolved.append(UnresolvedMask(
                        mask=node.mask, reason=f"not probed: limit of {self.max_probes} probes"))
                self._stack.clear()
            self.state = SearchState.DONE
            return SearchState.DONE, ProcedureFinished(result=SearchResult(
                meters=tuple(self.found.values()), unresolved=tuple(self.unresolved),
                probes=self.probes))
        node = self._stack.pop()
        self._node = node
        self.probes += 1
        self._progress.append(SearchProgress(probes=self.probes, found=len(self.found),
                                             mask=str(self._node.mask)))
        request = select(self._node.mask)
        if self.recheck_silence:
            request = replace(request, retry_silence=True)
        return SearchState.SELECTING, request

    def _conclude(self, node: _Node, hit: bool, *, single: bool = False) -> None:
        # A child is concluded once its probe is classified: empty, one meter, or more.
        if node.concluded:
            return
        node.concluded = True
        group = node.group
        if group is None:
            return
        group.pending -= 1
        group.hits += hit
        group.singles += hit and single
        if group.pending:
            return
        parent, slot = group.parent, group.slot
        parent.child_hits += group.hits
        parent.child_singles += group.singles
        # Unexplained: someone answered the parent and no child did, or the parent's
        # answers collided and its children hold a single meter: the rest hide behind
        # digits A-F, or F itself (the wildcard).
        unexplained = parent.child_hits == 0 or (
            parent.many and parent.child_hits == 1 and parent.child_singles == 1)
        if unexplained and isinstance(slot, int) and group.stage == "bcd":
            self._push_group(parent, slot, "hex")
        elif unexplained and isinstance(slot, int) and group.stage == "hex":
            self._push_group(parent, slot, "keep")
        elif parent.child_hits == 0:
            self.unresolved.append(UnresolvedMask(
                mask=parent.mask, reason="acknowledged, but no narrower selection was"))

    def _push_group(self, node: _Node, slot: Slot, stage: str) -> None:
        rest = tuple(s for s in node.slots if s != slot)
        values: tuple[str | int, ...]
        if stage == "keep":
            children = [_Node(mask=node.mask, slots=rest)]
        else:
            if isinstance(slot, int):
                values = tuple(_BCD if stage == "bcd" else _HEX)
            elif slot == "manufacturer":
                codes = {encode_manufacturer(name) for name in COMMON_MANUFACTURERS}
                codes.update(found.manufacturer for found in self.found)
                values = tuple(sorted(codes))
            else:
                values = tuple(range(0xFF))
            children = [_Node(mask=_narrow(node.mask, slot, value), slots=rest)
                        for value in values]
        group = _Group(parent=node, slot=slot, stage=stage, pending=len(children))
        for child in children:
            child.group = group
        self._stack.extend(reversed(children))

    def _choose_slot(self, node: _Node) -> Slot:
        # Narrow where the meters found so far differ most (IDs of one production batch
        # share a prefix); ties go to the least significant digit.
        digits = [slot for slot in node.slots if isinstance(slot, int)]
        if not digits:
            return node.slots[0]
        return max(digits, key=lambda pos: (len(self._digit_counts[pos]), -digits.index(pos)))

    def _several(self, reason: str) -> tuple[SearchState, Step]:
        # The probed mask holds several meters (answers collided): narrow it.
        assert self._node is not None
        self._node.many = True
        self._conclude(self._node, True)
        return self._descend(self._node, reason)

    def _descend(self, node: _Node, reason: str) -> tuple[SearchState, Step]:
        if node.slots:
            self._push_group(node, self._choose_slot(node), "bcd")
        else:
            self.unresolved.append(UnresolvedMask(mask=node.mask, reason=reason))
        return self._probe_next()

    # -- handlers -------------------------------------------------------------------------

    def _acknowledged(self, outcome: Outcome) -> tuple[SearchState, Step]:
        assert self._node is not None
        bottom = not any(isinstance(slot, int) for slot in self._node.slots)
        return SearchState.READING, req_ud2(NETWORK_ADDRESS, retry=bottom, retry_silence=bottom)

    def _nobody(self, outcome: Outcome) -> tuple[SearchState, Step]:
        assert self._node is not None
        self._conclude(self._node, False)
        return self._probe_next()

    def _somebody(self, outcome: Outcome) -> tuple[SearchState, Step]:
        return self._several("garbled acknowledgements at a full address")

    def _read(self, outcome: Outcome) -> tuple[SearchState, Step]:
        assert isinstance(outcome, AnswerReceived) and self._node is not None
        node = self._node
        header = outcome.telegram.header if outcome.telegram is not None else None
        if header is None or header.id is None or header.manufacturer is None:
            return self._several("answers without a long header")
        candidate = SecondaryAddress.from_header(header)
        if not node.mask.matches(candidate):
            return self._several("answers carry addresses outside the selection")
        if candidate == node.mask:  # a full selection: nobody else can answer it
            return self._found(candidate, outcome)
        # Also a meter found before: its frame may again hide a twin's (module docstring).
        self._candidate = candidate
        self._wildcard_answer = outcome.telegram
        return SearchState.CONFIRM_SELECTING, select(candidate, retry=True)

    def _read_failed(self, outcome: Outcome) -> tuple[SearchState, Step]:
        assert self._node is not None
        if isinstance(outcome, ResponseTimedOut) and not any(
                isinstance(slot, int) for slot in self._node.slots):
            self.unresolved.append(UnresolvedMask(
                mask=self._node.mask, reason="acknowledges the selection but sends no data"))
            self._conclude(self._node, True, single=True)
            return self._probe_next()
        self._node.many = not isinstance(outcome, ResponseTimedOut)
        self._conclude(self._node, True)
        return self._descend(self._node, "answers collide at a full address")

    def _confirm_selected(self, outcome: Outcome) -> tuple[SearchState, Step]:
        return SearchState.CONFIRM_READING, req_ud2(NETWORK_ADDRESS, retry=True)

    def _confirmed(self, outcome: Outcome) -> tuple[SearchState, Step]:
        assert isinstance(outcome, AnswerReceived) and self._node is not None
        header = outcome.telegram.header if outcome.telegram is not None else None
        if (header is not None and header.id is not None and header.manufacturer is not None
                and SecondaryAddress.from_header(header) == self._candidate):
            assert self._candidate is not None
            self._keep(self._candidate, outcome)
            step = _count_step(self._wildcard_answer, outcome.telegram)
            if step == 0:  # a meter that does not count: a recheck could not tell
                self._conclude(self._node, True, single=True)
                return self._probe_next()
            if step == 1 and self.probes < self.max_probes:
                self._confirmation = outcome.telegram
                self.probes += 1
                self._progress.append(SearchProgress(probes=self.probes, found=len(self.found),
                                                     mask=str(self._node.mask)))
                return SearchState.RECHECK_SELECTING, select(self._node.mask)
            return self._not_alone(outcome)
        return self._several("confirmation read another address")

    def _recheck_selected(self, outcome: Outcome) -> tuple[SearchState, Step]:
        # No retry: a garbled answer is what a hidden twin causes.
        return SearchState.RECHECK_READING, req_ud2(NETWORK_ADDRESS, retry=False)

    def _rechecked(self, outcome: Outcome) -> tuple[SearchState, Step]:
        assert isinstance(outcome, AnswerReceived) and self._node is not None
        if _count_step(self._confirmation, outcome.telegram) != 1:
            return self._not_alone(outcome)
        self._conclude(self._node, True, single=True)
        return self._probe_next()

    def _not_alone(self, outcome: Outcome) -> tuple[SearchState, Step]:
        # The confirmed candidate is kept; others may hide behind its frame: narrow.
        return self._several("answers collide behind a confirmed meter")

    def _not_confirmed(self, outcome: Outcome) -> tuple[SearchState, Step]:
        return self._several("candidate could not be confirmed")

    def _found(self, address: SecondaryAddress, outcome: AnswerReceived) -> tuple[SearchState,
                                                                                  Step]:
        self._keep(address, outcome)
        if self._node is not None:
            self._conclude(self._node, True, single=True)
        return self._probe_next()

    def _keep(self, address: SecondaryAddress, outcome: AnswerReceived) -> None:
        # A meter read at its full address; counted and reported once.
        assert outcome.telegram is not None and outcome.telegram.header is not None
        if address in self.found:
            return
        meter = FoundMeter(address=address, primary=getattr(outcome.frame, "a", 0),
                           header=outcome.telegram.header)
        self.found[address] = meter
        for position, digit in enumerate(address.id):
            counts = self._digit_counts[position]
            counts[digit] = counts.get(digit, 0) + 1
        self._progress.append(MeterFound(meter=meter))
