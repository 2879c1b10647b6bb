"""Cold figures: each decoder in fresh processes, each telegram decoded once.

A warm figure (the same telegrams over and over) measures a decoder whose
caches are full. A cold figure measures first sight: a new process imports
the decoder (not timed), then decodes every telegram once, and reports the
seconds that took. The median over several processes is the figure.

Both figures are process time (``time.process_time``), not wall time: on a
machine shared with other work, wall time also counts the moments a process
waits for a CPU (the ratios swung from 1.2x to 3.2x between runs of the same
code); CPU time leaves those out, though it still varies with what shares the
caches. Every decoder compared runs in one thread of the measuring process.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

__all__ = ["CORPUS", "WARM_UP_FRAME", "cold_seconds"]

# ../shared/corpus beside the repository; METERKIT_CORPUS names another place (a worktree).
CORPUS = Path(os.environ.get("METERKIT_CORPUS")
              or Path(__file__).resolve().parents[2] / "shared" / "corpus")
PROCESSES = 9


# A long frame with a header and no records (no record layout is seen): each cold pass
# decodes it once before the clock starts, so that one-time set-up on a decoder's first
# call (pymbusparser spends about 1.5 ms there) does not count as decoding.
WARM_UP_FRAME = bytes.fromhex("680f0f68080172785634122e28010700000000ed16")


def cold_seconds(module: str, names: list[str], processes: int = PROCESSES,
                 extra: tuple[str, ...] = ()) -> dict[str, float]:
    """Median seconds of one cold pass per decoder name.

    Runs ``python -m MODULE --cold NAME *EXTRA`` ``processes`` times per name, the
    names taken in turn so that machine load weighs on all alike; each run
    prints the process-time seconds of its timed pass on its last line.
    """
    times: dict[str, list[float]] = {name: [] for name in names}
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root, "METERKIT_CORPUS": str(CORPUS)}
    for _ in range(processes):
        for name in names:
            done = subprocess.run([sys.executable, "-m", module, "--cold", name, *extra],
                                  capture_output=True, text=True, check=True, env=env, cwd=root)
            times[name].append(float(done.stdout.split()[-1]))
    return {name: statistics.median(values) for name, values in times.items()}
