"""The bus commands of ``mbus``: read, scan, set-address, reset, simulate, bridge."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from mbus._cli import main
from mbus.sim import Segment, SimulatorServer, random_meters

from .test_mbus_simulator import serving

FAST = ["--timeout", "0.05"]


@pytest.fixture
def simulated() -> Iterator[tuple[str, Segment]]:
    segment = Segment(random_meters(4, seed=9, max_pages=2))
    with serving(SimulatorServer(segment)) as port:
        yield f"socket://127.0.0.1:{port}", segment


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_primary_json(simulated: tuple[str, Segment],
                           capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = simulated
    code, out, err = run(capsys, "scan", "--url", url, *FAST, "--json", "--addresses", "0-8")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"primary": n} for n in (1, 2, 3, 4)]
    assert "4 meter(s) found" in err


def test_scan_secondary_json(simulated: tuple[str, Segment],
                             capsys: pytest.CaptureFixture[str]) -> None:
    url, segment = simulated
    code, out, _ = run(capsys, "scan", "--url", url, *FAST, "--secondary", "--json")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["secondary"] for line in lines} == {str(s.secondary) for s in segment.slaves}
    assert all(re.fullmatch(r"[0-9A-F]{16}", line["secondary"]) for line in lines)
    assert {"id", "manufacturer", "version", "medium", "primary"} <= set(lines[0])


def test_read_prints_the_merged_document_like_decode(simulated: tuple[str, Segment],
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    url, segment = simulated
    slave = segment.slaves[0]
    code, out, _ = run(capsys, "read", "--url", url, *FAST, "--address", str(slave.primary),
                       "--json")
    assert code == 0
    document = json.loads(out)
    assert {"frame", "header", "records"} <= set(document)
    assert document["telegrams"] == slave.page_count
    assert len(document["records"]) == 3 * slave.page_count
    code, out2, _ = run(capsys, "read", "--url", url, *FAST, "--secondary",
                        str(slave.secondary), "--json")
    assert code == 0 and json.loads(out2)["records"] == document["records"]
    code, out, _ = run(capsys, "read", "--url", url, *FAST, "--address", str(slave.primary))
    assert code == 0 and "volume" in out


def test_errors_exit_non_zero_with_one_line(simulated: tuple[str, Segment],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = simulated
    code, out, err = run(capsys, "read", "--url", url, *FAST, "--address", "99")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "no answer" in err
    code, _, err = run(capsys, "read", "--url", url, *FAST, "--secondary", "99999999FFFFFFFF")
    assert code == 1 and "no meter" in err
    code, _, err = run(capsys, "read", "--url", "socket://127.0.0.1:1", "--address", "1")
    assert code == 1 and err.startswith("mbus read: cannot open")
    code, _, err = run(capsys, "read", "--url", url, "--address", "251")
    assert code == 1 and "0-250" in err


def test_set_address_and_reset(simulated: tuple[str, Segment],
                               capsys: pytest.CaptureFixture[str]) -> None:
    url, segment = simulated
    slave = segment.slaves[2]
    code, _, _ = run(capsys, "set-address", "--url", url, *FAST, "--secondary",
                     str(slave.secondary), "--new-address", "99")
    assert code == 0 and slave.primary == 99
    code, _, _ = run(capsys, "reset", "--url", url, *FAST, "--address", "99", "--subcode",
                     "0x10")
    assert code == 0
    assert slave.next_event() is not None
    segment.slaves[0].primary = segment.slaves[1].primary = 0
    code, out, _ = run(capsys, "set-address", "--url", url, *FAST, "--auto")
    assert code == 0
    assigned = [json.loads(line) for line in out.splitlines()]
    # addresses in use: 4 and 99; the two meters at 0 get the lowest free ones
    assert sorted(a["primary"] for a in assigned) == [1, 2]
    assert sorted(s.primary for s in segment.slaves) == [1, 2, 4, 99]


@contextmanager
def command(*argv: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    process = subprocess.Popen([sys.executable, "-m", "mbus", *argv], stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)", banner)
        assert match, banner
        yield process, int(match.group(1))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(10)
        if process.stderr is not None:
            process.stderr.close()


def test_simulate_and_bridge_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with command("simulate", "--listen", "127.0.0.1:0", "--meters", "3", "--seed", "4",
                 "--clustered", "--drop-parity-errors") as (simulator, sim_port):
        with command("bridge", "--serial", f"socket://127.0.0.1:{sim_port}", "--listen",
                     "127.0.0.1:0", "--idle-timeout", "5") as (bridge, bridge_port):
            code, out, _ = run(capsys, "scan", "--url", f"socket://127.0.0.1:{bridge_port}",
                               *FAST, "--secondary", "--json")
            assert code == 0
            assert len(out.splitlines()) == 3
        assert bridge.returncode == 0  # clean shutdown on SIGTERM
    assert simulator.returncode == 0


def test_scan_of_an_empty_segment_fails_with_one_line(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    with serving(SimulatorServer(Segment([]))) as port:
        code, out, err = run(capsys, "scan", "--url", f"socket://127.0.0.1:{port}", *FAST,
                             "--secondary")
    assert code == 1 and out == ""
    assert err.splitlines() == ["mbus scan: no meter found (1 requests)"]
