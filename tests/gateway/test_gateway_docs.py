"""The gateway guide's example site file loads, and the module examples run."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import gateway._analog
import gateway._schedule
from gateway import load_site

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "gateway.rst"


def example_site() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    block = re.search(r"\.\. code-block:: toml\n\n((?:   .*\n|\n)+)", text)
    assert block is not None, "the guide has no TOML example"
    return "\n".join(line[3:] for line in block.group(1).splitlines())


def test_the_guides_example_site_file_loads(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "keys.csv").write_text("12345678,000102030405060708090A0B0C0D0E0F\n")
    (tmp_path / "grid-edges.csv").write_text("time,level\n1,1\n1.1,0\n")
    path = tmp_path / "site.toml"
    path.write_text(example_site(), encoding="utf-8")
    site = load_site(path)
    assert site.name == "house" and site.gateway_id == "house-gw-1"
    assert [segment.name for segment in site.mbus] == ["cellar"]
    assert site.meter_profiles["flat3/water"].name == "kamstrup_multical21"
    assert [value.kind for value in site.derived] == ["formula", "consumption",
                                                      "operating_hours"]
    assert site.deliveries[0].options["password_env"] == "OFFICE_PASSWORD"
    assert site.mqtt is not None and site.web is not None
    assert site.modbus[0].map.name == "eastron_sdm630" and site.modbus_server is not None
    assert [type(item.source).__name__ for item in site.analog] == ["IioSource",
                                                                    "ModbusRegisterSource"]


def test_the_module_examples_run() -> None:
    for module in (gateway._analog, gateway._schedule):
        failed, tried = doctest.testmod(module)
        assert tried > 0 and failed == 0, module.__name__
