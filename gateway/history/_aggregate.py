"""Downsampling: hourly and daily aggregates of numeric readings, and retention classes.

Buckets are aligned to UTC (an hour from :00, a day from 00:00 UTC). A bucket's
aggregate covers the numeric readings of one unit (the unit of its last reading) that
are not flagged ``invalid``. For counters the ``delta`` is the bucket's last value minus
the previous bucket's last value (the consumption of the interval), or minus the
bucket's first value when no earlier reading exists.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal
from typing import Any, Literal

from ._codec import from_micros

__all__ = [
    "RESOLUTIONS",
    "Aggregate",
    "NumericRow",
    "Resolution",
    "RetentionClass",
    "class_of",
    "make_aggregates",
]

Resolution = Literal["hour", "day"]
RESOLUTIONS: dict[Resolution, int] = {"hour": 3_600_000_000, "day": 86_400_000_000}
"""Bucket length in microseconds per resolution."""

# Arithmetic in a fixed context, independent of the caller's decimal context; 28 digits
# keep sums and deltas of meter values exact, means are rounded there.
_CONTEXT = Context(prec=28)

NumericRow = tuple[int, Decimal, str]
"""(time in microseconds, value, unit) of one numeric reading, the input of aggregation."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Aggregate:
    """Figures of one point over one hour or day (``start`` inclusive, UTC aligned).

    ``minimum``, ``maximum`` and ``last`` are exact, ``mean`` is rounded to 28 digits,
    ``delta`` is set for counters only (see the module text).
    """

    point: str
    resolution: Resolution
    start: datetime
    count: int
    minimum: Decimal
    maximum: Decimal
    mean: Decimal
    last: Decimal
    delta: Decimal | None
    unit: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (numbers as exact decimal text)."""
        return {"point": self.point, "resolution": self.resolution,
                "start": self.start.isoformat(), "count": self.count,
                "min": str(self.minimum), "max": str(self.maximum), "mean": str(self.mean),
                "last": str(self.last),
                "delta": None if self.delta is None else str(self.delta), "unit": self.unit}


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionClass:
    """How long a class of points is kept, and whether its points are counters.

    ``points`` are shell patterns over point names (``*`` also matches ``/``); a point
    belongs to the first class that matches it, and points of no class are kept for
    ever. ``raw_days``, ``hourly_days``, ``daily_days``: days of raw readings, hourly
    and daily aggregates to keep (None: for ever). ``counter``: aggregates get deltas.
    """

    name: str
    points: tuple[str, ...]
    raw_days: int | None = None
    hourly_days: int | None = None
    daily_days: int | None = None
    counter: bool = False

    def __post_init__(self) -> None:
        for key in ("raw_days", "hourly_days", "daily_days"):
            days = getattr(self, key)
            if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                                     or days < 0):
                raise ValueError(f"retention class {self.name!r}: {key} must be an integer "
                                 f">= 0 or None, got {days!r}")
        if isinstance(self.points, str) or not all(isinstance(p, str) for p in self.points):
            raise ValueError(f"retention class {self.name!r}: points must be a tuple of "
                             "patterns")

    def matches(self, point: str) -> bool:
        """Whether ``point`` is in this class."""
        return any(fnmatch.fnmatchcase(point, pattern) for pattern in self.points)


def class_of(point: str, classes: Sequence[RetentionClass]) -> RetentionClass | None:
    """The first class matching ``point``, or None."""
    for candidate in classes:
        if candidate.matches(point):
            return candidate
    return None


def make_aggregates(point: str, resolution: Resolution, rows: Iterable[NumericRow], *,
                    counter: bool, previous_last: Decimal | None) -> list[Aggregate]:
    """Aggregates of ``rows`` (sorted by time) per bucket of ``resolution``.

    ``previous_last``: the last value before the first row (for the first delta).
    """
    length = RESOLUTIONS[resolution]
    buckets: list[tuple[int, list[NumericRow]]] = []
    for row in rows:
        start = row[0] - row[0] % length
        if not buckets or buckets[-1][0] != start:
            buckets.append((start, []))
        buckets[-1][1].append(row)
    result = []
    for start, bucket in buckets:
        unit = bucket[-1][2]
        values = [value for _, value, row_unit in bucket if row_unit == unit]
        total = Decimal(0)
        for value in values:
            total = _CONTEXT.add(total, value)
        last = values[-1]
        delta = None
        if counter:
            delta = _CONTEXT.subtract(
                last, previous_last if previous_last is not None else values[0])
        result.append(Aggregate(
            point=point, resolution=resolution, start=from_micros(start), count=len(values),
            minimum=min(values), maximum=max(values),
            mean=_CONTEXT.divide(total, Decimal(len(values))), last=last, delta=delta,
            unit=unit))
        previous_last = last
    return result
