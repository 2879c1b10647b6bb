"""Linux GPIO adapter: edge events of a ``gpiod`` (libgpiod v2) line request -> S0 counter.

``gpiod`` is an optional dependency (``pip install 'meterkit[gpio]'``) imported only by
:meth:`GpioPulseReader.open`. Everything else works on any object with the shape of a
gpiod v2 ``LineRequest`` (see :class:`LineRequestLike`), so the logic is testable without
hardware and usable with other edge sources.

The kernel timestamps each edge (``CLOCK_MONOTONIC`` by default) when it happens, so the
pulse timing does not depend on how quickly Python reads the events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Protocol

from ._counter import S0Counter
from ._errors import GpioError
from ._events import EdgesLost, Event

__all__ = ["EdgeEventLike", "GpioPulseReader", "LineRequestLike"]

_log = logging.getLogger(__name__)

# Edges are timestamped in the interrupt handler but may reach the event buffer a little
# later (threaded interrupts); the counter is advanced only this far behind the clock so
# that a late-queued edge is never earlier than a time already passed to the counter.
_SETTLE_NS = 20_000_000
_MAX_EVENTS_PER_READ = 64


class EdgeEventLike(Protocol):
    """The attributes of a gpiod v2 ``EdgeEvent`` that the adapter uses."""

    @property
    def event_type(self) -> Any:
        """An enum member named ``RISING_EDGE`` or ``FALLING_EDGE``."""

    @property
    def timestamp_ns(self) -> int:
        """Kernel timestamp of the edge, in nanoseconds."""

    @property
    def line_offset(self) -> int:
        """The line (offset on its chip) that changed."""

    @property
    def line_seqno(self) -> int:
        """Sequence number of the event on its line, from 1; a gap means lost events."""


class LineRequestLike(Protocol):
    """The methods of a gpiod v2 ``LineRequest`` that the adapter uses."""

    def wait_edge_events(self, timeout: timedelta | float | None = None) -> bool:
        """Whether events are ready, waiting at most ``timeout`` seconds."""

    def read_edge_events(self, max_events: int | None = None) -> Iterable[EdgeEventLike]:
        """The events that are ready."""

    def get_value(self, line: int) -> Any:
        """The line's current logical value (an enum member ``ACTIVE`` or ``INACTIVE``)."""

    def release(self) -> None:
        """Give the lines back to the kernel."""


def _level_of_value(value: Any) -> int:
    name = getattr(value, "name", None)
    if name in ("ACTIVE", "INACTIVE"):
        return 1 if name == "ACTIVE" else 0
    if value in (0, 1):
        return int(value)
    raise GpioError(f"line value {value!r} is neither ACTIVE nor INACTIVE", field="value")


class GpioPulseReader:
    """Feeds the edges of GPIO lines into the channels of an :class:`S0Counter`.

    Args:
        request: a gpiod v2 ``LineRequest`` (or anything shaped like it) with edge detection
            on both edges, for every line in ``lines``.
        lines: line offset -> channel name in ``counter``.
        counter: the counter to feed; channels keep their state between readers, so a
            counter restored from a saved state continues where it stopped.
        clock_ns: the clock the request timestamps with (``time.monotonic_ns`` for the
            default ``CLOCK_MONOTONIC``).

    On :meth:`start` the current level of each line is fed as an edge at the current time.
    If the counter's saved times are later than the clock (the monotonic clock restarted
    with a reboot), all times fed from here are shifted to continue after them.
    """

    def __init__(
        self,
        request: LineRequestLike,
        lines: Mapping[int, str],
        counter: S0Counter,
        *,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self._request = request
        self._lines = dict(lines)
        self._counter = counter
        self._clock_ns = clock_ns
        self._shift_ns = 0
        self._seqno: dict[int, int] = {}
        self._started = False
        for name in self._lines.values():
            counter[name]  # raises UnknownChannelError early

    @classmethod
    def open(
        cls,
        chip: str,
        lines: Mapping[int, str],
        counter: S0Counter,
        *,
        active_low: bool = True,
        pull_up: bool = True,
        kernel_debounce: float | None = None,
        consumer: str = "meterkit-s0",
    ) -> GpioPulseReader:
        """Request ``lines`` on ``chip`` (e.g. ``"/dev/gpiochip0"``) with ``gpiod``.

        Args:
            active_low: an S0 output is an open collector that pulls the line low during a
                pulse, so by default a low line reads as level 1.
            pull_up: enable the line's internal pull-up (the S0 output needs one).
            kernel_debounce: a kernel debounce period in seconds, where the driver supports
                it (the counter's own debounce applies in any case).

        Raises:
            GpioError: ``gpiod`` is not installed or the lines cannot be requested.
        """
        try:
            import gpiod
            from gpiod.line import Bias, Clock, Direction, Edge
        except ImportError as exc:
            raise GpioError(
                f"the gpiod package (libgpiod v2) is not installed: pip install "
                f"'meterkit[gpio]' ({exc})",
                field="gpiod",
            ) from None
        settings = gpiod.LineSettings(
            direction=Direction.INPUT,
            edge_detection=Edge.BOTH,
            bias=Bias.PULL_UP if pull_up else Bias.AS_IS,
            active_low=active_low,
            event_clock=Clock.MONOTONIC,
            debounce_period=timedelta(seconds=kernel_debounce or 0),
        )
        try:
            request = gpiod.request_lines(chip, consumer=consumer, config={tuple(lines): settings})
        except (OSError, ValueError) as exc:
            raise GpioError(f"cannot request lines {sorted(lines)} on {chip}: {exc}") from None
        return cls(request, lines, counter)

    def start(self) -> list[Event]:
        """Feed each line's current level as an edge at the current time (done by the first
        :meth:`poll` if not called)."""
        self._started = True
        now = self._clock_ns()
        latest = max(
            (
                t
                for t in (self._counter[n].last_time_ns for n in self._lines.values())
                if t is not None
            ),
            default=None,
        )
        if latest is not None and latest >= now:
            self._shift_ns = latest - now + 1
            _log.warning(
                "saved times are %.3f s ahead of the clock (a reboot?); shifting new times",
                self._shift_ns / 1e9,
            )
        events: list[Event] = []
        for offset, name in self._lines.items():
            level = _level_of_value(self._request.get_value(offset))
            events.extend(self._counter.feed_edge_ns(name, now + self._shift_ns, level))
        return events

    def poll(self, timeout: float | None = 0.0) -> list[Event]:
        """Wait at most ``timeout`` seconds (``None``: without limit) for edges, feed every
        edge that is ready, then advance the counter to (just before) the current time.

        Returns the events, including :class:`EdgesLost` when the kernel dropped edges.
        """
        events: list[Event] = []
        if not self._started:
            events.extend(self.start())
        now = self._clock_ns()
        if self._request.wait_edge_events(timeout):
            self._drain(events)
            # drain what arrived while reading, without waiting again
            while self._request.wait_edge_events(0.0):
                if not self._drain(events):
                    break
        settled = max(self._clock_ns(), now) - _SETTLE_NS + self._shift_ns
        for name in self._lines.values():
            channel = self._counter[name]
            last = channel.last_time_ns
            if last is None or settled >= last:
                events.extend(channel.advance_ns(settled))
        return events

    def _drain(self, events: list[Event]) -> int:
        read = 0
        for edge in self._request.read_edge_events(_MAX_EVENTS_PER_READ):
            read += 1
            name = self._lines.get(edge.line_offset)
            if name is None:
                _log.warning("edge on line %s, which maps to no channel", edge.line_offset)
                continue
            kind = getattr(edge.event_type, "name", None)
            if kind == "RISING_EDGE":
                level = 1
            elif kind == "FALLING_EDGE":
                level = 0
            else:
                _log.warning("line %s: unknown edge type %r", edge.line_offset, edge.event_type)
                continue
            timestamp = edge.timestamp_ns + self._shift_ns
            self._check_seqno(edge, name, timestamp, events)
            channel = self._counter[name]
            last = channel.last_time_ns
            if last is not None and timestamp < last:
                # queued after the counter was advanced past it; keep it, slightly late
                _log.debug("line %s: edge %d ns late", edge.line_offset, last - timestamp)
                timestamp = last
            events.extend(channel.feed_edge_ns(timestamp, level))
        return read

    def _check_seqno(
        self, edge: EdgeEventLike, name: str, timestamp: int, events: list[Event]
    ) -> None:
        previous = self._seqno.get(edge.line_offset)
        self._seqno[edge.line_offset] = edge.line_seqno
        if previous is not None and edge.line_seqno > previous + 1:
            missing = edge.line_seqno - previous - 1
            _log.warning("line %s: the kernel dropped %d edges", edge.line_offset, missing)
            events.append(EdgesLost(channel=name, time=timestamp / 1e9, missing=missing))

    def run(
        self,
        on_event: Callable[[Event], None],
        *,
        should_stop: Callable[[], bool] = lambda: False,
        interval: float = 0.5,
    ) -> None:
        """Poll until ``should_stop()`` is true, passing every event to ``on_event``.
        ``interval`` bounds the wait, so a pending debounce and ``should_stop`` are checked
        at least that often."""
        while not should_stop():
            deadline = self._counter.next_deadline()
            timeout = interval
            if deadline is not None:
                wait = deadline - (self._clock_ns() + self._shift_ns - _SETTLE_NS) / 1e9
                timeout = min(interval, max(wait, 0.0))
            for event in self.poll(timeout):
                on_event(event)

    def close(self) -> None:
        """Release the lines."""
        self._request.release()

    def __enter__(self) -> GpioPulseReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
