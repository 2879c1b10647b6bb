"""Point names and readings of the inputs: meter records, S0 channels, analog inputs.

A point is ``<site>/<device>/<field>``. A meter's fields are named by ``profiles``: by the
profile the site file gives the meter, else by the profile that detects it (shipped
profiles and the site's own profile folders), else generically (``energy_kwh``,
``volume_m3_storage_1``, ``flow_temperature_c``, ``status``), with values converted
exactly to the field's unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import mbus
import profiles
import s0
from profiles import PointReading
from profiles.transforms import TransformContext

from ._analog import scale_signal
from ._site_file import AnalogInput

__all__ = ["MeterHeader", "analog_reading", "meter_readings", "s0_readings"]


class MeterHeader:
    """What profile detection reads of a telegram's header."""

    __slots__ = ("ci", "device_type", "id", "manufacturer", "payload", "status", "version")

    def __init__(self, *, id: str | None, manufacturer: str | None, version: int | None,
                 device_type: int | None, ci: int | None, status: int | None,
                 payload: bytes = b"") -> None:
        self.id = id
        self.manufacturer = manufacturer
        self.version = version
        self.device_type = device_type
        self.ci = ci
        self.status = status
        self.payload = payload


def meter_readings(prefix: str, header: MeterHeader, records: Sequence[mbus.Record],
                   time: datetime, *, catalogue: profiles.MeterProfiles,
                   profile: profiles.MeterProfile | None = None,
                   quality: tuple[str, ...] = (),
                   context: TransformContext | None = None) -> list[PointReading]:
    """Readings of a meter's fields, named ``<prefix>/<field>`` (see the module text).

    A field taken from a record the decoder flagged as invalid (invalid BCD digits, an
    invalid time) gets the quality flag ``invalid``. ``context`` is the telegram's
    ``transform_context`` (a wireless meter whose payload a profile transform decrypts,
    as Apator NA-1's: what the decoder made of it with the meter's key).
    """
    heads = [record.shape for record in records]

    def value_of(index: int) -> object:
        return records[index].value

    if profile is not None:
        fields = profiles.apply_profile(profile, heads, value_of, status=header.status,
                                        meter_id=header.id, payload=header.payload,
                                        context=context)
    else:
        fields = catalogue.apply(heads, value_of, manufacturer=header.manufacturer,
                                 version=header.version, device_type=header.device_type,
                                 ci=header.ci, status=header.status, payload=header.payload,
                                 meter_id=header.id, context=context)
    out = []
    for field in fields.fields:
        flags = quality
        if field.record is not None and field.record < len(records) and any(
                "invalid" in flag for flag in records[field.record].flags):
            flags = (*quality, "invalid")
        out.append(PointReading(point=f"{prefix}/{field.name}", time=time, value=field.value,
                                unit=field.unit, quantity=field.quantity, quality=flags))
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
