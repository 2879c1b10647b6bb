"""The site file: a full example loads into plain data; every error names file, table, key."""

from __future__ import annotations

import pickle
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import alarms
from gateway import Site, SiteError, load_site, parse_duration

GOOD = """
[site]
name = "demo"
gateway_id = "gw-1"
timezone = "Europe/Berlin"
data_dir = "var"

[[mbus]]
name = "basement"
url = "tcp://127.0.0.1:9999"
interval = "15min"
[[mbus.meter]]
name = "flat1/heat"
address = 1
[[mbus.meter]]
name = "boiler/heat"
address = "12345678"

[[wmbus]]
name = "radio"
dongle = "hex"
port = "socket://127.0.0.1:9998"
keys = "keys.csv"
listen = ["06:00-22:00"]
[[wmbus.meter]]
name = "flat1/water"
id = "12345678"
profile = "kamstrup_multical21"

[[s0]]
name = "grid"
replay = "edges.csv"
imp_per_unit = 1000

[[analog]]
name = "tank"
field = "level"
signal = "4-20mA"
low = 0
high = "100"
unit = "%"
[analog.source]
kind = "simulated"
values = [4, 12.5, 20]

[[derived]]
name = "boiler/efficiency_percent"
expression = "heat / gas * 100"
unit = "%"
inputs = { heat = { point = "demo/boiler/heat/energy", unit = "kWh" }, gas = "demo/gas_kwh" }

[[derived]]
name = "gas_kwh"
expression = "total * 10"
inputs = { total = "demo/grid/total" }

[[derived]]
name = "pump_hours"
kind = "operating_hours"
input = "demo/grid/power"

[[alarm]]
point = "demo/tank/level"
kind = "upper"
limit = 80
hysteresis = 5

[[export]]
name = "quarter"
format = "csv"
minutes = 15
csv_profile = "de"

[[export]]
name = "month"
format = "xml"
period = "monthly"
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "keys.csv").write_text("12345678,000102030405060708090A0B0C0D0E0F\n")
    (tmp_path / "edges.csv").write_text("time,level\n1,1\n1.1,0\n")
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_site_loads_into_plain_data(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, GOOD))
    assert site.name == "demo" and site.gateway_id == "gw-1"
    assert site.data_dir == tmp_path / "var" and site.history == tmp_path / "var/history.sqlite"
    assert [m.address for m in site.mbus[0].meters] == [1, "12345678"]
    assert site.mbus[0].interval == 900.0 and site.mbus[0].scan == "none"
    assert site.wmbus[0].listen == ((360, 1320),) and site.wmbus[0].keys == tmp_path / "keys.csv"
    assert site.s0[0].imp_per_unit == Decimal(1000) and site.s0[0].interval == 60.0
    assert site.analog[0].high == Decimal(100)
    assert site.analog[0].source.values == (Decimal(4), Decimal("12.5"), Decimal(20))  # type: ignore[union-attr]
    # derived values come in dependency order: gas_kwh before the efficiency reading it
    assert [v.point for v in site.derived] == ["demo/gas_kwh", "demo/boiler/efficiency_percent",
                                               "demo/pump_hours"]
    # one device-failure rule per device, after the configured rules
    stale = [rule for rule in site.rules if isinstance(rule, alarms.StaleRule)]
    assert sorted(rule.point for rule in stale) == ["demo/boiler/heat", "demo/flat1/heat",
                                                    "demo/flat1/water", "demo/tank"]
    assert {rule.timeout for rule in stale} == {2700.0, 180.0}
    assert site.exports[0].csv_profile == "de" and site.exports[1].period == "monthly"
    assert site.meter_profiles["flat1/water"].name == "kamstrup_multical21"
    assert pickle.loads(pickle.dumps(site)) == site


# (replace this text, by that text) -> (table, key, words of the message)
BAD = [
    (('name = "demo"', 'name = "de/mo"'), "site", "name", "one part"),
    (('timezone = "Europe/Berlin"', 'timezone = "Mars/Base"'), "site", "timezone",
     "not a time zone"),
    (('interval = "15min"', 'interval = "7min"'), "mbus[0]", "interval", "divide a day"),
    (('interval = "15min"', 'interval = "soon"'), "mbus[0]", "interval", "not a duration"),
    (('address = 1\n', 'address = 251\n'), "mbus[0].meter[0]", "address", "1-250"),
    (('address = "12345678"', 'address = "xyz"'), "mbus[0].meter[1]", "address",
     "secondary address"),
    (('dongle = "hex"', 'dongle = "usb"'), "wmbus[0]", "dongle", "not one of"),
    (('keys = "keys.csv"', 'keys = "nokeys.csv"'), "wmbus[0]", "keys", "does not exist"),
    (('listen = ["06:00-22:00"]', 'listen = ["25:00-22:00"]'), "wmbus[0]", "listen",
     "does not exist"),
    (('id = "12345678"', 'id = "123"'), "wmbus[0].meter[0]", "id", "8-digit"),
    (('profile = "kamstrup_multical21"', 'profile = "nosuch"'), "wmbus[0].meter[0]",
     "profile", "meter profiles are known, e.g. "),
    (('imp_per_unit = 1000', 'imp_per_unit = 0'), "s0[0]", "imp_per_unit", ""),
    (('replay = "edges.csv"', 'gpio = "chip0"'), "s0[0]", "gpio", "CHIP:LINE"),
    (('signal = "4-20mA"', 'signal = "4-20"'), "analog[0]", "signal", "not one of"),
    (('high = "100"', 'high = 0'), "analog[0]", "high", "must differ"),
    (('kind = "simulated"', 'kind = "modbus"'), "analog[0].source", "url", "missing"),
    (('values = [4, 12.5, 20]', 'values = [4, "x"]'), "analog[0].source", "values",
     "item 1"),
    (('expression = "heat / gas * 100"', 'expression = "heat / gas * "'), "derived[0]",
     "expression", "position"),
    (('expression = "heat / gas * 100"', 'expression = "heat / fuel"'), "derived[0]",
     "expression", "fuel"),
    (('gas = "demo/gas_kwh"', 'gas = "demo/nothing"'), "derived[0].inputs", "gas",
     "unknown point"),
    (('unit = "kWh" }', 'unit = "furlong" }'), "derived[0].inputs.heat", "unit", "furlong"),
    (('input = "demo/grid/power"', 'input = "demo/grid/power"\nthreshold = "x"'),
     "derived[2]", "threshold", "not a finite decimal"),
    (('name = "pump_hours"', 'name = "flat1/heat/hours"'), "derived[2]", "name",
     "clash"),
    (('limit = 80', 'limit = "high"'), "alarm[0]", "limit", ""),
    (('point = "demo/tank/level"', 'point = "other/tank/level"'), "alarm[0]", "point",
     "start with the site name"),
    (('minutes = 15', 'minutes = 7'), "export[0]", "minutes", "divide a day"),
    (('minutes = 15', 'minutes = 15\nperiod = "weekly"'), "export[0]", "minutes",
     "exactly one"),
    (('csv_profile = "de"', 'csv_profile = "de"\ndeliver = ["ftp"]'), "export[0]", "deliver",
     "no [[delivery]]"),
    (('[[export]]\nname = "quarter"',
      '[bacnet_device]\naddress = "127.0.0.1/8"\ninstance = 1\nport = 47808\n'
      '[[export]]\nname = "quarter"'),
     "bacnet_device", "port", "unknown key"),
    (('[site]', 'colour = "blue"\n[site]'), "", "colour", "unknown key"),
]


@pytest.mark.parametrize(("change", "table", "key", "words"), BAD,
                         ids=[f"{table or 'top'}.{key}-{index}"
                              for index, (_c, table, key, _w) in enumerate(BAD)])
def test_every_error_names_file_table_and_key(tmp_path: Path, change: tuple[str, str],
                                              table: str, key: str, words: str) -> None:
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(SiteError) as caught:
        load_site(path)
    error = caught.value
    assert (error.file, error.table, error.key) == (str(path), table, key), str(error)
    assert words in error.message
    assert str(path) in str(error) and f"key {key}" in str(error)


def test_a_cycle_of_derived_values_is_refused_at_load_time(tmp_path: Path) -> None:
    text = GOOD + """
[[derived]]
name = "a"
expression = "b + 1"
inputs = { b = "demo/b" }

[[derived]]
name = "b"
expression = "a * 2"
inputs = { a = "demo/a" }
"""
    with pytest.raises(SiteError, match=r"cycle: demo/a -> demo/b -> demo/a") as caught:
        load_site(write(tmp_path, text))
    assert caught.value.table == "derived[3]" and caught.value.key == "expression"


def test_a_derived_value_reading_itself_is_a_cycle(tmp_path: Path) -> None:
    text = GOOD + '\n[[derived]]\nname = "a"\nexpression = "a + 1"\ninputs = { a = "demo/a" }\n'
    with pytest.raises(SiteError, match="cycle: demo/a -> demo/a"):
        load_site(write(tmp_path, text))


def test_device_names_are_unique_across_inputs(tmp_path: Path) -> None:
    text = GOOD.replace('name = "grid"', 'name = "flat1/heat"').replace(
        "demo/grid/", "demo/flat1/heat/")
    with pytest.raises(SiteError, match="already defined in table mbus") as caught:
        load_site(write(tmp_path, text))
    assert caught.value.table == "s0[0]"


def test_toml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('[[s0]]', '[[s0]\n'))
    with pytest.raises(SiteError) as caught:
        load_site(path)
    assert caught.value.file == str(path) and caught.value.line is not None


def test_bacnet_tables_name_their_missing_keys(tmp_path: Path) -> None:
    # (the BACnet tables in full: tests/gateway/test_gateway_bacnet.py)
    for table, where in (("[[bacnet]]", "bacnet[0]"), ("[bacnet_device]", "bacnet_device")):
        with pytest.raises(SiteError, match="address") as caught:
            load_site(write(tmp_path, GOOD + f'\n{table}\nname = "x"\n'))
        assert (caught.value.table, caught.value.key) == (where, "address")


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30.0), ("15min", 900.0), ("1h", 3600.0),
                                               ("1d", 86400.0), (90, 90.0), ("250ms", 0.25)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0s", "-1s", "1 week", True, "1e9d", None])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_the_site_is_checked_before_anything_runs(tmp_path: Path) -> None:
    """A bad file creates nothing: not even the data folder."""
    path = write(tmp_path, GOOD.replace("limit = 80", 'limit = "x"'))
    with pytest.raises(SiteError):
        load_site(path)
    assert not (tmp_path / "var").exists()
    assert isinstance(load_site(write(tmp_path, GOOD)), Site)
    assert not (tmp_path / "var").exists()


VALUES = ['""', '"x"', '"0"', "0", "-1", "1e400", "3.5", "true", "[]", "[1, \"a\"]", "{}",
          '{ point = 1 }', '"15min"', '"/"', '"a//b"', '"demo/x"', '"\\u0000"', "nan", "inf",
          "99999999999999999999", '"tcp://127.0.0.1:1"', '"1-2"', "1979-05-27"]
LINES = [index for index, line in enumerate(GOOD.splitlines()) if " = " in line]


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(LINES), st.sampled_from(VALUES)), min_size=1,
                max_size=3))
def test_property_a_mangled_site_file_loads_or_raises_site_error(
        tmp_path: Path, changes: list[tuple[int, str]]) -> None:
    lines = GOOD.splitlines()
    for index, value in changes:
        key = lines[index].split(" = ", 1)[0]
        lines[index] = f"{key} = {value}"
    try:
        load_site(write(tmp_path, "\n".join(lines) + "\n"))
    except SiteError as error:
        assert error.file is not None and str(error)
