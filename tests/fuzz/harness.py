"""The fuzz harness: run one input through an entry point and judge what came out.

The contract every entry point keeps under hostile input: it returns, or it raises its
package's own error. Anything else (an untyped exception from deep inside, a recursion
error, an assert) is a crash. In a campaign (``make fuzz``) an input that runs longer than
``FUZZ_INPUT_SECONDS`` is a crash too (a hang or super-linear cost), every crash is
appended to ``FUZZ_CRASH_LOG`` (JSON lines) so that the campaign runner can count distinct
crash sites, and with ``FUZZ_KEEP_GOING=1`` the target goes on with the next input instead
of stopping at the first crash.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import io
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
PACKAGES = ("mbus", "wmbus", "s0", "alarms", "exporters", "gateway")


class InputTooSlow(BaseException):  # not an Exception: code under test must not catch it
    """The input ran longer than ``FUZZ_INPUT_SECONDS``."""


def corpus_folder(name: str) -> Path:
    """``../shared/corpus/<name>``; skips the test with a message when it is absent."""
    folder = CORPUS / name
    if not folder.is_dir():
        pytest.skip(f"fuzz seeds: {folder} is absent (../shared/corpus relative to the repo)")
    return folder


def crash_site(error: BaseException) -> str:
    """``path:line (function)`` of the innermost frame in our packages (else the last)."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames
            if Path(frame.filename).resolve().is_relative_to(ROOT)
            and Path(frame.filename).resolve().relative_to(ROOT).parts[0] in PACKAGES]
    frame = (ours or frames)[-1] if (ours or frames) else None
    if frame is None:
        return "?"
    path = Path(frame.filename).resolve()
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return f"{shown}:{frame.lineno} ({frame.name})"


def _shown_input(data: object) -> str:
    text = data.hex() if isinstance(data, bytes) else repr(data)
    return text if len(text) <= 4000 else text[:4000] + f"... ({len(text)} characters)"


def record_crash(target: str, error: BaseException, data: object) -> None:
    """Append the crash to ``FUZZ_CRASH_LOG`` when a campaign asked for it."""
    log = os.environ.get("FUZZ_CRASH_LOG")
    if not log:
        return
    entry = {"target": target, "type": type(error).__name__, "site": crash_site(error),
             "message": str(error)[:300], "input": _shown_input(data)}
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


@contextlib.contextmanager
def time_limit() -> Iterator[None]:
    """Interrupt the input after ``FUZZ_INPUT_SECONDS`` (campaigns only; never in CI)."""
    seconds = float(os.environ.get("FUZZ_INPUT_SECONDS", "0") or 0)
    if seconds <= 0 or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise InputTooSlow(f"one input took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_inputs_run: collections.Counter[str] = collections.Counter()


@atexit.register
def _write_stats() -> None:
    """Campaigns: how many inputs each target ran in this process (to ``FUZZ_STATS``)."""
    stats = os.environ.get("FUZZ_STATS")
    if stats and _inputs_run:
        with open(stats, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(dict(_inputs_run)) + "\n")


def check(target: str, data: object, call: Callable[[], object],
          allowed: tuple[type[BaseException], ...]) -> None:
    """Run ``call``; its own ``allowed`` errors are fine, anything else is a crash."""
    _inputs_run[target] += 1
    try:
        with time_limit():
            call()
    except allowed:
        return
    except (Exception, InputTooSlow) as error:
        record_crash(target, error, data)
        if os.environ.get("FUZZ_KEEP_GOING") != "1":
            raise


def run_cli(main: Callable[[list[str]], int], argv: list[str], stdin: bytes) -> int:
    """Run a ``main(argv)`` in this process with ``stdin`` as its UTF-8 standard input.

    Standard output and error are UTF-8 text streams over byte buffers, strict like a
    UTF-8 terminal or pipe. Returns the exit status (``SystemExit`` included).
    """
    streams: dict[str, Any] = {
        "stdin": io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"),
        "stdout": io.TextIOWrapper(io.BytesIO(), encoding="utf-8"),
        "stderr": io.TextIOWrapper(io.BytesIO(), encoding="utf-8"),
    }
    saved = {name: getattr(sys, name) for name in streams}
    for name, stream in streams.items():
        setattr(sys, name, stream)
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        for name, stream in saved.items():
            setattr(sys, name, stream)
    if not isinstance(status, int):
        raise AssertionError(f"main returned {status!r}, not an exit status")
    return status
