"""Analog inputs over real sources: registers of a Modbus I/O module (pymodbus' own server
on 127.0.0.1, filled with register contents computed here with ``struct``) and Linux IIO
channel files (a temporary folder laid out as sysfs: the real interface is files)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from gateway import Clock, SiteError, Step, load_site, serve_site
from gateway.__main__ import main
from gateway._analog import read_iio
from gateway._site_file import IioSource
from gateway.history import SQLiteHistory
from tests.modbus.sim import device, float32, int16, serving

SITE = """
[site]
name = "plant"
data_dir = "data"

[[analog]]                 # 4-20 mA in uA: 12000 -> 12 mA
name = "flow"
signal = "4-20mA"
low = 0
high = 100
unit = "m3/h"
interval = "10s"
missed_cycles = 1
[analog.source]
kind = "modbus"
url = "tcp://127.0.0.1:{port}"
unit_id = 3
address = 0
scale = "0.001"

[[analog]]                 # 0-10 V as float32, low word first, in a holding register
name = "pressure"
signal = "0-10V"
low = 0
high = 16
unit = "bar"
interval = "10s"
missed_cycles = 1
[analog.source]
kind = "modbus"
url = "tcp://127.0.0.1:{port}"
unit_id = 3
table = "holding"
address = 10
type = "float32"
word_order = "little"

[[analog]]                 # counts 0..27648 = 4..20 mA; -4864 is an open loop
name = "level"
signal = "4-20mA"
low = 0
high = 5
unit = "m"
interval = "10s"
missed_cycles = 1
[analog.source]
kind = "modbus"
url = "tcp://127.0.0.1:{port}"
unit_id = 3
address = 1
type = "int16"
raw_low = 0
raw_high = 27648

[[analog]]                 # counts 0..27648 = 4..20 mA: 20736 is 16 mA
name = "valve"
signal = "4-20mA"
low = 0
high = 100
unit = "%"
interval = "10s"
[analog.source]
kind = "modbus"
url = "tcp://127.0.0.1:{port}"
unit_id = 3
address = 3
type = "int16"
raw_low = 0
raw_high = 27648

[[analog]]                 # the module's wire-break code
name = "return_temp"
signal = "4-20mA"
low = 0
high = 120
unit = "degC"
interval = "10s"
missed_cycles = 1
[analog.source]
kind = "modbus"
url = "tcp://127.0.0.1:{port}"
unit_id = 3
address = 2
type = "int16"
raw_low = 0
raw_high = 27648
no_value = 0x7FFF

[[analog]]                 # a module nobody answers for
name = "remote"
signal = "0-10V"
low = 0
high = 10
interval = "10s"
missed_cycles = 1
[analog.source]
kind = "modbus"
url = "tcp://127.0.0.1:{closed}"
address = 0
timeout = "200ms"

[[analog]]
name = "tank"
signal = "0-10V"
low = 0
high = 100
unit = "%"
interval = "10s"
missed_cycles = 1
[analog.source]
kind = "iio"
path = "{iio}/in_voltage0_raw"
"""


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def sysfs(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text + "\n")
    return folder


def run_until(tmp_path: Path, text: str, done: Callable[[list[Step]], bool]) -> list[Step]:
    path = tmp_path / "site.toml"
    path.write_text(text)
    site = load_site(path)
    steps: list[Step] = []
    stop = asyncio.Event()

    def on_step(step: Step) -> None:
        steps.append(step)
        if done(steps):
            stop.set()

    async def scenario() -> None:
        # 60 simulated seconds per wall second: a 10 s interval every 1/6 s
        await asyncio.wait_for(serve_site(site, stop=stop, clock=Clock(speed=60),
                                          on_step=on_step, durable=False), timeout=120)

    asyncio.run(scenario())
    return steps


def test_analog_values_from_a_modbus_module_and_an_iio_channel(tmp_path: Path) -> None:
    iio = sysfs(tmp_path / "iio:device0", {"in_voltage0_raw": "3000",
                                           "in_voltage_scale": "2.5"})  # 7500 mV
    module = device(3, {"input": {0: [12000, int16(-4864), 0x7FFF, 20736]},
                        "holding": {10: float32(2.5, swapped=True)}})

    expected_stale = {"plant/remote.stale", "plant/level.stale", "plant/return_temp.stale"}

    def done(steps: list[Step]) -> bool:
        # all three, not the first: under load their checks may fall into different steps
        return expected_stale <= {n.alarm_id for step in steps for n in step.notifications}

    async def with_module() -> list[Step]:
        async with serving([module]) as port:
            text = SITE.format(port=port, closed=closed_port(), iio=iio)
            return await asyncio.to_thread(run_until, tmp_path, text, done)

    steps = asyncio.run(with_module())
    with SQLiteHistory(tmp_path / "data/history.sqlite") as history:
        latest = history.latest()
        failures = [entry.message for entry in history.audit(kinds=["failure"])]
    assert latest["plant/flow/value"].value == Decimal("50")  # (12 - 4) / 16 * 100
    assert latest["plant/flow/value"].quality == ()
    assert latest["plant/pressure/value"].value == Decimal("4")  # 2.5 V / 10 V * 16 bar
    assert latest["plant/valve/value"].value == Decimal("75")  # (16 - 4) / 16 * 100
    assert latest["plant/tank/value"].value == Decimal("75")  # 7.5 V of 10 V
    # open loop (1.19 mA) and the wire-break code: no value, invalid
    assert latest["plant/level/value"].value is None
    assert latest["plant/level/value"].quality == ("invalid",)
    assert latest["plant/return_temp/value"].value is None
    assert latest["plant/return_temp/value"].quality == ("invalid",)
    # the module nobody answers for: readings without value, comm_failure, logged once
    assert latest["plant/remote/value"].value is None
    assert latest["plant/remote/value"].quality == ("comm_failure",)
    remote = [message for message in failures if "analog remote" in message]
    assert len(remote) == 1, failures
    notes = [n for step in steps for n in step.notifications]
    stale = {n.alarm_id: n for n in notes if n.alarm_id.endswith(".stale")}
    assert set(stale) == expected_stale
    assert all(n.event == "raised" for n in stale.values())


def test_an_iio_channel_read_by_the_sysfs_convention(tmp_path: Path) -> None:
    folder = sysfs(tmp_path, {"in_voltage0_raw": "2048", "in_voltage_scale": "0.5",
                              "in_voltage1_raw": "1000", "in_voltage1_scale": "3",
                              "in_voltage1_offset": "-200", "in_voltage2_raw": "12.5",
                              "in_voltage3_raw": "7"})
    # the shared scale: 2048 * 0.5 mV = 1.024 V
    assert read_iio(IioSource(path=folder / "in_voltage0_raw", scale=None), "0-10V") == \
        Decimal("1.024")
    # the channel's own scale and offset, over a 250 ohm shunt: 2400 mV / 250 = 9.6 mA
    assert read_iio(IioSource(path=folder / "in_voltage1_raw", scale=None,
                              shunt_ohm=Decimal(250)), "4-20mA") == Decimal("9.6")
    # an explicit scale: raw x scale is the signal
    assert read_iio(IioSource(path=folder / "in_voltage1_raw", scale=Decimal("0.01")),
                    "4-20mA") == Decimal("10")
    with pytest.raises(ValueError, match="not a raw count"):
        read_iio(IioSource(path=folder / "in_voltage2_raw", scale=None), "0-10V")
    (folder / "in_voltage_scale").unlink()
    with pytest.raises(FileNotFoundError, match="no _scale file"):
        read_iio(IioSource(path=folder / "in_voltage3_raw", scale=None), "0-10V")
    with pytest.raises(FileNotFoundError):
        read_iio(IioSource(path=folder / "in_voltage9_raw", scale=Decimal(1)), "0-10V")


def test_an_iio_channel_that_vanishes_gives_comm_failure(tmp_path: Path) -> None:
    text = SITE[:SITE.index("[[analog]]")] + SITE[SITE.index('[[analog]]\nname = "tank"'):]
    text = text.format(iio=tmp_path / "gone")

    def done(steps: list[Step]) -> bool:
        return any(n.alarm_id == "plant/tank.stale" for step in steps
                   for n in step.notifications)

    run_until(tmp_path, text, done)
    with SQLiteHistory(tmp_path / "data/history.sqlite") as history:
        latest = history.latest()
        failures = [entry.message for entry in history.audit(kinds=["failure"])]
    assert latest["plant/tank/value"].quality == ("comm_failure",)
    assert len([m for m in failures if "analog tank" in m and "in_voltage0_raw" in m]) == 1


# (replace this, by that) in the first [[analog]] table -> (table, key, words)
BAD = [
    (('url = "tcp://127.0.0.1:{port}"', 'url = "udp://x"'), "analog[0].source", "url", ""),
    (('address = 0', 'address = 70000'), "analog[0].source", "address", "70000"),
    (('address = 0', 'address = 0\ntype = "string"'), "analog[0].source", "type",
     "not one of"),
    (('address = 0', 'address = 0\ntable = "coil"'), "analog[0].source", "table",
     "not one of"),
    (('scale = "0.001"', 'scale = "0"'), "analog[0].source", "scale", "non-zero"),
    (('scale = "0.001"', 'scale = "0.001"\nraw_low = 0\nraw_high = 10'), "analog[0].source",
     "raw_low", "not both"),
    (('scale = "0.001"', 'raw_low = 5\nraw_high = 5'), "analog[0].source", "raw_high",
     "differ"),
    (('scale = "0.001"', 'raw_low = 5'), "analog[0].source", "raw_high", "missing"),
    (('scale = "0.001"', 'no_value = 0x10000'), "analog[0].source", "no_value", "raw"),
    (('scale = "0.001"', 'scale = "0.001"\ncolour = 1'), "analog[0].source", "colour",
     "unknown key"),
]


@pytest.mark.parametrize(("change", "table", "key", "words"), BAD,
                         ids=[f"{key}-{index}" for index, (_c, _t, key, _w) in enumerate(BAD)])
def test_modbus_source_errors_name_file_table_and_key(tmp_path: Path, change: tuple[str, str],
                                                      table: str, key: str,
                                                      words: str) -> None:
    old, new = change
    first = SITE[:SITE.index('[[analog]]                 # 0-10 V')]
    assert old in first
    path = tmp_path / "site.toml"
    path.write_text(first.replace(old, new).format(port=502))
    with pytest.raises(SiteError) as caught:
        load_site(path)
    error = caught.value
    assert (error.file, error.table, error.key) == (str(path), table, key), str(error)
    assert words in error.message


IIO_BAD = [
    ('path = "{iio}/in_voltage0_raw"', 'path = "{iio}/in_voltage0_scale"', "path",
     "not an IIO channel file"),
    ('signal = "0-10V"\nlow = 0\nhigh = 100', 'signal = "4-20mA"\nlow = 0\nhigh = 100',
     "shunt_ohm", "shunt"),
    ('path = "{iio}/in_voltage0_raw"', 'path = "{iio}/in_voltage0_raw"\nshunt_ohm = 250',
     "shunt_ohm", "current signals"),
    ('path = "{iio}/in_voltage0_raw"', 'path = "{iio}/in_voltage0_raw"\nscale = "x"',
     "scale", ""),
]


@pytest.mark.parametrize(("old", "new", "key", "words"), IIO_BAD)
def test_iio_source_errors_name_file_table_and_key(tmp_path: Path, old: str, new: str,
                                                   key: str, words: str) -> None:
    tank = SITE[:SITE.index("[[analog]]")] + SITE[SITE.index('[[analog]]\nname = "tank"'):]
    assert old in tank
    path = tmp_path / "site.toml"
    path.write_text(tank.replace(old, new).format(iio=tmp_path))
    with pytest.raises(SiteError) as caught:
        load_site(path)
    assert (caught.value.table, caught.value.key) == ("analog[0].source", key), str(caught.value)
    assert words in caught.value.message


def test_check_prints_each_analog_source(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(port=1502, closed=1503, iio="/sys/bus/iio/devices/iio:device0"))
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert ("analog flow: 4-20mA as 0..100 m3/h (modbus tcp://127.0.0.1:1502 unit 3 input "
            "register 0 uint16, scale 0.001), every 10 s -> plant/flow/value") in out
    assert "(modbus tcp://127.0.0.1:1502 unit 3 holding register 10 float32, scale 1)" in out
    assert "(modbus tcp://127.0.0.1:1502 unit 3 input register 1 int16, counts 0..27648)" in out
    assert ("analog tank: 0-10V as 0..100 % (iio /sys/bus/iio/devices/iio:device0/"
            "in_voltage0_raw, scale from sysfs)") in out
    assert "alarm plant/remote.stale: no data for 10 s, major" in out
