"""Sans-IO receiver: frames from a dongle codec in, decoded telegram events out.

It suppresses duplicates (the same telegram heard through a repeater or
several receivers) within a time window, keeps the last time each meter sent
a telegram that decoded (for inactivity alarms: a frame that fails, forged or
not, does not prove the meter alive), and turns decoding failures into events
instead of exceptions. Time is passed in (monotonic seconds); nothing here sleeps or
reads a clock.

Security: a telegram that fails authentication (wrong MAC, clear payload where
encryption is announced, wrong key) is never passed on; it becomes a
:class:`SecurityViolation` event and is counted per meter. Mode 7 message
counters are remembered per meter (:meth:`Receiver.state`): a verified
telegram whose counter does not increase is refused as a replay, unless its
bytes are those of the telegram that set the counter (a repeater or a second
receiver heard it too): that is a duplicate, dropped quietly and counted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import mbus

from ._decoder import Decoder, Telegram
from ._dongles import DongleCodec, Noise, RadioFrame
from ._ell import ELL_LENGTHS
from ._errors import KeyMissingError, ReplayError, SecurityError, WMBusError
from ._link import parse_link
from ._loading import MAX_INT_DIGITS, load_json, read_text

__all__ = [
    "NEED_DATA",
    "SECURITY_VIOLATION",
    "DuplicateSuppressed",
    "NeedData",
    "NoiseSkipped",
    "Receiver",
    "SecurityViolation",
    "TelegramFailed",
    "TelegramReceived",
]

_log = logging.getLogger(__name__)


class NeedData:
    """Sentinel type: no complete event yet."""

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()


@dataclass(frozen=True, slots=True, kw_only=True)
class TelegramReceived:
    """A telegram was received and decoded."""

    telegram: Telegram
    time: float
    rssi: float | None = None
    raw: bytes = b""

    def to_dict(self) -> dict[str, Any]:
        """The telegram's dict plus ``time`` and ``rssi``."""
        return {"event": "telegram", "time": self.time, "rssi": self.rssi,
                **self.telegram.to_dict()}


@dataclass(frozen=True, slots=True, kw_only=True)
class TelegramFailed:
    """A frame arrived but could not be decoded; ``error`` says why."""

    error: str
    error_type: str
    time: float
    meter: str | None = None
    rssi: float | None = None
    raw: bytes = b""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"event": "failed", "time": self.time, "meter": self.meter, "rssi": self.rssi,
                "error": self.error, "error_type": self.error_type, "raw": self.raw.hex()}


# ITU-T X.736 probable cause of a telegram that failed authentication (for alarm engines).
SECURITY_VIOLATION = "securityServiceOrMechanismViolation"


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityViolation:
    """A telegram failed authentication and was dropped; ``failures`` counts them per meter.

    Raised for a wrong or missing MAC, a clear payload where encryption is
    announced, a payload that does not decrypt with the meter's key, and a
    replayed mode 7 message counter. ``probable_cause`` is the ITU-T X.736
    name an alarm engine can raise it with.
    """

    meter: str
    error: str
    error_type: str
    time: float
    failures: int
    rssi: float | None = None
    raw: bytes = b""
    probable_cause: str = SECURITY_VIOLATION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"event": "security_violation", "time": self.time, "meter": self.meter,
                "rssi": self.rssi, "error": self.error, "error_type": self.error_type,
                "failures": self.failures, "probable_cause": self.probable_cause,
                "raw": self.raw.hex()}


@dataclass(frozen=True, slots=True, kw_only=True)
class DuplicateSuppressed:
    """A frame identical to one received ``age`` seconds earlier was dropped."""

    meter: str
    time: float
    age: float
    raw: bytes = b""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"event": "duplicate", "meter": self.meter, "time": self.time, "age": self.age}


@dataclass(frozen=True, slots=True, kw_only=True)
class NoiseSkipped:
    """The dongle codec skipped bytes (framing, checksum, comments)."""

    noise: Noise
    time: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"event": "noise", "time": self.time, **self.noise.to_dict()}


Event = (TelegramReceived | TelegramFailed | SecurityViolation | DuplicateSuppressed
         | NoiseSkipped)


class Receiver:
    """Decode frames from a receiver, without duplicates.

    ``codec`` turns device bytes into frames (:meth:`receive_data`); frames
    already split can be given to :meth:`receive_frame`. Frames with the same
    meter and content within ``duplicate_window`` seconds are reported once
    (the repeater bits of the ELL are ignored in the comparison).

    ``security_failures`` counts, per meter (``MAN.ID``), the telegrams
    refused for failed authentication; ``duplicates`` the frames dropped as
    duplicates (both keep the ``max_remembered`` meters counted most
    recently). ``message_counters`` holds the last accepted mode 7 message
    counter per meter; keep it across restarts with :meth:`state` /
    :meth:`restore_state` (or :meth:`save_state` / :meth:`load_state`).
    """

    def __init__(self, decoder: Decoder | None = None, *, codec: DongleCodec | None = None,
                 duplicate_window: float = 30.0, max_remembered: int = 4096,
                 report_duplicates: bool = False) -> None:
        self.decoder = decoder if decoder is not None else Decoder()
        self.codec = codec
        self.duplicate_window = duplicate_window
        self.max_remembered = max_remembered
        self.report_duplicates = report_duplicates
        self.last_seen: dict[str, float] = {}
        self.security_failures: dict[str, int] = {}
        self.duplicates: dict[str, int] = {}
        # meter -> (last accepted mode 7 message counter, digest of the telegram that set it)
        self.message_counters: dict[str, tuple[int, str]] = {}
        self._recent: OrderedDict[bytes, float] = OrderedDict()
        self._events: deque[Event] = deque()
        self._time = 0.0

    def receive_data(self, data: bytes, time: float) -> None:
        """Feed bytes from the device; needs a ``codec``."""
        if self.codec is None:
            raise WMBusError("receive_data needs a dongle codec; use receive_frame for frames")
        self._time = time
        self.codec.receive_data(data)
        while True:
            item = self.codec.next_frame()
            if item is None:
                return
            if isinstance(item, Noise):
                self._events.append(NoiseSkipped(noise=item, time=time))
            else:
                self._frame(item, time)

    def end_of_input(self, time: float) -> None:
        """The byte source ended (or stayed idle): a text codec's unterminated last line counts."""
        flush = getattr(self.codec, "flush", None)
        if flush is None:
            return
        item = flush()
        while item is not None:
            if isinstance(item, Noise):
                self._events.append(NoiseSkipped(noise=item, time=time))
            else:
                self._frame(item, time)
            item = self.codec.next_frame() if self.codec is not None else None

    def receive_frame(self, data: bytes, time: float, rssi: float | None = None) -> None:
        """Feed one whole frame (as a dongle or a log delivered it)."""
        self._time = time
        self._frame(RadioFrame(data=bytes(data), rssi=rssi), time)

    def next_event(self) -> Event | NeedData:
        """The next event, or :data:`NEED_DATA`."""
        return self._events.popleft() if self._events else NEED_DATA

    def events(self) -> list[Event]:
        """All pending events."""
        out = list(self._events)
        self._events.clear()
        return out

    def silent_meters(self, now: float, timeout: float) -> list[str]:
        """Meters (``MAN.ID``) not heard for more than ``timeout`` seconds at ``now``."""
        return sorted(m for m, seen in self.last_seen.items() if now - seen > timeout)

    def _frame(self, frame: RadioFrame, time: float) -> None:
        data = frame.data
        try:
            link, apl = parse_link(data)
        except (WMBusError, mbus.MBusError) as exc:
            self._events.append(TelegramFailed(error=str(exc), error_type=type(exc).__name__,
                                               time=time, rssi=frame.rssi, raw=data))
            return
        meter = f"{link.manufacturer}.{link.id}" if link.id is not None else f"wired.{link.c}"
        self._expire(time)
        fingerprint = link.raw_address + _without_repeater_bits(apl)
        first = self._recent.get(fingerprint)
        if first is not None:
            self._duplicate(meter, time, first, data)
            return
        self._recent[fingerprint] = time
        if len(self._recent) > self.max_remembered:
            self._recent.popitem(last=False)
        try:
            telegram = self.decoder.decode(data)
            sender = self._check_counter(telegram, fingerprint)
        except (WMBusError, mbus.MBusError) as exc:
            if isinstance(exc, SecurityError) and not isinstance(exc, KeyMissingError):
                self._violation(meter, exc, time, frame.rssi, data)
                return
            _log.info("telegram from %s not decoded: %s", meter, exc)
            self._events.append(TelegramFailed(error=str(exc), error_type=type(exc).__name__,
                                               time=time, meter=meter, rssi=frame.rssi,
                                               raw=data))
            return
        if sender is _DUPLICATE:
            self._duplicate(meter, time, None, data)
            return
        self.last_seen[meter] = time
        self._events.append(TelegramReceived(telegram=telegram, time=time, rssi=frame.rssi,
                                             raw=data))

    def _count(self, counts: dict[str, int], meter: str) -> int:
        """Add one to ``counts[meter]``; the table is bounded (anyone can send any address)."""
        count = counts.pop(meter, 0) + 1
        if len(counts) >= self.max_remembered:
            del counts[next(iter(counts))]  # the meter counted least recently
        counts[meter] = count
        return count

    def _duplicate(self, meter: str, time: float, first: float | None, data: bytes) -> None:
        self._count(self.duplicates, meter)
        if self.report_duplicates:
            self._events.append(DuplicateSuppressed(
                meter=meter, time=time, age=time - first if first is not None else 0.0,
                raw=data))

    def _violation(self, meter: str, exc: WMBusError, time: float, rssi: float | None,
                   data: bytes) -> None:
        count = self._count(self.security_failures, meter)
        _log.warning("telegram from %s refused (%s failures): %s", meter, count, exc)
        self._events.append(SecurityViolation(meter=meter, error=str(exc),
                                              error_type=type(exc).__name__, time=time,
                                              failures=count, rssi=rssi, raw=data))

    def _check_counter(self, telegram: Telegram, fingerprint: bytes) -> object:
        """Refuse a verified mode 7 telegram whose message counter does not increase.

        Returns ``_DUPLICATE`` for the very telegram that set the counter (heard
        again later than the duplicate window), None otherwise.
        """
        afl = telegram.afl
        if afl is None or afl.message_counter is None or telegram.security.mac_ok is not True:
            return None
        meter = f"{telegram.manufacturer}.{telegram.id}"
        counter = afl.message_counter
        digest = hashlib.blake2b(fingerprint, digest_size=8).hexdigest()
        last = self.message_counters.get(meter)
        if last is not None and counter <= last[0]:
            if counter == last[0] and digest == last[1]:
                return _DUPLICATE
            raise ReplayError(
                f"mode 7 message counter {counter} of {meter} does not increase (the last "
                f"accepted one is {last[0]}): a replayed telegram, refused",
                field="AFL.MCR", offset=None)
        self.message_counters[meter] = (counter, digest)
        return None

    def state(self) -> dict[str, Any]:
        """What to keep across restarts, JSON-able: mode 7 counters and failure counts."""
        return {"message_counters": {meter: {"counter": counter, "digest": digest}
                                     for meter, (counter, digest)
                                     in self.message_counters.items()},
                "security_failures": dict(self.security_failures)}

    def restore_state(self, state: Mapping[str, Any], *, source: str = "<state>") -> None:
        """Take back what :meth:`state` gave (checked: a malformed state raises WMBusError)."""
        counters = state.get("message_counters", {}) if isinstance(state, Mapping) else None
        failures = state.get("security_failures", {}) if isinstance(state, Mapping) else None
        if not isinstance(counters, Mapping) or not isinstance(failures, Mapping):
            raise WMBusError(f"{source}: expected {{\"message_counters\": {{...}}, "
                             "\"security_failures\": {...}}")
        restored: dict[str, tuple[int, str]] = {}
        for meter, entry in counters.items():
            counter = entry.get("counter") if isinstance(entry, Mapping) else None
            digest = entry.get("digest", "") if isinstance(entry, Mapping) else None
            if not _is_count(counter, 0xFFFFFFFF) or not isinstance(digest, str):
                raise WMBusError(f"{source}: message_counters[{meter!r}] needs a counter "
                                 "0-4294967295 and a digest")
            restored[meter] = (counter, digest)
        counts: dict[str, int] = {}
        for meter, count in failures.items():
            if not _is_count(count, 10 ** MAX_INT_DIGITS):
                raise WMBusError(f"{source}: security_failures[{meter!r}] is not a count")
            counts[meter] = count
        self.message_counters.update(restored)
        self.security_failures.update(counts)

    def save_state(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`state` to ``path`` atomically (a temporary file, then a rename)."""
        name = os.fspath(path)
        temporary = f"{name}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.state(), handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, name)

    def load_state(self, path: str | os.PathLike[str]) -> None:
        """Read a state file written by :meth:`save_state`."""
        name = os.fspath(path)
        self.restore_state(load_json(read_text(name, error=WMBusError), source=name,
                                     error=WMBusError), source=name)

    def _expire(self, now: float) -> None:
        recent = self._recent
        while recent:
            _fingerprint, seen = next(iter(recent.items()))
            if now - seen <= self.duplicate_window:
                break
            recent.popitem(last=False)


_DUPLICATE = object()


def _is_count(value: Any, largest: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= largest


def _without_repeater_bits(apl: bytes) -> bytes:
    if apl and apl[0] in ELL_LENGTHS and len(apl) > 1:
        return apl[:1] + bytes((apl[1] & 0xED,)) + apl[2:]
    return apl


