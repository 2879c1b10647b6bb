"""The reading protocol and PointReading; shipped profiles and find_profile."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import profiles
from profiles import PointReading, ProfileError, Reading, find_profile, shipped_profiles

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)


def test_point_reading_satisfies_the_protocol_and_pickles() -> None:
    reading = PointReading(point="flat3/total_kwh", time=NOW, value=Decimal("12.5"),
                           unit="kWh", quantity="energy", quality=("estimated",))
    assert isinstance(reading, Reading)
    assert pickle.loads(pickle.dumps(reading)) == reading
    with pytest.raises(AttributeError):
        reading.value = 1  # type: ignore[misc]
    assert PointReading(point="p", time=NOW, value=None).quality == ()


def test_point_reading_refuses_a_naive_time_and_a_list_quality() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        PointReading(point="p", time=datetime(2026, 1, 1), value=1)
    with pytest.raises(TypeError, match="tuple"):
        PointReading(point="p", time=NOW, value=1, quality=["stale"])  # type: ignore[arg-type]


def test_shipped_profiles_are_toml_files_of_their_kind() -> None:
    for kind, folder in profiles.KINDS.items():
        for path in shipped_profiles(kind):
            assert path.suffix == ".toml" and path.parent.name == folder
    with pytest.raises(ProfileError, match="unknown profile kind 'modem'"):
        shipped_profiles("modem")


def test_find_profile_prefers_the_users_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (second / "water.toml").write_text("", encoding="utf-8")
    assert find_profile("water", "meter", [first, second]) == second / "water.toml"
    (first / "water.toml").write_text("", encoding="utf-8")
    assert find_profile("water", "meter", [first, second]) == first / "water.toml"
    shipped = shipped_profiles("meter")
    if shipped:  # a user's file of a shipped name wins over the shipped one
        (first / shipped[0].name).write_text("", encoding="utf-8")
        assert find_profile(shipped[0].stem, "meter", [first]) == first / shipped[0].name
        assert find_profile(shipped[0].stem, "meter") == shipped[0]


def test_find_profile_takes_paths_and_says_where_it_looked(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("", encoding="utf-8")
    assert find_profile(str(path), "meter") == path
    assert find_profile(path, "modbus") == path
    with pytest.raises(ProfileError, match="no such profile file"):
        find_profile(str(tmp_path / "other.toml"), "meter")
    with pytest.raises(ProfileError, match=f"no bacnet profile named 'x' in {tmp_path}"):
        find_profile("x", "bacnet", [tmp_path])
