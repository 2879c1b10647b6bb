"""Fleet: readings/s from MQTT into PostgreSQL with one collector, and the size per million.

Three simulated gateways publish ``METERKIT_BENCH_READINGS`` readings (default
300 000) in the fleet format (500 readings a message, QoS 1) through a local
mosquitto; one ``meterkit collect`` process stores them in a throwaway
PostgreSQL server (the test suite's fixtures: initdb + pg_ctl in a temporary
folder, mosquitto on loopback). The figure is readings/s from the first publish
until the last reading is in the database; the size is that of the ``samples``
partitions with their indexes, per million readings.

Run: ``python -m benchmarks fleet`` (needs PostgreSQL's server programs,
mosquitto and ``meterkit[postgres,mqtt]``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

READINGS = int(os.environ.get("METERKIT_BENCH_READINGS", "300000"))
GATEWAYS = ("gw-1", "gw-2", "gw-3")
REPO = Path(__file__).resolve().parents[1]


def _count(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as db:
        try:
            row = db.execute("SELECT count(*) FROM meterkit.samples").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


def _size(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as db:
        row = db.execute("SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
                         "WHERE inhparent = 'meterkit.samples'::regclass").fetchone()
    return int(row[0]) if row and row[0] else 0


def _publish(port: int, gateway: str, count: int) -> None:
    from exporters import MqttPublisher, Reading

    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with MqttPublisher("127.0.0.1", port, client_id=f"bench-{gateway}", topic=None,
                       fleet_gateway=gateway, max_queued=1_000_000) as publisher:
        batch = []
        for index in range(count):
            batch.append(Reading(meter_id=f"{index % 200:08d}", quantity="energy",
                                 value=Decimal(index) / 1000, unit="kWh",
                                 timestamp=start + timedelta(minutes=15 * (index // 200))))
            if len(batch) == 5000:
                publisher.publish_readings(batch)
                batch = []
        publisher.publish_readings(batch)
        if not publisher.wait_until_acknowledged(600):
            raise RuntimeError(f"{gateway}: the broker did not acknowledge everything")


def main() -> None:
    """Start the peers, publish, wait for the database, print the figures."""
    from tests.exporters.delivery_support import Mosquitto, mosquitto_binary
    from tests.gateway.postgres_server import PostgresServer, server_programs

    if server_programs() is None or mosquitto_binary() is None:
        print("fleet: needs PostgreSQL's server programs and mosquitto (apt-get install "
              "postgresql mosquitto)")
        return
    with tempfile.TemporaryDirectory(prefix="meterkit-fleet-") as name:
        folder = Path(name)
        broker = Mosquitto(folder / "mosquitto")
        broker.config.write_text(broker.config.read_text().replace(
            "persistence false", "persistence false\nmax_queued_messages 1000000"))
        broker.start()
        server = PostgresServer()
        collector: subprocess.Popen[bytes] | None = None
        try:
            server.start()
            dsn = server.dsn()
            log = folder / "collect.log"
            with log.open("wb") as handle:
                collector = subprocess.Popen(
                    [sys.executable, "-m", "gateway", "collect", "--broker",
                     f"127.0.0.1:{broker.port}", "--db", dsn, "-v"], cwd=REPO,
                    stdout=handle, stderr=handle)
            while "subscribed to" not in log.read_text():  # messages before it would be lost
                if collector.poll() is not None:
                    raise RuntimeError("the collector stopped: " + log.read_text())
                time.sleep(0.1)
            started = time.perf_counter()
            per_gateway = READINGS // len(GATEWAYS)
            threads = [threading.Thread(target=_publish, args=(broker.port, gateway,
                                                               per_gateway))
                       for gateway in GATEWAYS]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            total = per_gateway * len(GATEWAYS)
            while _count(dsn) < total:
                time.sleep(0.2)
            seconds = time.perf_counter() - started
            size = _size(dsn)
            print(f"fleet: {total} readings from {len(GATEWAYS)} gateways, MQTT -> "
                  f"PostgreSQL with one collector: {total / seconds:,.0f} readings/s "
                  f"({seconds:.1f} s); samples with indexes {size / 1e6:.1f} MB, "
                  f"{size / total:.0f} bytes a reading, {size / total * 1e6 / 1e6:.0f} MB "
                  "per million readings", flush=True)
        finally:
            if collector is not None:
                collector.terminate()
                collector.wait()
            server.remove()
            broker.stop()



if __name__ == "__main__":
    main()
