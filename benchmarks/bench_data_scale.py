"""Decoding a large capture: serial, ``--jobs 2``, Dask with 2 workers; pymbusparser beside.

The capture is generated from the wireless dev corpus: every corpus telegram
with a TPL header (CI 0x72/0x7A) that decodes becomes a template; copies get
new meter ids and new values in their numeric records, and those whose
original was encrypted (mode 5 or 7, decrypted by a key or stored decrypted)
are encrypted again with a key per meter (a key file is written). A pool of
``METERKIT_BENCH_DISTINCT`` distinct telegrams (default 100 000; building
encrypted frames is slow) is repeated up to ``METERKIT_BENCH_TELEGRAMS``
lines (default 1 000 000).

Figures: telegrams/s (wall clock, the whole command) and peak memory (the sum
of the resident sets of the process tree, sampled every 50 ms):

* ``wmbus decode --json --keys FILE CAPTURE`` serially and with ``--jobs 2``
  (output to /dev/null);
* ``wmbus.dask_readings`` on a ``distributed.LocalCluster`` of 2 worker
  processes over the capture as CSV (the readings counted);
* pymbusparser (serial, in this process, the first 100 000 telegrams with
  their keys), for reference.

Run: ``python -m benchmarks data_scale`` (needs ``meterkit[data]``, and
pymbusparser from the ``bench`` extra for the reference figure).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._fresh import CORPUS

TELEGRAMS = int(os.environ.get("METERKIT_BENCH_TELEGRAMS", "1000000"))
DISTINCT = int(os.environ.get("METERKIT_BENCH_DISTINCT", "100000"))
PEER_TELEGRAMS = 100_000


class PeakMemory:
    """The peak of the summed resident sets of a process and its descendants."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(self.root))
            self._stop.wait(0.05)


def _tree_rss(root: int) -> int:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in rss:
        walk = pid
        while walk and walk != root:
            walk = parents.get(walk, 0)
        if walk == root:
            total += rss[pid]
    return total


def _templates() -> list[tuple[Any, int]]:
    """(decoded corpus telegram, security mode) of the corpus telegrams that can be rebuilt."""
    import mbus
    import wmbus

    out = []
    with (CORPUS / "wmbus" / "dev.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            key = item.get("key", "NOKEY")
            decoder = wmbus.Decoder(already_decrypted=True)
            try:
                for prior in item.get("prior_telegrams", []):
                    decoder.decode(bytes.fromhex(prior))
                telegram = decoder.decode(bytes.fromhex(item["telegram"]),
                                          None if key == "NOKEY" else bytes.fromhex(key))
            except (wmbus.WMBusError, mbus.MBusError):
                continue
            if telegram.link.format == "wired" or telegram.ell is not None \
                    or telegram.tpl is None or telegram.tpl.kind not in ("long", "short") \
                    or not telegram.records:
                continue
            out.append((telegram, telegram.security.mode))
    return out


def _varied(record: Any, rng: random.Random) -> Any:
    """The record with new data of the same coding (BCD digits or integer bytes)."""
    coding = record.shape.coding
    size = len(record.data)
    if coding.startswith("bcd"):
        digits = "".join(rng.choice("0123456789") for _ in range(2 * size))
        return type(record)(record.shape, bytes.fromhex(digits)[::-1])
    if coding.startswith("int") and record.shape.kind not in ("time_point",):
        return type(record)(record.shape, rng.randbytes(size))
    return record


def generate(folder: Path) -> tuple[Path, Path, int]:
    """The capture (hex lines), its key file, and the number of distinct telegrams."""
    import wmbus

    rng = random.Random(19)
    templates = _templates()
    keys: dict[str, str] = {}
    pool: list[str] = []
    while len(pool) < min(DISTINCT, TELEGRAMS):
        telegram, mode = templates[len(pool) % len(templates)]
        ident = f"{rng.randrange(10**8):08d}"
        key = None
        if mode in (5, 7):
            key = keys.setdefault(ident, rng.randbytes(16).hex())
        records = [_varied(record, rng) for record in telegram.records
                   if record.function not in ("more_records_follow",)]
        try:
            frame = wmbus.build_telegram(
                manufacturer=telegram.manufacturer or "KAM", id=ident,
                version=telegram.link.version or 0, device_type=telegram.link.device_type or 0,
                records=records, tpl=telegram.tpl.kind, mode=mode,
                key=bytes.fromhex(key) if key else None,
                message_counter=rng.randrange(1, 2**31), access_number=rng.randrange(256))
        except (wmbus.WMBusError, ValueError):
            continue
        pool.append(frame.hex())
    capture = folder / "capture.hex"
    with capture.open("w", encoding="ascii") as handle:
        for index in range(TELEGRAMS):
            handle.write(pool[index % len(pool)] + "\n")
    key_file = folder / "keys.json"
    key_file.write_text(json.dumps(keys), encoding="ascii")
    return capture, key_file, len(pool)


def _command(argv: list[str]) -> tuple[float, int]:
    """Seconds and peak tree memory of a command, its output thrown away."""
    started = time.perf_counter()
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL) as process, \
            PeakMemory(process.pid) as memory:
        process.wait()
    return time.perf_counter() - started, memory.peak


def _dask(folder: Path, capture: Path, key_file: Path) -> tuple[float, int, int]:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    import wmbus

    csv = folder / "capture.csv"
    with capture.open(encoding="ascii") as source, csv.open("w", encoding="ascii") as target:
        target.write("hex\n")
        for line in source:
            target.write(line)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1") as cluster, \
            Client(cluster), PeakMemory(os.getpid()) as memory:
        started = time.perf_counter()
        frame = dd.read_csv(csv, dtype=str, blocksize=8_000_000)
        readings = wmbus.dask_readings(frame, "hex", keys=str(key_file))
        rows = int(readings.map_partitions(len).compute().sum())
        seconds = time.perf_counter() - started
    return seconds, memory.peak, rows


def _peer(capture: Path, key_file: Path) -> tuple[float, int] | None:
    try:
        import pymbusparser  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:
        return None
    keys = {ident: bytes.fromhex(key) for ident, key in json.loads(key_file.read_text()).items()}
    import wmbus

    frames = []
    with capture.open(encoding="ascii") as handle:
        for line, _ in zip(handle, range(PEER_TELEGRAMS), strict=False):
            data = bytes.fromhex(line.strip())
            frames.append((data, keys.get(wmbus.parse_link(data)[0].id or "")))
    parse: Callable[..., Any] = pymbusparser.parse
    failures = 0
    started = time.perf_counter()
    for data, key in frames:
        try:
            parse(data, key=key)
        except Exception:  # the peer's failures are counted, not timed apart
            failures += 1
    return len(frames) / (time.perf_counter() - started), failures


def main() -> None:
    """Generate the capture, run every decoder on it, print the figures."""
    with tempfile.TemporaryDirectory(prefix="meterkit-bench-") as name:
        folder = Path(name)
        started = time.perf_counter()
        capture, key_file, distinct = generate(folder)
        print(f"capture: {TELEGRAMS} telegrams ({distinct} distinct, from the dev corpus), "
              f"{capture.stat().st_size / 1e6:.0f} MB, generated in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        wmbus_cli = [sys.executable, "-m", "wmbus", "decode", "--json", "--keys", str(key_file),
                     str(capture)]
        for label, argv in (("serial", wmbus_cli), ("--jobs 2", [*wmbus_cli, "--jobs", "2"])):
            seconds, peak = _command(argv)
            print(f"wmbus decode {label}: {TELEGRAMS / seconds:,.0f} telegrams/s, "
                  f"peak memory {peak / 1e6:.0f} MB ({seconds:.1f} s)", flush=True)
        seconds, peak, rows = _dask(folder, capture, key_file)
        print(f"Dask LocalCluster, 2 workers: {TELEGRAMS / seconds:,.0f} telegrams/s, "
              f"peak memory {peak / 1e6:.0f} MB ({seconds:.1f} s, {rows} readings)", flush=True)
        peer = _peer(capture, key_file)
        if peer is None:
            print("pymbusparser: not installed (pip install -e '.[bench]')")
        else:
            print(f"pymbusparser serial (first {PEER_TELEGRAMS} telegrams, in process): "
                  f"{peer[0]:,.0f} telegrams/s, {peer[1]} failed")


if __name__ == "__main__":
    main()
