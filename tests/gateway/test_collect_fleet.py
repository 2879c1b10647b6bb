"""meterkit collect: three gateways through mosquitto into PostgreSQL, exactly once,
while the collector is killed and restarted and the database is restarted."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from exporters import MqttPublisher, Reading

from ..exporters.delivery_support import Mosquitto, mosquitto_binary
from .history_support import raised
from .postgres_server import PostgresServer

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 24, tzinfo=timezone.utc)
GATEWAYS = ("site-a", "site-b", "site/c")  # '/' becomes '_' in the topic, not in the data
BATCHES = 30
PER_BATCH = 40


class Collector:
    """``meterkit collect`` in a process of its own (so it can be killed)."""

    def __init__(self, broker: int, dsn: str, folder: Path) -> None:
        self.argv = [sys.executable, "-m", "gateway", "collect", "--broker",
                     f"127.0.0.1:{broker}", "--db", dsn, "-v"]
        self.log = folder / "collect.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(self.argv, cwd=REPO, stdout=handle, stderr=handle,
                                        env={**os.environ, "PYTHONPATH": str(REPO)})
        handle.close()
        subscribed = self.log.read_text().count("subscribed to") + 1
        while self.log.read_text().count("subscribed to") < subscribed:
            if self.process.poll() is not None:
                raise RuntimeError("collector stopped: " + self.log.read_text())
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(timeout=30)


def _readings(gateway: str, batch: int) -> list[Reading]:
    return [Reading(meter_id=f"{gateway[-1]}{n % 10:07d}", quantity="energy",
                    value=Decimal(batch * PER_BATCH + n) / 100, unit="kWh",
                    timestamp=T0 + timedelta(minutes=batch * PER_BATCH + n),
                    status=("estimated",) if n % 7 == 0 else ())
            for n in range(PER_BATCH)]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (Debian package 'mosquitto')")
    broker = Mosquitto(tmp_path / "mosquitto")
    text = broker.config.read_text().replace(
        "persistence false", f"persistence true\npersistence_location {tmp_path}/\n"
        "max_queued_messages 100000\nmax_inflight_messages 100")
    broker.config.write_text(text)
    broker.start()
    yield broker
    broker.stop()


def _stored(dsn: str) -> tuple[int, set[tuple[str, str, datetime, str]], int]:
    with psycopg.connect(dsn) as db:
        rows = db.execute("SELECT gateway, point, time, value FROM meterkit.readings "
                          "WHERE gateway <> ''").fetchall()
        alarms = db.execute("SELECT count(*) FROM meterkit.alarms").fetchone()
    return len(rows), set(rows), alarms[0] if alarms else 0


def test_every_reading_exactly_once_through_restarts(broker: Mosquitto,
                                                     tmp_path: Path) -> None:
    server = PostgresServer()
    server.start()
    try:
        _run(broker, server, tmp_path)
    finally:
        server.remove()


def _run(broker: Mosquitto, server: PostgresServer, tmp_path: Path) -> None:
    dsn = server.dsn()
    collector = Collector(broker.port, dsn, tmp_path)
    collector.start()
    publishers = {gateway: MqttPublisher("127.0.0.1", broker.port, client_id=f"gw-{n}",
                                         topic=None, fleet_gateway=gateway, fleet_batch=15)
                  for n, gateway in enumerate(GATEWAYS)}
    for publisher in publishers.values():
        publisher.start()

    def publish(batches: range) -> None:
        threads = [threading.Thread(target=_publish, args=(publisher, gateway, batches))
                   for gateway, publisher in publishers.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    try:
        publish(range(0, 10))
        collector.kill()  # in the middle of storing, probably: some messages never acked
        publish(range(10, 20))  # queued by the broker for the collector's session
        collector.start()
        server.stop("immediate")  # the database crashes under the collector
        publish(range(20, 25))
        server.start()
        publish(range(25, BATCHES))
        for gateway, publisher in publishers.items():
            publisher.publish_alarm(raised("a1", "x/energy", 1).to_dict(), T0)
            publisher.publish_alarm(raised("a1", "x/energy", 1).to_dict(), T0)  # twice
            assert publisher.wait_until_acknowledged(60), gateway
        expected = {(gateway, f"{r.meter_id}/energy", r.timestamp, str(r.value))
                    for gateway in GATEWAYS for batch in range(BATCHES)
                    for r in _readings(gateway, batch)}
        deadline = time.monotonic() + 120
        while _stored(dsn)[0] < len(expected) or _stored(dsn)[2] < len(GATEWAYS):
            assert time.monotonic() < deadline, (_stored(dsn)[0], collector.log.read_text())
            time.sleep(0.2)
        count, rows, alarms = _stored(dsn)
        assert (count, alarms) == (len(expected), len(GATEWAYS))
        assert rows == expected
        assert collector.stop() == 0
    finally:
        for publisher in publishers.values():
            publisher.stop()
        if collector.process is not None and collector.process.poll() is None:
            collector.kill()


def _publish(publisher: MqttPublisher, gateway: str, batches: range) -> None:
    for batch in batches:
        publisher.publish_readings(_readings(gateway, batch))
    assert publisher.wait_until_acknowledged(60)
