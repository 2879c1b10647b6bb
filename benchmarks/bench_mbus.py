"""Decode speed of the libmbus test corpus: meterkit vs pymbusparser vs pyMeterBus, same run.

Each decoder does the full job: meterkit ``mbus.decode(b).to_dict()``; pymbusparser
``pymbusparser.parse(b)`` (a Rust parser returning a dict); pyMeterBus
``meterbus.load(b)`` plus every record's value and unit. Frames a decoder
rejects are left out of its own count and reported.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mbus

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "libmbus" / "test-frames"
ROUNDS = 3
MIN_SECONDS = 1.0


def load_frames() -> list[bytes]:
    """The 76 libmbus test frames as bytes."""
    return [bytes.fromhex(re.sub(r"\s+", "", p.read_text(encoding="utf-8")))
            for p in sorted(CORPUS.glob("*.hex"))]


def meterkit(frame: bytes) -> Any:
    """meterkit: decode and build the JSON-able document."""
    return mbus.decode(frame).to_dict()


def _pymbusparser() -> Callable[[bytes], Any] | None:
    try:
        import pymbusparser
    except ImportError:
        return None
    parse: Callable[[bytes], Any] = pymbusparser.parse
    return parse


def _pymeterbus() -> Callable[[bytes], Any] | None:
    try:
        import meterbus
    except ImportError:
        return None

    def decode(frame: bytes) -> Any:
        telegram = meterbus.load(frame)
        return [(record.value, record.unit) for record in telegram.body.bodyPayload.records]

    return decode


def rate(decode: Callable[[bytes], Any], frames: list[bytes]) -> tuple[float, int]:
    """Telegrams per second over the frames the decoder accepts (best of ROUNDS)."""
    accepted = []
    for frame in frames:
        try:
            decode(frame)
        except Exception:  # a peer's failure is counted, not raised
            continue
        accepted.append(frame)
    best = 0.0
    for _ in range(ROUNDS):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < MIN_SECONDS:
            for frame in accepted:
                decode(frame)
            count += len(accepted)
        best = max(best, count / elapsed)
    return best, len(frames) - len(accepted)


def main() -> None:
    """Print telegrams/s for each decoder and the ratios."""
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} is absent")
        return
    frames = load_frames()
    ours, ours_failed = rate(meterkit, frames)
    print(f"meterkit      {ours:10.0f} telegrams/s  ({ours_failed} of {len(frames)} rejected)")
    for name, factory in (("pymbusparser", _pymbusparser), ("pyMeterBus", _pymeterbus)):
        decode = factory()
        if decode is None:
            print(f"{name:13} not installed (pip install meterkit[bench])")
            continue
        theirs, failed = rate(decode, frames)
        print(f"{name:13} {theirs:10.0f} telegrams/s  ({failed} of {len(frames)} rejected)"
              f"  -> meterkit is {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
