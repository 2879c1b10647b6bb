"""wmbus: decrypt + decode of the wireless dev corpus, telegrams/s, beside pymbusparser.

Both decoders get the same telegrams (those both decode without an error) and
keys, in the same run. ``wmbus`` is timed as ``decode`` alone and as
``decode(...).to_dict()`` (pymbusparser returns a dict, so the latter is the
like-for-like figure behind the ratio). A telegram makes its ``Record`` objects
only when ``records`` is read; ``decode + records`` reads them, every record's
Python value too, for code that works with Records instead of dicts.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mbus
import wmbus

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "wmbus" / "dev.jsonl"
ROUNDS = 15


def _load() -> list[tuple[bytes, bytes | None]]:
    out = []
    with CORPUS.open(encoding="utf-8") as handle:
        for line in handle:
            item: dict[str, Any] = json.loads(line)
            key = item.get("key", "NOKEY")
            out.append((bytes.fromhex(item["telegram"]),
                        None if key == "NOKEY" else bytes.fromhex(key)))
    return out


def main() -> None:
    """Print telegrams/s of wmbus and pymbusparser on the telegrams both decode."""
    if not CORPUS.exists():
        print(f"wmbus benchmark skipped: corpus not found at {CORPUS}")
        return
    telegrams = _load()
    ours = []
    for data, key in telegrams:
        try:
            wmbus.decode(data, key)
        except (wmbus.WMBusError, mbus.MBusError):
            continue
        ours.append((data, key))
    pymbusparser: Any
    try:  # an optional peer (the bench extra): typed as Any whether installed or not
        pymbusparser = importlib.import_module("pymbusparser")
    except ModuleNotFoundError:
        pymbusparser = None
    both = []
    if pymbusparser is not None:
        for data, key in ours:
            try:
                pymbusparser.parse(data, key=key)
            except Exception:  # any failure of the peer excludes the telegram
                continue
            both.append((data, key))
    else:
        both = ours

    # One decoder for the whole run, as a receiver uses it (it learns format signatures).
    decode = wmbus.Decoder().decode

    def run_decode() -> None:
        for data, key in both:
            decode(data, key)

    def run_to_dict() -> None:
        for data, key in both:
            decode(data, key).to_dict()

    def run_values() -> None:
        for data, key in both:
            for record in decode(data, key).records:
                record.value  # noqa: B018 - the Python value is the work measured

    n = len(both)
    runs: dict[str, Callable[[], None]] = {"decode": run_decode, "to_dict": run_to_dict,
                                           "values": run_values}
    if pymbusparser is not None:
        parse = pymbusparser.parse

        def run_peer() -> None:
            for data, key in both:
                parse(data, key=key)

        runs["peer"] = run_peer
    best = _interleaved(runs)
    print(f"corpus: {len(telegrams)} telegrams; wmbus decodes {len(ours)} one by one (no "
          f"learned signatures); both decode {n}")
    print(f"wmbus decode:            {n / best['decode']:10.0f} telegrams/s")
    print(f"wmbus decode + to_dict:  {n / best['to_dict']:10.0f} telegrams/s")
    print(f"wmbus decode + records:  {n / best['values']:10.0f} telegrams/s  (Record objects "
          "with their Python values)")
    if pymbusparser is None:
        print("pymbusparser not installed (pip install meterkit[bench]): no comparison")
        return
    print(f"pymbusparser.parse:      {n / best['peer']:10.0f} telegrams/s")
    print(f"ratio wmbus/pymbusparser: decode {best['peer'] / best['decode']:.2f}x, "
          f"decode + to_dict {best['peer'] / best['to_dict']:.2f}x (target >= 1.5x), "
          f"decode + records {best['peer'] / best['values']:.2f}x")


def _interleaved(runs: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Best time of each run over ROUNDS rounds, taken in turn (a shared machine's load
    then weighs on all of them alike)."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(ROUNDS):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


if __name__ == "__main__":
    main()
