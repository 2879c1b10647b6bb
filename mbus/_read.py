"""Reading meters: one multi-telegram read, a read of many meters, plain acknowledged requests.

State table of :class:`ReadMeter` (FCB reset first, as libmbus does not)::

    state      AnswerReceived               ResponseTimedOut        garbled (collision, checksum)
    RESETTING  SELECTING | READING          SELECTING* | DONE       SELECTING | READING
    SELECTING  READING                      DONE (no meter)         READING
    READING    READING (more follow) | DONE DONE (no answer)      DONE (collision)

    * a deselection (SND_NKE to 253) that nobody acknowledges is normal

A primary read is SND_NKE(a), REQ_UD2(a) FCB=1, REQ_UD2(a) FCB=0, ... while the
last record is DIF 0x1F, at most ``max_telegrams`` times. A secondary read is
SND_NKE(253) (deselect, reset), selection of the full address, then the same
reads at 253; every answer's ID must match the selection (a collision can make a
frame with a valid checksum and a made-up ID), and every follow-up telegram must come
from the meter that sent the first one.

Once the meter has acknowledged the reset, silence to a REQ_UD2 is a lost
frame rather than an empty address, so that request is also repeated after
a timeout (with the same FCB: the meter sends the same telegram again).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
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
from ._master_errors import BusError, CollisionError, NoAnswerError, NoMeterError
from ._requests import (
    NETWORK_ADDRESS,
    Request,
    SecondaryAddress,
    deselect,
    req_ud2,
    select,
    snd_nke,
)
from ._telegram import Telegram

__all__ = [
    "Exchange",
    "ExchangeState",
    "MeterReading",
    "ReadAll",
    "ReadAllEntry",
    "ReadAllState",
    "ReadMeter",
    "ReadState",
    "merge_telegrams",
]

Meter = int | SecondaryAddress
_GARBLED = (CollisionDetected, ChecksumMismatch)


class ReadState(enum.Enum):
    """States of :class:`ReadMeter`."""

    RESETTING = "resetting"
    SELECTING = "selecting"
    READING = "reading"
    DONE = "done"


_R = ReadState
READ_TABLE: dict[tuple[ReadState, type[Any]], Transition] = {
    (_R.RESETTING, AnswerReceived): ("_after_reset", frozenset({_R.SELECTING, _R.READING})),
    (_R.RESETTING, ResponseTimedOut): ("_reset_silent", frozenset({_R.SELECTING, _R.DONE})),
    **{(_R.RESETTING, kind): ("_after_reset", frozenset({_R.SELECTING, _R.READING}))
       for kind in _GARBLED},
    (_R.SELECTING, AnswerReceived): ("_selected", frozenset({_R.READING})),
    (_R.SELECTING, ResponseTimedOut): ("_no_meter", frozenset({_R.DONE})),
    **{(_R.SELECTING, kind): ("_selected", frozenset({_R.READING})) for kind in _GARBLED},
    (_R.READING, AnswerReceived): ("_page", frozenset({_R.READING, _R.DONE})),
    (_R.READING, ResponseTimedOut): ("_no_answer", frozenset({_R.DONE})),
    **{(_R.READING, kind): ("_garbled", frozenset({_R.DONE})) for kind in _GARBLED},
}


def _describe(meter: Meter) -> str:
    return f"secondary address {meter}" if isinstance(meter, SecondaryAddress) else (
        f"primary address {meter}")


def _sender(telegram: Telegram) -> tuple[Any, ...] | None:
    """Who sent a telegram, as its header says (None without a header)."""
    header = telegram.header
    if header is None:
        return None
    return (header.id, header.manufacturer, header.version, header.medium)


def _sender_text(telegram: Telegram) -> str:
    header = telegram.header
    return "no header" if header is None else f"ID {header.id} {header.manufacturer}"


def merge_telegrams(telegrams: Sequence[Telegram]) -> Telegram:
    """One telegram holding the records of all: the first one's frame and header.

    The empty DIF 0x1F markers between telegrams are dropped; a 0x1F record
    that carries manufacturer data is kept.
    """
    if not telegrams:
        raise NoAnswerError("no telegram to merge")
    records = []
    for index, telegram in enumerate(telegrams):
        for record in telegram.records:
            if (record.function == "more_records_follow" and not record.data
                    and index < len(telegrams) - 1):
                continue
            records.append(record)
    first = telegrams[0]
    return Telegram(frame=first.frame, header=first.header, records=tuple(records),
                    error=first.error, alarm=first.alarm, payload=first.payload)


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReading:
    """All telegrams of one readout, in order, and their merge."""

    meter: Meter
    telegrams: tuple[Telegram, ...]

    @property
    def telegram(self) -> Telegram:
        """The merged telegram (records of every telegram)."""
        return merge_telegrams(self.telegrams)

    def to_dict(self) -> dict[str, Any]:
        """The merged telegram as ``mbus decode --json`` prints it, plus ``"telegrams"``."""
        out = self.telegram.to_dict()
        out["telegrams"] = len(self.telegrams)
        return out


class ReadMeter(StateMachine):
    """Multi-telegram read of one meter (primary address or full secondary address).

    Finishes with a :class:`MeterReading`, or a :class:`~mbus.BusError` (not raised).
    """

    TABLE: ClassVar[dict[tuple[Any, type[Any]], Transition]] = READ_TABLE
    FINAL: ClassVar[frozenset[Any]] = frozenset({ReadState.DONE})

    def __init__(self, meter: Meter, *, max_telegrams: int = 16) -> None:
        super().__init__(ReadState.RESETTING)
        # A secondary address with wildcards is allowed: the answer must still match it.
        self.meter = meter
        self.max_telegrams = max(1, max_telegrams)
        self.telegrams: list[Telegram] = []
        self._secondary = isinstance(meter, SecondaryAddress)
        self._address = meter if isinstance(meter, int) else NETWORK_ADDRESS

    def start(self) -> Step:
        return deselect() if self._secondary else snd_nke(self._address)

    def _read(self) -> Request:
        return req_ud2(self._address, retry_silence=True)

    def _finish(self, result: MeterReading | BusError) -> tuple[ReadState, Step]:
        return ReadState.DONE, ProcedureFinished(result=result)

    def _after_reset(self, outcome: Outcome) -> tuple[ReadState, Step]:
        if isinstance(self.meter, SecondaryAddress):
            return ReadState.SELECTING, select(self.meter, retry=True)
        return ReadState.READING, self._read()

    def _reset_silent(self, outcome: Outcome) -> tuple[ReadState, Step]:
        if isinstance(self.meter, SecondaryAddress):
            return ReadState.SELECTING, select(self.meter, retry=True)
        return self._finish(NoAnswerError(
            f"no answer from {_describe(self.meter)} (SND_NKE timed out)",
            address=self._address))

    def _selected(self, outcome: Outcome) -> tuple[ReadState, Step]:
        return ReadState.READING, self._read()

    def _no_meter(self, outcome: Outcome) -> tuple[ReadState, Step]:
        return self._finish(NoMeterError(f"no meter acknowledged {_describe(self.meter)}",
                                         address=NETWORK_ADDRESS))

    def _page(self, outcome: Outcome) -> tuple[ReadState, Step]:
        assert isinstance(outcome, AnswerReceived)
        telegram = outcome.telegram
        if telegram is None:
            return self._finish(CollisionError(
                f"answer of {_describe(self.meter)} does not decode: {outcome.decode_error}",
                address=self._address))
        if isinstance(self.meter, SecondaryAddress):
            header = telegram.header
            if (header is None or header.id is None or header.manufacturer is None
                    or not self.meter.matches(SecondaryAddress.from_header(header))):
                return self._finish(CollisionError(
                    f"the answer to {_describe(self.meter)} carries another address "
                    "(colliding meters?)", address=self._address))
        if self.telegrams and _sender(telegram) != _sender(self.telegrams[0]):
            return self._finish(CollisionError(
                f"telegram {len(self.telegrams) + 1} from {_describe(self.meter)} comes from "
                f"another meter ({_sender_text(telegram)}, telegram 1 from "
                f"{_sender_text(self.telegrams[0])}): colliding meters?",
                address=self._address))
        self.telegrams.append(telegram)
        if telegram.more_records_follow and len(self.telegrams) < self.max_telegrams:
            return ReadState.READING, self._read()
        return self._finish(MeterReading(meter=self.meter, telegrams=tuple(self.telegrams)))

    def _no_answer(self, outcome: Outcome) -> tuple[ReadState, Step]:
        return self._finish(NoAnswerError(
            f"no answer from {_describe(self.meter)} to REQ_UD2 (telegram "
            f"{len(self.telegrams) + 1})", address=self._address))

    def _garbled(self, outcome: Outcome) -> tuple[ReadState, Step]:
        reason = getattr(outcome, "reason", "")
        return self._finish(CollisionError(
            f"garbled answer from {_describe(self.meter)} on every try ({reason}): several "
            "meters at this address, or noise", address=self._address))


class ReadAllState(enum.Enum):
    """States of :class:`ReadAll`."""

    READING = "reading"
    DONE = "done"


_A = ReadAllState
READ_ALL_TABLE: dict[tuple[ReadAllState, type[Any]], Transition] = {
    (_A.READING, kind): ("_delegate", frozenset({_A.READING, _A.DONE}))
    for kind in (AnswerReceived, ResponseTimedOut, CollisionDetected, ChecksumMismatch)
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadAllEntry:
    """One meter of a read-all: its reading or its error."""

    meter: Meter
    reading: MeterReading | None = None
    error: BusError | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"meter": ..., "reading": {...}}`` or ``{"meter": ..., "error": "..."}``."""
        meter: Any = str(self.meter) if isinstance(self.meter, SecondaryAddress) else self.meter
        out: dict[str, Any] = {"meter": meter}
        if self.reading is not None:
            out["reading"] = self.reading.to_dict()
        if self.error is not None:
            out["error"] = str(self.error)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadProgress:
    """A meter of a read-all is done (``done`` of ``total``)."""

    done: int
    total: int
    meter: Meter
    ok: bool


class ReadAll(StateMachine):
    """Reads a list of meters one after the other; each gets its reading or its error."""

    TABLE: ClassVar[dict[tuple[Any, type[Any]], Transition]] = READ_ALL_TABLE
    FINAL: ClassVar[frozenset[Any]] = frozenset({ReadAllState.DONE})

    def __init__(self, meters: Iterable[Meter], *, max_telegrams: int = 16) -> None:
        super().__init__(ReadAllState.READING)
        self.meters = tuple(meters)
        self.max_telegrams = max_telegrams
        self.entries: list[ReadAllEntry] = []
        self._current: ReadMeter | None = None

    def start(self) -> Step:
        return self._next()

    def _next(self) -> Step:
        while len(self.entries) < len(self.meters):
            meter = self.meters[len(self.entries)]
            self._current = ReadMeter(meter, max_telegrams=self.max_telegrams)
            step = self._current.start()
            if not isinstance(step, ProcedureFinished):
                return step
            self._record(step.result)
        self.state = ReadAllState.DONE
        return ProcedureFinished(result=tuple(self.entries))

    def _record(self, result: Any) -> None:
        meter = self.meters[len(self.entries)]
        if isinstance(result, MeterReading):
            self.entries.append(ReadAllEntry(meter=meter, reading=result))
        else:
            self.entries.append(ReadAllEntry(meter=meter, error=result))
        self._progress.append(ReadProgress(done=len(self.entries), total=len(self.meters),
                                           meter=meter, ok=isinstance(result, MeterReading)))

    def _delegate(self, outcome: Outcome) -> tuple[ReadAllState, Step]:
        assert self._current is not None
        step = self._current.handle(outcome)
        if not isinstance(step, ProcedureFinished):
            return ReadAllState.READING, step
        self._record(step.result)
        if len(self.entries) == len(self.meters):
            return ReadAllState.DONE, ProcedureFinished(result=tuple(self.entries))
        following = self._next()
        return (ReadAllState.DONE if isinstance(following, ProcedureFinished)
                else ReadAllState.READING), following


class ExchangeState(enum.Enum):
    """States of :class:`Exchange`."""

    SENDING = "sending"
    DONE = "done"


_X = ExchangeState
EXCHANGE_TABLE: dict[tuple[ExchangeState, type[Any]], Transition] = {
    (_X.SENDING, AnswerReceived): ("_answered", frozenset({_X.SENDING, _X.DONE})),
    (_X.SENDING, ResponseTimedOut): ("_failed", frozenset({_X.SENDING, _X.DONE})),
    (_X.SENDING, CollisionDetected): ("_failed", frozenset({_X.SENDING, _X.DONE})),
    (_X.SENDING, ChecksumMismatch): ("_failed", frozenset({_X.SENDING, _X.DONE})),
}


class Exchange(StateMachine):
    """Sends requests in order; each must be answered (E5 for SND_UD/SND_NKE).

    State table: SENDING --answer--> SENDING | DONE; SENDING --silence or garbled-->
    SENDING (an optional request) | DONE (error).

    ``optional`` holds indexes of requests whose silence is fine (a deselection).
    Finishes with the tuple of answers, or a :class:`~mbus.BusError`.
    """

    TABLE: ClassVar[dict[tuple[Any, type[Any]], Transition]] = EXCHANGE_TABLE
    FINAL: ClassVar[frozenset[Any]] = frozenset({ExchangeState.DONE})

    def __init__(self, requests: Sequence[Request], *, what: str = "request",
                 optional: Iterable[int] = ()) -> None:
        super().__init__(ExchangeState.SENDING)
        self.requests = tuple(requests)
        self.what = what
        self.optional = frozenset(optional)
        self.answers: list[AnswerReceived | None] = []

    def start(self) -> Step:
        if not self.requests:
            self.state = ExchangeState.DONE
            return ProcedureFinished(result=())
        return self.requests[0]

    def _advance(self) -> tuple[ExchangeState, Step]:
        if len(self.answers) == len(self.requests):
            return ExchangeState.DONE, ProcedureFinished(result=tuple(self.answers))
        return ExchangeState.SENDING, self.requests[len(self.answers)]

    def _answered(self, outcome: Outcome) -> tuple[ExchangeState, Step]:
        assert isinstance(outcome, AnswerReceived)
        self.answers.append(outcome)
        return self._advance()

    def _failed(self, outcome: Outcome) -> tuple[ExchangeState, Step]:
        index = len(self.answers)
        request = self.requests[index]
        if index in self.optional:
            self.answers.append(None)
            return self._advance()
        if isinstance(outcome, ResponseTimedOut):
            error: BusError = (NoMeterError if request.ci == 0x52 else NoAnswerError)(
                f"{self.what}: no answer to {request.describe()}", address=request.address)
        else:
            error = CollisionError(
                f"{self.what}: garbled answer to {request.describe()} on every try",
                address=request.address)
        return ExchangeState.DONE, ProcedureFinished(result=error)
