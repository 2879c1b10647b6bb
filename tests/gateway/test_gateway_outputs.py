"""Outputs against real peers on 127.0.0.1: MQTT (mosquitto) with the gateway id in the
topics, export files delivered over FTP (pyftpdlib) through the spool, audited."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import exporters
from exporters import ExportPeriod
from gateway import ExportDue, Runtime, load_site, serve_site
from gateway.history import SQLiteHistory
from profiles import PointReading

from ..exporters.delivery_support import Mosquitto, Subscriber, ftp_server

SITE = """
[site]
name = "house"
gateway_id = "gw-7"

[[analog]]
name = "tank"
field = "level"
signal = "4-20mA"
low = 0
high = 100
unit = "%"
interval = "10s"
[analog.source]
kind = "simulated"
values = [19]

[[alarm]]
point = "house/tank/level"
kind = "upper"
limit = 90
"""


def test_mqtt_topics_carry_the_gateway_id(tmp_path: Path, mosquitto: Mosquitto) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE + f'\n[mqtt]\nhost = "127.0.0.1"\nport = {mosquitto.port}\n')
    subscriber = Subscriber(mosquitto.port, ["meterkit/#"])
    try:
        async def scenario() -> None:
            stop = asyncio.Event()
            await serve_site(load_site(path), stop=stop, on_step=lambda step: stop.set())

        asyncio.run(scenario())
        messages = {topic: payload for topic, payload, _retain in subscriber.wait_for(2)}
    finally:
        subscriber.close()
    reading = json.loads(messages["meterkit/gw-7/tank/level"])
    assert reading["value"] == "93.750" and reading["unit"] == "%"
    assert reading["metadata"]["point"] == "house/tank/level"
    alarm = json.loads(messages["meterkit/gw-7/alarms/house_tank_level.upper"])
    assert alarm["event"] == "raised" and alarm["point"] == "house/tank/level"


def test_export_files_are_delivered_through_the_spool(tmp_path: Path) -> None:
    start = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)
    with ftp_server(tmp_path / "ftp") as peer:
        path = tmp_path / "site.toml"
        path.write_text(SITE + f"""
[[export]]
name = "quarter"
format = "csv"
minutes = 15
deliver = ["office"]

[[delivery]]
name = "office"
kind = "ftp"
host = "127.0.0.1"
port = {peer.port}
user = "{peer.user}"
password_env = "OFFICE_FTP_PASSWORD"
""")
        site = load_site(path)
        runtime = Runtime(site, now=start, environ={"OFFICE_FTP_PASSWORD": peer.password})
        level = PointReading(point="house/tank/level", time=start + timedelta(minutes=3),
                             value=Decimal("42.5"), unit="%", quantity="level")
        runtime.commit(runtime.pipeline.process([level], devices=["tank"], now=level.time))
        period = ExportPeriod(start=start, end=start + timedelta(minutes=15))
        result = runtime.export(ExportDue(export="quarter", period=period), period.end)
        assert result.queued == ["office: queued"]
        reports = runtime.outputs.deliver()
        assert len(reports["office"].delivered) == 1
        runtime.close(period.end)
        with (tmp_path / "ftp" / "quarter_2026-12-03_1000.csv").open(newline="") as text:
            [row] = list(exporters.read_csv(text))
        assert (row.meter_id, row.quantity, row.value, row.unit) == ("tank", "level",
                                                                     Decimal("42.5"), "%")
        assert row.metadata["point"] == "house/tank/level"
    with SQLiteHistory(site.history) as history:
        results = [entry.detail["result"] for entry in history.audit(kinds=("delivery",))]
    assert results == ["written (1 readings)", "delivered"]
