"""S0 inputs on GPIO lines under ``meterkit run``: :class:`s0.GpioPulseReader` feeding the
pipeline's S0 counter.

The counter is the one the replay inputs use (saved in the state file with every commit),
so a restarted gateway continues the totals where they were; the channel's times are the
kernel's edge timestamps (``CLOCK_MONOTONIC``), and after a reboot the reader shifts them
to continue after the saved ones (see :class:`s0.GpioPulseReader`).

Everything runs on the event loop's thread -- the counter is never touched by two threads
-- by polling the line request without waiting, every :data:`POLL_INTERVAL` seconds: the
kernel keeps the timestamped edges in between (16 per line by default, the S0 standard
allows at most about 33 edges a second), so polling costs no accuracy, and a gap in the
kernel's sequence numbers (edges dropped while the loop was busy) is written to the audit
log. Pulses are saved with every readout's commit and, when pulses were counted, at least
every :data:`SAVE_INTERVAL` seconds: unlike a replay file, the edges of a GPIO line cannot
be fed again after a crash.

Tested here through the s0 package's seam for edges (an object shaped like a gpiod
``LineRequest``); real GPIO hardware (``gpiod`` on a ``/dev/gpiochip``) was not tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import s0
from profiles import PointReading

from ._errors import GatewayError
from ._points import s0_readings
from ._site_file import S0Input, Site

__all__ = ["POLL_INTERVAL", "SAVE_INTERVAL", "GpioDriver", "OpenGpio", "open_gpio"]

POLL_INTERVAL = 0.1
"""Seconds between polls of the line requests (well inside the kernel's event buffer)."""
SAVE_INTERVAL = 10.0
"""Wall seconds at most between a counted pulse and the state file holding it (besides
every readout's commit): what a ``kill -9`` or power loss can lose of a GPIO input."""

class OpenGpio(Protocol):
    """Opens the lines of a chip for a counter: :func:`open_gpio`, or another edge source."""

    def __call__(self, chip: str, lines: Mapping[int, str], counter: s0.S0Counter, *,
                 active_low: bool, pull_up: bool) -> s0.GpioPulseReader:
        """A reader of ``lines``, requested with the settings of :meth:`s0.GpioPulseReader.open`."""


def open_gpio(chip: str, lines: Mapping[int, str], counter: s0.S0Counter, *,
              active_low: bool, pull_up: bool) -> s0.GpioPulseReader:
    """Request ``lines`` on ``chip`` with ``gpiod`` (:meth:`s0.GpioPulseReader.open`)."""
    return s0.GpioPulseReader.open(chip, lines, counter, active_low=active_low, pull_up=pull_up)


class GpioDriver:
    """One S0 input on a GPIO line (``gpio = "CHIP:LINE"``).

    Raises:
        GatewayError: the line cannot be requested (no ``gpiod``, no chip, line busy).
    """

    def __init__(self, item: S0Input, counter: s0.S0Counter,
                 open_lines: OpenGpio = open_gpio) -> None:
        assert item.gpio is not None
        chip, _, line = item.gpio.rpartition(":")
        self.item = item
        self.counter = counter
        try:
            self.reader = open_lines(chip, {int(line): item.name}, counter,
                                     active_low=item.active_low, pull_up=item.pull_up)
        except s0.GpioError as exc:
            raise GatewayError(f"S0 input {item.name}: {exc}") from None
        self.lost = 0

    def poll(self) -> tuple[int, list[str]]:
        """Feed the edges that are ready; returns (pulses counted, problems to log)."""
        counted = 0
        problems = []
        for event in self.reader.poll(0.0):
            if isinstance(event, s0.PulseCounted):
                counted += 1
            elif isinstance(event, s0.EdgesLost):
                self.lost += event.missing
                problems.append(f"the kernel dropped {event.missing} edges")
        return counted, problems

    def read(self, site: Site, now: datetime) -> tuple[list[PointReading], list[str]]:
        """The total and power at the channel's current time (after a poll), stamped
        ``now``; and the problems to log."""
        _counted, problems = self.poll()
        channel = self.counter[self.item.name]
        at = channel.last_time_ns
        reading = channel.reading(Decimal(at).scaleb(-9) if at is not None else 0)
        return s0_readings(f"{site.name}/{self.item.name}", reading, now), problems

    def close(self) -> None:
        """Release the line."""
        self.reader.close()
