"""profiles: what meter profiles add to decrypt + decode + to_dict on the wireless dev corpus.

The same telegrams (those ``wmbus`` decodes) through two ``wmbus.Decoder`` objects,
one with ``profiles=False`` and one with meterkit's shipped profiles (the default:
a profile's fields where one matches, generic names elsewhere), each telegram
decoded and made into its ``to_dict()``. Rounds are interleaved and the best
of each kept. The budget (issue 14): profiles add at most 20 %.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from benchmarks._fresh import CORPUS

TELEGRAMS = CORPUS / "wmbus" / "dev.jsonl"
ROUNDS = 15
BUDGET = 0.20


def _load() -> list[tuple[bytes, bytes | None]]:
    out = []
    with TELEGRAMS.open(encoding="utf-8") as handle:
        for line in handle:
            item: dict[str, Any] = json.loads(line)
            key = item.get("key", "NOKEY")
            out.append((bytes.fromhex(item["telegram"]),
                        None if key == "NOKEY" else bytes.fromhex(key)))
    return out


def main() -> None:
    """Print telegrams/s without and with profiles, and the overhead against the budget."""
    if not TELEGRAMS.exists():
        print(f"profiles benchmark skipped: corpus not found at {TELEGRAMS}")
        return
    import mbus
    import profiles
    import wmbus

    library = profiles.shipped_meter_profiles()
    telegrams = []
    for data, key in _load():
        try:
            wmbus.decode(data, key)
        except (wmbus.WMBusError, mbus.MBusError):
            continue
        telegrams.append((data, key))
    plain = wmbus.Decoder(profiles=False).decode
    named = wmbus.Decoder(profiles=library).decode
    matched = sum(named(data, key).meter.profile is not None  # type: ignore[union-attr]
                  for data, key in telegrams)

    def run(decode: Callable[[bytes, bytes | None], wmbus.Telegram]) -> Callable[[], None]:
        def go() -> None:
            for data, key in telegrams:
                decode(data, key).to_dict()
        return go

    best = _interleaved({"without": run(plain), "with": run(named)})
    n = len(telegrams)
    overhead = best["with"] / best["without"] - 1
    print(f"corpus: {n} telegrams decode; {len(library)} shipped meter profiles; "
          f"{matched} telegrams matched a profile, {n - matched} got generic names")
    print(f"decode + to_dict, no profiles:    {n / best['without']:10.0f} telegrams/s warm")
    print(f"decode + to_dict, with profiles:  {n / best['with']:10.0f} telegrams/s warm")
    print(f"profiles add {overhead * 100:.1f} % (budget {BUDGET * 100:.0f} %: "
          f"{'within' if overhead <= BUDGET else 'OVER'})")


def _interleaved(runs: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Best time of each run over ROUNDS rounds, taken in turn."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(ROUNDS):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


if __name__ == "__main__":
    main()
