"""load_toml and TableReader: typed reading with errors naming file, table and key."""

from __future__ import annotations

import pickle
from decimal import Decimal
from pathlib import Path

import pytest

from profiles import ProfileError, TableReader, load_toml


def test_load_toml_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "meter.toml"
    path.write_text('kind = "meter"\n[profile]\nname = "meter"\n', encoding="utf-8")
    assert load_toml(path) == {"kind": "meter", "profile": {"name": "meter"}}


def test_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('kind = "meter"\n\n[profile\nname = 1\n', encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_toml(path)
    assert caught.value.file == str(path)
    assert caught.value.line == 3
    assert f"{path} line 3" in str(caught.value)


def test_missing_and_binary_files_are_profile_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_toml(tmp_path / "absent.toml")
    path = tmp_path / "binary.toml"
    path.write_bytes(b'name = "\xff\xfe"\n')
    with pytest.raises(ProfileError, match="not UTF-8"):
        load_toml(path)


def test_typed_reads_and_their_errors() -> None:
    reader = TableReader({"name": "water", "count": 3, "flag": True, "scale": "0.001",
                          "float": 0.1, "whole": 5, "units": ["m3", "l"], "one": "m3"},
                         file="f.toml", table="fields[1]")
    assert reader.text("name") == "water"
    assert reader.integer("count", minimum=0, maximum=3) == 3
    assert reader.boolean("flag") is True
    assert reader.decimal("scale") == Decimal("0.001")
    assert str(reader.decimal("float")) == "0.1"  # through its repr, not the binary value
    assert reader.decimal("whole") == 5
    assert reader.text_list("units") == ["m3", "l"]
    assert reader.text_list("one") == ["m3"]
    assert reader.optional_text("absent", None) is None
    assert reader.optional_integer("absent2", 7) == 7
    reader.finish()


@pytest.mark.parametrize(("data", "call", "message"), [
    ({"x": 1}, lambda r: r.text("x"), "must be a string, not an integer"),
    ({"x": True}, lambda r: r.integer("x"), "must be an integer, not a boolean"),
    ({"x": 9}, lambda r: r.integer("x", maximum=8), "9 is above the maximum 8"),
    ({"x": -1}, lambda r: r.integer("x", minimum=0), "-1 is below the minimum 0"),
    ({"x": "1,5"}, lambda r: r.decimal("x"), "'1,5' is not a finite decimal number"),
    ({"x": "nan"}, lambda r: r.decimal("x"), "not a finite decimal"),
    ({"x": "c"}, lambda r: r.choice("x", ["a", "b"]), "'c' is not one of a, b"),
    ({"x": [1]}, lambda r: r.text_list("x"), "must be a string or an array of strings"),
    ({"x": 1}, lambda r: r.table("x"), "must be a table"),
    ({"x": [1]}, lambda r: r.tables("x"), "must be an array of tables"),
    ({}, lambda r: r.text("x"), "missing"),
])
def test_errors_name_file_table_and_key(data: dict[str, object], call: object,
                                        message: str) -> None:
    reader = TableReader(data, file="f.toml", table="detect")
    with pytest.raises(ProfileError) as caught:
        call(reader)  # type: ignore[operator]
    error = caught.value
    assert (error.file, error.table, error.key) == ("f.toml", "detect", "x")
    assert str(error).startswith("f.toml, table detect, key x: ")
    assert message in str(error)


def test_sub_tables_carry_their_dotted_path() -> None:
    reader = TableReader({"detect": {"ci": "x"}, "fields": [{"name": 1}, {"name": "b"}]},
                         file="f.toml")
    detect = reader.table("detect")
    assert detect.table_name == "detect"
    fields = reader.tables("fields")
    assert [field.table_name for field in fields] == ["fields[0]", "fields[1]"]
    with pytest.raises(ProfileError, match=r"f.toml, table fields\[0\], key name: "):
        fields[0].text("name")
    nested = TableReader({"a": {"b": [{"c": 1}]}}, table="").table("a").tables("b")[0]
    assert nested.table_name == "a.b[0]"


def test_finish_refuses_unknown_keys() -> None:
    reader = TableReader({"name": "x", "nmae": "y", "extra": 1}, file="f.toml", table="profile")
    reader.text("name")
    with pytest.raises(ProfileError, match="unknown keys nmae, extra"):
        reader.finish()
    single = TableReader({"nmae": "y"}, file="f.toml", table="profile")
    with pytest.raises(ProfileError) as caught:
        single.finish()
    assert caught.value.key == "nmae"


def test_optional_reads_mark_keys_as_known() -> None:
    reader = TableReader({"flag": False, "sub": {}, "list": [{}]})
    assert reader.optional_boolean("flag", True) is False
    assert reader.optional_table("sub") is not None
    assert reader.optional_table("nothing") is None
    assert len(reader.optional_tables("list")) == 1
    assert reader.optional_tables("none") == []
    assert reader.optional_choice("mode", ["a"], "a") == "a"
    assert reader.optional_decimal("scale", None) is None
    assert reader.optional_text_list("units", []) == []
    reader.finish()


def test_profile_errors_pickle_with_their_places() -> None:
    error = ProfileError("bad", file="f.toml", table="fields[0]", key="unit")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.file, copy.table, copy.key, str(copy)) == (
        "f.toml", "fields[0]", "unit", "f.toml, table fields[0], key unit: bad")
    assert isinstance(copy, ValueError)


def test_located_fills_in_what_was_unknown() -> None:
    error = ProfileError("bad", key="unit").located(file="f.toml", table="fields[0]", key="x")
    assert str(error) == "f.toml, table fields[0], key unit: bad"
