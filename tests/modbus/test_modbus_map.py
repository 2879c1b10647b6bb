"""Register maps: checks at build time, the profile-file format, errors naming file/table/key."""

from __future__ import annotations

import pickle
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import profiles
from modbus import MapError, ModbusError, RegisterMap, RegisterPoint, load_map, parse_map


def p(name: str, address: int, kind: str = "uint16", **keys: Any) -> RegisterPoint:
    keys.setdefault("table", "holding")
    return RegisterPoint(name=name, address=address, type=kind, **keys)


def test_a_map_is_plain_picklable_data() -> None:
    m = RegisterMap(name="m", points=(p("a", 0), p("b", 1, "float32", unit="W")))
    again = pickle.loads(pickle.dumps(m))
    assert again == m and again.point("b").unit == "W" and "a" in again


@pytest.mark.parametrize(
    ("points", "key", "message"),
    [
        ((p("a", 0, "int32"), p("b", 1)), "address", "overlap point 'a'"),
        ((p("a", 10), p("a", 20)), "name", "a second point"),
        ((p("a", 0, "bit", bit=3), p("b", 0, "bit", bit=3)), "bit", "already a point"),
        ((p("a", 0, "bit", bit=3), p("b", 0)), "address", "overlap"),
        ((p("a", 0, scale_point="nope"),), "scale_point", "not an int16 point"),
        ((p("a", 0, scale_point="b"), p("b", 1, "uint16")), "scale_point", "int16"),
    ],
)
def test_bad_maps_are_refused(points: tuple[RegisterPoint, ...], key: str, message: str) -> None:
    with pytest.raises(MapError, match=message) as caught:
        RegisterMap(name="m", points=points)
    assert caught.value.key == key


def test_bits_of_one_register_may_share_it() -> None:
    m = RegisterMap(name="m", points=(p("a", 0, "bit", bit=0), p("b", 0, "bit", bit=1),
                                      p("c", 1)))
    assert [x.name for x in m.table_points("holding")] == ["a", "b", "c"]


def test_the_same_address_in_two_tables_is_no_overlap() -> None:
    RegisterMap(name="m", points=(p("a", 0), p("b", 0, table="input")))


@pytest.mark.parametrize(
    ("keys", "key"),
    [
        ({"type": "float16"}, "type"),
        ({"table": "register"}, "table"),
        ({"type": "bool"}, "type"),  # a bool is a coil or discrete input
        ({"address": 70000}, "address"),
        ({"address": 0xFFFF, "type": "float32"}, "address"),
        ({"type": "string"}, "length"),
        ({"length": 2}, "length"),
        ({"type": "bit", "bit": 16}, "bit"),
        ({"bit": 2}, "bit"),
        ({"word_order": "middle"}, "word_order"),
        ({"table": "input", "writable": True}, "writable"),
        ({"type": "string", "length": 2, "scale": Decimal(2)}, "scale"),
        ({"scale": Decimal(0)}, "scale"),
        ({"scale": Decimal(1), "scale_point": "x"}, "scale_point"),
        ({"no_value": 0x10000}, "no_value"),
        ({"minimum": Decimal(5), "maximum": Decimal(1)}, "minimum"),
    ],
)
def test_bad_points_are_refused(keys: dict[str, Any], key: str) -> None:
    keys = {"name": "x", "table": "holding", "address": 0, "type": "uint16", **keys}
    with pytest.raises(MapError) as caught:
        RegisterPoint(**keys)
    assert caught.value.key == key
    assert isinstance(caught.value, ModbusError) and isinstance(caught.value, profiles.ProfileError)


def test_a_map_error_survives_pickling() -> None:
    error = MapError("overlap", file="a.toml", table="registers[2]", key="address")
    again = pickle.loads(pickle.dumps(error))
    assert (again.file, again.table, again.key) == ("a.toml", "registers[2]", "address")
    assert str(again) == str(error) == "a.toml, table registers[2], key address: overlap"


GOOD = """\
kind = "modbus"

[profile]
name = "{name}"
description = "a test device"

[modbus]
max_registers = 10
table = "input"
type = "float32"
word_order = "little"

[[registers]]
name = "power"
address = 10
unit = "kW"
quantity = "power"
maximum = "12.5"

[[registers]]
name = "state"
table = "holding"
address = 0
type = "uint16"
word_order = "big"
"""


def write(tmp_path: Path, text: str, name: str = "dev") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace("{name}", name), encoding="utf-8")
    return path


def test_a_map_file_with_defaults(tmp_path: Path) -> None:
    m = load_map(write(tmp_path, GOOD))
    power = m.point("power")
    assert (m.name, m.max_registers, m.description) == ("dev", 10, "a test device")
    assert (power.table, power.type, power.word_order, power.maximum) == (
        "input", "float32", "little", Decimal("12.5"))
    assert m.point("state").word_order == "big" and not m.point("state").writable


def test_a_map_is_found_by_name_in_a_user_folder(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "mine")
    assert load_map("mine", user_dirs=[tmp_path]).name == "mine"


@pytest.mark.parametrize(
    ("old", "new", "table", "key", "message"),
    [
        ('type = "uint16"\nword', 'type = "uint17"\nword', "registers[1]", "type", "uint17"),
        ('unit = "kW"', 'unit = "kilowatt"', "registers[0]", "unit", "kilowatt"),
        ('quantity = "power"', 'quantity = "power"\ncolour = 1', "registers[0]", "colour",
         "unknown key"),
        ('table = "holding"\naddress = 0', 'table = "input"\naddress = 11', "registers[1]",
         "address", "overlap"),
        ("max_registers = 10", "max_registers = 10\nmax_gap = 1\nunit_id = 300", "modbus",
         "unit_id", "above"),
        ("address = 0", "address = -1", "registers[1]", "address", "below"),
        ("max_registers = 10", "max_registers = 126", "modbus", "max_registers", "above"),
        ('maximum = "12.5"', 'maximum = "lots"', "registers[0]", "maximum", "lots"),
        ('kind = "modbus"', 'kind = "meter"', "", "kind", "kind = 'modbus'"),
    ],
)
def test_bad_map_files_name_file_table_and_key(tmp_path: Path, old: str, new: str, table: str,
                                                key: str, message: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(MapError, match=message) as caught:
        load_map(path)
    error = caught.value
    assert (error.file, error.table, error.key) == (str(path), table, key)
    assert str(path) in str(error)


def test_a_file_named_unlike_its_profile_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("{name}", "other"), "dev")
    with pytest.raises(MapError, match="file's name") as caught:
        load_map(path)
    assert caught.value.key == "name"


def test_toml_syntax_errors_are_map_errors(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "[[registers]\n")
    with pytest.raises(MapError) as caught:
        load_map(path)
    assert caught.value.line is not None and caught.value.file == str(path)


def test_an_unknown_map_name_is_a_map_error() -> None:
    with pytest.raises(MapError, match="no modbus profile named"):
        load_map("no_such_device")


def test_parse_map_without_a_file() -> None:
    m = parse_map({"kind": "modbus", "profile": {"name": "x", "description": "d"},
                   "registers": [{"name": "a", "table": "coil", "address": 3}]})
    assert m.point("a").type == "bool"


SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats()
           | st.sampled_from(["input", "holding", "coil", "float32", "uint16", "bit", "string",
                              "big", "little", "0.1", "kW", "x", ""]))
KEYS = st.sampled_from(["name", "table", "address", "type", "length", "bit", "word_order",
                        "byte_order", "scale", "scale_point", "no_value", "unit", "quantity",
                        "writable", "minimum", "maximum", "description", "colour"])
POINTS = st.lists(st.dictionaries(KEYS, SCALARS, max_size=8), max_size=5)


@given(st.fixed_dictionaries(
    {"kind": st.sampled_from(["modbus", "meter", 3]),
     "profile": st.fixed_dictionaries({"name": st.just("x"), "description": SCALARS}),
     "registers": POINTS | SCALARS},
    optional={"modbus": st.dictionaries(st.sampled_from(
        ["unit_id", "max_registers", "max_gap", "table", "type", "word_order"]), SCALARS)}))
def test_arbitrary_documents_load_or_give_a_map_error(document: dict[str, Any]) -> None:
    try:
        register_map = parse_map(document, file="x.toml")
    except MapError as error:
        assert error.file == "x.toml" and error.message
        return
    assert all(point.count >= 1 for point in register_map.points)
