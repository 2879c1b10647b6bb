"""Delivery figures: spool throughput (durable vs. not) and MQTT message building.

Run: ``python -m benchmarks exporters_delivery``. Each figure is printed beside a plain
baseline measured in the same run on the same data:

- spool: queue + deliver 4 KiB files through a transport that does nothing, with fsync
  (the crash-safe default) and without, against writing the same files with a plain
  ``open().write()`` and ``os.unlink`` (no atomicity, no durability);
- MQTT: readings -> messages (topic + JSON payload) with :func:`exporters.mqtt_messages`,
  against ``json.dumps(reading.to_dict())`` plus an f-string topic;
- FTP to a pyftpdlib server on 127.0.0.1 (when installed): spool + :class:`FtpTransport`
  (temporary name, rename, crash journal) against bare ``ftplib`` ``STOR`` on one connection.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from exporters import FtpTransport, Reading, Spool, SpoolEntry, SpoolLimits, mqtt_messages


class _Null:
    def deliver(self, entry: SpoolEntry) -> None:
        pass

    def already_delivered(self, entry: SpoolEntry) -> bool:
        return False

    def close(self) -> None:
        pass


def _spool_rate(files: int, payload: bytes, *, durable: bool) -> float:
    with tempfile.TemporaryDirectory() as directory:
        spool = Spool(directory, durable=durable, limits=SpoolLimits(max_files=files + 1))
        start = time.perf_counter()
        for index in range(files):
            spool.put(f"export-{index:06d}.csv", payload)
        report = spool.deliver(_Null())
        elapsed = time.perf_counter() - start
        assert len(report.delivered) == files
    return files / elapsed


def _plain_rate(files: int, payload: bytes) -> float:
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        paths = []
        for index in range(files):
            path = Path(directory) / f"export-{index:06d}.csv"
            with path.open("wb") as out:
                out.write(payload)
            paths.append(path)
        for path in paths:
            os.unlink(path)
        elapsed = time.perf_counter() - start
    return files / elapsed


def _readings(count: int) -> list[Reading]:
    t0 = datetime(2026, 11, 24, tzinfo=timezone.utc)
    quantities = ("energy", "volume", "power", "flow_temperature")
    units = ("Wh", "m3", "W", "degC")
    return [
        Reading(
            meter_id=f"{10000000 + i // 4}",
            quantity=quantities[i % 4],
            value=Decimal(i) / 10,
            unit=units[i % 4],
            timestamp=t0 + timedelta(minutes=i // 4),
        )
        for i in range(count)
    ]


def main() -> None:
    payload = os.urandom(4096)
    files = 300
    durable = _spool_rate(files, payload, durable=True)
    fast = _spool_rate(files, payload, durable=False)
    plain = _plain_rate(files, payload)
    print(f"spool put+deliver, 4 KiB files, fsync:    {durable:9.0f} files/s")
    print(f"spool put+deliver, 4 KiB files, no fsync: {fast:9.0f} files/s")
    print(f"plain write+unlink (baseline):            {plain:9.0f} files/s")
    print(f"  ratio baseline/spool: fsync {plain / durable:.1f}x, no fsync {plain / fast:.1f}x")

    readings = _readings(20_000)
    start = time.perf_counter()
    messages = mqtt_messages(readings)
    ours = len(messages) / (time.perf_counter() - start)
    start = time.perf_counter()
    plain_messages = [
        (f"meters/{r.meter_id}/{r.quantity}", json.dumps(r.to_dict()).encode()) for r in readings
    ]
    baseline = len(plain_messages) / (time.perf_counter() - start)
    print(f"MQTT messages from readings:              {ours:9.0f} readings/s")
    print(f"json.dumps + f-string topic (baseline):   {baseline:9.0f} readings/s")
    print(f"  ratio baseline/ours: {baseline / ours:.2f}x")
    _ftp_figures(200, payload)


def _ftp_figures(files: int, payload: bytes) -> None:
    try:
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import FTPServer
    except ImportError:
        print("FTP: skipped (pyftpdlib is not installed)")
        return
    import ftplib
    import logging
    import threading

    quiet = logging.getLogger("pyftpdlib")
    quiet.addHandler(logging.NullHandler())  # else pyftpdlib logs every command to stderr
    quiet.propagate = False
    with tempfile.TemporaryDirectory() as root, tempfile.TemporaryDirectory() as spool_dir:
        authorizer = DummyAuthorizer()
        authorizer.add_user("bench", "bench", root, perm="elradfmw")

        class Handler(FTPHandler):  # type: ignore[misc]
            pass

        Handler.authorizer = authorizer
        server = FTPServer(("127.0.0.1", 0), Handler)
        port = server.socket.getsockname()[1]
        thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2},
                                  daemon=True)
        thread.start()
        try:
            rates = {}
            for durable in (True, False):
                spool = Spool(Path(spool_dir) / str(durable), durable=durable,
                              limits=SpoolLimits(max_files=files + 1))
                for index in range(files):
                    spool.put(f"spooled-{durable}-{index:05d}.csv", payload)
                transport = FtpTransport("127.0.0.1", port, user="bench", password="bench")
                start = time.perf_counter()
                report = spool.deliver(transport)
                rates[durable] = files / (time.perf_counter() - start)
                assert len(report.delivered) == files
            ftp = ftplib.FTP()
            ftp.connect("127.0.0.1", port)
            ftp.login("bench", "bench")
            start = time.perf_counter()
            for index in range(files):
                ftp.storbinary(f"STOR plain-{index:05d}.csv", io.BytesIO(payload))
            plain = files / (time.perf_counter() - start)
            ftp.quit()
        finally:
            server.close_all()
            thread.join(timeout=5)
    print(f"FTP spool delivery, 4 KiB files, fsync:   {rates[True]:9.0f} files/s")
    print(f"FTP spool delivery, no fsync:             {rates[False]:9.0f} files/s")
    print(f"ftplib STOR only (baseline):              {plain:9.0f} files/s")
    print(f"  ratio baseline/ours: fsync {plain / rates[True]:.2f}x, "
          f"no fsync {plain / rates[False]:.2f}x (ours adds SIZE before and after, RNFR/RNTO, "
          "the journal and the delivery log)")


if __name__ == "__main__":
    main()
