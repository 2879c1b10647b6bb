"""Sans-IO receiver: frames from a dongle codec in, decoded telegram events out.

It suppresses duplicates (the same telegram heard through a repeater or
several receivers) within a time window, keeps the last time each meter was
heard (for inactivity alarms), and turns decoding failures into events instead
of exceptions. Time is passed in (monotonic seconds); nothing here sleeps or
reads a clock.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

import mbus

from ._decoder import Decoder, Telegram
from ._dongles import DongleCodec, Noise, RadioFrame
from ._ell import ELL_LENGTHS
from ._errors import WMBusError
from ._link import parse_link

__all__ = [
    "NEED_DATA",
    "DuplicateSuppressed",
    "NeedData",
    "NoiseSkipped",
    "Receiver",
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


Event = TelegramReceived | TelegramFailed | DuplicateSuppressed | NoiseSkipped


class Receiver:
    """Decode frames from a receiver, without duplicates.

    ``codec`` turns device bytes into frames (:meth:`receive_data`); frames
    already split can be given to :meth:`receive_frame`. Frames with the same
    meter and content within ``duplicate_window`` seconds are reported once
    (the repeater bits of the ELL are ignored in the comparison).
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
            if self.report_duplicates:
                self._events.append(DuplicateSuppressed(meter=meter, time=time,
                                                        age=time - first, raw=data))
            return
        self._recent[fingerprint] = time
        if len(self._recent) > self.max_remembered:
            self._recent.popitem(last=False)
        self.last_seen[meter] = time
        try:
            telegram = self.decoder.decode(data)
        except (WMBusError, mbus.MBusError) as exc:
            _log.info("telegram from %s not decoded: %s", meter, exc)
            self._events.append(TelegramFailed(error=str(exc), error_type=type(exc).__name__,
                                               time=time, meter=meter, rssi=frame.rssi,
                                               raw=data))
            return
        self._events.append(TelegramReceived(telegram=telegram, time=time, rssi=frame.rssi,
                                             raw=data))

    def _expire(self, now: float) -> None:
        recent = self._recent
        while recent:
            _fingerprint, seen = next(iter(recent.items()))
            if now - seen <= self.duplicate_window:
                break
            recent.popitem(last=False)


def _without_repeater_bits(apl: bytes) -> bytes:
    if apl and apl[0] in ELL_LENGTHS and len(apl) > 1:
        return apl[:1] + bytes((apl[1] & 0xED,)) + apl[2:]
    return apl


