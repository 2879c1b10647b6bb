"""What a server publishes, sans-IO: the register image of a map, updated atomically per
point, read and written by address.

:class:`RegisterImage` holds the current registers of every table of a map and each
point's quality and update time. :meth:`~RegisterImage.update` replaces a point's
registers in one step under a lock, so a reader (any thread) never sees half of an old
and half of a new value. Reads touching a point of bad quality answer as the map's
owner chose (``bad_quality``): an exception (11, gateway target device failed to
respond), the point's "no value" contents (NaN, 0x8000, ...), or the last value.
Writes are checked against the map: only writable points, whole points, values within
their minimum/maximum; accepted writes come back as readings for the application.

Time comes in as an argument (monotonic seconds), for staleness.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from profiles import PointReading, Reading

from ._codec import PointValue, Quality, decode_point, encode_no_value, encode_point
from ._errors import EncodeError, MapError
from ._map import TABLES, RegisterMap, RegisterPoint

__all__ = ["BAD_FLAGS", "BAD_QUALITY_POLICIES", "RegisterImage", "WriteResult"]

_log = logging.getLogger(__name__)

BAD_FLAGS = frozenset({"stale", "comm_failure", "invalid"})
"""Quality flags that make a point's value unusable (out_of_range, estimated and
unverified values are still published)."""
BAD_QUALITY_POLICIES = ("exception", "no_value", "last_value")
ILLEGAL_FUNCTION = 1
ILLEGAL_ADDRESS = 2
ILLEGAL_VALUE = 3
GATEWAY_TARGET_FAILED = 11


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of a client's write: ``exception`` (a Modbus exception code) or the
    accepted values as readings."""

    exception: int | None
    readings: tuple[PointReading, ...] = ()


@dataclass(slots=True)
class _State:
    value: object = None
    quality: tuple[str, ...] = ("invalid",)
    updated: float | None = None
    published: bool = False  # its registers hold a value once published


class RegisterImage:
    """The registers a server publishes for ``register_map``.

    Args:
        register_map: the points and their addresses.
        bad_quality: what a read touching a point of bad quality (no value yet, quality
            stale, comm_failure or invalid, or not updated for ``stale_after`` seconds)
            answers: ``"exception"`` (default): exception 11 for the whole read;
            ``"no_value"``: the point's "no value" contents (NaN, 0x8000, 0xFFFF ...;
            exception 11 for bits, which have none); ``"last_value"``: the last value
            published (exception 11 while there is none).
        stale_after: seconds after its last update a point counts as stale; None: never.

    Raises:
        MapError: a scale point (SunSpec style) in the map: a server publishes its values
            with fixed scales (give ``scale``).
    """

    def __init__(self, register_map: RegisterMap, *, bad_quality: str = "exception",
                 stale_after: float | None = None) -> None:
        if bad_quality not in BAD_QUALITY_POLICIES:
            raise ValueError(f"bad_quality must be one of {', '.join(BAD_QUALITY_POLICIES)}")
        for point in register_map.points:
            if point.scale_point is not None:
                raise MapError("a served map gives fixed scales (scale), not scale points",
                               table=f"registers.{point.name}", key="scale_point")
        self.map = register_map
        self.bad_quality = bad_quality
        self.stale_after = stale_after
        self._lock = threading.Lock()
        self.spans: dict[str, tuple[int, int]] = {}
        """table -> (first address, count) covering its points."""
        self._cells: dict[str, list[int]] = {}
        self._owners: dict[str, list[tuple[RegisterPoint, ...]]] = {}
        for table in TABLES:
            points = register_map.table_points(table)
            if not points:
                continue
            first = points[0].address
            count = max(p.end for p in points) - first
            self.spans[table] = (first, count)
            self._cells[table] = [0] * count
            owners: list[list[RegisterPoint]] = [[] for _ in range(count)]
            for point in points:
                for address in range(point.address, point.end):
                    owners[address - first].append(point)
            self._owners[table] = [tuple(o) for o in owners]
        self._states = {point.name: _State() for point in register_map.points}

    # -- the application's side ------------------------------------------------------------

    def set(self, name: str, value: object, quality: Sequence[str] = (), *,
            now: float | None = None) -> None:
        """Publish ``value`` for point ``name`` (atomically), with its quality. A value of
        quality ``invalid``, or one that does not fit the point's type, does not enter the
        registers (the point gets quality ``invalid``); a stale one does, so that the
        ``last_value`` policy shows it.

        Raises:
            KeyError: no point of that name.
        """
        point = self.map.point(name)
        flags = tuple(quality)
        registers: tuple[int, ...] | None = None
        if value is not None:
            try:
                registers = encode_point(point, value)
            except EncodeError as exc:
                _log.warning("%s (published as invalid)", exc)
                flags = ("invalid",)
        with self._lock:
            state = self._states[name]
            state.value, state.quality, state.updated = value, flags, now
            if value is None:
                state.quality = flags or ("invalid",)
            if registers is not None and "invalid" not in flags:
                self._store(point, registers)
                state.published = True

    def update(self, reading: Reading, *, now: float | None = None) -> bool:
        """Publish a reading (:class:`profiles.Reading`) whose ``point`` names a point of the
        map; returns False (and changes nothing) for other points."""
        if reading.point not in self.map:
            return False
        self.set(reading.point, reading.value, reading.quality, now=now)
        return True

    def update_many(self, readings: Iterable[Reading], *, now: float | None = None) -> int:
        """Publish readings; returns how many named a point of the map."""
        return sum(self.update(reading, now=now) for reading in readings)

    def _store(self, point: RegisterPoint, registers: Sequence[int]) -> None:
        cells = self._cells[point.table]
        start = point.address - self.spans[point.table][0]
        if point.type == "bit":
            mask = 1 << point.bit
            cells[start] = (cells[start] & ~mask) | (registers[0] & mask)
        else:
            cells[start : start + len(registers)] = registers

    # -- the protocol's side ---------------------------------------------------------------

    def _bad(self, point: RegisterPoint, now: float | None) -> bool:
        state = self._states[point.name]
        if state.value is None or BAD_FLAGS.intersection(state.quality):
            return True
        return (self.stale_after is not None and now is not None
                and state.updated is not None and now - state.updated > self.stale_after)

    def read(self, table: str, address: int, count: int, *,
             now: float | None = None) -> list[int] | int:
        """``count`` registers (or bits, as 0/1) of ``table`` from ``address``, or a
        Modbus exception code (2: outside the map's addresses; 11: a point of bad quality
        under the ``exception`` policy, or a bit point without "no value" contents)."""
        span = self.spans.get(table)
        if span is None or count < 1 or address < span[0] or address + count > span[0] + span[1]:
            return ILLEGAL_ADDRESS
        offset = address - span[0]
        with self._lock:
            cells = self._cells[table][offset : offset + count]
            points = {p.name: p for owners in self._owners[table][offset : offset + count]
                      for p in owners}
            for point in points.values():
                if not self._bad(point, now):
                    continue
                if self.bad_quality == "last_value":
                    if self._states[point.name].published:
                        continue
                    return GATEWAY_TARGET_FAILED
                blank = encode_no_value(point)
                if self.bad_quality == "exception" or blank is None:
                    return GATEWAY_TARGET_FAILED
                for index, word in enumerate(blank, start=point.address - address):
                    if 0 <= index < count:
                        cells[index] = word
        return cells

    def write(self, table: str, address: int, values: Sequence[int], *,
              time: datetime | None = None, now: float | None = None) -> WriteResult:
        """A client writes ``values`` (registers, or bits as 0/1) from ``address``.

        Accepted when every addressed register belongs to writable points that are written
        whole and whose new values lie within their minimum/maximum; then the image is
        updated and the new values come back as readings. Otherwise nothing changes and
        the result holds the exception code (2: not writable, 3: a partial or implausible
        value)."""
        if table not in ("coil", "holding"):
            return WriteResult(ILLEGAL_FUNCTION)
        span = self.spans.get(table)
        count = len(values)
        if span is None or count < 1 or address < span[0] or address + count > span[0] + span[1]:
            return WriteResult(ILLEGAL_ADDRESS)
        offset = address - span[0]
        owners = self._owners[table][offset : offset + count]
        touched: dict[str, RegisterPoint] = {}
        for points in owners:
            if not points:
                return WriteResult(ILLEGAL_ADDRESS)
            for point in points:
                if not point.writable:
                    return WriteResult(ILLEGAL_ADDRESS)
                touched[point.name] = point
        when = time or datetime.now(timezone.utc)
        decoded: list[tuple[RegisterPoint, tuple[int, ...], PointValue, Quality]] = []
        with self._lock:
            for point in touched.values():
                if point.address < address or point.end > address + count:
                    return WriteResult(ILLEGAL_VALUE)
                start = point.address - address
                contents = tuple(int(v) for v in values[start : start + point.count])
                value, quality = decode_point(point, contents, exponent=None)
                if value is None or quality:
                    return WriteResult(ILLEGAL_VALUE)
                decoded.append((point, contents, value, quality))
            for point, contents, value, _ in decoded:
                state = self._states[point.name]
                state.value, state.quality, state.updated = value, (), now
                state.published = True
                self._store(point, contents)
        readings = tuple(
            PointReading(point=point.name, time=when, value=value, unit=point.unit,
                         quantity=point.quantity)
            for point, _, value, _ in decoded)
        return WriteResult(None, readings)

    def quality(self, name: str, *, now: float | None = None) -> tuple[str, ...]:
        """The quality a point is published with (``("stale",)`` once ``stale_after`` has
        passed)."""
        point = self.map.point(name)
        with self._lock:
            state = self._states[name]
            if state.value is not None and not BAD_FLAGS.intersection(state.quality) and \
                    self._bad(point, now):
                return (*state.quality, "stale")
            return state.quality

