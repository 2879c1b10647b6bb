"""The bacnet command line: serve a shipped point list, refuse bad ones in one line."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import profiles
from bacnet import load_point_list
from bacnet._cli import main

from .support import WAIT, Peer, free_udp_port, python_peer

pytest.importorskip("bacpypes3", reason="the bacnet extra (bacpypes3) is not installed")

HEAT_METER = next(p for p in profiles.shipped_profiles("bacnet") if p.stem == "heat-meter")


def bacnet(*args: str) -> list[str]:
    return [sys.executable, "-m", "bacnet", *args]


def test_serve_publishes_readings_from_stdin() -> None:
    port = free_udp_port()
    server = Peer(bacnet("serve", "--points", "heat-meter",  # the shipped list, by name
                         "--address", f"127.0.0.1/8:{port}", "--instance", "77"))
    peer = Peer(python_peer(f"127.0.0.1/8:{free_udp_port()}", "9002"))
    try:
        assert server.next() == {"serving": "device,77", "name": "meterkit heat meter",
                                 "address": f"127.0.0.1/8:{port}", "points": 6}
        server.send({"point": "heat/energy", "value": "1234.5", "unit": "kWh",
                     "time": "2026-12-01T08:00:00+00:00"})
        server.send({"point": "heat/flow", "value": 1500, "unit": "l/h", "quality": ["stale"]})
        peer.until("ready")
        address = f"127.0.0.1:{port}"
        for _ in range(50):  # the lines are read asynchronously: wait until published
            peer.send({"op": "read", "address": address, "object": "analog-input,3",
                       "property": "present-value"})
            if peer.next() == {"value": 1.5}:
                break
        peer.send({"op": "rpm", "address": address, "objects": ["analog-input,1"],
                   "properties": ["present-value", "units", "status-flags"]})
        assert peer.next()["objects"]["analog-input,1"] == {
            "present-value": 1234.5, "units": "kilowatt-hours", "status-flags": [0, 0, 0, 0]}
        peer.send({"op": "read", "address": address, "object": "analog-input,3",
                   "property": "status-flags"})
        assert peer.next() == {"value": [0, 1, 0, 0]}
    finally:
        peer.close()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(WAIT) == 0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('kind = "bacnet"\n[profile]\nname = "x"\n[[points]]\npoint = "a"\n'
         'object = "analog-inpt"\ninstance = 1\n', "table points[0], key object:"),
        ('kind = "bacnet"\n[profile]\nname = "x"\n[[points]]\npoint = "a"\n'
         'object = "analog-input"\ninstance = 1\nunit = "kW h"\n', "key unit:"),
        ('kind = "bacnet"\n[profile\n', "line 2"),
    ],
)
def test_serve_refuses_a_bad_point_list_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    status = main(["serve", "--points", str(path), "--address", "127.0.0.1/8:47999",
                   "--instance", "1"])
    assert status == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and words in lines[0], lines


def test_serve_refuses_a_bad_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--points", str(HEAT_METER), "--address", "300.1.1.1/8"]) == 1
    assert capsys.readouterr().err.strip() == (
        "bacnet serve: '300.1.1.1/8' is not an IPv4 address ADDR[/PREFIX][:PORT]")


def test_serve_reports_bad_reading_lines_and_keeps_going() -> None:
    port = free_udp_port()
    server = Peer(bacnet("serve", "--points", str(HEAT_METER),
                         "--address", f"127.0.0.1/8:{port}"))
    try:
        server.next()
        assert server.process.stdin is not None
        server.process.stdin.write('{"point": "nowhere", "value": 1}\nnot json\n')
        server.process.stdin.close()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(WAIT) == 0
        assert server.process.stderr is not None
        errors = server.process.stderr.read().splitlines()
        assert errors[0].startswith("bacnet serve: stdin line 1: point 'nowhere' is not in")
        assert errors[1].startswith("bacnet serve: stdin line 2: ")
    finally:
        if server.process.poll() is None:
            server.process.kill()


@pytest.fixture(scope="module")
def two_devices() -> Iterator[list[str]]:
    from .test_bacnet_client import free_port_block, simulator

    first = free_port_block(3)
    sim = simulator(2, first, "--objects", "4")
    yield [f"127.0.0.1:{first}", f"127.0.0.1:{first + 1}", f"127.0.0.1:{first + 2}"]
    sim.close()


def test_discover_prints_a_table_or_json(two_devices: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    live, other, dead = two_devices
    args = ["discover", "--address", live, "--address", other, "--address", dead,
            "--wait", "1", "--timeout", "0.5"]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == [
        "instance  address          vendor              model                 name",
        f"1000      {live}  meterkit simulator  simulated controller  sim-1000",
        f"1001      {other}  meterkit simulator  simulated controller  sim-1001",
    ]
    assert main([*args, "--json", "--range", "1001-1001"]) == 0
    devices = json.loads(capsys.readouterr().out)
    assert [(d["instance"], d["address"], d["name"]) for d in devices] == [
        (1001, other, "sim-1001")]
    assert main([*args, "--range", "9-1"]) == 1
    assert "--range '9-1'" in capsys.readouterr().err


def test_pics_prints_json_and_writes_a_point_list(two_devices: list[str], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    points = tmp_path / "device.toml"
    assert main(["pics", two_devices[0], "--points", str(points)]) == 0
    pics = json.loads(capsys.readouterr().out)
    assert pics["rpm"] is True and pics["device"]["instance"] == 1000
    assert [o["object"] for o in pics["objects"]] == [
        "device,1000", "network-port,1", "analog-input,1", "analog-value,2",
        "binary-input,3", "analog-input,4"]
    listed = load_point_list(points)
    assert [p.point for p in listed.points] == [
        "sim-1000/meter 1", "sim-1000/setpoint 2", "sim-1000/contact 3", "sim-1000/meter 4"]
    assert listed.device.address == two_devices[0]


def test_read_prints_the_value_and_fails_in_one_line(
        two_devices: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["read", two_devices[1], "analog-input,4", "present-value"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "address": two_devices[1], "object": "analog-input,4", "property": "present-value",
        "value": 40.0}
    assert main(["read", two_devices[1], "analog-input,9", "present-value"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"bacnet read: {two_devices[1]}: read analog-input,9 present-value refused: "
        "object: unknown-object")
    assert main(["read", two_devices[2], "analog-input,1", "present-value", "--timeout",
                 "0.2"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"bacnet read: {two_devices[2]}: no answer to read analog-input,1 present-value "
        "(2 tries of 0.2 s)")
    assert main(["read", two_devices[1], "no-such-type,1", "present-value"]) == 1
    assert "is not an object identifier" in capsys.readouterr().err
