"""Stand-in for ``profiles.PointReading`` until profiles lands on main (same fields)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

__all__ = ["PointReading", "Reading", "ReadingValue"]

ReadingValue = Decimal | int | float | str | bool | None


class Reading(Protocol):
    """One value of one data point (the profiles reading protocol)."""

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
    """A plain, immutable reading."""

    point: str
    time: datetime
    value: ReadingValue
    unit: str = ""
    quantity: str = ""
    quality: tuple[str, ...] = ()
