"""The sans-IO master: one transaction at a time, outcomes as events, procedures on top.

The adapter (serial, asyncio, in-process) runs this loop::

    master.start(procedure, now)
    while True:
        action = master.next_action(now())
        if isinstance(action, SendBytes):      write action.data
        elif isinstance(action, WaitForData):  read until action.deadline;
                                               master.receive_data(bytes, now()) if any
        elif isinstance(action, Progress):     show action.event
        else:                                  return action.result   # ProcedureFinished

Every request ends in exactly one outcome event, handed to the procedure:
:class:`AnswerReceived`, :class:`ResponseTimedOut` (silence),
:class:`CollisionDetected` (garbled or truncated bytes, an unexpected frame)
or :class:`ChecksumMismatch` (a whole frame with a wrong checksum). A request
is repeated, with the same FCB, only where the answer was garbled (and after
silence only where the request says so). The FCB is kept per address and
toggled after each successful exchange; SND_NKE and a selection reset it.

Echoing level converters: the master compares what arrives first with what it
sent; once a whole echo has been seen it is stripped from every later
exchange, and once an answer came without one, no echo is expected any more
(``echo=None`` detects it, ``True``/``False`` force it).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from ._errors import DecodeError, FrameError
from ._frames import Ack, Frame, LongFrame, ShortFrame, decode_frame, frame_length
from ._master_errors import ProcedureError
from ._requests import NETWORK_ADDRESS, Request
from ._telegram import Telegram, decode_application
from ._timing import DEFAULT_MARGIN, Timing

__all__ = [
    "AnswerReceived",
    "ChecksumMismatch",
    "CollisionDetected",
    "Master",
    "Outcome",
    "Procedure",
    "ProcedureFinished",
    "Progress",
    "ResponseTimedOut",
    "SendBytes",
    "Step",
    "WaitForData",
]

log = logging.getLogger(__name__)

_MAX_ANSWER = 261 + 64  # one long frame plus some noise: more is not an answer


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerReceived:
    """A whole, valid frame of the expected kind arrived.

    ``telegram`` is its decoded application layer (None for E5, or when the
    application layer did not decode: then ``decode_error`` says why).
    """

    request: Request
    frame: Frame
    raw: bytes
    telegram: Telegram | None = None
    decode_error: str | None = None

    @property
    def is_ack(self) -> bool:
        """True for the single character E5."""
        return isinstance(self.frame, Ack)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseTimedOut:
    """Nothing arrived within the answer window."""

    request: Request


@dataclass(frozen=True, slots=True, kw_only=True)
class CollisionDetected:
    """Bytes arrived but made no valid answer: garbled, truncated, or the wrong frame kind."""

    request: Request
    data: bytes
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecksumMismatch:
    """A whole frame arrived with a wrong checksum (noise, or colliding answers)."""

    request: Request
    data: bytes
    reason: str


Outcome = AnswerReceived | ResponseTimedOut | CollisionDetected | ChecksumMismatch
OUTCOME_TYPES: tuple[type[Any], ...] = (AnswerReceived, ResponseTimedOut, CollisionDetected,
                                        ChecksumMismatch)


@dataclass(frozen=True, slots=True, kw_only=True)
class SendBytes:
    """Action: write these bytes to the bus."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitForData:
    """Action: read until ``deadline`` (the clock given to the master), then ask again."""

    deadline: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """Action: the procedure reports progress (``event``); nothing to do on the bus."""

    event: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcedureFinished:
    """Action: the procedure is over; ``result`` is its result."""

    result: Any


Step = Request | ProcedureFinished


class Procedure(Protocol):
    """A state machine over outcome events that issues requests.

    ``start`` returns the first request (or the result at once); ``handle`` takes
    the outcome of the last request and returns the next request or the result.
    ``progress`` is drained by the master after each call.
    """

    def start(self) -> Step: ...

    def handle(self, outcome: Outcome) -> Step: ...

    def drain_progress(self) -> list[Any]: ...


class Master:
    """Runs procedures over one bus: FCB per slave, answer windows, retries, echo.

    Args:
        baud: the slaves' baud rate (the answer window is computed from it).
        margin: seconds added to the standard's answer window.
        timeout: seconds that replace the computed window (for TCP links).
        retries: how often a request is repeated after a garbled answer.
        echo: None detects an echoing level converter, True/False force it.
    """

    def __init__(self, *, baud: int = 2400, margin: float = DEFAULT_MARGIN,
                 timeout: float | None = None, retries: int = 2,
                 echo: bool | None = None) -> None:
        self.timing = Timing(baud=baud, margin=margin, timeout=timeout)
        self.retries = max(0, retries)
        self.echo = echo
        self.echo_detected = False
        self.requests_sent = 0
        self._fcb: dict[int, bool] = {}
        self._procedure: Procedure | None = None
        self._actions: deque[SendBytes | Progress | ProcedureFinished] = deque()
        self._request: Request | None = None
        self._request_fcb = False
        self._tries = 0
        self._buffer = bytearray()
        self._echo_left = b""
        self._echo_held = bytearray()
        self._deadline = 0.0
        self._finished: ProcedureFinished | None = None

    # -- public API -------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while a procedure runs."""
        return self._procedure is not None and self._finished is None

    def next_fcb(self, address: int) -> bool:
        """The FCB the next FCV request to ``address`` will carry."""
        return self._fcb.get(address, True)

    def start(self, procedure: Procedure, now: float) -> None:
        """Begin ``procedure``; then call :meth:`next_action` until it finishes."""
        if self.busy:
            raise ProcedureError("a procedure is already running on this master")
        self._procedure = procedure
        self._finished = None
        self._actions.clear()
        self._request = None
        self._take(procedure.start(), now)

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes read from the bus (any chunking)."""
        if self._request is None:
            if data:
                log.debug("ignored %d bytes outside a transaction: %s", len(data), data.hex())
            return
        data = self._strip_echo(bytes(data))
        if not data:
            return
        if len(self._buffer) < _MAX_ANSWER:
            self._buffer += data[:_MAX_ANSWER - len(self._buffer)]
        self._deadline = self.timing.rest_deadline(now, self._missing())

    def next_action(self, now: float) -> SendBytes | WaitForData | Progress | ProcedureFinished:
        """What the adapter must do next."""
        while True:
            if self._actions:
                action = self._actions.popleft()
                if isinstance(action, ProcedureFinished):
                    self._finished = action
                return action
            if self._finished is not None:
                return self._finished
            if self._request is None:
                raise ProcedureError("no procedure running: call start() first")
            outcome = self._evaluate(now)
            if outcome is None:
                return WaitForData(deadline=self._deadline)
            self._conclude(outcome, now)

    # -- transaction ------------------------------------------------------------------------

    def _take(self, step: Step, now: float) -> None:
        assert self._procedure is not None
        for event in self._procedure.drain_progress():
            self._actions.append(Progress(event=event))
        if isinstance(step, ProcedureFinished):
            self._request = None
            self._actions.append(step)
            return
        self._request = step
        self._request_fcb = self.next_fcb(step.address)
        self._tries = 0
        self._send(now)

    def _send(self, now: float) -> None:
        request = self._request
        assert request is not None
        data = request.encode(self._request_fcb)
        self._tries += 1
        self.requests_sent += 1
        self._buffer.clear()
        self._echo_held.clear()
        check_echo = self.echo is not False
        self._echo_left = data if check_echo else b""
        self._deadline = self.timing.first_byte_deadline(now, len(data), echo=check_echo)
        log.debug("send %s (try %d): %s", request.describe(), self._tries, data.hex())
        self._actions.append(SendBytes(data=data))

    def _strip_echo(self, data: bytes) -> bytes:
        if not self._echo_left:
            return data
        size = 0
        limit = min(len(data), len(self._echo_left))
        while size < limit and data[size] == self._echo_left[size]:
            size += 1
        if size == limit:
            self._echo_held += data[:size]
            self._echo_left = self._echo_left[size:]
            if not self._echo_left:
                if not self.echo_detected:
                    log.info("the converter echoes what the master sends: echo cancellation on")
                self.echo_detected = True
                self.echo = True
                self._echo_held.clear()
            return data[size:]
        # not an echo: give back what was held; a converter that echoes always does
        if self.echo is None and not self.echo_detected:
            self.echo = False
            log.debug("answer without echo: echo cancellation off")
        restored = bytes(self._echo_held) + data
        self._echo_held.clear()
        self._echo_left = b""
        return restored

    def _missing(self) -> int:
        try:
            size = frame_length(self._buffer)
        except FrameError:
            return 0
        return 4 - len(self._buffer) if size is None else size - len(self._buffer)

    def _evaluate(self, now: float) -> Outcome | None:
        request = self._request
        assert request is not None
        buffer = bytes(self._buffer)
        expired = now >= self._deadline
        if self.echo is None and not self.echo_detected and self._echo_left and expired:
            buffer = bytes(self._echo_held) + buffer  # an incomplete echo is an answer after all
        if not buffer:
            return ResponseTimedOut(request=request) if expired else None
        try:
            size = frame_length(buffer)
        except FrameError as error:
            if not expired:
                return None  # let the garbled answer end before the next request
            return CollisionDetected(request=request, data=buffer, reason=error.message)
        if size is None or len(buffer) < size:
            if not expired:
                return None
            return CollisionDetected(request=request, data=buffer,
                                     reason=f"answer cut off after {len(buffer)} bytes")
        try:
            frame = decode_frame(buffer[:size])
        except DecodeError as error:
            if not expired:
                return None  # a longer colliding answer may still be arriving: let it end
            if isinstance(error, FrameError) and error.field == "checksum":
                return ChecksumMismatch(request=request, data=buffer, reason=error.message)
            return CollisionDetected(request=request, data=buffer, reason=error.message)
        if len(buffer) > size:
            log.debug("%d bytes after the answer ignored", len(buffer) - size)
        return self._classify(request, frame, buffer[:size])

    def _classify(self, request: Request, frame: Frame, raw: bytes) -> Outcome:
        if isinstance(frame, Ack):
            if request.expect in ("ack", "any"):
                return AnswerReceived(request=request, frame=frame, raw=raw)
            return CollisionDetected(request=request, data=raw, reason="E5 where data was expected")
        if isinstance(frame, ShortFrame) or frame.control.from_master:
            return CollisionDetected(request=request, data=raw,
                                     reason="a master's frame where a slave's answer was expected")
        if request.expect == "ack":
            return CollisionDetected(request=request, data=raw,
                                     reason="a long frame where E5 was expected")
        assert isinstance(frame, LongFrame)
        try:
            telegram = decode_application(frame)
        except DecodeError as error:
            return AnswerReceived(request=request, frame=frame, raw=raw, decode_error=str(error))
        return AnswerReceived(request=request, frame=frame, raw=raw, telegram=telegram)

    def _conclude(self, outcome: Outcome, now: float) -> None:
        request = self._request
        assert request is not None and self._procedure is not None
        garbled = isinstance(outcome, CollisionDetected | ChecksumMismatch)
        silent = isinstance(outcome, ResponseTimedOut)
        may_retry = (request.retry and garbled) or (request.retry_silence and silent)
        if may_retry and self._tries <= self.retries:
            log.debug("%s: %s, repeating with the same FCB", request.describe(),
                      type(outcome).__name__)
            self._send(now)
            return
        if isinstance(outcome, AnswerReceived):
            self._update_fcb(request)
        self._take(self._procedure.handle(outcome), now)

    def _update_fcb(self, request: Request) -> None:
        if request.function == "SND_NKE":
            self._fcb[request.address] = True
        elif request.ci == 0x52 and request.address == NETWORK_ADDRESS:
            self._fcb[NETWORK_ADDRESS] = True
        elif request.uses_fcb:
            self._fcb[request.address] = not self._request_fcb
