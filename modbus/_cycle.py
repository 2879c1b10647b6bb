"""One read of a device's map, sans-IO: which requests to send, what the answers mean.

:class:`ReadCycle` hands out :class:`~modbus.ReadRequest` objects one at a time and is
told what came back (registers, an exception code, or nothing); at the end it gives the
readings. An "illegal data address" answer to a joined read splits it (see
:func:`~modbus.split_request`), and :attr:`ReadCycle.plan` is the refined plan to use
next time. The adapters (:mod:`modbus` client, poller) drive it over pymodbus.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime

from profiles import PointReading

from ._codec import PointValue, Quality, decode_point, scale_exponent
from ._errors import DecodeError, ProtocolError
from ._map import BIT_TABLES, RegisterMap
from ._plan import FUNCTION_CODES, ReadRequest, plan_reads, split_request

__all__ = ["COMM_FAILURE", "ILLEGAL_ADDRESS", "ReadCycle", "decode_blocks"]

ILLEGAL_ADDRESS = 2
_TABLE_ORDER = tuple(FUNCTION_CODES)
COMM_FAILURE: Quality = ("comm_failure",)


def decode_blocks(
    register_map: RegisterMap,
    blocks: Sequence[tuple[ReadRequest, Sequence[int]]],
) -> dict[str, tuple[PointValue, Quality]]:
    """Each point's ``(value, quality)`` from the answers to reads (request, contents).

    Scale points are decoded first, so a point whose scale register came in another read
    still gets its exponent.

    Raises:
        DecodeError: an answer does not have the length its request asked for.
    """
    located: dict[str, Sequence[int]] = {}
    for request, contents in blocks:
        if len(contents) < request.count:
            raise DecodeError(
                f"the answer holds {len(contents)} values, the request asked for "
                f"{request.count}", field=f"{request.table}@{request.address}")
        for name in request.points:
            point = register_map.point(name)
            offset = point.address - request.address
            located[name] = contents[offset : offset + point.count]
    exponents: dict[str, int | None] = {}
    values: dict[str, tuple[PointValue, Quality]] = {}
    for name, contents in located.items():
        point = register_map.point(name)
        exponent = None
        if point.scale_point is not None:
            if point.scale_point not in exponents:
                scale = register_map.point(point.scale_point)
                scale_contents = located.get(point.scale_point)
                exponents[point.scale_point] = (
                    None if scale_contents is None else scale_exponent(scale, scale_contents))
            exponent = exponents[point.scale_point]
        values[name] = decode_point(point, contents, exponent=exponent)
    return values


class ReadCycle:
    """The reads of one poll of one device.

    Args:
        register_map: the device's map.
        plan: the reads to start from (default: :func:`~modbus.plan_reads` of the map);
            pass the previous cycle's :attr:`plan` to keep what splitting learnt.
        points: the point names wanted (default: all; the scale points they need are
            read too).
    """

    def __init__(
        self,
        register_map: RegisterMap,
        plan: Sequence[ReadRequest] | None = None,
        points: Sequence[str] | None = None,
    ) -> None:
        self.map = register_map
        if plan is None:
            wanted = None
            if points is not None:
                wanted = set(points)
                wanted |= {register_map.point(n).scale_point or n for n in points}
            plan = plan_reads(register_map, wanted)
        self._pending: deque[ReadRequest] = deque(plan)
        self._done: list[ReadRequest] = []
        self._answers: list[tuple[ReadRequest, Sequence[int]]] = []
        self._failed: dict[str, Quality] = {}
        self.errors: list[str] = []
        """What went wrong, one line per refused or failed request."""

    @property
    def plan(self) -> tuple[ReadRequest, ...]:
        """The reads as they turned out (split reads replaced by their parts)."""
        return tuple(sorted(self._done + list(self._pending),
                            key=lambda r: (_TABLE_ORDER.index(r.table), r.address)))

    def next_request(self) -> ReadRequest | None:
        """The next read to send, or None when the cycle is complete."""
        return self._pending[0] if self._pending else None

    def answered(self, request: ReadRequest, contents: Sequence[int] | Sequence[bool]) -> None:
        """The device answered ``request`` with these registers (or bits; a bit answer
        may be padded to a multiple of 8).

        Raises:
            ProtocolError: the answer is shorter than the request (nothing is kept).
        """
        self._take(request)
        if len(contents) < request.count or (
            request.table not in BIT_TABLES and len(contents) != request.count
        ):
            self._fail(request, f"{len(contents)} values for a read of {request.count}")
            raise ProtocolError(
                f"answer with {len(contents)} values to a read of {request.count}",
                field=f"{request.table}@{request.address}")
        self._done.append(request)
        self._answers.append((request, [int(v) for v in contents[: request.count]]))

    def refused(self, request: ReadRequest, code: int) -> bool:
        """The device answered ``request`` with exception ``code``. For "illegal data
        address" (2) the read is split and its parts come next (returns True); otherwise
        (or when it cannot be split) its points get quality ``comm_failure`` (False)."""
        self._take(request)
        if code == ILLEGAL_ADDRESS:
            parts = split_request(self.map, request)
            if parts:
                self._pending.extendleft(reversed(parts))
                return True
        self._done.append(request)
        self._fail(request, f"exception {code}")
        return False

    def failed(self, request: ReadRequest, reason: str) -> None:
        """``request`` got no usable answer (timeout, garbled): its points get quality
        ``comm_failure``."""
        self._take(request)
        self._done.append(request)
        self._fail(request, reason)

    def abandon(self, reason: str) -> None:
        """Give up the requests not sent yet (the device is unreachable)."""
        while self._pending:
            self.failed(self._pending[0], reason)

    def _take(self, request: ReadRequest) -> None:
        if not self._pending or self._pending[0] != request:
            raise ValueError(f"{request} is not the next request of this cycle")
        self._pending.popleft()

    def _fail(self, request: ReadRequest, reason: str) -> None:
        self.errors.append(f"{request.table} {request.address}..{request.end - 1}: {reason}")
        for name in request.points:
            self._failed[name] = COMM_FAILURE

    def values(self) -> dict[str, tuple[PointValue, Quality]]:
        """Each point's ``(value, quality)``; points whose read failed have no value and
        quality ``("comm_failure",)``."""
        values = decode_blocks(self.map, self._answers)
        for name, quality in self._failed.items():
            values[name] = (None, quality)
        return values

    def readings(self, time: datetime, *, prefix: str = "") -> list[PointReading]:
        """The readings of the cycle, in map order; ``point`` is ``prefix`` + the point's
        name. Scale points and points not asked for are left out."""
        values = self.values()
        scale_points = {p.scale_point for p in self.map.points if p.scale_point}
        out = []
        for point in self.map.points:
            if point.name not in values or point.name in scale_points:
                continue
            value, quality = values[point.name]
            out.append(PointReading(point=prefix + point.name, time=time, value=value,
                                    unit=point.unit, quantity=point.quantity, quality=quality))
        return out
