"""The pipeline core: readings -> derived values -> (history) -> alarms. Sans-IO.

:class:`Pipeline` holds everything a restarted gateway must continue from: the S0
counters, the derived values' state, the alarm engine (active alarms, running delays,
device watchdogs) and the input drivers' cursors (a replay position, a receiver's
message counters). :meth:`Pipeline.process` turns a batch of input readings into a
:class:`Step` (the readings to store, derived ones included, and the alarm notifications);
:meth:`Pipeline.save` gives the state as JSON data. Storing and publishing a step is the
runtime's job (:mod:`gateway._runtime`).

Alarm time is epoch seconds (UTC). Every reading with a number and without the ``invalid``
flag is a sample for the alarm rules of its point; every device that answered feeds its
device-failure rule (``<site>/<device>``), so a device that stops answering raises after
its missed cycles, and clears at its next answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import alarms
import s0
from profiles import PointReading

from ._derived import DerivedEngine, numeric
from ._errors import StateFileError
from ._site_file import S0Input, Site, device_failure_rule

__all__ = ["STATE_FORMAT", "Pipeline", "Step", "s0_config"]

STATE_FORMAT = "meterkit.gateway.state"
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Step:
    """What one batch produced: readings to store (inputs, then derived) and notifications."""

    readings: tuple[PointReading, ...] = ()
    notifications: tuple[alarms.Notification, ...] = ()
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def __bool__(self) -> bool:
        return bool(self.readings or self.notifications)


def s0_config(item: S0Input) -> s0.ChannelConfig:
    """The s0 channel configuration of an S0 input."""
    return s0.ChannelConfig(imp_per_unit=item.imp_per_unit, unit=item.unit, offset=item.offset)


class Pipeline:
    """The site's computing state; see the module text.

    Args:
        site: the site.
        state: a previous :meth:`save` (None on a first start).
        now: the start time (arms the device-failure rules of a first start).
    """

    def __init__(self, site: Site, state: Mapping[str, Any] | None, *, now: datetime) -> None:
        self.site = site
        state = dict(state or {})
        if state and (state.get("format") != STATE_FORMAT
                      or state.get("version") != STATE_VERSION):
            raise StateFileError(f"not a {STATE_FORMAT} version {STATE_VERSION} document")
        saved_time = state.get("time")
        try:
            self.time = (datetime.fromisoformat(saved_time) if isinstance(saved_time, str)
                         else now)
        except ValueError:
            raise StateFileError(f"time {saved_time!r} is not an ISO 8601 time") from None
        self.derived = DerivedEngine(site.derived, state.get("derived"))
        self.discovered = _discovered(state.get("discovered", {}))
        rules = [*site.rules, *(device_failure_rule(site.name, device, timeout)
                                for device, timeout in self.discovered.items())]
        try:
            if "alarms" in state:
                self.alarms = alarms.Engine.from_state(rules, state["alarms"], strict=False)
            else:
                self.alarms = alarms.Engine(rules, start_time=now.timestamp())
        except alarms.AlarmsError as exc:
            raise StateFileError(f"alarm engine: {exc}") from None
        self.s0 = self._s0_counter(state.get("s0"))
        inputs = state.get("inputs", {})
        self.inputs: dict[str, Any] = dict(inputs) if isinstance(inputs, dict) else {}

    def _s0_counter(self, saved: object) -> s0.S0Counter:
        wanted = {item.name: s0_config(item) for item in self.site.s0}
        if saved is None:
            return s0.S0Counter(wanted)
        try:
            counter = s0.S0Counter.restore(saved)  # type: ignore[arg-type]
        except (s0.S0Error, TypeError) as exc:
            raise StateFileError(f"S0 counters: {exc}") from None
        for name in [name for name in counter if name not in wanted]:
            counter.remove_channel(name)
        for name, config in wanted.items():
            if name not in counter:
                counter.add_channel(name, config)
            elif counter[name].config != config:
                counter.reconfigure(name, config)  # counted pulses are kept
        return counter

    def add_devices(self, timeouts: Mapping[str, float]) -> None:
        """Device-failure rules for devices found at run time (meters found by a scan),
        as configured devices have them; devices with a rule already are left alone.

        The devices are saved with the state, so their rules (and alarm states) are there
        again after a restart, before any scan.
        """
        known = self.site.devices.keys() | self.discovered.keys()
        ids = {rule.alarm_id for rule in self.alarms.rules}  # a [[alarm]] may use the id
        new = {device: timeout for device, timeout in timeouts.items() if device not in known
               and device_failure_rule(self.site.name, device, timeout).alarm_id not in ids}
        if new:
            self.alarms.add_rules(device_failure_rule(self.site.name, device, timeout)
                                  for device, timeout in new.items())
            self.discovered.update(new)

    def process(self, readings: Sequence[PointReading], *, devices: Iterable[str] = (),
                now: datetime) -> Step:
        """Derived values and alarms for a batch of input readings taken by ``now``.

        ``devices`` are the devices that answered (their failure rules are fed).
        """
        now = max(now, self.time)
        derived = self.derived.process(readings)
        produced = (*readings, *derived)
        stamp = now.timestamp()
        notes: list[alarms.Notification] = []
        engine = self.alarms
        for device in devices:
            notes.extend(engine.feed(self.site.device_point(device), 1.0, stamp))
        for reading in produced:
            if "invalid" in reading.quality:
                continue
            number = numeric(reading.value)
            if number is not None:
                notes.extend(engine.feed(reading.point, float(number), stamp))
        notes.extend(engine.advance(stamp))
        self.time = now
        return Step(readings=produced, notifications=tuple(notes), time=now)

    def advance(self, now: datetime) -> Step:
        """Run the alarm timers (delays, device watchdogs) up to ``now``."""
        now = max(now, self.time)
        notes = self.alarms.advance(now.timestamp())
        self.time = now
        return Step(notifications=notes, time=now)

    def next_deadline(self) -> datetime | None:
        """When :meth:`advance` has something to do next."""
        deadline = self.alarms.next_deadline()
        return None if deadline is None else datetime.fromtimestamp(deadline, timezone.utc)

    def save(self) -> dict[str, Any]:
        """The whole state as JSON data."""
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "time": self.time.isoformat(),
            "derived": self.derived.save(),
            "alarms": self.alarms.save_state(),
            "s0": self.s0.save(),
            "inputs": self.inputs,
            "discovered": self.discovered,
        }


def _discovered(saved: object) -> dict[str, float]:
    """The saved devices found by scans (name -> failure timeout in seconds)."""
    if not isinstance(saved, dict) or not all(
            isinstance(name, str) and isinstance(timeout, (int, float))
            and not isinstance(timeout, bool) and timeout > 0
            for name, timeout in saved.items()):
        raise StateFileError(f"discovered: {str(saved)[:80]!r} is not a mapping of device "
                             "names to seconds")
    return {name: float(timeout) for name, timeout in saved.items()}
