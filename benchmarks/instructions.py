"""Instructions per telegram under callgrind: decode figures that machine load does not move.

    python -m benchmarks.instructions [mbus] [wmbus]

Time, wall or CPU, depends on what else runs on the machine; the number of
instructions a decoder executes does not. Each figure runs one decoder's loop in
fresh processes under valgrind's callgrind (``PYTHONHASHSEED=0``) with 0, 1 and
``1 + ROUNDS`` passes over the telegrams, after the import and one frame without
records: cold is the first pass (pass 1 minus none), warm the later ones (their
difference divided by ``ROUNDS``), per telegram. The decoders and telegrams are
those of ``bench_mbus`` and ``bench_wmbus``. Instructions are not time: the Rust
peer executes more of them per cycle than the Python interpreter does (its time
ratio has been about 0.75 of its instruction ratio here), so the ratios printed
are instruction ratios. Needs valgrind (``apt-get install valgrind``); takes a few
minutes (callgrind runs Python about 50 times slower).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import bench_mbus, bench_wmbus
from benchmarks._fresh import CORPUS, WARM_UP_FRAME

ROUNDS = 4
_ROOT = Path(__file__).resolve().parents[1]
# What each suite compares: the like-for-like pairs of the time benchmarks.
SUITES = {"mbus": ("meterkit", "meterkit.no_meter", "pymbusparser"),
          "wmbus": ("wmbus", "wmbus.no_meter", "pymbusparser")}


def _wmbus_decoder(name: str) -> Callable[[bytes, bytes | None], Any]:
    if name == "pymbusparser":
        parse = bench_wmbus._peer().parse
        parse(WARM_UP_FRAME)
        return lambda data, key: parse(data, key=key)
    import wmbus

    decode = wmbus.Decoder(profiles=name == "wmbus").decode
    return lambda data, key: decode(data, key).to_dict()


def run_passes(suite: str, name: str, passes: int, chosen: str) -> None:
    """In the process callgrind watches: set up one decoder, then ``passes`` passes."""
    if suite == "mbus":
        frames = [bench_mbus.load_frames()[int(index)] for index in chosen.split(",")]
        decode = bench_mbus.FACTORIES[name]()
        decode(WARM_UP_FRAME)
        for _ in range(passes):
            for frame in frames:
                decode(frame)
    else:
        telegrams = bench_wmbus._load()
        both = [telegrams[int(index)] for index in chosen.split(",")]
        decode_wireless = _wmbus_decoder(name)
        for _ in range(passes):
            for data, key in both:
                decode_wireless(data, key)


def _instructions(suite: str, name: str, passes: int, chosen: str) -> int:
    """Instructions callgrind counted in a fresh process doing ``passes`` passes."""
    env = {**os.environ, "PYTHONPATH": str(_ROOT), "METERKIT_CORPUS": str(CORPUS),
           "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-m", "benchmarks.instructions", "--run", suite, name, str(passes), chosen],
        capture_output=True, text=True, check=True, env=env, cwd=_ROOT)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind: {done.stderr[-500:]}")
    return int(found.group(1))


def _chosen(suite: str) -> tuple[str, int]:
    """The telegrams every decoder of the suite decodes, as indices, and their count."""
    if suite == "mbus":
        frames = bench_mbus.load_frames()
        decoders = [bench_mbus.FACTORIES[name]() for name in SUITES["mbus"]]
        indices = [index for index, frame in enumerate(frames)
                   if all(bench_mbus.accepted_frames(decode, [frame]) for decode in decoders)]
    else:
        telegrams = bench_wmbus._load()
        _, both = bench_wmbus._both(telegrams)
        indices = [telegrams.index(item) for item in both]
    return ",".join(map(str, indices)), len(indices)


def measure(suite: str) -> None:
    """Print cold and warm instructions per telegram of each decoder of ``suite``."""
    chosen, count = _chosen(suite)
    print(f"== {suite}: {count} telegrams, instructions per telegram (callgrind)")
    cold: dict[str, float] = {}
    warm: dict[str, float] = {}
    for name in SUITES[suite]:
        none, one, more = (_instructions(suite, name, passes, chosen)
                           for passes in (0, 1, 1 + ROUNDS))
        cold[name] = (one - none) / count
        warm[name] = (more - one) / (ROUNDS * count)
        print(f"{name:17} {warm[name]:10.0f} warm {cold[name]:10.0f} cold", flush=True)
    peer = "pymbusparser"
    for name in SUITES[suite][:-1]:
        print(f"{'':17} -> {peer} executes {warm[peer] / warm[name]:.2f}x the instructions of "
              f"{name} warm, {cold[peer] / cold[name]:.2f}x cold")


def main(argv: list[str] | None = None) -> None:
    """Measure the suites named in ``argv`` (all by default)."""
    wanted = argv if argv else list(SUITES)
    if shutil.which("valgrind") is None:
        print("skipped: valgrind is not installed")
        return
    if not (CORPUS / "libmbus").exists():
        print(f"skipped: corpus not found at {CORPUS}")
        return
    for suite in wanted:
        measure(suite)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run"]:
        run_passes(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        main(sys.argv[1:])
