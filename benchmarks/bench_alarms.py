"""Samples per second through 1000 alarm rules (target: >= 500k samples/s).

250 points, each with high-high, high, low and low-low limit rules (1000 rules)
plus a stale rule per point. Samples are a pre-generated random walk that
mostly stays inside the limits and crosses them now and then, as metering
values do. The peer, measured in the same run, is the same workload through a
minimal loop that only stores each sample in a dict (the floor any engine
pays for a Python call per sample).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from alarms import Engine, LimitRule, StaleRule

POINTS = 250
SAMPLES = 400_000


def _rules() -> list[LimitRule | StaleRule]:
    rules: list[LimitRule | StaleRule] = []
    for index in range(POINTS):
        point = f"meter{index}.power"
        for kind, limit, severity, suffix in (
            ("upper", 95.0, "critical", "hh"),
            ("upper", 80.0, "major", "h"),
            ("lower", 20.0, "major", "l"),
            ("lower", 5.0, "critical", "ll"),
        ):
            rules.append(
                LimitRule(
                    point=point,
                    kind=kind,  # type: ignore[arg-type]
                    limit=limit,
                    hysteresis=2.0,
                    raise_delay=5.0,
                    clear_delay=5.0,
                    severity=severity,  # type: ignore[arg-type]
                    alarm_id=f"{point}.{suffix}",
                )
            )
        rules.append(StaleRule(point=point, timeout=600.0))
    return rules


Samples = list[tuple[str, float, float]]


def _samples() -> Samples:
    rng = random.Random(5)
    names = [f"meter{index}.power" for index in range(POINTS)]
    values = [50.0] * POINTS
    out: Samples = []
    now = 0.0
    for step in range(SAMPLES):
        index = step % POINTS
        now += 0.01
        value = values[index] + rng.gauss(0.0, 1.5)
        value = min(max(value, -10.0), 110.0)
        values[index] = value
        out.append((names[index], value, now))
    return out


def _measure(feed: Callable[[str, float, float], object], samples: Samples) -> float:
    start = time.perf_counter()
    for point, value, now in samples:
        feed(point, value, now)
    return time.perf_counter() - start


def main() -> None:
    """Print samples/s through the engine and through the dict-store floor."""
    rules = _rules()
    samples = _samples()
    limit_rules = sum(isinstance(rule, LimitRule) for rule in rules)
    best_engine = best_floor = float("inf")
    notifications = 0
    store: dict[str, tuple[float, float]] = {}

    def floor(point: str, value: float, now: float) -> None:
        store[point] = (value, now)

    for _ in range(3):
        engine = Engine(rules, start_time=0.0)
        best_engine = min(best_engine, _measure(engine.feed, samples))
        notifications = engine.save_state()["next_notification_id"] - 1
        best_floor = min(best_floor, _measure(floor, samples))
    print(
        f"rules: {limit_rules} limit + {len(rules) - limit_rules} stale on {POINTS} points; "
        f"samples: {len(samples)}; notifications: {notifications}"
    )
    print(f"engine.feed:       {len(samples) / best_engine:12,.0f} samples/s (target >= 500,000)")
    print(f"dict-store floor:  {len(samples) / best_floor:12,.0f} samples/s")
    print(f"engine/floor time: {best_engine / best_floor:12.2f}")


if __name__ == "__main__":
    main()
