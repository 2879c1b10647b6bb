"""A framer: a byte stream in any chunking -> whole link-layer frames.

It buffers at most ``max_buffer`` bytes, resynchronises after noise by dropping
one byte at a time until a frame with a valid checksum starts, and reports the
bytes it dropped, so that a master can tell a garbled answer (a collision) from
silence.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ._errors import DecodeError
from ._frames import Frame, decode_frame, frame_length

__all__ = ["NEED_DATA", "FrameReceived", "Framer", "NeedData", "NoiseDiscarded"]


class NeedData(enum.Enum):
    """Sentinel type of :data:`NEED_DATA`."""

    NEED_DATA = "NEED_DATA"


NEED_DATA = NeedData.NEED_DATA


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameReceived:
    """A whole frame arrived; ``raw`` holds its bytes."""

    frame: Frame
    raw: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class NoiseDiscarded:
    """Bytes that do not form a valid frame were dropped; ``reason`` says why."""

    data: bytes
    reason: str


class Framer:
    """Split a byte stream into frames.

    >>> framer = mbus.Framer()
    >>> framer.receive_data(bytes.fromhex("00e5105b"))
    >>> framer.next_event()
    NoiseDiscarded(data=b'\\x00', reason='0x00 is not a frame start (E5, 10 or 68)')
    >>> framer.next_event()
    FrameReceived(frame=Ack(), raw=b'\\xe5')
    >>> framer.next_event()
    <NeedData.NEED_DATA: 'NEED_DATA'>
    """

    def __init__(self, max_buffer: int = 4096) -> None:
        if max_buffer < 261:
            raise ValueError("max_buffer must hold a long frame (261 bytes)")
        self.max_buffer = max_buffer
        self._buffer = bytearray()
        self._overflow = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes waiting for the rest of their frame."""
        return len(self._buffer)

    def receive_data(self, data: bytes | bytearray) -> None:
        """Add received bytes. Beyond ``max_buffer`` the oldest bytes become noise."""
        self._buffer += data
        excess = len(self._buffer) - self.max_buffer
        if excess > 0:
            self._overflow += self._buffer[:excess]
            del self._buffer[:excess]

    def next_event(self) -> FrameReceived | NoiseDiscarded | NeedData:
        """The next frame, the noise before it, or NEED_DATA."""
        if self._overflow:
            noise, self._overflow = bytes(self._overflow), bytearray()
            return NoiseDiscarded(data=noise, reason="receive buffer overflow")
        buffer = self._buffer
        dropped = 0
        reason = ""
        while True:
            try:
                size = frame_length(buffer, dropped)
                if size is None or len(buffer) - dropped < size:
                    break
                frame = decode_frame(buffer[dropped:dropped + size])
            except DecodeError as error:
                if not dropped:
                    reason = error.message
                dropped += 1
                continue
            if dropped:
                break
            raw = bytes(buffer[:size])
            del buffer[:size]
            return FrameReceived(frame=frame, raw=raw)
        if dropped:
            noise = bytes(buffer[:dropped])
            del buffer[:dropped]
            return NoiseDiscarded(data=noise, reason=reason)
        return NEED_DATA

    def flush(self) -> NoiseDiscarded | None:
        """Give up on buffered bytes (after a timeout): they are reported as noise."""
        if not self._buffer:
            return None
        noise = bytes(self._buffer)
        self._buffer.clear()
        return NoiseDiscarded(data=noise, reason="incomplete frame at timeout")
