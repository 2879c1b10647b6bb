"""The reading protocol: one value of one data point at one time, with its quality.

``modbus``, ``bacnet`` and the gateway's history take and give objects that
satisfy :class:`Reading`; :class:`PointReading` is the plain implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

__all__ = ["QUALITY_FLAGS", "PointReading", "Reading", "ReadingValue"]

ReadingValue = Decimal | int | float | str | bool | None
"""What a reading's value may be: exact numbers stay Decimal or int."""

QUALITY_FLAGS = ("stale", "out_of_range", "comm_failure", "unverified", "invalid", "estimated")
"""The quality flags used across meterkit; an empty quality tuple means good."""


@runtime_checkable
class Reading(Protocol):
    """One value of one data point, as the libraries exchange it; all attributes read-only.

    Attributes:
        point: the data point's name (``"flat3/heat/total_kwh"``, a register name ...).
        time: when the value was measured, timezone-aware.
        value: the value (exact numbers as Decimal or int; float only where the source
            carried a float); None when there is none.
        unit: the normalised unit (``"kWh"``, ``"degC"``), ``""`` when none.
        quantity: what is measured (``"energy"``, ``"volume"``, ...).
        quality: flags (:data:`QUALITY_FLAGS`); the empty tuple means good.
    """

    @property
    def point(self) -> str: ...

    @property
    def time(self) -> datetime: ...

    @property
    def value(self) -> ReadingValue: ...

    @property
    def unit(self) -> str: ...

    @property
    def quantity(self) -> str: ...

    @property
    def quality(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class PointReading:
    """A plain, immutable, picklable :class:`Reading`.

    ``time`` must be timezone-aware; ``quality`` a tuple of flags (empty = good).

    >>> from datetime import datetime, timezone
    >>> reading = profiles.PointReading(
    ...     point="flat3/total_kwh", time=datetime(2026, 1, 1, tzinfo=timezone.utc),
    ...     value=Decimal("12.5"), unit="kWh", quantity="energy")
    >>> reading.quality
    ()
    """

    point: str
    time: datetime
    value: ReadingValue
    unit: str = ""
    quantity: str = ""
    quality: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError(f"reading {self.point!r}: time must be timezone-aware")
        if not isinstance(self.quality, tuple):
            raise TypeError(f"reading {self.point!r}: quality must be a tuple of flags")
