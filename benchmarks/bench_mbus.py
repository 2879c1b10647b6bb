"""Decode speed of the libmbus test corpus: meterkit vs pymbusparser vs pyMeterBus, same run.

Like for like, each pair does the same job:

* ``meterkit.no_meter`` ``mbus.decode(b, profiles=False).to_dict()`` against
  ``pymbusparser`` ``parse(b)`` (a Rust parser that returns the whole telegram as a dict:
  frame, header, records; it makes no ``meter`` part);
* ``meterkit``: the same with the ``meter`` part of the device profiles (the default),
  which pymbusparser does not make: the difference shows what the profiles cost (their
  budget is ``bench_profiles``');
* ``meterkit.values`` (decode, then every Record's Python value and unit) against
  ``pyMeterBus`` ``meterbus.load(b)`` plus every record's value and unit.

Two figures per decoder: warm (the 76 frames over and over, caches full; best of
interleaved rounds) and cold (a fresh process per run, import and the first call on a
frame without records not timed, each frame decoded once; median over several
processes). Frames a decoder rejects are left
out of its own count and reported.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks._fresh import CORPUS, WARM_UP_FRAME, cold_seconds

FRAMES = CORPUS / "libmbus" / "test-frames"
ROUNDS = 7
ROUND_SECONDS = 0.4
# Which meterkit figures each peer is compared with (the first does the same job).
PEERS = {"pymbusparser": ("meterkit.no_meter", "meterkit"), "pyMeterBus": ("meterkit.values",)}


def load_frames() -> list[bytes]:
    """The 76 libmbus test frames as bytes."""
    return [bytes.fromhex(re.sub(r"\s+", "", p.read_text(encoding="utf-8")))
            for p in sorted(FRAMES.glob("*.hex"))]


def _meterkit() -> Callable[[bytes], Any]:
    import mbus

    def decode(frame: bytes) -> Any:
        return mbus.decode(frame).to_dict()

    return decode


def _meterkit_no_meter() -> Callable[[bytes], Any]:
    import mbus

    def decode(frame: bytes) -> Any:
        return mbus.decode(frame, profiles=False).to_dict()

    return decode


def _meterkit_values() -> Callable[[bytes], Any]:
    import mbus

    def decode(frame: bytes) -> Any:
        return [(record.value, record.unit) for record in mbus.decode(frame).records]

    return decode


def _pymbusparser() -> Callable[[bytes], Any]:
    import pymbusparser

    parse: Callable[[bytes], Any] = pymbusparser.parse
    return parse


def _pymeterbus() -> Callable[[bytes], Any]:
    import meterbus

    def decode(frame: bytes) -> Any:
        telegram = meterbus.load(frame)
        return [(record.value, record.unit) for record in telegram.body.bodyPayload.records]

    return decode


FACTORIES: dict[str, Callable[[], Callable[[bytes], Any]]] = {
    "meterkit": _meterkit, "meterkit.no_meter": _meterkit_no_meter,
    "meterkit.values": _meterkit_values,
    "pymbusparser": _pymbusparser, "pyMeterBus": _pymeterbus,
}


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
    """Telegrams per second of process time, over ROUND_SECONDS of it."""
    count, start = 0, time.process_time()
    while (elapsed := time.process_time() - start) < ROUND_SECONDS:
        for frame in frames:
            decode(frame)
        count += len(frames)
    return count / elapsed


def cold_pass(name: str) -> None:
    """In a fresh process: decode each frame once with one decoder; print the seconds.

    The frames are read, the decoder imported and given a frame without records
    (``WARM_UP_FRAME``) before the clock starts. A frame the decoder rejects is
    skipped, as in the warm figure.
    """
    frames = load_frames()
    decode = FACTORIES[name]()
    decode(WARM_UP_FRAME)
    start = time.process_time()
    for frame in frames:
        try:
            decode(frame)
        except Exception:  # a peer's rejection; it is counted in the warm run
            continue
    print(time.process_time() - start)


def main() -> None:
    """Print warm and cold telegrams/s for each decoder and the like-for-like ratios."""
    if not FRAMES.exists():
        print(f"skipped: {FRAMES} is absent")
        return
    frames = load_frames()
    decoders: dict[str, Callable[[bytes], Any]] = {}
    for name, factory in FACTORIES.items():
        try:
            decoders[name] = factory()
        except ImportError:
            print(f"{name:17} not installed (pip install meterkit[bench])")
    accepted = {name: accepted_frames(decode, frames) for name, decode in decoders.items()}
    warm = dict.fromkeys(decoders, 0.0)
    for _ in range(ROUNDS):  # interleaved, so that every decoder sees the same machine load
        for name, decode in decoders.items():
            warm[name] = max(warm[name], one_round(decode, accepted[name]))
    seconds = cold_seconds("benchmarks.bench_mbus", list(decoders))
    cold = {name: len(accepted[name]) / seconds[name] for name in decoders}
    print(f"{'':17} {'warm':>10} {'cold':>10}  telegrams per CPU second (cold: fresh process, "
          "each frame once, median)")
    for name in decoders:
        rejected = len(frames) - len(accepted[name])
        line = (f"{name:17} {warm[name]:10.0f} {cold[name]:10.0f}"
                f"  ({rejected} of {len(frames)} rejected)")
        print(line)
        for ours in PEERS.get(name, ()):
            if ours in decoders:
                print(f"{'':17} -> {ours} is {warm[ours] / warm[name]:.2f}x warm,"
                      f" {cold[ours] / cold[name]:.2f}x cold")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--cold"]:
        cold_pass(sys.argv[2])
    else:
        main()
