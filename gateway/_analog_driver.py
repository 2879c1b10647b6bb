"""The analog inputs' driver: reads a raw signal (simulated, IIO file, Modbus register)
and scales it with :mod:`gateway._analog`.

A source that cannot be read (an IIO file that vanished, a Modbus module that does not
answer) gives a reading without a value, flagged ``comm_failure``, and the input does not
count as answering, so its device-failure rule raises after ``missed_cycles`` intervals.
A faulty signal (open loop, overrange, the module's "no value" code) is read fine but
scaled to no value, flagged ``invalid`` (and does not count as answering either).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import modbus
from profiles import PointReading

from ._analog import read_iio, register_signal, simulated_value
from ._points import analog_reading
from ._site_file import AnalogInput, IioSource, ModbusRegisterSource, Site

__all__ = ["AnalogDriver", "AnalogRead"]

COMM_FAILURE = ("comm_failure",)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalogRead:
    """One read of an analog input: its reading, whether the input answered with a good
    signal, and the failure to log (the first of a run of failures only)."""

    reading: PointReading
    answered: bool
    failure: str | None = None


class AnalogDriver:
    """One analog input (see the module text).

    Args:
        lines: one lock per Modbus connection (TCP address or serial line), shared with the
            Modbus devices of the site, so one request is on a line at a time.
        clients: Modbus connections by URL, shared by the analog inputs of one module.
    """

    def __init__(self, site: Site, item: AnalogInput, lines: dict[str, asyncio.Lock],
                 clients: dict[str, modbus.ModbusClient]) -> None:
        self.item = item
        self.point = site.point(item.name, item.field)
        self._failing = False
        self.client: modbus.ModbusClient | None = None
        source = item.source
        if isinstance(source, ModbusRegisterSource):
            self.map = modbus.RegisterMap(name=f"analog {item.name}", points=(source.point,),
                                          unit_id=source.unit_id)
            self.client = clients.get(source.url)
            if self.client is None:
                self.client = clients[source.url] = modbus.ModbusClient(
                    source.url, timeout=source.timeout, name=source.url)
            self.line = lines.setdefault(source.url.partition("?")[0], asyncio.Lock())

    async def read(self, now: datetime) -> AnalogRead:
        """Read the raw signal once and scale it."""
        source = self.item.source
        if isinstance(source, IioSource):
            try:
                raw: Decimal | None = await asyncio.to_thread(read_iio, source,
                                                              self.item.signal)
            except (OSError, ValueError) as exc:
                return self._failed(now, str(exc))
        elif isinstance(source, ModbusRegisterSource):
            assert self.client is not None
            async with self.line:
                result = await self.client.read_map(self.map, time=now)
            if result.status.state != "ok":
                return self._failed(now, f"{result.status.state}: {result.status.message}")
            (register,) = result.readings
            if register.value is None or isinstance(register.value, (str, bool)):
                raw = None  # the module's "no value" code
            else:
                raw = register_signal(source, self.item.signal, register.value)
        else:
            raw = simulated_value(source, now.timestamp())
        self._failing = False
        if raw is None:
            reading = PointReading(point=self.point, time=now, value=None,
                                   unit=self.item.unit, quantity=self.item.quantity,
                                   quality=("invalid",))
        else:
            reading = analog_reading(self.point, self.item, raw, now)
        return AnalogRead(reading=reading, answered="invalid" not in reading.quality)

    def _failed(self, now: datetime, error: str) -> AnalogRead:
        first = not self._failing
        self._failing = True
        return AnalogRead(
            reading=PointReading(point=self.point, time=now, value=None, unit=self.item.unit,
                                 quantity=self.item.quantity, quality=COMM_FAILURE),
            answered=False, failure=error if first else None)

    def close(self) -> None:
        """Close the Modbus connection (shared ones are closed by each of their users;
        closing twice is harmless)."""
        if self.client is not None:
            self.client.close()
