"""SQLiteHistory under kill -9: a committed batch is never lost, nor stored twice.

A child process appends numbered batches and prints each one once ``append`` returned;
the test kills it with SIGKILL at a random moment (often in the middle of a write),
reopens the file, and checks: every batch the child reported is there, each reading
once, the batch in flight is all there or not at all, and the file passes SQLite's
integrity check. Then the next child re-sends the last batch and carries on.
``METERKIT_KILL_ROUNDS`` sets the rounds (default 10; ``make soak`` runs 150),
``METERKIT_KILL_SEED`` replays a run.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gateway.history import SQLiteHistory

from .history_kill_child import POINTS, batch

ROUNDS = int(os.environ.get("METERKIT_KILL_ROUNDS", "10"))
SEED = int(os.environ.get("METERKIT_KILL_SEED", str(random.randrange(1 << 30))))
ROOT = Path(__file__).resolve().parents[2]


def test_kill_9_loses_and_duplicates_no_committed_batch(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    path = tmp_path / "history.sqlite"
    next_batch = 0
    reported = -1
    for round_number in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.gateway.history_kill_child", str(path),
             str(next_batch)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert child.stdout is not None
        wanted = rng.randrange(1, 40)
        for _ in range(wanted):  # let it commit a few, then kill it at a random moment
            line = child.stdout.readline().decode()
            assert line.startswith("committed "), (line, child.stderr.read() if child.stderr
                                                   else b"")
            reported = int(line.split()[1])
        time.sleep(rng.random() * 0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        # Lines printed after the last one read are commits too.
        for line in child.stdout.read().decode().splitlines():
            reported = int(line.split()[1])
        child.stdout.close()
        assert child.stderr is not None
        child.stderr.close()

        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        with SQLiteHistory(path) as history:
            per_time: dict[int, int] = {}
            for point in history.points():
                for reading in history.readings(point):
                    minute = int((reading.time - batch(0)[0].time).total_seconds() // 60)
                    per_time[minute] = per_time.get(minute, 0) + 1
        message = f"seed {SEED}, round {round_number}"
        assert all(count == POINTS for count in per_time.values()), message
        stored = sorted(per_time)
        assert stored == list(range(len(stored))), message  # no gap, nothing twice
        # Everything reported is there; at most the one in flight beyond it.
        assert reported + 1 <= len(stored) <= reported + 2, message
        next_batch = len(stored)
