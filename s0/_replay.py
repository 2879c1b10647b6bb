"""Replaying recorded edges (a ``time,level`` CSV) through a channel."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ._channel import Channel
from ._config import ChannelConfig, to_ns
from ._errors import EdgeError, ReplayInputError
from ._events import Event, S0Reading
from ._parsing import csv_rows

__all__ = ["Edge", "ReplayResult", "read_edges_csv", "replay_edges"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """One recorded edge: the input changed to ``level`` at ``time`` seconds.

    ``row`` is where it came from (1-based file row, header = row 1), 0 if not from a file.
    """

    time: Decimal
    level: int
    row: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-compatible form; ``time`` as a decimal string."""
        return {"time": str(self.time), "level": self.level, "row": self.row}


def read_edges_csv(lines: Iterable[str]) -> list[Edge]:
    """Parse an edges CSV: a header naming the columns ``time`` and ``level`` (others are
    ignored), then one row per edge, time in seconds (any decimal notation, kept exact) and
    level 0 or 1, times never decreasing. Blank rows are skipped.

    Raises:
        ReplayInputError: naming the row (header = row 1) and the field at fault.
    """
    columns: dict[str, int] | None = None
    edges: list[Edge] = []
    previous: Decimal | None = None
    for row, cells in csv_rows(lines):
        if not any(cell.strip() for cell in cells):
            continue
        if columns is None:
            columns = _header(cells, row)
            continue
        time = _time_cell(cells, columns["time"], row)
        level = _level_cell(cells, columns["level"], row)
        if previous is not None and time < previous:
            raise ReplayInputError(
                f"{time} s is earlier than the row before ({previous} s); "
                "edges must be in time order",
                row=row,
                field="time",
            )
        previous = time
        edges.append(Edge(time=time, level=level, row=row))
    if columns is None:
        raise ReplayInputError("the file is empty; expected a header 'time,level'", row=1)
    return edges


def _header(cells: Sequence[str], row: int) -> dict[str, int]:
    names = [cell.strip().lower() for cell in cells]
    missing = [name for name in ("time", "level") if name not in names]
    if missing:
        raise ReplayInputError(
            f"header {','.join(cells)!r} has no column {' or '.join(missing)!r}; "
            "expected a header 'time,level'",
            row=row,
            field="header",
        )
    return {name: names.index(name) for name in ("time", "level")}


def _cell(cells: Sequence[str], index: int, row: int, field: str) -> str:
    if index >= len(cells) or not cells[index].strip():
        raise ReplayInputError("is missing", row=row, field=field)
    return cells[index].strip()


def _time_cell(cells: Sequence[str], index: int, row: int) -> Decimal:
    text = _cell(cells, index, row, "time")
    try:
        time = Decimal(text)
    except InvalidOperation:
        raise ReplayInputError(
            f"{text!r} is not a number of seconds", row=row, field="time"
        ) from None
    try:
        to_ns(time, "time", EdgeError)
    except EdgeError as exc:
        raise ReplayInputError(exc.message, row=row, field="time") from None
    return time


def _level_cell(cells: Sequence[str], index: int, row: int) -> int:
    text = _cell(cells, index, row, "level")
    if text not in ("0", "1"):
        raise ReplayInputError(f"{text!r} is not 0 or 1", row=row, field="level")
    return int(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayResult:
    """What a replay counted: the events in order and the reading at the last edge."""

    events: tuple[Event, ...]
    reading: S0Reading

    def to_dict(self) -> dict[str, object]:
        """The summary the ``s0 replay --json`` command prints: ``pulses``, ``rejected``,
        ``total`` (a decimal string), ``unit`` and ``power`` (``unit`` per hour at the last
        edge, ``None`` while unknown)."""
        reading = self.reading
        return {
            "pulses": reading.pulses,
            "rejected": reading.rejected,
            "total": str(reading.total),
            "unit": reading.unit,
            "power": reading.power,
        }


def replay_edges(
    edges: Iterable[Edge | tuple[Decimal | float | int, int]],
    config: ChannelConfig,
    *,
    channel: str = "s0",
) -> ReplayResult:
    """Feed recorded edges through a fresh channel.

    The recording's last level is taken to hold long enough to be confirmed (the channel is
    advanced to the last edge + ``debounce``), so a pulse that ends on the last row counts.
    Power is taken at the last edge.

    Raises:
        EdgeError: an edge is invalid (times going backwards, a level other than 0/1).
    """
    counter = Channel(config, name=channel)
    events: list[Event] = []
    last_ns: int | None = None
    for edge in edges:
        time, level = (edge.time, edge.level) if isinstance(edge, Edge) else edge
        time_ns = to_ns(time, "time", EdgeError)
        events.extend(counter.feed_edge_ns(time_ns, level))
        last_ns = time_ns
    if last_ns is None:
        return ReplayResult(events=(), reading=counter.reading(0))
    deadline = counter.next_deadline_ns()
    if deadline is not None:
        events.extend(counter.advance_ns(deadline))
    reading = counter.reading(Decimal(last_ns).scaleb(-9))
    return ReplayResult(events=tuple(events), reading=reading)
