"""A whole simulated metering site, wired together from the libraries.

What a commercial metering gateway does in a box, on built-in simulated meters,
traffic on 127.0.0.1 only:

1. a wired M-Bus segment served over TCP by ``mbus``'s segment simulator, found by a
   secondary scan and read by the asyncio master over ``tcp://`` (no serial extra needed);
2. wireless M-Bus telegrams of radio meters (OMS security modes 5 and 7) decoded by
   ``wmbus`` with a key store, and one telegram whose key is wrong, refused;
3. an S0 pulse input counted by ``s0`` from bouncing contact edges;
4. limit and device-failure alarms raised by ``alarms`` on the readings;
5. everything exported by ``exporters`` as CSV (German profile) and XML, the XML
   checked against the shipped XSD when lxml (the ``xml`` extra) is installed.

The gateway is thin: every step calls a library; this module only wires them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import alarms
import exporters
import mbus
import mbus.sim
import mbus.transports
import s0
import wmbus

__all__ = ["SiteReport", "run_site"]

WATER_KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
HEAT_KEY = bytes.fromhex("0F0E0D0C0B0A09080706050403020100")


@dataclass
class SiteReport:
    """What one run of the site produced."""

    wired_found: int = 0
    wired_requests: int = 0
    wired_documents: list[dict[str, Any]] = field(default_factory=list)
    wireless_documents: list[dict[str, Any]] = field(default_factory=list)
    wireless_refused: list[str] = field(default_factory=list)
    s0_reading: dict[str, object] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    readings: int = 0
    csv_path: Path | None = None
    xml_path: Path | None = None
    xml_validated: bool = False


async def read_wired(meters: int, seed: int, report: SiteReport) -> None:
    """Serve a segment of random meters on 127.0.0.1, find them by secondary scan, read each.

    Simulator and master share one event loop; the master's ``tcp://`` transport is plain
    asyncio, so the demo needs no serial extra.
    """
    server = mbus.sim.SimulatorServer(
        mbus.sim.Segment(mbus.sim.random_meters(meters, seed=seed, clustered=True)))
    port = await server.start("127.0.0.1", 0)
    try:
        url = f"tcp://127.0.0.1:{port}"
        async with await mbus.transports.open_async_bus(url, timeout=0.05) as bus:
            found = await bus.scan_secondary()
            report.wired_found = len(found.meters)
            report.wired_requests = found.probes
            for entry in await bus.read_all([meter.address for meter in found.meters]):
                if entry.reading is not None:
                    report.wired_documents.append(entry.reading.telegram.to_dict())
    finally:
        await server.close()


def radio_telegrams() -> list[bytes]:
    """Frames of two radio meters as a receiver would hand them over, and one with a stale key."""
    water = wmbus.build_telegram(
        manufacturer="KAM", id="12345678", version=0x1B, device_type=0x16, tpl="short",
        access_number=0x21, mode=5, key=WATER_KEY, frame_format="A",
        records=[mbus.build_record(0x13, Decimal("123.456"), coding="bcd8"),
                 mbus.build_record(0x13, Decimal("120.000"), coding="bcd8", storage=1)])
    heat = wmbus.build_telegram(
        manufacturer="ZRI", id="87654321", version=0x01, device_type=0x04, tpl="long",
        access_number=0x42, mode=7, key=HEAT_KEY, message_counter=7, ell="short",
        records=[mbus.build_record(0x06, 15342000, coding="int32"),
                 mbus.build_record(0x59, Decimal("96.40"), coding="int16"),  # flow temp
                 mbus.build_record(0x5D, Decimal("61.20"), coding="int16")])
    foreign = wmbus.build_telegram(
        manufacturer="KAM", id="55555555", version=0x1B, device_type=0x16, tpl="short",
        mode=5, key=bytes(16), records=[mbus.build_record(0x13, 7, coding="int32")])
    return [water, heat, foreign]


def read_wireless(report: SiteReport) -> None:
    """Decode the radio frames with a key store; a wrong key is an error, never garbage."""
    keys = wmbus.KeyStore()
    keys.add(WATER_KEY, id="12345678")
    keys.add(HEAT_KEY, id="87654321")
    keys.add(HEAT_KEY, id="55555555")  # not this meter's key: it must be refused
    decoder = wmbus.Decoder(keys=keys)
    for frame in radio_telegrams():
        try:
            report.wireless_documents.append(decoder.decode(frame).to_dict())
        except (wmbus.WMBusError, mbus.MBusError) as error:
            report.wireless_refused.append(str(error))


def count_pulses(report: SiteReport) -> s0.S0Reading:
    """One hour of a 2 kW load on a 1000 imp/kWh S0 output, every pulse with contact bounce."""
    channel = s0.Channel(s0.ChannelConfig(imp_per_unit=1000, unit="kWh"), name="grid")
    period = 1.8  # 2 kW at 1000 imp/kWh: one pulse every 1.8 s
    time = 0.0
    for _ in range(2000):
        for offset, level in ((0.0, 1), (0.001, 0), (0.002, 1), (0.060, 0)):  # bounce on rise
            channel.feed_edge(time + offset, level)
        time += period
    channel.advance(time)  # the last fall is confirmed once it has been stable for debounce
    reading = channel.reading(time)
    report.s0_reading = reading.to_dict()
    return reading


def watch(report: SiteReport, samples: list[tuple[float, str, float]], until: float) -> None:
    """Limit and stale alarms over the point samples, time passed in."""
    engine = alarms.Engine([
        alarms.LimitRule(point="heat.flow_temperature", kind="upper", limit=90, hysteresis=5,
                         raise_delay=60, severity=alarms.Severity.MAJOR, alarm_id="HEAT-FT-HI",
                         raise_text="flow temperature {value} degC above {limit} degC"),
        alarms.LimitRule(point="grid.power", kind="upper", limit=5, severity=alarms.Severity.MINOR,
                         alarm_id="GRID-P-HI"),
        alarms.StaleRule(point="water.volume", timeout=900, alarm_id="WATER-STALE",
                         severity=alarms.Severity.MINOR),
    ], start_time=0.0)
    for time, point, value in samples:
        for notification in engine.advance(time) + engine.feed(point, value, time):
            report.notifications.append(notification.to_dict())
    for notification in engine.advance(until):
        report.notifications.append(notification.to_dict())


def export(report: SiteReport, documents: list[dict[str, Any]], extra: list[exporters.Reading],
           now: dt.datetime, out_dir: Path) -> None:
    """CSV (German profile) and XML files of every reading; the XML validated by the XSD."""
    readings: list[exporters.Reading] = []
    for document in documents:
        readings.extend(exporters.readings_from_document(document, timestamp=now))
    readings.extend(extra)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M")
    report.csv_path = out_dir / f"readings-{stamp}.csv"
    report.xml_path = out_dir / f"readings-{stamp}.xml"
    with report.csv_path.open("w", encoding="utf-8", newline="") as handle:
        exporters.write_csv(readings, handle, profile="de")
    with report.xml_path.open("w", encoding="utf-8") as handle:
        exporters.write_xml(readings, handle, alarms=report.notifications, created=now)
    # XSD validation needs lxml (the xml extra); a bare install still writes the files.
    if importlib.util.find_spec("lxml") is not None:
        exporters.validate_xml(report.xml_path)
        report.xml_validated = True
    report.readings = len(readings)


def _value(document: dict[str, Any], quantity: str) -> float | None:
    for record in document.get("records", []):
        if record.get("quantity") == quantity and isinstance(record.get("value"), int | float):
            return float(record["value"])
    return None


def run_site(out_dir: Path, *, meters: int = 12, seed: int = 7) -> SiteReport:
    """Run the whole site once; files go to ``out_dir``."""
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.timezone.utc)
    report = SiteReport()
    asyncio.run(read_wired(meters, seed, report))
    read_wireless(report)
    pulses = count_pulses(report)

    heat = next(d for d in report.wireless_documents if d["header"]["id"] == "87654321")
    water = next(d for d in report.wireless_documents if d["header"]["id"] == "12345678")
    samples: list[tuple[float, str, float]] = []
    for minute in range(0, 30, 5):  # the heat meter reports every 5 minutes, water once
        samples.append((minute * 60.0, "heat.flow_temperature", _value(heat, "flow_temperature")
                        or 0.0))
    samples.append((0.0, "water.volume", _value(water, "volume") or 0.0))
    samples.append((3600.0, "grid.power", pulses.power or 0.0))
    samples.sort()
    watch(report, samples, until=3600.0)

    s0_reading = exporters.Reading(
        meter_id="grid", meter_name="S0 grid import", quantity="energy",
        value=pulses.total, unit=pulses.unit, timestamp=now)
    export(report, report.wired_documents + report.wireless_documents, [s0_reading], now,
           out_dir)
    return report
