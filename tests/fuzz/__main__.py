"""``python -m tests.fuzz`` (``make fuzz``): a time-boxed fuzz campaign over every target.

Each target (a test of tests/fuzz) gets an equal share of ``FUZZ_SECONDS`` (default 300)
in its own pytest process with the ``fuzz`` hypothesis profile and a random seed; at the
end of its share the process is interrupted (SIGINT). ``FUZZ_INPUT_SECONDS`` (default 10)
is the time after which one input counts as a hang. A crash does not stop its target: it
is logged and fuzzing goes on. At the end the inputs run per target and the distinct
crash sites (exception type and innermost frame in our packages) are listed, with the
shortest input of each. Exit status 1 when there is any crash site.

Options: ``-k EXPRESSION`` (pytest) fuzzes some targets only.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def targets(select: str | None) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider",
               "tests/fuzz"] + (["-k", select] if select else [])
    listing = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in listing.stdout.splitlines() if "::" in line]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", dest="select", help="pytest -k expression (some targets only)")
    args = parser.parse_args(argv)
    budget = float(os.environ.get("FUZZ_SECONDS", "300"))
    chosen = targets(args.select)
    share = budget / max(len(chosen), 1)
    with tempfile.TemporaryDirectory() as scratch:
        log, stats = Path(scratch) / "crashes.jsonl", Path(scratch) / "stats.jsonl"
        env = {**os.environ, "HYPOTHESIS_PROFILE": "fuzz", "FUZZ_CRASH_LOG": str(log),
               "FUZZ_STATS": str(stats), "FUZZ_KEEP_GOING": "1",
               "FUZZ_EXAMPLES": os.environ.get("FUZZ_EXAMPLES", "100000000"),
               "FUZZ_INPUT_SECONDS": os.environ.get("FUZZ_INPUT_SECONDS", "10")}
        env.pop("CI", None)  # the campaign's profile, not the CI smoke round
        for target in chosen:
            seed = random.randrange(2**32)
            print(f"fuzz: {target} for {share:.0f} s (seed {seed})", flush=True)
            process = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                 "-W", "ignore::DeprecationWarning", f"--hypothesis-seed={seed}", target],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                process.wait(share)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGINT)  # pytest stops; the harness writes stats
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        return report(log, stats, budget)


def report(log: Path, stats: Path, budget: float) -> int:
    runs: collections.Counter[str] = collections.Counter()
    if stats.exists():
        for line in stats.read_text(encoding="utf-8").splitlines():
            runs.update(json.loads(line))
    sites: dict[tuple[str, str], dict[str, str]] = {}
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            crash = json.loads(line)
            key = (crash["type"], crash["site"])
            if key not in sites or len(crash["input"]) < len(sites[key]["input"]):
                sites[key] = crash
    print(f"fuzz: {sum(runs.values())} inputs in {budget:.0f} s:")
    for target, count in sorted(runs.items()):
        print(f"  {count:>9}  {target}")
    print(f"fuzz: {len(sites)} distinct crash site(s)")
    for (kind, site), crash in sorted(sites.items(), key=lambda item: item[0][1]):
        print(f"\n{kind} at {site}\n  target: {crash['target']}\n  message: "
              f"{crash['message']}\n  input: {crash['input'][:600]}")
    return 1 if sites else 0


if __name__ == "__main__":
    sys.exit(main())
