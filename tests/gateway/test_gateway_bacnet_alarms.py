"""Alarms of ``meterkit run``'s BACnet device across acknowledgements made elsewhere (the
web page, into the alarms engine) and restarts, read by a bacpypes3 peer in another
process (GetEventInformation, GetAlarmSummary, event notifications)."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("bacpypes3", reason="the bacnet extra (bacpypes3) is not installed")
pytest.importorskip("aiohttp", reason="the web extra (aiohttp) is not installed")

import aiohttp

from gateway.web import save_user

from ..bacnet.support import WAIT, Peer, free_udp_port, python_peer

ROOT = Path(__file__).resolve().parents[2]

# A boiler temperature of 95 degC against a limit of 90, read once a minute: its alarm is
# raised at the first readout and stays active; nothing else is committed for a minute,
# so what the BACnet device shows of an acknowledgement does not wait for a readout.
SITE = """
[site]
name = "plant"
gateway_id = "plant-gw"

[[analog]]
name = "boiler"
field = "temperature"
signal = "0-10V"
low = 0
high = 100
unit = "degC"
interval = "1min"
[analog.source]
kind = "simulated"
values = [9.5]
step = "1h"

[[alarm]]
point = "plant/boiler/temperature"
kind = "upper"
limit = 90
hysteresis = 5
alarm_id = "BOILER-HOT"
severity = "major"

[bacnet_device]
address = "127.0.0.1/8:{port}"
instance = 4343
points = ["plant/boiler/*"]
recipients = ["127.0.0.1:{peer_port}"]
[bacnet_device.instances]
"plant/boiler/temperature" = 3

[web]
port = {web_port}
users_file = "users.toml"
"""

OBJECT = "analog-input,3"


def free_tcp_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Gateway:
    """``meterkit run`` of SITE (started and stopped at will) and a bacpypes3 peer, the
    alarm recipient, that outlives its restarts."""

    def __init__(self, folder: Path) -> None:
        self.port, self.peer_port, self.web_port = (free_udp_port(), free_udp_port(),
                                                    free_tcp_port())
        self.site = folder / "site.toml"
        self.site.write_text(SITE.format(port=self.port, peer_port=self.peer_port,
                                         web_port=self.web_port))
        save_user(folder / "users.toml", "admin", "admin", "correct horse")
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None
        self.peer = Peer(python_peer(f"127.0.0.1/8:{self.peer_port}", "9003"))
        self.peer.until("ready")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", str(self.site)], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise AssertionError("meterkit run did not stop on SIGTERM") from None
        assert process.returncode == 0

    def ask(self, op: str, **fields: Any) -> dict[str, Any]:
        self.peer.send({"op": op, "address": self.address, **fields})
        return self.peer.answer()

    def wait_for(self, what: str, check: Any) -> Any:
        """Ask ``check()`` until it gives something true (bounded: a hang fails)."""
        for _ in range(int(WAIT / 0.2)):
            result = check()
            if result:
                return result
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"meterkit run ended: {self.process.stderr.read()}")  # type: ignore[union-attr]
            time.sleep(0.2)
        raise AssertionError(f"no {what} after {WAIT} s")

    def summary(self) -> dict[str, Any] | None:
        """The boiler's entry of GetEventInformation (None: not listed, or no answer)."""
        answer = self.ask("events")
        return next((e for e in answer.get("events", []) if e["object"] == OBJECT), None)

    def acknowledge_on_the_web_page(self, alarm_id: str) -> None:
        async def post() -> None:
            url = f"http://127.0.0.1:{self.web_port}"
            jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
            async with aiohttp.ClientSession(cookie_jar=jar) as client:
                async with client.post(url + "/login", data={
                        "user": "admin", "password": "correct horse"}) as response:
                    assert response.status == 200, await response.text()
                    found = re.search(r'name="csrf" value="([^"]+)"', await response.text())
                assert found
                async with client.post(url + "/alarms/acknowledge", data={
                        "alarm_id": alarm_id, "csrf": found.group(1)}) as response:
                    assert response.status in (200, 303), await response.text()

        asyncio.run(post())

    def close(self) -> None:
        try:
            self.peer.close()
        finally:
            self.stop()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    made = Gateway(tmp_path)
    try:
        yield made
    finally:
        made.close()


def test_restored_alarms_stay_listed_without_a_second_notification_and_web_acks_show(
        gateway: Gateway) -> None:
    gateway.start()
    raised = gateway.peer.until("event")["event"]
    assert (raised["object"], raised["notify_type"], raised["to_state"]) == (
        OBJECT, "alarm", "high-limit")
    first = gateway.wait_for("the raised alarm listed", gateway.summary)
    assert (first["state"], first["acked"]) == ("high-limit", [0, 1, 1])

    # a restart: the alarms engine's states are restored; the transition to high-limit was
    # notified already, so it is not notified again, but it stays listed as it was
    gateway.stop()
    gateway.start()
    listed = gateway.wait_for("the restored alarm listed", gateway.summary)
    assert listed == first
    assert gateway.ask("alarms")["alarms"] == [
        {"object": OBJECT, "state": "high-limit", "acked": [0, 1, 1]}]

    # acknowledged on the web page (into the alarms engine's life cycle): the device's
    # acknowledged-transitions bits show it and the recipient gets an ack notification,
    # the first event since the restart (no second to-offnormal came before it)
    gateway.acknowledge_on_the_web_page("BOILER-HOT")
    acked = gateway.peer.until("event")["event"]
    assert (acked["object"], acked["notify_type"], acked["to_state"]) == (
        OBJECT, "ack-notification", "high-limit")
    assert acked["time"] == first["times"][0]
    listed = gateway.wait_for("the acknowledgement listed", lambda: (
        summary := gateway.summary()) and summary["acked"] == [1, 1, 1] and summary)
    assert listed["state"] == "high-limit" and listed["times"] == first["times"]
    assert gateway.ask("alarms")["alarms"] == [
        {"object": OBJECT, "state": "high-limit", "acked": [1, 1, 1]}]
