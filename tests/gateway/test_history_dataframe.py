"""gateway.history.to_dataframe: readings as a pandas DataFrame, exact values kept."""

from __future__ import annotations

import sys
from decimal import Decimal

import pytest

from gateway.history import HistoryError, PointReading, to_dataframe

from .history_support import at

pandas = pytest.importorskip("pandas", reason="pandas (the dataframe extra) is not installed")


def test_readings_become_columns() -> None:
    frame = to_dataframe([
        PointReading("a/kwh", at(0), Decimal("1.25"), "kWh", "energy"),
        PointReading("a/kwh", at(15), Decimal("1.50"), "kWh", "energy", ("estimated",)),
    ])
    assert list(frame.columns) == ["point", "time", "value", "unit", "quantity", "quality"]
    assert list(frame["value"]) == [Decimal("1.25"), Decimal("1.50")]
    assert frame["time"].iloc[1] == pandas.Timestamp("2026-01-01T00:15:00Z")
    assert str(frame["time"].dt.tz) == "UTC"
    assert list(frame["quality"]) == [(), ("estimated",)]
    assert to_dataframe([]).shape == (0, 6)


def test_without_pandas_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(HistoryError, match=r"meterkit\[dataframe\]"):
        to_dataframe([])
