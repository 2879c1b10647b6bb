"""Point names and readings of the inputs: meter records, S0 channels, analog inputs.

A point is ``<site>/<device>/<field>``. A meter's fields are named by its profile where
one is given, else generically from each record: the quantity, then ``_<function>`` when
not instantaneous, ``_storage<n>``, ``_tariff<n>`` and ``_subunit<n>`` when not 0
(``energy``, ``volume_storage1``, ``power_maximum``); a second record of the same name in
one readout gets ``_2``, ``_3``, ...
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import mbus
import s0
from profiles import PointReading

from ._analog import scale_signal
from ._site_file import AnalogInput

__all__ = ["analog_reading", "field_name", "record_readings", "s0_readings"]

_SKIPPED_FUNCTIONS = ("more_records_follow", "manufacturer_specific")


def field_name(record: mbus.Record) -> str:
    """The generic field name of a record (see the module text)."""
    name = record.quantity
    if record.function != "instantaneous":
        name += f"_{record.function}"
    if record.storage:
        name += f"_storage{record.storage}"
    if record.tariff:
        name += f"_tariff{record.tariff}"
    if record.subunit:
        name += f"_subunit{record.subunit}"
    return name


def record_readings(prefix: str, records: Iterable[mbus.Record], time: datetime, *,
                    quality: tuple[str, ...] = ()) -> list[PointReading]:
    """Readings of a meter's numeric records, named ``<prefix>/<field>``.

    Records without a quantity, of manufacturer-specific data or with a value that is no
    number (dates, texts) are left out; a record the decoder flagged as invalid (invalid
    BCD digits, an invalid time) gets the quality flag ``invalid``.
    """
    out: list[PointReading] = []
    seen: dict[str, int] = {}
    for record in records:
        if record.function in _SKIPPED_FUNCTIONS or not record.quantity:
            continue
        value = record.value
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
            continue
        name = field_name(record)
        count = seen.get(name, 0) + 1
        seen[name] = count
        if count > 1:
            name = f"{name}_{count}"
        flags = quality
        if any("invalid" in flag for flag in record.flags):
            flags = (*quality, "invalid")
        out.append(PointReading(point=f"{prefix}/{name}", time=time, value=value,
                                unit=record.unit, quantity=record.quantity, quality=flags))
    return out


def s0_readings(prefix: str, reading: s0.S0Reading, time: datetime) -> list[PointReading]:
    """The total and the power (or flow) of an S0 channel, ``<prefix>/total`` and ``/power``."""
    out = [PointReading(point=f"{prefix}/total", time=time, value=reading.total,
                        unit=reading.unit, quantity="total")]
    if reading.power is not None:
        power = Decimal(repr(reading.power)).quantize(Decimal("0.001"))
        out.append(PointReading(point=f"{prefix}/power", time=time, value=power,
                                unit=reading.power_unit, quantity="power"))
    return out


def analog_reading(point: str, analog: AnalogInput, raw: Decimal,
                   time: datetime) -> PointReading:
    """The engineering value of an analog input's raw signal (see :func:`scale_signal`)."""
    value, quality = scale_signal(analog, raw)
    return PointReading(point=point, time=time, value=value, unit=analog.unit,
                        quantity=analog.quantity, quality=quality)
