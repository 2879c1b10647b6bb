"""Readings as a pandas DataFrame (pandas is imported only when asked for)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import profiles

from ._errors import HistoryError

if TYPE_CHECKING:
    import pandas

__all__ = ["to_dataframe"]

COLUMNS = ("point", "time", "value", "unit", "quantity", "quality")


def to_dataframe(readings: Iterable[profiles.Reading]) -> pandas.DataFrame:
    """A DataFrame with the columns point, time (UTC), value, unit, quantity, quality.

    Values keep their Python objects (Decimal stays Decimal: an ``object`` column);
    ``df["value"].astype(float)`` converts when exactness is not needed. Needs pandas
    (``pip install meterkit[dataframe]``); without it a :class:`HistoryError` says so.
    """
    try:
        import pandas
    except ImportError:
        raise HistoryError("to_dataframe needs pandas: pip install 'meterkit[dataframe]'"
                           ) from None
    rows = [(r.point, r.time, r.value, r.unit, r.quantity, r.quality) for r in readings]
    frame: pandas.DataFrame = pandas.DataFrame(rows, columns=list(COLUMNS))
    frame["time"] = pandas.to_datetime(frame["time"], utc=True)
    frame["value"] = frame["value"].astype(object)
    return frame
