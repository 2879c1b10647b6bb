"""``meterkit demo``: a simulated site run through the same code as ``meterkit run``.

The demo writes a site file (``site.toml``), a keys file and an S0 replay file into its
folder, starts the simulators on 127.0.0.1 and runs the site with :func:`serve_site` on a
clock that runs ``--speed`` times faster than the wall clock (60: a minute per second):

- a wired M-Bus segment served over TCP by ``mbus.sim.SimulatorServer``: three flats'
  heat meters, the boiler's heat meter and its gas meter (their counters grow with the
  simulated time), and a configured meter that never answers (a device-failure alarm);
- radio meters (wireless M-Bus, OMS security modes 5 and 7) sent as hex lines over TCP
  every 2 simulated minutes and decoded with the keys file, plus a meter whose key is
  wrong (its telegrams are refused and logged in the audit log);
- an S0 input replaying an hour of a 2 kW load with a 6 kW peak (an alarm raised and
  cleared), contact bounce included;
- a simulated 4-20 mA tank level that crosses its limit (raised, cleared) and loses its
  loop for a while (open circuit: a device-failure alarm raised, then cleared);
- derived values: heat and gas per readout, the boiler's efficiency, the building's heat
  losses (an energy balance), the burner's operating hours and starts;
- exports: CSV every 5 and XML every 15 simulated minutes (XML with the alarms).

It leaves ``history.sqlite`` (``readings`` and ``alarms`` views), ``exports/``, the state
and an ``audit.log`` in the folder, and prints what it did and where. Run again on the
same folder, it continues where it stopped (a killed demo loses nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import signal
import sqlite3
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import exporters
import mbus
import mbus.records
import mbus.sim
import s0
import wmbus

from ._commands import RunReport, serve_site
from ._drivers import Clock
from ._errors import GatewayError, SiteError, StateFileError
from ._site_file import Site, load_site

__all__ = ["DemoSimulators", "main", "register", "write_demo_files"]

UTC = timezone.utc
EPOCH = datetime(2026, 1, 1, tzinfo=UTC).timestamp()  # counters grow from here
RADIO_INTERVAL = 120.0

# name, primary address, id, manufacturer, medium, records(t) parameters
WIRED = [
    ("flat1/heat", 1, "31000001", "KAM", 0x04, {"kwh": 10.0, "base": 8_000}),
    ("flat2/heat", 2, "31000002", "KAM", 0x04, {"kwh": 8.0, "base": 12_000}),
    ("flat3/heat", 3, "31000003", "KAM", 0x04, {"kwh": 12.0, "base": 5_000}),
    ("boiler/heat", 4, "31000010", "SON", 0x04, {"kwh": 40.0, "base": 90_000}),
    ("boiler/gas", 5, "31000020", "ELS", 0x03, {"m3": 4.12, "base": 20_000}),
]
MISSING = ("flat4/heat", 6)
RADIO_KEYS = {
    "12345678": bytes.fromhex("000102030405060708090A0B0C0D0E0F"),
    "12345679": bytes.fromhex("101112131415161718191A1B1C1D1E1F"),
    "87654321": bytes.fromhex("0F0E0D0C0B0A09080706050403020100"),
}
WRONG_KEY_ID = "55555555"  # the keys file holds a key that is not this meter's

SITE_TEMPLATE = """\
# The demo site of `meterkit demo` (written by the demo; the ports change every run).
[site]
name = "demo"
gateway_id = "demo-gw"
timezone = "Europe/Berlin"
data_dir = "."

[[mbus]]
name = "basement"
url = "tcp://127.0.0.1:{mbus_port}"
interval = "15min"
timeout = 0.3
{wired_meters}
[[wmbus]]
name = "radio"
dongle = "hex"
port = "tcp://127.0.0.1:{radio_port}"
keys = "keys.csv"
interval = "2min"
[[wmbus.meter]]
name = "flat1/water"
id = "12345678"
[[wmbus.meter]]
name = "flat2/water"
id = "12345679"
[[wmbus.meter]]
name = "flat3/heat_cost"
id = "87654321"

[[s0]]
name = "grid"
replay = "grid-edges.csv"
loop = true
imp_per_unit = 1000
unit = "kWh"
interval = "1min"

[[analog]]
name = "tank"
field = "level"
signal = "4-20mA"
low = 0
high = 100
unit = "%"
interval = "1min"
[analog.source]
kind = "simulated"
values = [8, 12, 16, 19.5, 19.8, 14, 12, 20.7, 1.0, 1.0, 1.0, 1.0, 1.0, 10]
step = "2min"

[[derived]]
name = "boiler/heat_per_readout"
kind = "consumption"
input = "demo/boiler/heat/energy_kwh"
unit = "kWh"

[[derived]]
name = "boiler/gas_per_readout"
kind = "consumption"
input = "demo/boiler/gas/volume_m3"
unit = "m3"

[[derived]]
name = "boiler/efficiency"
expression = "round(heat / (gas * 10.55), 3)"
inputs = {{ heat = "demo/boiler/heat_per_readout", gas = "demo/boiler/gas_per_readout" }}

[[derived]]
name = "flats/heat_per_readout"
expression = "flat1 + flat2 + flat3"
unit = "kWh"
[derived.inputs]
flat1 = {{ point = "demo/flat1/heat/energy_kwh", unit = "kWh" }}
flat2 = {{ point = "demo/flat2/heat/energy_kwh", unit = "kWh" }}
flat3 = {{ point = "demo/flat3/heat/energy_kwh", unit = "kWh" }}

[[derived]]
name = "flats/heat_consumed"
kind = "consumption"
input = "demo/flats/heat_per_readout"

[[derived]]
name = "building/heat_losses"
expression = "boiler - flats"
unit = "kWh"
inputs = {{ boiler = "demo/boiler/heat_per_readout", flats = "demo/flats/heat_consumed" }}

[[derived]]
name = "grid/peak_hours"
kind = "operating_hours"
input = "demo/grid/power"
threshold = 4

[[derived]]
name = "grid/peaks"
kind = "switching_cycles"
input = "demo/grid/power"
threshold = 4

[[alarm]]
point = "demo/grid/power"
kind = "upper"
limit = 5
hysteresis = 1
alarm_id = "GRID-POWER-HIGH"
severity = "minor"

[[alarm]]
point = "demo/tank/level"
kind = "upper"
limit = 90
hysteresis = 5
raise_delay = 60
alarm_id = "TANK-LEVEL-HIGH"
severity = "major"

[[export]]
name = "readings"
format = "csv"
minutes = 5
csv_profile = "de"

[[export]]
name = "report"
format = "xml"
minutes = 15
"""


def _wired_meters() -> str:
    lines = []
    for name, primary, *_rest in WIRED:
        lines += ["[[mbus.meter]]", f'name = "{name}"', f"address = {primary}"]
    lines += ["[[mbus.meter]]", f'name = "{MISSING[0]}"', f"address = {MISSING[1]}"]
    return "\n".join(lines) + "\n"


DEMO_BACNET = """
[bacnet_device]
address = "127.0.0.1/8:{port}"
instance = 4000
points = ["demo/*"]
trends = ["demo/grid/power", "demo/tank/level"]
"""
"""The ``[bacnet_device]`` ``meterkit demo --bacnet PORT`` adds: every point on 127.0.0.1."""


def write_demo_files(folder: Path, *, mbus_port: int, radio_port: int,
                     bacnet_port: int | None = None) -> Path:
    """Write the demo's site file, keys file and S0 replay into ``folder``; the site file
    (with a ``[bacnet_device]`` on 127.0.0.1:``bacnet_port`` when given)."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = [f"{ident},{key.hex().upper()}" for ident, key in RADIO_KEYS.items()]
    keys.append(f"{WRONG_KEY_ID},{bytes(16).hex().upper()}")
    (folder / "keys.csv").write_text("# demo radio keys: id,key\n" + "\n".join(keys) + "\n")
    edges = folder / "grid-edges.csv"
    if not edges.exists():
        edges.write_text(_grid_edges(), encoding="utf-8")
    site = folder / "site.toml"
    text = SITE_TEMPLATE.format(mbus_port=mbus_port, radio_port=radio_port,
                                wired_meters=_wired_meters())
    if bacnet_port is not None:
        text += DEMO_BACNET.format(port=bacnet_port)
    site.write_text(text, encoding="utf-8")
    return site


def _grid_edges() -> str:
    """An hour of pulses at 1000 imp/kWh: 2 kW, with 6 kW from minute 20 to 30; each pulse
    50 ms long and bouncing for 2 ms on its rise."""
    rows = ["time,level"]
    time = Decimal("0.5")
    while time < 3599:
        kw = 6 if 1200 <= time < 1800 else 2
        for offset, level in (("0", 1), ("0.001", 0), ("0.002", 1), ("0.05", 0)):
            rows.append(f"{time + Decimal(offset)},{level}")
        time += (Decimal("3.6") / kw).quantize(Decimal("0.001"))
    return "\n".join(rows) + "\n"


def _heat_records(kwh_per_hour: float, base: int, hours: float) -> list[mbus.Record]:
    energy = int((base + kwh_per_hour * hours) * 1000) // 1000 * 1000  # Wh in kWh steps
    volume = Decimal(round(base / 40 + kwh_per_hour * hours / 40, 3)).quantize(Decimal("0.001"))
    return [mbus.build_record(0x06, energy, coding="int32"),
            mbus.build_record(0x13, volume, coding="bcd8"),
            mbus.build_record(0x5B, 70, coding="int8"),
            mbus.build_record(0x5F, 45, coding="int8")]


def _gas_records(m3_per_hour: float, base: int, hours: float) -> list[mbus.Record]:
    volume = Decimal(round(base + m3_per_hour * hours, 3)).quantize(Decimal("0.001"))
    return [mbus.build_record(0x13, volume, coding="bcd8")]


class DemoSimulators:
    """The demo's wired segment and radio transmitter, driven by the (simulated) clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.slaves: list[tuple[mbus.Slave, dict[str, Any]]] = []
        for _name, primary, ident, manufacturer, medium, params in WIRED:
            address = mbus.SecondaryAddress(
                id=ident, manufacturer=mbus.records.encode_manufacturer(manufacturer),
                version=1, medium=medium)
            slave = mbus.Slave(address, [self._records(params)], primary=primary)
            self.slaves.append((slave, params))
        self.segment = mbus.sim.Segment([slave for slave, _ in self.slaves])
        self.server = mbus.sim.SimulatorServer(self.segment)
        self.radio: asyncio.Server | None = None
        self.mbus_port = 0
        self.radio_port = 0
        self.sent = 0
        self._tasks: list[asyncio.Task[Any]] = []

    def _hours(self) -> float:
        return (self.clock.now().timestamp() - EPOCH) / 3600

    def _records(self, params: dict[str, Any]) -> list[mbus.Record]:
        if "kwh" in params:
            return _heat_records(params["kwh"], params["base"], self._hours())
        return _gas_records(params["m3"], params["base"], self._hours())

    async def start(self) -> None:
        """Serve the segment and the radio on free loopback ports."""
        self.mbus_port = await self.server.start("127.0.0.1", 0)
        self.radio = await asyncio.start_server(self._transmit, "127.0.0.1", 0)
        self.radio_port = self.radio.sockets[0].getsockname()[1]
        self._tasks.append(asyncio.ensure_future(self._update_meters()))

    async def _update_meters(self) -> None:
        while True:
            for slave, params in self.slaves:
                slave.set_pages([self._records(params)])
            await asyncio.sleep(max(0.05, 60 / self.clock.speed))

    def telegrams(self, time: float) -> list[bytes]:
        """What the radio meters send at ``time`` (epoch seconds): a function of the time."""
        count = int(time // RADIO_INTERVAL)
        hours = (time - EPOCH) / 3600
        water = [(ident, Decimal(round(100 + rate * hours, 3)).quantize(Decimal("0.001")))
                 for ident, rate in (("12345678", 0.02), ("12345679", 0.035))]
        frames = [wmbus.build_telegram(
            manufacturer="KAM", id=ident, version=0x1B, device_type=0x07, tpl="short",
            access_number=count % 256, mode=5, key=RADIO_KEYS[ident], frame_format="A",
            records=[mbus.build_record(0x13, volume, coding="bcd8")])
            for ident, volume in water]
        frames.append(wmbus.build_telegram(
            manufacturer="ZRI", id="87654321", version=0x01, device_type=0x08, tpl="long",
            access_number=count % 256, mode=7, key=RADIO_KEYS["87654321"],
            message_counter=count, ell="short",
            records=[mbus.build_record(0x6E, int(500 + 3 * hours), coding="int32")]))
        frames.append(wmbus.build_telegram(
            manufacturer="KAM", id=WRONG_KEY_ID, version=0x1B, device_type=0x07, tpl="short",
            access_number=count % 256, mode=5, key=bytes.fromhex("AB" * 16),
            records=[mbus.build_record(0x13, 7, coding="int32")]))
        return frames

    async def _transmit(self, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        try:
            last = -1
            while True:
                now = self.clock.now().timestamp()
                count = int(now // RADIO_INTERVAL)
                if count != last:
                    last = count
                    for frame in self.telegrams(count * RADIO_INTERVAL):
                        writer.write(wmbus.HexLineCodec.encode(frame))
                        self.sent += 1
                    await writer.drain()
                await asyncio.sleep(max(0.05, RADIO_INTERVAL / self.clock.speed / 4))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        """Stop both simulators."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.radio is not None:
            self.radio.close()
        await self.server.close()


def _announce(report: RunReport) -> None:
    if report.web:
        print(f"meterkit demo: web page at {report.web} while the demo runs", flush=True)
    if report.bacnet_device:
        print(f"meterkit demo: BACnet/IP device 4000 at {report.bacnet_device} while the demo "
              "runs", flush=True)


def _saved_time(folder: Path) -> datetime | None:
    try:
        state = s0.load_state_file(folder / "state.json")
    except (FileNotFoundError, s0.StateError, OSError):
        return None
    text = state.get("time")
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


async def run_demo(folder: Path, *, seconds: float | None, speed: float,
                   serve: tuple[str, int] | None = None,
                   users: Path | None = None,
                   bacnet_port: int | None = None) -> tuple[Site, RunReport, int]:
    """Run the demo site in ``folder``; returns the site, the report and telegrams sent."""
    start = datetime.now(UTC)
    saved = _saved_time(folder)
    if saved is not None and saved > start:  # a faster clock ran ahead: continue from there
        start = saved
    clock = Clock(speed=speed, start=start)
    simulators = DemoSimulators(clock)
    await simulators.start()
    try:
        site = load_site(write_demo_files(folder, mbus_port=simulators.mbus_port,
                                          radio_port=simulators.radio_port,
                                          bacnet_port=bacnet_port))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        if seconds is not None:
            loop.call_later(seconds, stop.set)
        report = await serve_site(site, stop=stop, clock=clock, serve_web=serve,
                                  web_users=users, on_start=_announce)
    finally:
        await simulators.close()
    return site, report, simulators.sent


def _summary(folder: Path, site: Site, report: RunReport, sent: int, speed: float) -> list[str]:
    database = site.history
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT count(*), count(DISTINCT point) FROM readings").fetchone()
        alarm_rows = db.execute("SELECT time, alarm_id, event, severity FROM alarms "
                                "ORDER BY id").fetchall()
        audit = db.execute("SELECT time, kind, message FROM audit ORDER BY id").fetchall()
        latest = dict(db.execute(
            "SELECT point, coalesce(value, 'no value') || ' ' || unit || "
            "coalesce(' (' || quality || ')', '') FROM readings r WHERE time = "
            "(SELECT max(time) FROM readings WHERE point = r.point)").fetchall())
        failed = sorted({message.split(":")[0] for _t, kind, message in audit
                         if kind == "failure" and message.startswith("mbus")})
    last_event: dict[str, str] = {}
    cleared: set[str] = set()
    for _time, alarm_id, event, _severity in alarm_rows:
        last_event[str(alarm_id)] = str(event)
        if event == "cleared":
            cleared.add(str(alarm_id))
    active = {alarm_id for alarm_id, event in last_event.items() if event == "raised"}
    audit_log = folder / "audit.log"
    audit_log.write_text("".join(f"{time} {kind:<8} {message}\n"
                                 for time, kind, message in audit), encoding="utf-8")
    duration = (report.stopped or report.started) - report.started
    hours = duration.total_seconds() / 3600

    def value(point: str) -> str:
        return str(latest.get(f"{site.name}/{point}", "-")).strip()

    wired_ok = [name for name, *_ in WIRED if f"{site.name}/{name}/status" in latest]
    radio_ok = [m.name for m in site.wmbus[0].meters if any(
        p.startswith(f"{site.name}/{m.name}/") for p in latest)]
    exports = sorted((site.data_dir / "exports").glob("*"))
    xml_files = [path for path in exports if path.suffix == ".xml"]
    if importlib.util.find_spec("lxml") is not None:
        for path in xml_files:
            exporters.validate_xml(path)
        checked = f"{len(xml_files)} XML files valid against the XSD"
    else:
        checked = "XML not checked against the XSD: pip install 'meterkit[xml]'"
    lines = [
        f"meterkit demo: site {site.name!r} ran {duration.total_seconds() / speed:.0f} s "
        f"({hours:.2f} simulated hours at {speed:g}x) in {folder}/"
        + (f", after an unclean stop ({report.recovered} readings recovered)"
           if report.previous_stop == "unclean" else ""),
        f"wired M-Bus: segment {site.mbus[0].url}, {len(wired_ok)} meters read every 15 min, "
        "one after another" + (f"; failing: {', '.join(failed)}" if failed else ""),
        f"  boiler heat {value('boiler/heat/energy_kwh')}, gas {value('boiler/gas/volume_m3')}, "
        f"efficiency {value('boiler/efficiency')}, building heat losses "
        f"{value('building/heat_losses')}",
        f"wireless M-Bus: {sent} telegrams sent, {len(radio_ok)} meters decoded with keys from "
        f"{site.wmbus[0].keys}, {report.refused} telegrams refused (wrong key)",
        f"  flat1 water {value('flat1/water/total_m3')}, flat3 heat cost allocator "
        f"{value('flat3/heat_cost/hca_units')}",
        f"S0 grid: total {value('grid/total')}, power {value('grid/power')}, peaks "
        f"{value('grid/peaks')}, peak hours {value('grid/peak_hours')}",
        f"analog tank level: {value('tank/level')}",
        f"alarms: {len(alarm_rows)} notifications; raised and cleared: "
        f"{', '.join(sorted(cleared)) or 'none'}; active: {', '.join(sorted(active)) or 'none'}",
        f"history: {database} ({rows[0]} readings of {rows[1]} points; views readings, "
        "alarms, audit)",
        f"exports: {len(exports)} files in {site.data_dir / 'exports'} ({checked})",
        f"audit log: {audit_log} ({len(audit)} entries)",
    ]
    if report.web:
        lines.append(f"web: {report.web}")
    if report.bacnet_device:
        lines.append(f"bacnet: device 4000 published the demo's points at "
                     f"{report.bacnet_device}")
    return lines


def register(commands: Any) -> None:
    """Add ``demo`` to the ``meterkit`` command line."""
    demo = commands.add_parser(
        "demo", help="run the simulated site (make demo)",
        description="Run a simulated site (M-Bus segment over TCP, radio meters with keys, "
                    "an S0 replay, an analog input, alarms) through the same code as "
                    "`meterkit run`, on a clock --speed times faster than the wall clock.")
    demo.add_argument("--for", dest="seconds", type=float, default=None, metavar="SECONDS",
                      help="wall seconds to run (default 60; with --serve until Ctrl-C)")
    demo.add_argument("--dir", default="demo-output", help="folder for the site, history "
                                                           "and exports (default demo-output)")
    demo.add_argument("--speed", type=float, default=60.0,
                      help="simulated seconds per wall second (default 60)")
    demo.add_argument("--serve", action="store_true", help="serve the web page while running")
    demo.add_argument("--port", type=int, default=8080, help="web page port (with --serve)")
    demo.add_argument("--users", type=Path, metavar="FILE",
                      help="users file of the web page (`meterkit web-user`): logins to "
                           "acknowledge alarms (with --serve)")
    demo.add_argument("--bacnet", type=int, metavar="PORT",
                      help="publish the demo's points as BACnet/IP device 4000 on "
                           "127.0.0.1:PORT while it runs (the [bacnet_device] table)")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR, format="meterkit demo: %(name)s: %(message)s")
    folder = Path(args.dir)
    seconds = args.seconds if args.seconds is not None else (None if args.serve else 60.0)
    serve = ("127.0.0.1", args.port) if args.serve else None
    try:
        site, report, sent = asyncio.run(run_demo(folder, seconds=seconds, speed=args.speed,
                                                  serve=serve, users=args.users,
                                                  bacnet_port=args.bacnet))
    except (SiteError, StateFileError, GatewayError) as exc:
        print(f"meterkit demo: {exc}", file=sys.stderr)
        return 2
    print("\n".join(_summary(folder, site, report, sent, args.speed)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gateway._demo``: the same as ``meterkit demo``."""
    from .__main__ import main as meterkit

    return meterkit(["demo", *(argv or sys.argv[1:])])
