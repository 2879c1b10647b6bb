"""Request planning: a map's points in as few reads as the device's limits allow.

Points of one table are joined into one read while the read stays within the map's
``max_registers`` (``max_bits`` for coils and discrete inputs) and the unused registers
between two points are at most ``max_gap``. A device that answers "illegal data address"
for a joined read has holes it will not read: :func:`split_request` gives the smaller
reads to try instead (first the gap-free runs, then single points).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._map import BIT_TABLES, RegisterMap, RegisterPoint

__all__ = ["FUNCTION_CODES", "ReadRequest", "plan_reads", "split_request"]

FUNCTION_CODES: dict[str, int] = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
"""The read function code of each table."""


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One read: ``count`` registers (or bits) of ``table`` from ``address``, serving the
    points named in ``points``."""

    table: str
    address: int
    count: int
    points: tuple[str, ...]

    @property
    def function(self) -> int:
        """The Modbus function code of the read (1, 2, 3 or 4)."""
        return FUNCTION_CODES[self.table]

    @property
    def end(self) -> int:
        """The address after the last register read."""
        return self.address + self.count


def _runs(points: list[RegisterPoint], limit: int, max_gap: int) -> list[ReadRequest]:
    requests: list[ReadRequest] = []
    start = end = 0
    names: list[str] = []
    for point in points:
        if names and point.address - end <= max_gap and max(end, point.end) - start <= limit:
            end = max(end, point.end)
            names.append(point.name)
            continue
        if names:
            requests.append(ReadRequest(points[0].table, start, end - start, tuple(names)))
        start, end, names = point.address, point.end, [point.name]
    if names:
        requests.append(ReadRequest(points[0].table, start, end - start, tuple(names)))
    return requests


def plan_reads(
    register_map: RegisterMap,
    points: Iterable[str] | None = None,
    *,
    max_gap: int | None = None,
) -> tuple[ReadRequest, ...]:
    """The reads that fetch ``points`` (default: all of the map's points).

    ``max_gap`` overrides the map's. Reads come table by table in function code order
    (coils, discrete inputs, holding registers, input registers), each in address order.

    >>> from modbus import RegisterMap, RegisterPoint
    >>> m = RegisterMap(name="m", max_gap=2, points=(
    ...     RegisterPoint(name="a", table="input", address=0, type="float32"),
    ...     RegisterPoint(name="b", table="input", address=4, type="float32"),
    ...     RegisterPoint(name="c", table="input", address=40, type="uint16")))
    >>> [(r.address, r.count, r.points) for r in plan_reads(m)]
    [(0, 6, ('a', 'b')), (40, 1, ('c',))]
    """
    wanted = None if points is None else set(points)
    gap = register_map.max_gap if max_gap is None else max_gap
    requests: list[ReadRequest] = []
    for table in FUNCTION_CODES:
        chosen = [p for p in register_map.table_points(table) if wanted is None or p.name in wanted]
        if chosen:
            limit = register_map.max_bits if table in BIT_TABLES else register_map.max_registers
            requests += _runs(chosen, limit, gap)
    return tuple(requests)


def split_request(register_map: RegisterMap, request: ReadRequest) -> tuple[ReadRequest, ...]:
    """Smaller reads for a read the device refused with "illegal data address": the
    gap-free runs of its points, or, for a gap-free read, one read per point (points
    sharing a register stay together). A read that cannot be split gives ``()``."""
    runs = plan_reads(register_map, request.points, max_gap=0)
    if len(runs) > 1:
        return runs
    points = [register_map.point(name) for name in request.points]
    singles: dict[tuple[int, int], list[str]] = {}
    for point in points:
        singles.setdefault((point.address, point.count), []).append(point.name)
    if len(singles) <= 1:
        return ()
    return tuple(
        ReadRequest(request.table, address, count, tuple(names))
        for (address, count), names in singles.items()
    )
