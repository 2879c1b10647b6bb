"""Decode speed of the libmbus test corpus: meterkit vs pymbusparser vs pyMeterBus, same run.

Each decoder does the full job: meterkit ``mbus.decode(b).to_dict()``; pymbusparser
``pymbusparser.parse(b)`` (a Rust parser returning a dict); pyMeterBus
``meterbus.load(b)`` plus every record's value and unit. Frames a decoder
rejects are left out of its own count and reported.

A telegram makes its ``Record`` objects only when ``records`` is read, which
``to_dict()`` does not need. The line ``meterkit.values`` reads them, with every
record's Python value (int, Decimal, datetime) and unit, as the pyMeterBus
line does: the figure for code that works with Records instead of dicts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mbus

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "libmbus" / "test-frames"
ROUNDS = 7
ROUND_SECONDS = 0.4


def load_frames() -> list[bytes]:
    """The 76 libmbus test frames as bytes."""
    return [bytes.fromhex(re.sub(r"\s+", "", p.read_text(encoding="utf-8")))
            for p in sorted(CORPUS.glob("*.hex"))]


def meterkit(frame: bytes) -> Any:
    """meterkit: decode and build the JSON-able document."""
    return mbus.decode(frame).to_dict()


def meterkit_values(frame: bytes) -> Any:
    """meterkit: decode, then every record's Python value and unit (Records are made)."""
    return [(record.value, record.unit) for record in mbus.decode(frame).records]


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


def accepted_frames(decode: Callable[[bytes], Any], frames: list[bytes]) -> list[bytes]:
    """The frames a decoder decodes without raising."""
    accepted = []
    for frame in frames:
        try:
            decode(frame)
        except Exception:  # a peer's failure is counted, not raised
            continue
        accepted.append(frame)
    return accepted


def one_round(decode: Callable[[bytes], Any], frames: list[bytes]) -> float:
    """Telegrams per second over ROUND_SECONDS."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < ROUND_SECONDS:
        for frame in frames:
            decode(frame)
        count += len(frames)
    return count / elapsed


def main() -> None:
    """Print telegrams/s for each decoder and the ratios (best of interleaved rounds)."""
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} is absent")
        return
    frames = load_frames()
    decoders: dict[str, Callable[[bytes], Any]] = {"meterkit": meterkit,
                                                   "meterkit.values": meterkit_values}
    for name, factory in (("pymbusparser", _pymbusparser), ("pyMeterBus", _pymeterbus)):
        peer = factory()
        if peer is None:
            print(f"{name:13} not installed (pip install meterkit[bench])")
        else:
            decoders[name] = peer
    accepted = {name: accepted_frames(decode, frames) for name, decode in decoders.items()}
    best = dict.fromkeys(decoders, 0.0)
    for _ in range(ROUNDS):  # interleaved, so that every decoder sees the same machine load
        for name, decode in decoders.items():
            best[name] = max(best[name], one_round(decode, accepted[name]))
    ours, values = best["meterkit"], best["meterkit.values"]
    for name in decoders:
        rejected = len(frames) - len(accepted[name])
        line = f"{name:15} {best[name]:10.0f} telegrams/s  ({rejected} of {len(frames)} rejected)"
        if not name.startswith("meterkit"):
            line += (f"  -> meterkit is {ours / best[name]:.2f}x"
                     f" (meterkit.values {values / best[name]:.2f}x)")
        print(line)


if __name__ == "__main__":
    main()
