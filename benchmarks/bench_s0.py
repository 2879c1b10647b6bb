"""s0 throughput: edges per second through the counter, by time type, and CSV replay."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from decimal import Decimal

from s0 import Channel, ChannelConfig, S0Counter, read_edges_csv, replay_edges

_MS = 1_000_000
_PULSES = 20_000


def _edges_ns() -> list[tuple[int, int]]:
    """A pulse train with contact bounce: 50 ms pulses every 200 ms, 2 bounces per edge."""
    edges = []
    for i in range(_PULSES):
        t = i * 200 * _MS
        edges += [(t, 1), (t + 2 * _MS, 0), (t + 3 * _MS, 1)]  # closing
        edges += [(t + 53 * _MS, 0), (t + 54 * _MS, 1), (t + 56 * _MS, 0)]  # opening
    return edges


def _best(run: Callable[[], int], repeat: int = 3) -> float:
    """Edges per second, best of ``repeat``."""
    best = float("inf")
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = run()
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    """Print edges/s for each way of feeding the counter."""
    config = ChannelConfig(imp_per_unit=1000)
    edges = _edges_ns()
    as_float = [(t / 1e9, level) for t, level in edges]
    as_decimal = [(Decimal(t).scaleb(-9), level) for t, level in edges]

    def feed_ns() -> int:
        channel = Channel(config)
        feed = channel.feed_edge_ns
        for t, level in edges:
            feed(t, level)
        assert channel.pulses == _PULSES - 1 or channel.pulses == _PULSES
        return len(edges)

    def feed_float() -> int:
        channel = Channel(config)
        for t, level in as_float:
            channel.feed_edge(t, level)
        return len(edges)

    def feed_decimal() -> int:
        channel = Channel(config)
        for t, level in as_decimal:
            channel.feed_edge(t, level)
        return len(edges)

    def feed_counter() -> int:
        counter = S0Counter({"a": config, "b": config})
        for t, level in edges:
            counter.feed_edge_ns("a", t, level)
        return len(edges)

    csv_text = "time,level\n" + "".join(f"{t},{level}\n" for t, level in as_decimal)

    def replay_csv() -> int:
        rows = read_edges_csv(io.StringIO(csv_text))
        result = replay_edges(rows, config)
        assert result.reading.pulses == _PULSES
        return len(rows)

    base = _best(feed_ns)
    print(f"edges in the stream: {len(edges)} ({_PULSES} bouncing pulses)")
    print(f"Channel.feed_edge_ns (int ns)        {base:12,.0f} edges/s  1.00x")
    for label, run in (
        ("Channel.feed_edge (float s)         ", feed_float),
        ("Channel.feed_edge (Decimal s)       ", feed_decimal),
        ("S0Counter.feed_edge_ns (by name)    ", feed_counter),
        ("read_edges_csv + replay_edges (CSV) ", replay_csv),
    ):
        rate = _best(run, repeat=2)
        print(f"{label} {rate:12,.0f} edges/s  {rate / base:.2f}x")


if __name__ == "__main__":
    main()
