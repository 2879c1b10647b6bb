"""Point lists: the shipped examples load, a malformed list is refused naming file and key."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import profiles
from bacnet import PointList, PointListError, load_point_list, parse_point_list

GOOD: dict[str, Any] = {
    "kind": "bacnet",
    "profile": {"name": "test"},
    "notification_classes": [{"instance": 1}],
    "points": [
        {"point": "m1/energy", "object": "analog-input", "instance": 1, "unit": "kWh",
         "cov_increment": "0.5", "notification_class": 1,
         "trend": {"buffer_size": 10, "notification_threshold": 5}},
        {"point": "m1/volume", "object": "analog-input", "instance": 2, "unit": "m3"},
    ],
}


_DELETE = object()


def changed(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """GOOD with the item at ``path`` set to ``value`` (a deep copy; _DELETE removes it)."""
    return _changed_from(GOOD, path, value)


def test_shipped_point_lists_load_and_round_trip(tmp_path: Path) -> None:
    shipped = profiles.shipped_profiles("bacnet")
    assert shipped, "profiles/bacnet ships no example point list"
    for path in shipped:
        points = load_point_list(path)
        assert points.points, path
        copy = tmp_path / path.name
        copy.write_text(points.to_toml())
        again = load_point_list(copy)
        assert again == PointList(**{**_fields(points), "file": str(copy)})


def _fields(points: PointList) -> dict[str, Any]:
    return {name: getattr(points, name) for name in PointList.__dataclass_fields__}


def test_good_list() -> None:
    points = parse_point_list(GOOD, file="good.toml")
    energy = points.point("m1/energy")
    assert energy.object_name == "m1/energy"
    assert energy.trend is not None and energy.trend.instance == 1
    assert str(energy.cov_increment) == "0.5"
    assert pickle.loads(pickle.dumps(points)) == points


@pytest.mark.parametrize(
    ("path", "value", "table", "key", "words"),
    [
        (("kind",), "modbus", "", "kind", "kind = \"bacnet\""),
        (("profile", "name"), _DELETE, "profile", "name", "missing"),
        (("points", 0, "object"), "analog-thing", "points[0]", "object", "not an object type"),
        (("points", 1, "unit"), "kilowatt", "points[1]", "unit", "not a unit"),
        (("points", 1, "instance"), 4194303, "points[1]", "instance", "above the maximum"),
        (("points", 1, "instance"), 1, "points[1]", "instance", "already used by points[0]"),
        (("points", 1, "point"), "m1/energy", "points[1]", "point", "already used"),
        (("points", 1, "name"), "m1/energy", "points[1]", "name", "already used"),
        (("points", 1, "colour"), "red", "points[1]", "colour", "unknown key"),
        (("points", 0, "cov_increment"), "-1", "points[0]", "cov_increment", "negative"),
        (("points", 0, "cov_increment"), "lots", "points[0]", "cov_increment", "decimal"),
        (("points", 0, "notification_class"), 9, "points[0]", "notification_class",
         "no [[notification_classes]]"),
        (("points", 0, "property"), "Present Value", "points[0]", "property", "kebab-case"),
        (("points", 0, "trend", "notification_threshold"), 11, "points[0].trend",
         "notification_threshold", "above buffer_size"),
        (("points", 0, "trend", "buffer_size"), 0, "points[0].trend", "buffer_size", "minimum"),
        (("notification_classes", 0, "priority"), [1, 2], "notification_classes[0]",
         "priority", "three"),
        (("notification_classes", 0, "priority"), [1, 2, 300], "notification_classes[0]",
         "priority", "0-255"),
        (("notification_classes", 0, "recipients"), ["not an address"],
         "notification_classes[0]", "recipients", "address"),
        (("device",), {"instance": -1}, "device", "instance", "minimum"),
        (("points",), {"point": "x"}, "", "points", "array of tables"),
    ],
)
def test_malformed_lists_are_refused_with_file_table_and_key(
        path: tuple[Any, ...], value: Any, table: str, key: str, words: str) -> None:
    with pytest.raises(PointListError) as caught:
        parse_point_list(changed(path, value), file="bad.toml")
    error = caught.value
    assert (error.file, error.table, error.key) == ("bad.toml", table, key)
    assert words in str(error) and "bad.toml" in str(error)
    assert isinstance(error, profiles.ProfileError)


def test_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('kind = "bacnet"\n[profile\n')
    with pytest.raises(PointListError) as caught:
        load_point_list(path)
    assert caught.value.file == str(path) and caught.value.line == 2


def test_error_pickles() -> None:
    with pytest.raises(PointListError) as caught:
        parse_point_list(changed(("points", 0, "unit"), "furlong"), file="bad.toml")
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is PointListError and str(again) == str(caught.value)


_PATHS = [
    ("kind",), ("profile",), ("profile", "name"), ("points",), ("points", 0),
    ("points", 0, "point"), ("points", 0, "object"), ("points", 0, "instance"),
    ("points", 0, "unit"), ("points", 0, "cov_increment"), ("points", 0, "trend"),
    ("points", 0, "trend", "buffer_size"), ("points", 1, "instance"), ("device",),
    ("notification_classes",), ("notification_classes", 0, "priority"),
    ("points", 0, "notification_class"),
]
_values = (st.booleans() | st.integers() | st.text(max_size=6) | st.just(_DELETE)
           | st.sampled_from(["analog-input", "kWh", "bacnet", "0.1", "-1"])
           | st.lists(st.integers(-1, 300), max_size=4)
           | st.dictionaries(st.sampled_from(["point", "instance", "x"]),
                             st.integers() | st.text(max_size=4), max_size=2))


@given(st.lists(st.tuples(st.sampled_from(_PATHS), _values), min_size=1, max_size=3))
def test_mutated_lists_are_point_lists_or_point_list_errors(
        changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    data = GOOD
    for path, value in changes:
        try:
            data = _changed_from(data, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the path's parent
    try:
        parse_point_list(data, file="fuzz.toml")
    except PointListError as error:
        assert error.file == "fuzz.toml"


def _changed_from(base: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data: dict[str, Any] = pickle.loads(pickle.dumps(base))
    target = data
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data
