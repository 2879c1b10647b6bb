"""BACnet in the site file: ``meterkit run`` publishing chosen points as a BACnet/IP device
([bacnet_device]), read by a bacpypes3 client in another process on 127.0.0.1; BACnet
devices read as inputs ([[bacnet]]) from bacpypes3 devices in another process."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from gateway import SiteError, Step, load_site, serve_site
from gateway.__main__ import main

from ._bacnet_site import (
    ROOT,
    SITE_HEADER,
    WAIT,
    Peer,
    SiteRun,
    free_udp_port,
    python_peer,
)

# A tank level (4-20 mA, 0-100 %) read every second: 6 s at 25 %, 6 s at 95 % (above the
# alarm's limit of 90), so an alarm is raised and cleared every 12 s.
SITE = SITE_HEADER + """
[[analog]]
name = "tank"
field = "level"
signal = "4-20mA"
low = 0
high = 100
unit = "%"
interval = "1s"
[analog.source]
kind = "simulated"
values = [8, 19.2]
step = "6s"

[[analog]]
name = "pump"
field = "current"
signal = "4-20mA"
low = 0
high = 10
unit = "A"
interval = "1s"
[analog.source]
kind = "simulated"
values = [12]
step = "1min"

[[analog]]
name = "valve"
field = "position"
signal = "4-20mA"
low = 0
high = 100
unit = "%"
interval = "1s"
missed_cycles = 2
[analog.source]
kind = "simulated"
values = [12, 1.0]
step = "6s"

[[alarm]]
point = "plant/tank/level"
kind = "upper"
limit = 90
hysteresis = 5
alarm_id = "TANK-HIGH"
severity = "critical"

[bacnet_device]
address = "127.0.0.1/8:{port}"
instance = 4242
points = ["plant/tank/*", "plant/pump/current", "plant/valve/*"]
trends = ["plant/tank/level"]
trend_buffer = 50
recipients = ["127.0.0.1:{peer_port}"]
confirmed = true
[bacnet_device.instances]
"plant/tank/level" = 7
"""


def crc_instance(point: str) -> int:
    """The documented rule for instances not pinned: 1 + CRC-32 of the name mod 4194302."""
    return 1 + zlib.crc32(point.encode()) % 4194302


class RunningSite(SiteRun):
    """``meterkit run`` of SITE, started at once, and a bacpypes3 peer."""

    def __init__(self, folder: Path) -> None:
        port, peer_port = free_udp_port(), free_udp_port()
        site = folder / "site.toml"
        site.write_text(SITE.format(port=port, peer_port=peer_port))
        super().__init__(site, port=port, peer_port=peer_port, peer_instance="9001")
        self.history = folder / "data" / "history.sqlite"
        self.result: tuple[int, str] | None = None
        self.start()

    def query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(f"file:{self.history}?mode=ro", uri=True)) as db:
            return db.execute(sql, args).fetchall()

    def latest(self, point: str) -> tuple[str, str] | None:
        rows = self.query("SELECT time, value FROM readings WHERE point = ? "
                          "ORDER BY time DESC LIMIT 1", point)
        return (rows[0][0], rows[0][1]) if rows else None

    def finish(self) -> tuple[int, str]:
        """Stop both (once): ``meterkit run``'s exit status and standard output."""
        if self.result is None:
            try:
                self.peer.close()
            finally:
                self.result = self.stop()
        assert self.result is not None
        return self.result


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningSite]:
    site = RunningSite(tmp_path)
    try:
        yield site
    finally:
        site.finish()


def test_meterkit_run_publishes_points_cov_alarms_and_acknowledgements(
        running: RunningSite) -> None:
    level = "analog-input,7"  # pinned in the site file
    current = f"analog-input,{crc_instance('plant/pump/current')}"  # derived from the name

    def objects() -> list[str] | None:
        answer = running.ask("read", object="device,4242", property="object-list")
        listed = answer.get("value", [])
        return listed if level in listed and current in listed else None

    listed = running.wait_for("published objects", objects)
    assert "trend-log,7" in listed and "notification-class,1" in listed
    assert running.ask("whois", low=4242, high=4242) == {"devices": [4242]}

    # present values equal the history's latest readings (a consistent snapshot: the
    # history did not change while the value was read)
    def snapshot() -> tuple[float, str] | None:
        before = running.latest("plant/pump/current")
        value = running.ask("read", object=current, property="present-value")["value"]
        return (value, before[1]) if before and before == running.latest(
            "plant/pump/current") else None

    value, stored = running.wait_for("a stable pump current", snapshot)
    assert value == pytest.approx(float(stored)) and float(stored) == pytest.approx(5.0)
    properties = running.ask("rpm", objects=[current])["objects"][current]
    assert properties["units"] == "amperes"
    assert properties["object-name"] == "plant/pump/current"
    assert properties["status-flags"] == [0, 0, 0, 0]

    # COV: the level changes between 25 % and 95 %
    running.peer.send({"op": "subscribe", "address": running.address, "object": level,
                       "confirmed": False, "lifetime": 120, "count": 6})
    running.peer.until("subscribed")
    # the first notification, then the level's change (and the flags' change its alarm
    # raise or clear brings)
    covs = [running.peer.until("cov")["cov"] for _ in range(6)]
    running.peer.until("cov_done")
    assert {c["value"] for c in covs if c["property"] == "present-value"} == {25.0, 95.0}

    # the alarm: raised by the alarms engine, an event notification to the recipient
    while True:
        event = running.peer.until("event")["event"]
        if event["notify_type"] == "alarm" and event["to_state"] == "high-limit":
            break
    assert event["object"] == level and event["event_type"] == "out-of-range"
    assert event["priority"] == 32 and event["ack_required"] is True  # critical
    assert event["values"]["exceeded_limit"] == 90.0
    assert event["confirmed"] is True

    # acknowledged as an operator does: the time stamp of the transition from
    # GetEventInformation (the event above may be an earlier raise's by now)
    [summary] = [e for e in running.ask("events")["events"] if e["object"] == level]
    acked = running.ask("ack", object=level, state="high-limit", time=summary["times"][0],
                        source="bms operator")
    assert acked == {"acked": True}

    def audit() -> list[tuple[Any, ...]]:
        return running.query("SELECT kind, message FROM audit WHERE kind = "
                             "'acknowledgement'")

    assert running.wait_for("the acknowledgement in the audit log", audit) == [
        ("acknowledgement", "BACnet bms operator acknowledged TANK-HIGH")]

    # the valve's loop opens for 6 s of every 12 (1 mA): its device-failure alarm raises
    # and its object is faulted with communication-failure (the failed device, not only
    # the reading's own invalid flag), until it answers again
    valve = f"analog-input,{crc_instance('plant/valve/position')}"

    def valve_state() -> tuple[str, list[int]]:
        answer = running.ask("rpm", objects=[valve], properties=["reliability",
                                                                 "status-flags"])
        values = answer.get("objects", {}).get(valve, {})
        return values.get("reliability"), values.get("status-flags")

    assert running.wait_for("the failed valve", lambda: valve_state() == (
        "communication-failure", [0, 1, 0, 0]))
    assert running.wait_for("the valve back", lambda: valve_state() == (
        "no-fault-detected", [0, 0, 0, 0]))

    # the Trend Log holds the history's readings of the level
    trend = running.ask("range", object="trend-log,7")
    stored_levels = {float(v) for (v,) in running.query(
        "SELECT value FROM readings WHERE point = 'plant/tank/level'")}
    assert trend["records"] and {r[2] for r in trend["records"]} <= stored_levels

    status, out = running.finish()
    assert status == 0
    assert json.loads(out.splitlines()[-1])["bacnet_device"] == f"127.0.0.1/8:{running.port}"


def test_bacnet_tables_are_checked_and_planned(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.toml"
    text = SITE.format(port=47900, peer_port=47901)
    for old, new, table, key in [
        ('address = "127.0.0.1/8:47900"', 'address = "nowhere"', "bacnet_device", "address"),
        ("instance = 4242", "instance = 4194303", "bacnet_device", "instance"),
        ('recipients = ["127.0.0.1:47901"]', 'recipients = ["device,x"]', "bacnet_device",
         "recipients"),
        ('"plant/tank/level" = 7', '"plant/tank/level" = 7\n"plant/pump/current" = 7',
         "bacnet_device.instances", "plant/pump/current"),
        ("trend_buffer = 50", "trend_buffer = 50\ncolour = 1", "bacnet_device", "colour"),
    ]:
        assert old in text
        path.write_text(text.replace(old, new))
        with pytest.raises(SiteError) as caught:
            load_site(path)
        assert (caught.value.table, caught.value.key) == (table, key), str(caught.value)
    path.write_text(text)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert ("bacnet device 4242 (plant-gw) on 127.0.0.1/8:47900, normal: publishes "
            "plant/tank/*, plant/pump/current, plant/valve/*; trends: plant/tank/level; "
            "alarm recipients: "
            "127.0.0.1:47901") in out
    assert "  plant/tank/level = instance 7" in out


def test_demo_publishes_its_points_over_bacnet(tmp_path: Path) -> None:
    port, peer_port = free_udp_port(), free_udp_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "gateway", "demo", "--for", "20", "--dir", str(tmp_path),
         "--bacnet", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    peer = Peer(python_peer(f"127.0.0.1/8:{peer_port}", "9002"))
    try:
        peer.until("ready")
        level = f"analog-input,{crc_instance('demo/tank/level')}"
        for _ in range(int(WAIT / 0.2)):
            peer.send({"op": "read", "address": f"127.0.0.1:{port}", "object": "device,4000",
                       "property": "object-list"})
            if level in peer.answer().get("value", []):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the demo's tank level was not published")
        peer.send({"op": "rpm", "address": f"127.0.0.1:{port}", "objects": [level],
                   "properties": ["object-name", "units", "present-value"]})
        tank = peer.answer()["objects"][level]
        assert tank["object-name"] == "demo/tank/level" and tank["units"] == "percent"
        # the demo drives 20.7 mA too: 104.375 %, published with out_of_range (NAMUR NE 43
        # computes values up to 21 mA, 106.25 %)
        assert 0 <= tank["present-value"] <= 106.25
    finally:
        peer.close()
        out, err = demo.communicate(timeout=120)
    assert demo.returncode == 0, err
    assert f"bacnet: device 4000 published the demo's points at 127.0.0.1/8:{port}" in out


INPUT_SITE = """
[site]
name = "plant"

[[bacnet]]
name = "ahu"
address = "127.0.0.1:{device_port}"
instance = 1000
interface = "127.0.0.1/8:{client_port}"
interval = "1min"
timeout = "0.5s"
[[bacnet.points]]
point = "meter1/volume"
object = "analog-input"
instance = 1
unit = "m3"
[[bacnet.points]]
point = "setpoint2"
object = "analog-value"
instance = 2
unit = "%"

[[bacnet]]
name = "dead"
address = "127.0.0.1:{dead_port}"
instance = 1001
interface = "127.0.0.1/8:{dead_client_port}"
interval = "1s"
timeout = "0.2s"
retries = 0
missed_cycles = 2
point_list = "{point_list}"
"""


def test_bacnet_devices_are_read_as_inputs(tmp_path: Path) -> None:
    device_port, client_port, dead_port = free_udp_port(), free_udp_port(), free_udp_port()
    point_list = tmp_path / "dead.toml"
    point_list.write_text('kind = "bacnet"\n[profile]\nname = "dead"\n[[points]]\n'
                          'point = "temperature"\nobject = "analog-input"\ninstance = 1\n'
                          'unit = "degC"\n')
    path = tmp_path / "site.toml"
    dead_client_port = free_udp_port()
    text = INPUT_SITE.format(device_port=device_port, client_port=client_port,
                             dead_port=dead_port, dead_client_port=dead_client_port,
                             point_list=point_list)
    # devices read through one interface share its client, and so its timeouts
    path.write_text(text.replace(str(dead_client_port), str(client_port)))
    with pytest.raises(SiteError) as caught:
        load_site(path)
    assert (caught.value.table, caught.value.key) == ("bacnet[1]", "timeout")
    # the gateway's own device cannot use a port a client reads through
    path.write_text(text + f'[bacnet_device]\naddress = "127.0.0.1/8:{client_port}"\n'
                           'instance = 5\n')
    with pytest.raises(SiteError) as caught:
        load_site(path)
    assert (caught.value.table, caught.value.key) == ("bacnet_device", "address")
    path.write_text(text)
    site = load_site(path)
    assert site.devices["ahu"] == 180.0 and site.devices["dead"] == 2.0
    # a bacpypes3 device in another process whose Analog Inputs grow by 10 every 0.3 s
    simulator = Peer([sys.executable, "-m", "bacnet.sim", "1", str(device_port),
                      "--objects", "3", "--vary", "0.3"])
    try:
        simulator.until("ready")
        steps: list[Step] = []
        stop = asyncio.Event()

        def on_step(step: Step) -> None:
            steps.append(step)
            volumes = [r for s in steps for r in s.readings if r.point ==
                       "plant/ahu/meter1/volume"]
            raised = [n for s in steps for n in s.notifications
                      if n.point == "plant/dead" and n.event == "raised"]
            if len(volumes) >= 3 and raised:
                stop.set()

        async def scenario() -> None:
            asyncio.get_running_loop().call_later(WAIT, stop.set)
            await serve_site(site, stop=stop, on_step=on_step)

        asyncio.run(scenario())
    finally:
        simulator.close()
    readings = [r for s in steps for r in s.readings]
    volumes = [r for r in readings if r.point == "plant/ahu/meter1/volume"]
    # the interval is a minute: the first value is polled, the others came by COV
    assert len(volumes) >= 3, volumes
    assert all(r.unit == "m3" and r.quality == () and isinstance(r.value, float)
               for r in volumes)
    values = [float(r.value) for r in volumes if isinstance(r.value, float)]
    assert values == sorted(values)  # the simulator's values only grow
    [setpoint] = [r for r in readings if r.point == "plant/ahu/setpoint2"]
    assert (setpoint.value, setpoint.unit) == (2.0, "%")
    # the dead device: its automatic device-failure rule raised, the audit log says why
    assert any(n.point == "plant/dead" and n.event == "raised"
               for s in steps for n in s.notifications)
    assert not any(n.point == "plant/ahu" and n.event == "raised"
                   for s in steps for n in s.notifications)
    with closing(sqlite3.connect(site.history)) as db:
        failures = [m for (m,) in db.execute("SELECT message FROM audit WHERE kind = "
                                             "'failure'")]
    assert any(m.startswith("bacnet dead: device 1001 at 127.0.0.1:") for m in failures), failures


def test_meterkit_run_read_by_an_independent_stack(running: RunningSite) -> None:
    """@bacnet-js/client (node) reads what meterkit run publishes."""
    from ..bacnet.test_bacnet_server_node import NODE_PEER, node_or_skip

    node = Peer([node_or_skip(), str(NODE_PEER), str(free_udp_port())])
    current = f"analog-input,{crc_instance('plant/pump/current')}"
    try:
        node.until("ready")

        def read(object_id: str, prop: str) -> Any:
            node.send({"op": "read", "address": running.address, "object": object_id,
                       "property": prop})
            return node.answer().get("value")

        running.wait_for("the pump current", lambda: current in (
            read("device,4242", "object-list") or []))
        stored = running.wait_for("a stored pump current",
                                  lambda: running.latest("plant/pump/current"))
        assert read(current, "present-value") == pytest.approx(float(stored[1]))
        assert read(current, "object-name") == "plant/pump/current"
    finally:
        node.close()


STATES_SITE = """
[site]
name = "plant"

[[bacnet]]
name = "ahu"
address = "127.0.0.1:{device_port}"
instance = 3100
interface = "127.0.0.1/8:{client_port}"
interval = "1s"
timeout = "0.3s"
retries = 0
[[bacnet.points]]
point = "meter"
object = "analog-input"
instance = 1
unit = "kWh"
[[bacnet.points]]
point = "door"
object = "binary-input"
instance = 2
[[bacnet.points]]
point = "mode"
object = "multi-state-input"
instance = 4
"""


class GatewayThread:
    """``serve_site`` on a loop thread of its own; ``steps`` are its committed steps."""

    def __init__(self, site: Any) -> None:
        self.steps: list[Step] = []
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.error: list[BaseException] = []

        def run() -> None:
            try:
                self.loop.run_until_complete(serve_site(site, stop=self.stop,
                                                        on_step=self.steps.append))
            except BaseException as exc:  # reported by wait_for
                self.error.append(exc)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def readings(self, point: str) -> list[Any]:
        return [r for s in list(self.steps) for r in s.readings if r.point == point]

    def wait_for(self, what: str, check: Any) -> Any:
        for _ in range(int(WAIT / 0.1)):
            if self.error:
                raise AssertionError(f"the gateway ended: {self.error[0]!r}")
            result = check()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"no {what} after {WAIT} s")

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(WAIT)


def test_a_bacnet_device_is_subscribed_when_it_starts_late_and_after_each_restart(
        tmp_path: Path) -> None:
    device_port, client_port = free_udp_port(), free_udp_port()
    path = tmp_path / "site.toml"
    path.write_text(STATES_SITE.format(device_port=device_port, client_port=client_port))
    site = load_site(path)

    def failures() -> list[str]:
        """The audit log's entries of readouts that found the device silent."""
        if not site.history.exists():
            return []
        with closing(sqlite3.connect(f"file:{site.history}?mode=ro", uri=True)) as db:
            try:
                return [m for (m,) in db.execute(
                    "SELECT message FROM audit WHERE kind = 'failure' AND message LIKE "
                    "'%does not answer'")]
            except sqlite3.OperationalError:  # the file is there, its tables not yet
                return []

    gateway = GatewayThread(site)
    device_command = [sys.executable, str(ROOT / "tests" / "bacnet" / "state_device.py"),
                      str(device_port), "3100"]
    device: Peer | None = None
    try:
        # the gateway began without the device
        gateway.wait_for("a failed readout", lambda: len(failures()) == 1)
        for start, value in enumerate((20.5, 30.5)):
            if start:  # killed: its subscriptions die with it; then it starts again
                assert device is not None
                device.process.kill()
                device.close()
                gateway.wait_for("a failed readout after the kill",
                                 lambda: len(failures()) == 2)
            device = Peer(device_command)
            device.until("ready")
            subscribed = {device.until("subscribed")["subscribed"] for _ in range(3)}
            assert subscribed == {"analog-input,1", "binary-input,2", "multi-state-input,4"}
            device.send({"op": "set", "object": "analog-input,1", "value": value})
            gateway.wait_for(f"the meter's {value} by COV", lambda value=value: any(
                r.value == value for r in gateway.readings("plant/ahu/meter")))
        # binary and multi-state values as the history and the alarms take them
        assert {r.value for r in gateway.readings("plant/ahu/door") if r.quality == ()} == {True}
        assert {r.value for r in gateway.readings("plant/ahu/mode") if r.quality == ()} == {2}
        assert {r.value for r in gateway.readings("plant/ahu/mode/state_text")} == {"heating"}
    finally:
        gateway.close()
        if device is not None:
            device.close()
    assert not gateway.error, gateway.error
