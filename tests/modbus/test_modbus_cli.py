"""The ``modbus`` command line, run as users run it (subprocesses) against pymodbus'
simulator in a thread of the test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pymodbus.simulator import SimDevice

from modbus import shipped_maps

from .sim import ServerThread, device, float32, nobody_else

MAP_FILE = """\
kind = "modbus"

[profile]
name = "{name}"
description = "a test meter"

[modbus]
table = "input"
type = "float32"

[[registers]]
name = "voltage"
address = 0
unit = "V"
quantity = "voltage"
maximum = 300

[[registers]]
name = "energy"
address = 2
unit = "kWh"
quantity = "energy"

[[registers]]
name = "missing"
address = 20
"""


def modbus_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modbus", *args], capture_output=True,
                          text=True, input=stdin, timeout=120, check=False)


@pytest.fixture
def map_file(tmp_path: Path) -> Path:
    path = tmp_path / "meter.toml"
    path.write_text(MAP_FILE.format(name="meter"), encoding="utf-8")
    return path


def meter(unit: int = 1) -> SimDevice:
    # voltage 312.5 (implausible), energy 1234.5; no register 20 (illegal address)
    return device(unit, {"input": {0: float32(312.5) + float32(1234.5)}})


def test_maps_lists_the_shipped_names() -> None:
    result = modbus_cli("maps")
    assert result.returncode == 0
    assert result.stdout.splitlines() == shipped_maps() and "eastron_sdm630" in result.stdout


def test_read_prints_values_and_fails_for_a_refused_point(map_file: Path) -> None:
    with ServerThread([meter()]) as server:
        result = modbus_cli("read", f"tcp://127.0.0.1:{server.port}", "--map", str(map_file))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "voltage  312.5 V  [out_of_range]", "energy   1234.5 kWh", "missing  -  [comm_failure]"]
    [line] = result.stderr.splitlines()
    assert "exception 2 (illegal data address)" in line and "input 20..21" in line


def test_read_json_is_exporters_input(map_file: Path, tmp_path: Path) -> None:
    with ServerThread([meter(3)]) as server:
        result = modbus_cli("read", f"tcp://127.0.0.1:{server.port}", "--map", str(map_file),
                            "--unit-id", "3", "--json", "--meter-id", "hall-3")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("meter_id") for line in lines] == ["hall-3", "hall-3", None]
    assert lines[1]["value"] == 1234.5 and lines[1]["metadata"] == {"point": "energy",
                                                                     "map": "meter"}
    assert lines[0]["status"] == ["out_of_range"] and "error" in lines[2]
    csv = subprocess.run([sys.executable, "-m", "exporters", "csv"], input=result.stdout,
                         capture_output=True, text=True, timeout=60, check=False)
    assert csv.returncode == 0, csv.stderr
    rows = csv.stdout.splitlines()
    assert len(rows) == 3 and rows[2].startswith("hall-3,,energy,1234.5,float,kWh,")


def test_read_usage_errors_exit_2(map_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(MAP_FILE.format(name="bad").replace('type = "float32"', 'type = "real"'),
                   encoding="utf-8")
    for args in (["read", "udp://x:1", "--map", str(map_file)],
                 ["read", "tcp://127.0.0.1:1", "--map", str(bad)],
                 ["read", "tcp://127.0.0.1:1", "--map", "no_such_map"]):
        result = modbus_cli(*args)
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
    assert "bad.toml, table modbus, key type" in modbus_cli(
        "read", "tcp://127.0.0.1:1", "--map", str(bad)).stderr


def test_read_an_unreachable_device_is_one_line(map_file: Path) -> None:
    with ServerThread([meter()]) as server:
        port = server.port
    result = modbus_cli("read", f"tcp://127.0.0.1:{port}", "--map", str(map_file))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"modbus read: tcp://127.0.0.1:{port}/1: unreachable: input 0..21: cannot connect to "
        f"tcp://127.0.0.1:{port}"]


def test_scan_lists_the_units_that_answer() -> None:
    with ServerThread([meter(2), meter(5), nobody_else()]) as server:
        result = modbus_cli("scan", f"tcp://127.0.0.1:{server.port}", "--units", "1-6",
                            "--table", "input")
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["2", "5"]
    assert result.stderr.splitlines() == ["modbus scan: 2 of 6 unit ids answered"]


def test_probe_lists_plausible_interpretations() -> None:
    with ServerThread([meter()]) as server:
        result = modbus_cli("probe", f"tcp://127.0.0.1:{server.port}", "--table", "input",
                            "--address", "0", "--count", "4", "--json")
    candidates = [json.loads(line) for line in result.stdout.splitlines()]
    floats = [(c["address"], c["value"]) for c in candidates if c["type"] == "float32"
              and c["word_order"] == "big" and c["byte_order"] == "big"]
    assert (0, 312.5) in floats and (2, 1234.5) in floats


def test_serve_publishes_stdin_readings(map_file: Path) -> None:
    readings = "\n".join([
        json.dumps({"point": "voltage", "value": 229.5}),
        json.dumps({"meter_id": "x", "quantity": "energy", "value": "17.25",
                    "value_type": "decimal", "metadata": {"point": "energy"}}),
        json.dumps({"point": "missing", "value": 1.0, "quality": ["stale"]}),
        json.dumps({"point": "elsewhere", "value": 1}),
        "not json"]) + "\n"
    process = subprocess.Popen(
        [sys.executable, "-m", "modbus", "serve", "--map", str(map_file), "--listen",
         "127.0.0.1:0", "--bad-quality", "no_value"],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stderr is not None
    try:
        started = process.stderr.readline()
        assert started.startswith("modbus serve: meter on 127.0.0.1:")
        port = started.rsplit(":", 1)[1].strip()
        process.stdin.write(readings)
        process.stdin.close()  # the server goes on serving
        assert process.stderr.readline().startswith("modbus serve: line 5:")
        assert process.stderr.readline() == (
            "modbus serve: 1 reading(s) named no point of the map\n")
        result = modbus_cli("read", f"tcp://127.0.0.1:{port}", "--map", str(map_file))
    finally:
        process.terminate()
        process.wait(20)
    assert result.stdout.splitlines() == [
        "voltage  229.5 V", "energy   17.25 kWh", "missing  -  [invalid]"]
