"""The bacnet command line: serve a shipped point list, refuse bad ones in one line."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

import profiles
from bacnet._cli import main

from .support import WAIT, Peer, free_udp_port, python_peer

pytest.importorskip("bacpypes3", reason="the bacnet extra (bacpypes3) is not installed")

HEAT_METER = next(p for p in profiles.shipped_profiles("bacnet") if p.stem == "heat-meter")


def bacnet(*args: str) -> list[str]:
    return [sys.executable, "-m", "bacnet", *args]


def test_serve_publishes_readings_from_stdin() -> None:
    port = free_udp_port()
    server = Peer(bacnet("serve", "--points", str(HEAT_METER),
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
