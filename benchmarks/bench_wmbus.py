"""wmbus: decrypt + decode of the wireless dev corpus, telegrams/s, beside pymbusparser.

Both decoders get the same telegrams (those both decode without an error) and
keys, in the same run. ``wmbus`` is timed as ``decode`` alone and as
``decode(...).to_dict()``. ``to_dict without meter`` leaves out the ``meter`` part
(``profiles=False``): pymbusparser returns the telegram as a dict (layers, records) and makes
no meter part, so this is the like-for-like figure behind the ratio and its target; the
difference to the full ``to_dict()`` is what the device profiles cost, whose budget
``bench_profiles`` checks. ``decode + records`` reads every Record's Python value too,
for code that works with Records instead of dicts.

Two figures: warm (the telegrams over and over through one ``wmbus.Decoder``,
caches full; best of interleaved rounds) and cold (a fresh process per run,
import not timed, each telegram decoded once by a new ``wmbus.Decoder``; median
over several processes).
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks._corpus import WMBUS_DEV, load_wmbus_dev
from benchmarks._fresh import WARM_UP_FRAME, cold_seconds

TELEGRAMS = WMBUS_DEV
ROUNDS = 15
_load = load_wmbus_dev  # the corpus as bench_profiles and benchmarks.instructions read it


def _peer() -> Any:
    try:  # an optional peer (the bench extra): typed as Any whether installed or not
        return importlib.import_module("pymbusparser")
    except ModuleNotFoundError:
        return None


def _both(telegrams: list[tuple[bytes, bytes | None]]) -> tuple[list[Any], list[Any]]:
    """The telegrams wmbus decodes, and of those the ones pymbusparser decodes too."""
    import mbus
    import wmbus

    ours = []
    for data, key in telegrams:
        try:
            wmbus.decode(data, key)
        except (wmbus.WMBusError, mbus.MBusError):
            continue
        ours.append((data, key))
    pymbusparser = _peer()
    if pymbusparser is None:
        return ours, ours
    both = []
    for data, key in ours:
        try:
            pymbusparser.parse(data, key=key)
        except Exception:  # any failure of the peer excludes the telegram
            continue
        both.append((data, key))
    return ours, both


def cold_pass(name: str, chosen: str) -> None:
    """In a fresh process: decode each telegram once (``wmbus`` to_dict or the peer).

    ``chosen`` are the corpus lines both decoders decode (comma-separated indices,
    picked by the parent process: picking them here would fill the caches).
    The peer gets ``WARM_UP_FRAME`` (no records) before the clock starts, to leave
    out its one-time set-up on the first call; wmbus gets no such help.
    """
    telegrams = _load()
    both = [telegrams[int(index)] for index in chosen.split(",")]
    if name == "wmbus":
        import wmbus

        decode = wmbus.Decoder().decode
        start = time.process_time()
        for data, key in both:
            decode(data, key).to_dict()
    else:
        parse = _peer().parse
        parse(WARM_UP_FRAME)
        start = time.process_time()
        for data, key in both:
            parse(data, key=key)
    print(time.process_time() - start)


def main() -> None:
    """Print warm and cold telegrams/s of wmbus and pymbusparser on the telegrams both decode."""
    if not TELEGRAMS.exists():
        print(f"wmbus benchmark skipped: corpus not found at {TELEGRAMS}")
        return
    import wmbus

    telegrams = _load()
    ours, both = _both(telegrams)
    pymbusparser = _peer()
    # One decoder for the whole run, as a receiver uses it (it learns format signatures).
    decode = wmbus.Decoder().decode
    decode_no_meter = wmbus.Decoder(profiles=False).decode

    def run_decode() -> None:
        for data, key in both:
            decode(data, key)

    def run_to_dict() -> None:
        for data, key in both:
            decode(data, key).to_dict()

    def run_no_meter() -> None:
        for data, key in both:
            decode_no_meter(data, key).to_dict()

    def run_values() -> None:
        for data, key in both:
            for record in decode(data, key).records:
                record.value  # noqa: B018 - the Python value is the work measured

    n = len(both)
    runs: dict[str, Callable[[], None]] = {"decode": run_decode, "to_dict": run_to_dict,
                                           "no_meter": run_no_meter, "values": run_values}
    if pymbusparser is not None:
        parse = pymbusparser.parse

        def run_peer() -> None:
            for data, key in both:
                parse(data, key=key)

        runs["peer"] = run_peer
    best = _interleaved(runs)
    print(f"corpus: {len(telegrams)} telegrams; wmbus decodes {len(ours)} one by one (no "
          f"learned signatures); both decode {n}; telegrams/s are per CPU second (process "
          "time)")
    print(f"wmbus decode:            {n / best['decode']:10.0f} telegrams/s warm")
    print(f"wmbus decode + records:  {n / best['values']:10.0f} telegrams/s warm  (Record "
          "objects with their Python values)")
    names = ["wmbus"] + (["pymbusparser"] if pymbusparser is not None else [])
    chosen = ",".join(str(telegrams.index(item)) for item in both)
    cold = {name: n / seconds for name, seconds in
            cold_seconds("benchmarks.bench_wmbus", names, extra=(chosen,)).items()}
    print(f"wmbus decode + to_dict:  {n / best['to_dict']:10.0f} telegrams/s warm, "
          f"{cold['wmbus']:10.0f} cold (fresh process, each telegram once, median)")
    print(f"  without the meter part: {n / best['no_meter']:10.0f} telegrams/s warm  "
          "(profiles=False)")
    if pymbusparser is None:
        print("pymbusparser not installed (pip install meterkit[bench]): no comparison")
        return
    print(f"pymbusparser.parse:      {n / best['peer']:10.0f} telegrams/s warm, "
          f"{cold['pymbusparser']:10.0f} cold")
    print(f"ratio wmbus/pymbusparser: to_dict without the meter part "
          f"{best['peer'] / best['no_meter']:.2f}x warm (like for like: the same dict; "
          f"target >= 1.5x); with the meter part {best['peer'] / best['to_dict']:.2f}x "
          f"warm, {cold['wmbus'] / cold['pymbusparser']:.2f}x cold (the meter part's budget "
          f"is bench_profiles'); decode alone {best['peer'] / best['decode']:.2f}x, "
          f"decode + records {best['peer'] / best['values']:.2f}x warm")


def _interleaved(runs: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Best time of each run over ROUNDS rounds, taken in turn (a shared machine's load
    then weighs on all of them alike)."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(ROUNDS):
        for name, run in runs.items():
            start = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - start)
    return best


if __name__ == "__main__":
    if sys.argv[1:2] == ["--cold"]:
        cold_pass(sys.argv[2], sys.argv[3])
    else:
        main()
