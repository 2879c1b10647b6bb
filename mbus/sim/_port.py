"""An in-process port onto a simulated segment, with a virtual clock (nothing sleeps)."""

from __future__ import annotations

from collections.abc import Callable

from .._timing import BITS_PER_CHARACTER
from ._segment import Segment

__all__ = ["AwaitableSimulatedPort", "SimulatedPort"]


class SimulatedPort:
    """A :class:`mbus.Port` onto a :class:`Segment`, with a virtual clock (no sleeping).

    ``echo`` makes it echo the master's bytes as some level converters do;
    ``tamper(request, answer) -> answer`` lets tests lose or damage answers.
    :meth:`awaitable` gives the same port to :class:`mbus.AsyncBus`.
    """

    def __init__(self, segment: Segment, *, echo: bool = False,
                 tamper: Callable[[bytes, bytes], bytes] | None = None) -> None:
        self.segment = segment
        self.echo = echo
        self.tamper = tamper
        self.clock = 0.0
        self.writes = 0
        self._pending = b""

    def now(self) -> float:
        """The virtual clock (seconds)."""
        return self.clock

    def _advance(self, size: int) -> None:
        self.clock += size * BITS_PER_CHARACTER / self.segment.baud

    def write(self, data: bytes) -> None:
        """The segment hears ``data``; its answer waits for the next :meth:`read`."""
        self.writes += 1
        self._advance(len(data))
        answer = self.segment.receive_data(data)
        if self.tamper is not None:
            answer = self.tamper(data, answer)
        self._pending += (data if self.echo else b"") + answer

    def read(self, deadline: float) -> bytes:
        """The pending answer, or b"" with the clock moved to ``deadline`` (line idle)."""
        if self._pending:
            data, self._pending = self._pending, b""
            self._advance(len(data))
            return data
        self.clock = max(self.clock, deadline)
        self.segment.idle()
        return b""

    def discard_input(self) -> None:
        """Drop an answer nobody read."""
        self._pending = b""

    def awaitable(self) -> AwaitableSimulatedPort:
        """This port for :class:`mbus.AsyncBus` (same segment, same clock)."""
        return AwaitableSimulatedPort(self)


class AwaitableSimulatedPort:
    """A :class:`SimulatedPort` whose ``write`` and ``read`` are awaited."""

    def __init__(self, port: SimulatedPort) -> None:
        self.port = port

    def now(self) -> float:
        """The virtual clock (seconds)."""
        return self.port.now()

    async def write(self, data: bytes) -> None:
        """As :meth:`SimulatedPort.write`."""
        self.port.write(data)

    async def read(self, deadline: float) -> bytes:
        """As :meth:`SimulatedPort.read`."""
        return self.port.read(deadline)

    def discard_input(self) -> None:
        """As :meth:`SimulatedPort.discard_input`."""
        self.port.discard_input()
