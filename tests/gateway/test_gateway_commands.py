"""``meterkit check`` and ``meterkit run`` on a site with a simulated M-Bus segment."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

import pytest

import mbus
import mbus.sim
from gateway import load_site, serve_site
from gateway.__main__ import main
from gateway.history import SQLiteHistory

SITE = """
[site]
name = "house"
timezone = "Europe/Berlin"

[[mbus]]
name = "cellar"
url = "tcp://127.0.0.1:{port}"
interval = "1min"
timeout = 0.1
[[mbus.meter]]
name = "flat1/heat"
address = 1
[[mbus.meter]]
name = "flat2/heat"
address = "{secondary}"

[[derived]]
name = "both_kwh"
expression = "a + b"
unit = "kWh"
[derived.inputs]
a = {{ point = "house/flat1/heat/energy_kwh", unit = "kWh" }}
b = {{ point = "house/flat2/heat/energy_kwh", unit = "kWh" }}

[[export]]
name = "quarter"
format = "xml"
minutes = 15
"""


def meters() -> list[mbus.Slave]:
    return [mbus.Slave(mbus.SecondaryAddress.parse(f"1234567{7 + n}24232504"),
                       [[mbus.build_record(0x06, 1_000_000 * n, coding="int32")]], primary=n)
            for n in (1, 2)]


def write_site(folder: Path, port: int = 9) -> Path:
    path = folder / "site.toml"
    path.write_text(SITE.format(port=port, secondary="12345679"))
    return path


def test_check_prints_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(write_site(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "mbus cellar: tcp://127.0.0.1:9 at 2400 Bd, every 1 min" in out
    assert "flat2/heat (address 12345679) -> house/flat2/heat/*, failed after 3 min" in out
    assert "derived house/both_kwh = formula of a + b" in out
    assert "alarm house/flat1/heat.stale: no data for 3 min, major" in out
    assert "export quarter: xml every 15 min" in out
    assert not (tmp_path / "data").exists()  # checking writes nothing

    assert main(["check", "--json", str(write_site(tmp_path))]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["mbus"][0]["meters"][1]["address"] == "12345679"
    assert set(plan["next"]) == {"mbus:cellar", "export:quarter"}


def test_check_refuses_a_bad_file_naming_file_table_and_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_site(tmp_path)
    path.write_text(path.read_text().replace('interval = "1min"', 'interval = "7min"'))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"meterkit check: {path}, table mbus[0], key interval: ")
    assert main(["run", str(path)]) == 2
    assert not (tmp_path / "data").exists()  # nothing started


def test_run_reads_the_segment_and_stores_the_readings(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = mbus.sim.SimulatorServer(mbus.sim.Segment(meters()))
        port = await server.start("127.0.0.1", 0)
        try:
            site = load_site(write_site(tmp_path, port))
            stop = asyncio.Event()
            stored: list[int] = []

            def on_step(step: object) -> None:
                stored.append(1)
                stop.set()  # one readout is enough

            report = await serve_site(site, stop=stop, on_step=on_step)
            assert report.readouts >= 1 and report.stored == 5  # 2 x (energy, status), sum
        finally:
            await server.close()

    asyncio.run(scenario())
    with SQLiteHistory(tmp_path / "data/history.sqlite") as history:
        latest = history.latest()
        assert latest["house/flat1/heat/energy_kwh"].value == 1000
        assert latest["house/flat2/heat/energy_kwh"].unit == "kWh"
        assert latest["house/flat1/heat/status"].value == "OK"
        assert str(latest["house/both_kwh"].value) == "3000"
        assert [entry.kind for entry in history.audit()] == ["start", "stop"]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        text: str = answer.read().decode("utf-8")
        return text


def test_the_web_page_shows_the_running_sites_points(tmp_path: Path) -> None:
    pages: list[str] = []

    async def scenario() -> None:
        server = mbus.sim.SimulatorServer(mbus.sim.Segment(meters()))
        port = await server.start("127.0.0.1", 0)
        try:
            site = load_site(write_site(tmp_path, port))
            stop = asyncio.Event()
            urls: list[str] = []

            async def browse() -> None:
                while not urls or not stored:
                    await asyncio.sleep(0.05)
                try:
                    pages.append(await asyncio.to_thread(fetch, urls[0]))
                finally:
                    stop.set()

            stored: list[object] = []
            browser = asyncio.ensure_future(browse())
            report = await serve_site(site, stop=stop, serve_web=("127.0.0.1", 0),
                                      on_start=lambda report: urls.append(str(report.web)),
                                      on_step=stored.append)
            await browser
            assert report.web is not None and report.web.startswith("http://127.0.0.1:")
        finally:
            await server.close()

    asyncio.run(scenario())
    assert "house/flat1/heat/energy_kwh" in pages[0]
