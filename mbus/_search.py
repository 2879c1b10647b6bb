"""Secondary search: find every meter on a segment by narrowing wildcard selections.

State table of :class:`SecondarySearch`::

    state              AnswerReceived                  ResponseTimedOut     garbled
    SELECTING          READING                         SELECTING | DONE     SELECTING | DONE
    READING            CONFIRM_SELECTING | SELECTING   SELECTING | DONE     SELECTING | DONE
                       | DONE
    CONFIRM_SELECTING  CONFIRM_READING                 SELECTING | DONE     SELECTING | DONE
    CONFIRM_READING    SELECTING | DONE                SELECTING | DONE     SELECTING | DONE

Rules (see the field notes on collisions):

- A probe selects a mask. Silence: nobody matches, prune (no repeat: silence is clean).
- E5 proves only that someone matches (several E5 arrive as one), so REQ_UD2 follows.
  One clean answer whose address matches the mask: a candidate. Anything else
  (garbled, truncated, silence, an address outside the mask) means several
  meters or a broken answer: descend.
- A candidate is confirmed by selecting its full address and reading it again;
  the collision of several answers can yield a valid checksum and a made-up ID.
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
    (_S.CONFIRM_READING, AnswerReceived): ("_confirmed", _GO_ON),
    (_S.CONFIRM_READING, ResponseTimedOut): ("_not_confirmed", _GO_ON),
    **{(_S.CONFIRM_READING, kind): ("_not_confirmed", _GO_ON) for kind in _GARBLED},
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
        assert self._node is not None
        self._node.many = True
        self._conclude(self._node, True)
        return self._descend(self._node, "garbled acknowledgements at a full address")

    def _read(self, outcome: Outcome) -> tuple[SearchState, Step]:
        assert isinstance(outcome, AnswerReceived) and self._node is not None
        node = self._node
        header = outcome.telegram.header if outcome.telegram is not None else None
        if header is None or header.id is None or header.manufacturer is None:
            node.many = True
            self._conclude(node, True)
            return self._descend(node, "answers without a long header")
        candidate = SecondaryAddress.from_header(header)
        if not node.mask.matches(candidate):
            node.many = True
            self._conclude(node, True)
            return self._descend(node, "answers carry addresses outside the selection")
        if candidate in self.found:
            self._conclude(node, True, single=True)
            return self._probe_next()
        if candidate == node.mask:  # this probe already was a full selection and read
            return self._found(candidate, outcome)
        self._candidate = candidate
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
            return self._found(self._candidate, outcome)
        self._node.many = True
        self._conclude(self._node, True)
        return self._descend(self._node, "confirmation read another address")

    def _not_confirmed(self, outcome: Outcome) -> tuple[SearchState, Step]:
        assert self._node is not None
        self._node.many = True
        self._conclude(self._node, True)
        return self._descend(self._node, "candidate could not be confirmed")

    def _found(self, address: SecondaryAddress, outcome: AnswerReceived) -> tuple[SearchState,
                                                                                  Step]:
        assert outcome.telegram is not None and outcome.telegram.header is not None
        frame = outcome.frame
        primary = getattr(frame, "a", 0)
        meter = FoundMeter(address=address, primary=primary, header=outcome.telegram.header)
        self.found[address] = meter
        if self._node is not None:
            self._conclude(self._node, True, single=True)
        for position, digit in enumerate(address.id):
            counts = self._digit_counts[position]
            counts[digit] = counts.get(digit, 0) + 1
        self._progress.append(MeterFound(meter=meter))
        return self._probe_next()
