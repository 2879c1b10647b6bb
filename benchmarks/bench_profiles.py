"""profiles: what meter profiles add to decrypt + decode + to_dict on the wireless dev corpus.

The same telegrams (those ``wmbus`` decodes) through two ``wmbus.Decoder`` objects,
one with ``profiles=False`` and one with meterkit's shipped profiles (the default:
a profile's fields where one matches, generic names elsewhere), each telegram
decoded and made into its ``to_dict()``. The budget (issue 14): profiles add at
most 20 %. For reference, a third decoder names every telegram's records with generic
names only (``profiles=profiles.MeterProfiles()``, no profile loaded): what the meter
part costs before any profile matches.

Figures: wall-clock telegrams/s (rounds interleaved, the best of each kept), in
two orders: the corpus in turn (each telegram from another meter than the one
before it, as a receiver of many meters sees them: each telegram finds what its
meter's structure keeps, and the code that reads it, out of the processor's
caches), and each telegram repeated alone (HOT_REPEATS times, the best of
HOT_BEST kept: caches hot); and, where valgrind is installed, instructions per
telegram counted by callgrind,
which the load of a shared machine does not change. Each mode runs in a child
process three times: set up only (corpus read, decoder made, shipped profiles
loaded), then with one pass over the telegrams and 1 warm round after it, then
with 5 warm rounds. Warm: the difference of the last two over 4 rounds; cold
(each telegram's first sight: plans made, caches filled): the first pass, i.e.
the second run less the set-up and one warm round. The child does not decode
anything before its pass: the parent chooses the telegrams that decode and
passes their places in the corpus.
``python -m benchmarks.bench_profiles --loop MODE N PLACES`` is that child: the
telegrams at PLACES (comma-separated), with (``with``) or without (``without``)
profiles, or with generic names only (``generic``), one first pass and N warm rounds
(N = -1: set up only).

``python -m benchmarks.bench_profiles --only NAME[,NAME...]`` gives the instruction
counts (warm and cold, without and with profiles) of the telegrams that the named
profiles match (``generic``: those no profile matches): what a speed trick for those
telegrams cites as its end-to-end figure.

``python -m benchmarks.bench_profiles --cache`` counts what the wall-clock figures
of the corpus in turn pay for and instruction counts do not show: cache misses per
warm telegram without and with profiles, simulated by cachegrind for the caches of
:data:`CACHES` (L1 instruction and data, and a last level the size of an L2), over
the same child runs as the instruction counts (the first and the last of them).

``python -m benchmarks.bench_profiles --by-kind`` says where the warm cost lies: the
telegrams grouped by what their matched profile does (:func:`profile_kind`: ``L``
layouts, ``F`` formulas, ``R`` fields read by status tables, ``S`` status tables,
``plain`` fields only, ``generic`` no profile), and per kind the instructions per
warm telegram without and with profiles and what profiles add. One callgrind run
counts all of them: its child (``--kinds-loop``) calls ``os.getppid`` between the
measured stretches, and callgrind writes the count so far before each such call
(``--dump-before``). These counts cover the decode loop only (no set-up): they come
out about 2 points under the main figure.

``python -m benchmarks.bench_profiles --by-profile`` counts the same per matched profile
(``generic``: no profile matched), the profiles that add most to the corpus as a whole
first: the last column is what a profile's telegrams add, spread over every telegram
of the corpus (the columns sum to the ALL row's ``added``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks._corpus import WMBUS_DEV, load_wmbus_dev

if TYPE_CHECKING:
    from profiles import MeterProfile

ROUNDS = 15
HOT_REPEATS = 50  # decodes of one telegram in a row, for the hot wall-clock figure
HOT_BEST = 5
BUDGET = 0.20
KIND_ROUNDS = 2  # warm rounds per kind and mode in --by-kind
# --cache's simulated caches (size, ways, line): this machine's L1s (32 KiB each) and its
# 1 MiB L2 as the last level, whose misses go to the shared L3.
CACHES = ("--I1=32768,8,64", "--D1=32768,8,64", "--LL=1048576,16,64")
_CACHE_EVENTS = {"I1  misses": "L1 instruction misses", "D1  misses": "L1 data misses",
                 "LLd misses": "L2 data misses", "LLi misses": "L2 instruction misses"}


def _telegrams() -> list[tuple[bytes, bytes | None]]:
    """The corpus telegrams wmbus decodes without an error."""
    corpus = load_wmbus_dev()
    return [corpus[place] for place in _decoding_places(corpus)]


def _decoding_places(corpus: list[tuple[bytes, bytes | None]]) -> list[int]:
    """The places in ``corpus`` of the telegrams wmbus decodes without an error."""
    import mbus
    import wmbus

    places = []
    for place, (data, key) in enumerate(corpus):
        try:
            wmbus.decode(data, key)
        except (wmbus.WMBusError, mbus.MBusError):
            continue
        places.append(place)
    return places


def _rounds(decode: Callable[[bytes, bytes | None], object],
            telegrams: list[tuple[bytes, bytes | None]]) -> Callable[[], None]:
    def go() -> None:
        for data, key in telegrams:
            decode(data, key).to_dict()  # type: ignore[attr-defined]
    return go


def main() -> None:
    """Print telegrams/s without and with profiles, the overhead against the budget, and
    the instruction counts where valgrind is there."""
    if not WMBUS_DEV.exists():
        print(f"profiles benchmark skipped: corpus not found at {WMBUS_DEV}")
        return
    import profiles
    import wmbus

    library = profiles.shipped_meter_profiles()
    telegrams = _telegrams()
    plain = wmbus.Decoder(profiles=False).decode
    named = wmbus.Decoder(profiles=library).decode
    generic_only = wmbus.Decoder(profiles=profiles.MeterProfiles()).decode
    matched = sum(named(data, key).meter.profile is not None  # type: ignore[union-attr]
                  for data, key in telegrams)
    best = _interleaved({"without": _rounds(plain, telegrams),
                         "with": _rounds(named, telegrams),
                         "generic": _rounds(generic_only, telegrams)})
    n = len(telegrams)
    overhead = best["with"] / best["without"] - 1
    print(f"corpus: {n} telegrams decode; {len(library)} shipped meter profiles; "
          f"{matched} telegrams matched a profile, {n - matched} got generic names")
    print(f"decode + to_dict, no profiles:    {n / best['without']:10.0f} telegrams/s warm "
          "(corpus in turn)")
    print(f"decode + to_dict, with profiles:  {n / best['with']:10.0f} telegrams/s warm "
          "(corpus in turn)")
    print(f"profiles add {overhead * 100:.1f} % (budget {BUDGET * 100:.0f} %: "
          f"{'within' if overhead <= BUDGET else 'OVER'})")
    print(f"for reference, generic names only (no profile loaded) add "
          f"{(best['generic'] / best['without'] - 1) * 100:.1f} %")
    hot_without, hot_with = _hot(plain, telegrams), _hot(named, telegrams)
    print(f"each telegram repeated alone (caches hot): {n / hot_without:.0f} telegrams/s "
          f"without, {n / hot_with:.0f} with profiles: profiles add "
          f"{(hot_with / hot_without - 1) * 100:.1f} %")
    counts = instructions(_decoding_places(load_wmbus_dev()))
    if counts is None:
        print("instructions: valgrind not installed")
        return
    for when in ("warm", "cold"):
        without, with_ = counts[("without", when)], counts[("with", when)]
        added = with_ / without - 1
        print(f"instructions per {when} telegram (callgrind): {without:,.0f} without, "
              f"{with_:,.0f} with profiles: profiles add {added * 100:.1f} %"
              + (f" ({'within' if added <= BUDGET else 'OVER'} budget)"
                 if when == "warm" else ""))
        generic = counts[("generic", when)]
        print(f"  for reference, generic names only: {generic:,.0f}, "
              f"{(generic / without - 1) * 100:.1f} % more than without")


def only(names: set[str]) -> None:
    """Print the instructions per telegram (warm, cold) without and with profiles of the
    corpus telegrams that the profiles ``names`` match (``generic``: no profile)."""
    if _valgrind("instructions") is None:
        return
    import wmbus

    corpus = load_wmbus_dev()
    decode = wmbus.Decoder().decode
    places = [place for place in _decoding_places(corpus)
              if (decode(*corpus[place]).meter.profile  # type: ignore[union-attr]
                  or "generic") in names]
    if not places:
        print(f"no corpus telegram matches {', '.join(sorted(names))}")
        return
    counts = instructions(places)
    assert counts is not None  # valgrind is there (_valgrind)
    print(f"{len(places)} telegrams of {', '.join(sorted(names))}")
    for when in ("warm", "cold"):
        without, with_ = counts[("without", when)], counts[("with", when)]
        print(f"instructions per {when} telegram (callgrind): {without:,.0f} without, "
              f"{with_:,.0f} with profiles: profiles add {(with_ / without - 1) * 100:.1f} %")


def profile_kind(profile: MeterProfile | None) -> str:
    """What a matched profile (a :class:`profiles.MeterProfile`, None: generic names)
    does, as --by-kind groups it: ``L`` layouts, ``F`` formulas, ``R`` fields that status
    tables read, ``S`` status tables, in that order; ``plain`` none of them."""
    if profile is None:
        return "generic"
    kind = "".join(letter for letter, does in (
        ("L", profile.layouts), ("F", profile.has_formulas), ("R", profile.reads_fields),
        ("S", profile.status)) if does)
    return kind or "plain"


def by_kind(by_profile: bool = False) -> None:
    """Print the warm instructions per telegram without and with profiles for each
    :func:`profile_kind` (see the module text); with ``by_profile``, for each matched
    profile (``generic``: none), the largest share of what profiles add first."""
    valgrind = _valgrind("instructions by profile" if by_profile else "instructions by kind")
    if valgrind is None:
        return
    import profiles
    import wmbus

    library = profiles.shipped_meter_profiles()
    by_name = {profile.name: profile for profile in library.profiles}
    corpus = load_wmbus_dev()
    places = _decoding_places(corpus)
    decode = wmbus.Decoder(profiles=library).decode
    groups: dict[str, list[int]] = {}
    kinds: dict[str, str] = {}
    for place in places:
        name = decode(*corpus[place]).meter.profile or "generic"  # type: ignore[union-attr]
        kind = kinds[name] = profile_kind(by_name.get(name))
        groups.setdefault(name if by_profile else kind, []).append(place)
    groups["ALL"] = places
    order = sorted(groups)
    root = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [valgrind, "--tool=callgrind", "--dump-before=os_getppid",
             f"--callgrind-out-file={scratch}/cg.out", sys.executable, "-m",
             "benchmarks.bench_profiles", "--kinds-loop",
             ";".join(",".join(map(str, groups[group])) for group in order)],
            capture_output=True, text=True, check=True, cwd=root)
        dumps = sorted((int(path.suffix[1:]), path) for path in Path(scratch).glob("cg.out.*")
                       if path.suffix[1:].isdigit())
        counts = [_collected(path) for _, path in dumps]
    rows = []
    for number, group in enumerate(order):
        n = len(groups[group])
        # The set-up's dump, then four per group: warm-up without, rounds without, warm-up
        # with, rounds with.
        without = counts[4 * number + 2] / KIND_ROUNDS / n
        with_ = counts[4 * number + 4] / KIND_ROUNDS / n
        rows.append((group, n, without, with_, with_ - without))
    total = len(places)
    if by_profile:  # ALL first, then by share of what profiles add to the corpus
        rows.sort(key=lambda row: (row[0] != "ALL", -row[4] * row[1]))
    print(f"instructions per warm telegram by {'profile' if by_profile else 'kind'} "
          f"(callgrind, {KIND_ROUNDS} rounds; L layouts, F formulas, R fields read by status "
          "tables, S status tables)")
    label = "profile" if by_profile else "kind"
    width = max(len(label), *(len(row[0]) for row in rows))
    print(f"{label:{width}} {'' if not by_profile else 'kind    '}{'n':>4} {'without':>9} "
          f"{'with':>9} {'added':>8} {'%':>6} {'added x n':>10} {'per corpus telegram':>20}")
    for group, n, without, with_, added in rows:
        kind = "" if not by_profile else f"{kinds.get(group, ''):8}"
        print(f"{group:{width}} {kind}{n:4} {without / 1e3:8.1f}k {with_ / 1e3:8.1f}k "
              f"{added / 1e3:7.1f}k {added / without * 100:5.1f}% {added * n / 1e6:9.2f}M "
              f"{added * n / total / 1e3:19.2f}k")


def _collected(path: Path) -> int:
    """The instruction count of one callgrind dump."""
    with path.open(encoding="utf-8") as dump:
        for line in dump:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise ValueError(f"no total in {path}")


def kinds_loop(groups: list[list[int]]) -> None:
    """--by-kind's child: for each group of corpus places, without then with profiles,
    a warm-up (first pass and one round) and KIND_ROUNDS rounds, ``os.getppid()``
    after each (callgrind dumps its count there)."""
    import wmbus

    corpus = load_wmbus_dev()
    plain = wmbus.Decoder(profiles=False).decode
    named = wmbus.Decoder(profiles=True).decode
    os.getppid()  # the set-up's dump: not measured
    for places in groups:
        telegrams = [corpus[place] for place in places]
        for decode in (plain, named):
            go = _rounds(decode, telegrams)
            go()
            go()  # record layouts are learnt at the second sight (mbus.records)
            os.getppid()
            for _ in range(KIND_ROUNDS):
                go()
            os.getppid()


def _valgrind(what: str) -> str | None:
    """valgrind's path, where the corpus and valgrind are both there; else None, having
    printed why ``what`` is not measured."""
    if not WMBUS_DEV.exists():
        print(f"profiles benchmark skipped: corpus not found at {WMBUS_DEV}")
        return None
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print(f"{what}: valgrind not installed")
    return valgrind


def _loop_under(valgrind: str, options: list[str], mode: str, rounds: int,
                places: list[int]) -> str:
    """What valgrind with ``options`` reports (its standard error) on a :func:`loop` child
    (``--loop MODE ROUNDS PLACES``)."""
    done = subprocess.run(
        [valgrind, *options, sys.executable, "-m", "benchmarks.bench_profiles", "--loop",
         mode, str(rounds), ",".join(map(str, places))],
        capture_output=True, text=True, check=True,
        cwd=str(Path(__file__).resolve().parents[1]))
    return done.stderr


def cache_misses() -> None:
    """Print the simulated cache misses per warm telegram without and with profiles (see
    the module text)."""
    valgrind = _valgrind("cache misses")
    if valgrind is None:
        return
    places = _decoding_places(load_wmbus_dev())
    counts: dict[str, dict[str, float]] = {}
    for mode in ("without", "with"):
        runs = []
        for rounds in (1, 5):
            report = _loop_under(valgrind, ["--tool=cachegrind", "--cache-sim=yes", *CACHES,
                                            "--cachegrind-out-file=/dev/null"],
                                 mode, rounds, places)
            runs.append({event: int(found.group(1).replace(",", ""))
                         for event in _CACHE_EVENTS
                         if (found := re.search(event + r":\s+([\d,]+)", report))})
        first, last = runs
        counts[mode] = {event: (last[event] - first[event]) / 4 / len(places)
                        for event in first}
    print(f"simulated cache misses per warm telegram (cachegrind, {' '.join(CACHES)}):")
    for event, label in _CACHE_EVENTS.items():
        without, with_ = counts["without"][event], counts["with"][event]
        print(f"  {label:24} {without:9,.1f} without, {with_:9,.1f} with profiles: "
              f"{(with_ / without - 1) * 100:+.1f} %")


def instructions(places: list[int]) -> dict[tuple[str, str], float] | None:
    """Instructions per telegram by (mode, ``warm`` or ``cold``) for the corpus telegrams at
    ``places`` (None without valgrind)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    out = {}
    for mode in ("without", "with", "generic"):
        totals = []
        for rounds in (-1, 1, 5):
            report = _loop_under(valgrind, ["--tool=callgrind", "--callgrind-out-file=/dev/null"],
                                 mode, rounds, places)
            found = re.search(r"Collected : (\d+)", report)
            assert found is not None, report[-500:]
            totals.append(int(found.group(1)))
        set_up, first, last = totals
        warm = (last - first) / 4
        out[(mode, "warm")] = warm / len(places)
        out[(mode, "cold")] = (first - set_up - warm) / len(places)
    return out


def loop(mode: str, rounds: int, places: list[int]) -> None:
    """One first pass of decode + to_dict over the corpus telegrams at ``places``, then
    ``rounds`` warm rounds; ``rounds`` -1: set up only."""
    import profiles
    import wmbus

    corpus = load_wmbus_dev()
    telegrams = [corpus[place] for place in places]
    chosen: profiles.MeterProfiles | bool = (profiles.MeterProfiles() if mode == "generic"
                                             else mode == "with")
    decode = wmbus.Decoder(profiles=chosen).decode
    go = _rounds(decode, telegrams)
    if rounds < 0:
        return
    go()
    for _ in range(rounds):
        go()


def _hot(decode: Callable[[bytes, bytes | None], object],
         telegrams: list[tuple[bytes, bytes | None]]) -> float:
    """Seconds for one pass over ``telegrams`` where each is decoded and made into its
    ``to_dict()`` HOT_REPEATS times in a row: the best of HOT_BEST per telegram, summed."""
    total = 0.0
    for data, key in telegrams:
        best = float("inf")
        for _ in range(HOT_BEST):
            start = time.perf_counter()
            for _ in range(HOT_REPEATS):
                decode(data, key).to_dict()  # type: ignore[attr-defined]
            best = min(best, time.perf_counter() - start)
        total += best / HOT_REPEATS
    return total


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
    if sys.argv[1:2] == ["--loop"]:
        loop(sys.argv[2], int(sys.argv[3]), [int(place) for place in sys.argv[4].split(",")])
    elif sys.argv[1:2] == ["--by-kind"]:
        by_kind()
    elif sys.argv[1:2] == ["--by-profile"]:
        by_kind(by_profile=True)
    elif sys.argv[1:2] == ["--cache"]:
        cache_misses()
    elif sys.argv[1:2] == ["--only"] and len(sys.argv) == 3:
        only(set(sys.argv[2].split(",")))
    elif sys.argv[1:2] == ["--kinds-loop"]:
        kinds_loop([[int(place) for place in group.split(",")]
                    for group in sys.argv[2].split(";")])
    else:
        main()
