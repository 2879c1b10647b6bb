"""Thin asyncio drivers around the sans-IO core: they do I/O, the core decides.

:class:`SiteRunner` is the one loop of a running site: it asks the scheduler what is due
(telling it the time from a :class:`Clock`), starts readouts, takes their readings back,
lets the pipeline compute derived values and alarms, commits each step through the
runtime (state file, history, outputs) and runs the delivery passes in a thread.

- M-Bus: one :class:`mbus.AsyncBus` per segment, opened by URL (serial device,
  ``tcp://``/``socket://`` converters) and kept open; its meters are read one after
  another, and the scheduler never starts a segment's next readout before the previous
  one finished: one master per segment, strictly sequential.
- wM-Bus: a :class:`wmbus.Receiver` with the keys file's :class:`wmbus.KeyStore` fed
  from the dongle's byte stream (serial, ``tcp://``/``socket://``, ``file:``); only
  telegrams of configured meters inside the listen windows become readings; refused
  telegrams (failed authentication, replays) are written to the audit log and never
  flow on.
- S0: edges from a replay file (times relative to the replay's origin, kept in the
  state, so a restart continues where it stopped) fed as time passes, or from a GPIO
  line (:mod:`gateway._s0_gpio`); the total and the power are read at the input's slots.
- Analog: the raw value is read at the input's slots (simulated, IIO file or Modbus
  register, :mod:`gateway._analog_driver`) and scaled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import mbus
import mbus.transports
import modbus
import s0
import wmbus
from profiles import PointReading

from ._analog_driver import AnalogDriver
from ._bacnet import BacnetClients, BacnetReader
from ._errors import GatewayError
from ._pipeline import Step
from ._points import MeterHeader, meter_readings, s0_readings
from ._runtime import Runtime
from ._s0_gpio import POLL_INTERVAL, SAVE_INTERVAL, GpioDriver, OpenGpio, open_gpio
from ._schedule import ExportDue, ReadoutDue
from ._site_file import (
    MbusSegment,
    ModbusDevice,
    S0Input,
    Site,
    WmbusReceiver,
)

__all__ = ["Clock", "Readout", "SiteRunner"]

_log = logging.getLogger(__name__)
_UTC = timezone.utc
_MAX_WAIT = 5.0  # wall seconds the loop sleeps at most (stop requests, retries)


class Clock:
    """The time the gateway is told: the wall clock, or a faster one for demos and tests.

    ``speed`` simulated seconds pass per wall second, starting at ``start`` (default now).
    """

    def __init__(self, *, speed: float = 1.0, start: datetime | None = None) -> None:
        if not speed > 0 or math.isinf(speed):
            raise GatewayError(f"clock speed must be positive, got {speed}")
        self.speed = speed
        self._origin = (start or datetime.now(_UTC)).timestamp()
        self._wall = time.time()

    def now(self) -> datetime:
        """The current (simulated) time, UTC."""
        if self.speed == 1.0:
            return datetime.fromtimestamp(self._origin + time.time() - self._wall, _UTC)
        elapsed = (time.time() - self._wall) * self.speed
        return datetime.fromtimestamp(self._origin + elapsed, _UTC)

    def wall_seconds(self, until: datetime) -> float:
        """Wall seconds from now until the simulated time ``until`` (0 when passed)."""
        return max(0.0, (until - self.now()).total_seconds() / self.speed)


@dataclass
class Readout:
    """What a driver hands back: readings, the devices that answered, failures."""

    source: str
    readings: list[PointReading] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    finished: bool = True  # False for streamed input (radio) that keeps no schedule slot
    found: dict[str, float] = field(default_factory=dict)
    """Devices found by a scan -> seconds without an answer after which they count failed."""


# -- M-Bus -------------------------------------------------------------------------------------

def _mbus_address(address: int | str) -> int | mbus.SecondaryAddress:
    if isinstance(address, int):
        return address
    return mbus.SecondaryAddress.parse(address.ljust(16, "F"))


class SegmentDriver:
    """One wired segment: opened once, its meters read one after another per readout."""

    def __init__(self, site: Site, segment: MbusSegment, clock: Clock) -> None:
        self.site = site
        self.segment = segment
        self.clock = clock
        self.bus: mbus.AsyncBus | None = None
        self.meters: list[tuple[str, int | mbus.SecondaryAddress]] = [
            (meter.name, _mbus_address(meter.address)) for meter in segment.meters]
        self._last_scan: datetime | None = None
        self._failing: set[str] = set()

    async def _open(self) -> mbus.AsyncBus:
        if self.bus is None:
            self.bus = await mbus.transports.open_async_bus(
                self.segment.url, baud=self.segment.baud, timeout=self.segment.timeout)
        return self.bus

    async def read(self) -> Readout:
        """Read every meter of the segment once (sequentially)."""
        out = Readout(source=f"mbus:{self.segment.name}")
        try:
            bus = await self._open()
            if self._scan_due():
                out.found.update(await self._scan(bus))
            for name, address in self.meters:
                try:
                    reading = await bus.read(address, max_telegrams=self.segment.max_telegrams)
                except mbus.BusError as exc:
                    if name not in self._failing:
                        out.failures.append((f"mbus {self.segment.name} {name}", str(exc)))
                        self._failing.add(name)
                    continue
                self._failing.discard(name)
                telegram = reading.telegram
                header = telegram.header or mbus.Header()
                meter = MeterHeader(id=header.id, manufacturer=header.manufacturer,
                                    version=header.version, device_type=header.medium,
                                    ci=telegram.ci, status=header.status)
                out.readings.extend(meter_readings(
                    f"{self.site.name}/{name}", meter, telegram.records, self.clock.now(),
                    catalogue=self.site.catalogue, profile=self.site.meter_profiles.get(name)))
                out.devices.append(name)
        except (mbus.MBusError, OSError) as exc:
            out.failures.append((f"mbus {self.segment.name}", str(exc)))
            await self.close()
        return out

    def _scan_due(self) -> bool:
        """The first readout scans (until a scan succeeds); with ``rescan``, the first
        readout once that long has passed since the last scan (in the readout's slot, so
        the scan never meets a readout of the segment)."""
        if self.segment.scan == "none":
            return False
        if self._last_scan is None:
            return True
        rescan = self.segment.rescan
        return rescan is not None and (
            self.clock.now() - self._last_scan).total_seconds() >= rescan

    async def _scan(self, bus: mbus.AsyncBus) -> dict[str, float]:
        """Add the meters a scan finds; returns their names -> failure timeouts.

        Names are stable: ``<segment>/<id>`` for a secondary scan (the full 16-digit
        address when two meters share an id), ``<segment>/<primary address>``.
        """
        known = {address for _name, address in self.meters}
        added: list[tuple[str, int | mbus.SecondaryAddress]] = []
        if self.segment.scan == "secondary":
            found = await bus.scan_secondary()
            taken = {name for name, _address in self.meters}
            for address in (meter.address for meter in found.meters):
                if address in known:
                    continue
                name = f"{self.segment.name}/{address.id}"
                if name in taken:
                    name = f"{self.segment.name}/{address}"
                taken.add(name)
                known.add(address)
                added.append((name, address))
        else:
            primaries = await bus.scan_primary()
            added = [(f"{self.segment.name}/{item.primary}", item.primary)
                     for item in primaries if item.primary not in known]
        self.meters.extend(added)
        self._last_scan = self.clock.now()
        timeout = self.segment.interval * self.segment.missed_cycles
        return {name: timeout for name, _address in added}

    async def close(self) -> None:
        """Close the bus (a later readout opens it again)."""
        bus, self.bus = self.bus, None
        if bus is not None:
            with contextlib.suppress(Exception):
                await bus.close()


# -- Modbus ------------------------------------------------------------------------------------

class ModbusDriver:
    """One Modbus device read through its register map (``modbus.ModbusClient``).

    Devices on one serial line share it: their reads take the line's lock in turn, so one
    master talks on a line at a time.
    """

    def __init__(self, site: Site, device: ModbusDevice, clock: Clock,
                 lines: dict[str, asyncio.Lock]) -> None:
        self.site = site
        self.device = device
        self.clock = clock
        self.client = modbus.ModbusClient(device.url, timeout=device.timeout,
                                          name=device.name)
        self.line = lines.setdefault(device.url.partition("?")[0], asyncio.Lock())
        self.plan: tuple[modbus.ReadRequest, ...] | None = None
        self._failing = False

    async def read(self) -> Readout:
        """Read the device's map once."""
        out = Readout(source=f"modbus:{self.device.name}")
        async with self.line:
            result = await self.client.read_map(
                self.device.map, unit_id=self.device.unit_id, plan=self.plan,
                prefix=f"{self.site.name}/{self.device.name}/", time=self.clock.now())
        self.plan = result.plan
        if result.status.state == "ok":
            self._failing = False
            out.devices.append(self.device.name)
            out.readings.extend(result.readings)
        else:
            if not self._failing:
                out.failures.append((f"modbus {self.device.name}",
                                     f"{result.status.state}: {result.status.message}"))
            self._failing = True
            out.readings.extend(r for r in result.readings if r.value is not None)
        return out

    def close(self) -> None:
        """Close the connection."""
        self.client.close()


# -- S0 ----------------------------------------------------------------------------------------

class ReplayDriver:
    """Feeds a replay file's edges into the S0 counter as (simulated) time passes.

    The cursor (``origin``: the epoch second the file's time 0 maps to, ``position``: the
    time of the last edge fed) lives in the pipeline's input state, so it is saved with the
    counter it fed and a restart continues exactly there.
    """

    def __init__(self, item: S0Input, counter: s0.S0Counter, cursor: dict[str, Any],
                 now: datetime) -> None:
        assert item.replay is not None
        self.item = item
        self.counter = counter
        with item.replay.open(encoding="utf-8", newline="") as handle:
            self.edges = s0.read_edges_csv(handle)
        if not self.edges:
            raise GatewayError(f"S0 input {item.name}: replay file {item.replay} holds no "
                               "edges")
        last = self.edges[-1].time
        self.period = Decimal(math.floor(last) + 1)
        self.cursor = cursor
        cursor.setdefault("origin", str(Decimal(repr(now.timestamp())).quantize(Decimal(1))))
        cursor.setdefault("position", None)

    def feed(self, now: datetime) -> int:
        """Feed every edge up to ``now``; returns how many."""
        origin = Decimal(self.cursor["origin"])
        position = None if self.cursor["position"] is None else Decimal(self.cursor["position"])
        limit = Decimal(repr(now.timestamp())) - origin
        if limit < 0:
            return 0
        loop = 0 if position is None else int((position - origin) // self.period)
        fed = 0
        while True:
            base = loop * self.period
            if base > limit or (not self.item.loop and loop > 0):
                break
            for edge in self.edges:
                at = origin + base + edge.time
                if position is not None and at <= position:
                    continue
                if at - origin > limit:
                    break
                self.counter.feed_edge(self.item.name, at, edge.level)
                self.cursor["position"] = str(at)
                position = at
                fed += 1
            loop += 1
        return fed

    def read(self, site: Site, now: datetime) -> list[PointReading]:
        """The total and power at ``now``, after feeding the edges up to it."""
        self.feed(now)
        stamp = Decimal(repr(now.timestamp()))
        channel = self.counter[self.item.name]
        last = channel.last_time
        if last is not None and Decimal(repr(last)) > stamp:
            stamp = Decimal(repr(last))  # the clock went back: read at the last edge
        channel.advance(stamp)
        return s0_readings(f"{site.name}/{self.item.name}", channel.reading(stamp), now)


def _power_of_ten(count: int) -> bool:
    return count > 0 and str(count).rstrip("0") == "1"


# -- wireless M-Bus ----------------------------------------------------------------------------

class ReceiverDriver:
    """One radio receiver: bytes in, readings of configured meters out (see module text)."""

    def __init__(self, site: Site, item: WmbusReceiver, clock: Clock,
                 state: dict[str, Any]) -> None:
        self.site = site
        self.item = item
        self.clock = clock
        keys = wmbus.KeyStore.load(item.keys) if item.keys is not None else wmbus.KeyStore()
        self.receiver = wmbus.Receiver(wmbus.Decoder(keys=keys),
                                       codec=wmbus.DONGLES[item.dongle]())
        self.state = state
        if state:
            try:
                self.receiver.restore_state(state)
            except wmbus.WMBusError as exc:
                raise GatewayError(f"wmbus {item.name}: saved receiver state: {exc}") from None
        self.meters = {(meter.manufacturer, meter.id): meter.name for meter in item.meters}
        self.refused = 0
        self.ignored = 0

    def _listening(self, when: datetime) -> bool:
        if not self.item.listen:
            return True
        local = when.astimezone(self.site.tz)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end if start < end else (minute >= start or minute < end)
                   for start, end in self.item.listen)

    def feed(self, data: bytes) -> Readout:
        """Bytes from the dongle -> the readings of the telegrams they completed."""
        now = self.clock.now()
        out = Readout(source=f"wmbus:{self.item.name}", finished=False)
        self.receiver.receive_data(data, now.timestamp())
        for event in self.receiver.events():
            if isinstance(event, wmbus.SecurityViolation):
                self.refused += 1
                if _power_of_ten(event.failures):  # a meter sending every minute: log less
                    out.failures.append((f"wmbus {self.item.name} {event.meter}",
                                         f"telegram refused ({event.failures} so far): "
                                         f"{event.error}"))
            elif isinstance(event, wmbus.TelegramReceived):
                telegram = event.telegram
                ident = telegram.id or ""
                name = (self.meters.get((telegram.manufacturer, ident))
                        or self.meters.get((None, ident)))
                if name is None or not self._listening(now):
                    self.ignored += 1
                    continue
                quality = () if telegram.security.verified or telegram.security.mode == 0 \
                    else ("unverified",)
                header = telegram.header
                meter = MeterHeader(
                    id=telegram.id, manufacturer=telegram.manufacturer,
                    version=header.version if header and header.version is not None
                    else telegram.link.version,
                    device_type=header.medium if header and header.medium is not None
                    else telegram.link.device_type,
                    ci=telegram.ci, status=header.status if header else None,
                    payload=telegram.payload)
                out.readings.extend(meter_readings(
                    f"{self.site.name}/{name}", meter, telegram.records, now,
                    catalogue=self.site.catalogue, profile=self.site.meter_profiles.get(name),
                    quality=quality, context=telegram.transform_context))
                out.devices.append(name)
        self.state.clear()
        self.state.update(self.receiver.state())
        return out


async def _open_stream(url: str, baud: int) -> tuple[asyncio.StreamReader,
                                                     asyncio.StreamWriter | None]:
    """The byte stream of a receiver (the writer must be kept: dropping it closes the line)."""
    for scheme in ("tcp://", "socket://"):
        if url.startswith(scheme):
            host, _, port = url[len(scheme):].rpartition(":")
            return await asyncio.open_connection(host, int(port))
    if url.startswith("file:"):
        reader = asyncio.StreamReader()
        reader.feed_data(await asyncio.to_thread(Path(url[5:]).read_bytes))
        reader.feed_eof()
        return reader, None
    try:
        import serial_asyncio_fast
    except ImportError:
        raise GatewayError("a receiver on a serial port needs pyserial-asyncio-fast: "
                           "pip install 'meterkit[serial]'") from None
    reader, writer = await serial_asyncio_fast.open_serial_connection(url=url, baudrate=baud)
    return reader, writer


# -- the loop ----------------------------------------------------------------------------------

class SiteRunner:
    """Runs a site until ``stop`` is set (see the module text)."""

    def __init__(self, site: Site, runtime: Runtime, clock: Clock, *,
                 on_step: Callable[[Step], None] | None = None,
                 open_lines: OpenGpio = open_gpio) -> None:
        self.site = site
        self.runtime = runtime
        self.clock = clock
        self.on_step = on_step
        now = clock.now()
        pipeline = runtime.pipeline
        self.segments = {f"mbus:{item.name}": SegmentDriver(site, item, clock)
                         for item in site.mbus}
        self.replays: dict[str, ReplayDriver] = {}
        self.gpio: dict[str, GpioDriver] = {}
        for item in site.s0:
            if item.replay is None:
                self.gpio[f"s0:{item.name}"] = GpioDriver(item, pipeline.s0, open_lines)
                continue
            cursor = pipeline.inputs.setdefault(f"s0:{item.name}", {})
            self.replays[f"s0:{item.name}"] = ReplayDriver(item, pipeline.s0, cursor, now)
        lines: dict[str, asyncio.Lock] = {}
        clients: dict[str, modbus.ModbusClient] = {}
        self.analog = {f"analog:{item.name}": AnalogDriver(site, item, lines, clients)
                       for item in site.analog}
        self.modbus = {f"modbus:{item.name}": ModbusDriver(site, item, clock, lines)
                       for item in site.modbus}
        self.modbus_server: modbus.ModbusServer | None = None
        self.bacnet_clients = BacnetClients()
        self.bacnet = {f"bacnet:{item.name}": BacnetReader(
            site, item, self.bacnet_clients, clock.now,
            self._pushed(f"bacnet:{item.name}", item.name)) for item in site.bacnet}
        self.receivers = [
            ReceiverDriver(site, item, clock, pipeline.inputs.setdefault(f"wmbus:{item.name}",
                                                                         {}))
            for item in site.wmbus]
        self.results: asyncio.Queue[Readout] = asyncio.Queue()
        self.readouts = 0
        self.failures = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._delivering: asyncio.Task[Any] | None = None
        self._next_delivery = 0.0
        self.started = asyncio.Event()

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; then finish running readouts and save."""
        self.runtime.outputs.start()
        config = self.site.modbus_server
        if config is not None:
            self.modbus_server = modbus.ModbusServer(
                config.map, listen=(config.host, config.port), unit_id=config.unit_id,
                bad_quality=config.bad_quality)
            await self.modbus_server.start()
            self.runtime.outputs.publish_to(self._serve_modbus)
        for receiver in self.receivers:
            self._spawn(self._listen(receiver, stop))
        if self.gpio:
            self._spawn(self._watch_gpio(stop))
        self.started.set()
        try:
            while not stop.is_set():
                now = self.clock.now()
                for due in self.runtime.scheduler.poll(now):
                    if isinstance(due, ReadoutDue):
                        self._spawn(self._read(due))
                    else:
                        self._export(due)
                self._commit(self.runtime.pipeline.advance(now))
                self._maybe_deliver()
                await self._wait(stop)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for source, driver in self.gpio.items():  # the last pulses go into the state
                self.results.put_nowait(self._gpio_polled(source, driver))
                driver.close()
            leftover = []
            while not self.results.empty():
                leftover.append(self.results.get_nowait())
            self._take(leftover)
            if self._delivering is not None:
                await asyncio.gather(self._delivering, return_exceptions=True)
            for segment in self.segments.values():
                await segment.close()
            for device in self.modbus.values():
                device.close()
            for analog in self.analog.values():
                analog.close()
            if self.modbus_server is not None:
                await self.modbus_server.stop()
            for reader in self.bacnet.values():
                await reader.close()
            await self.bacnet_clients.close()

    async def _wait(self, stop: asyncio.Event) -> None:
        deadlines = [self.runtime.scheduler.next_deadline(), self.runtime.pipeline.next_deadline()]
        soonest = min((d for d in deadlines if d is not None), default=None)
        timeout = _MAX_WAIT if soonest is None else min(_MAX_WAIT, self.clock.wall_seconds(soonest))
        stopper = asyncio.ensure_future(stop.wait())
        getter = asyncio.ensure_future(self.results.get())
        try:
            done, _pending = await asyncio.wait({stopper, getter}, timeout=timeout,
                                                return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not getter.done():
                getter.cancel()
        ready = [getter.result()] if getter in done and not getter.cancelled() else []
        while not self.results.empty():
            ready.append(self.results.get_nowait())
        if ready:
            self._take(ready)

    def _take(self, results: list[Readout]) -> None:
        """Everything the drivers handed back since the last look: one step, one commit."""
        readings: list[PointReading] = []
        devices: list[str] = []
        cursors_moved = False
        for result in results:
            for source, error in result.failures:
                self.failures += 1
                self.runtime.failure(source, error)
            if result.found:
                self.runtime.pipeline.add_devices(result.found)
            readings.extend(result.readings)
            devices.extend(result.devices)
            cursors_moved = cursors_moved or result.source.startswith(("s0:", "wmbus:"))
        if readings or devices:
            self._commit(self.runtime.pipeline.process(readings, devices=devices,
                                                       now=self.clock.now()))
        elif cursors_moved:
            self.runtime.save()  # input cursors moved without readings
        for result in results:
            if result.finished:
                self.readouts += 1
                self.runtime.scheduler.finished(result.source)

    def _commit(self, step: Step) -> None:
        if not step:
            return
        self.runtime.commit(step)
        if self.on_step is not None:
            self.on_step(step)

    async def _read(self, due: ReadoutDue) -> None:
        source = due.source
        try:
            if source in self.segments:
                result = await self.segments[source].read()
            elif source in self.modbus:
                result = await self.modbus[source].read()
            elif source in self.gpio:
                readings, problems = self.gpio[source].read(self.site, self.clock.now())
                result = Readout(source=source, readings=readings,
                                 failures=[(source, problem) for problem in problems])
            elif source in self.bacnet:
                result = await self._read_bacnet(source)
            elif source in self.replays:
                result = Readout(source=source, readings=self.replays[source].read(
                    self.site, self.clock.now()))
            else:
                result = await self._read_analog(source, self.analog[source])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a driver bug must not stop the site: log and go on
            _log.exception("readout of %s failed", source)
            result = Readout(source=source, failures=[(source, f"readout failed: {exc}")])
        await self.results.put(result)

    async def _read_bacnet(self, source: str) -> Readout:
        reader = self.bacnet[source]
        readings, answered, error = await reader.read()
        return Readout(source=source, readings=readings,
                       devices=[reader.item.name] if answered else [],
                       failures=[(f"bacnet {reader.item.name}", error)] if error else [])

    def _pushed(self, source: str, device: str) -> Callable[[list[PointReading]], None]:
        """Where a BACnet device's COV readings go between its readouts."""
        def push(readings: list[PointReading]) -> None:
            self.results.put_nowait(Readout(source=source, readings=readings,
                                            devices=[device], finished=False))
        return push

    def _serve_modbus(self, step: Step) -> None:
        """Publish the chosen points of a committed step in the Modbus server's map."""
        config = self.site.modbus_server
        assert config is not None and self.modbus_server is not None
        by_point = {point: name for name, point in config.points.items()}
        for reading in step.readings:
            name = by_point.get(reading.point)
            if name is not None:
                self.modbus_server.update(PointReading(
                    point=name, time=reading.time, value=reading.value, unit=reading.unit,
                    quantity=reading.quantity, quality=reading.quality))

    async def _read_analog(self, source: str, driver: AnalogDriver) -> Readout:
        result = await driver.read(self.clock.now())
        out = Readout(source=source, readings=[result.reading])
        if result.answered:
            out.devices.append(driver.item.name)
        if result.failure is not None:
            out.failures.append((f"analog {driver.item.name}", result.failure))
        return out

    def _gpio_polled(self, source: str, driver: GpioDriver) -> Readout:
        """Edges fed since the last look, as a readout without readings (the runner saves
        the state for it)."""
        _counted, problems = driver.poll()
        return Readout(source=source, finished=False,
                       failures=[(source, problem) for problem in problems])

    async def _watch_gpio(self, stop: asyncio.Event) -> None:
        """Poll the GPIO inputs (on this thread: see :mod:`gateway._s0_gpio`)."""
        unsaved_since: float | None = None
        while not stop.is_set():
            for source, driver in self.gpio.items():
                counted, problems = driver.poll()
                if problems:
                    await self.results.put(Readout(
                        source=source, finished=False,
                        failures=[(source, problem) for problem in problems]))
                if counted and unsaved_since is None:
                    unsaved_since = time.monotonic()
            if unsaved_since is not None and time.monotonic() - unsaved_since >= SAVE_INTERVAL:
                await self.results.put(Readout(source="s0:gpio", finished=False))
                unsaved_since = None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=POLL_INTERVAL)

    async def _listen(self, receiver: ReceiverDriver, stop: asyncio.Event) -> None:
        item = receiver.item
        backoff = 1.0
        while not stop.is_set():
            writer = None
            try:
                stream, writer = await _open_stream(item.port, item.baud)
                backoff = 1.0
                while not stop.is_set():
                    data = await stream.read(4096)
                    if not data:
                        break
                    await self.results.put(receiver.feed(data))
            except asyncio.CancelledError:
                raise
            except (OSError, GatewayError, ValueError) as exc:
                await self.results.put(Readout(source=f"wmbus:{item.name}", finished=False,
                                               failures=[(f"wmbus {item.name}", str(exc))]))
            finally:
                if writer is not None:
                    writer.close()
            if item.port.startswith("file:"):
                return  # a replayed capture is read once
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, 60.0)

    def _export(self, due: ExportDue) -> None:
        try:
            self.runtime.export(due, self.clock.now())
        except Exception as exc:
            _log.exception("export %s failed", due.export)
            self.runtime.failure(f"export {due.export}", str(exc))
        self._next_delivery = 0.0

    def _maybe_deliver(self) -> None:
        if not self.runtime.outputs.spools or (self._delivering is not None
                                               and not self._delivering.done()):
            return
        if time.monotonic() < self._next_delivery:
            return
        self._next_delivery = time.monotonic() + 30.0
        if self.runtime.outputs.waiting():
            self._delivering = asyncio.ensure_future(asyncio.to_thread(
                self.runtime.outputs.deliver))

    async def deliver_now(self) -> None:
        """One delivery pass, awaited (the demo's last step)."""
        if self._delivering is not None:
            await asyncio.gather(self._delivering, return_exceptions=True)
        if self.runtime.outputs.waiting():
            await asyncio.to_thread(self.runtime.outputs.deliver, force=True)
