"""Captures on a cluster: a Dask DataFrame of hex telegrams into a Dask DataFrame of readings.

:func:`dask_readings` maps each partition through a :class:`Decoder` of its own
(``map_partitions``); the result has the columns of :meth:`mbus.tables.ReadingTable.to_pandas`.
Keys are best given as the path of a key file that every worker can read: the
path travels in the task graph, the keys are read on the worker and never
leave it (a :class:`KeyStore` given instead is pickled into the graph; its
repr, which Dask may log, shows only the number of keys). Partitions decode on
their own, so a compact frame decodes only when its meter's full frame is in
the same partition, or its format is given in ``signatures``. Telegrams that
do not decode give no rows (:func:`wmbus.decode_capture` lists them).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import mbus
import mbus.tables
from mbus.records import ProfilesOption

from ._capture import Captured, parse_time
from ._keys import KeyStore
from ._tables import decode_capture

if TYPE_CHECKING:  # pragma: no cover - optional libraries, for annotations only
    import dask.dataframe
    import pandas


__all__ = ["dask_readings", "decode_partition"]

Keys = KeyStore | Mapping[str, bytes | str] | str | os.PathLike[str] | None


@lru_cache(maxsize=8)
def _key_file(path: str) -> KeyStore:
    """A key file read once per worker process."""
    return KeyStore.load(path)


def _keys(keys: Keys) -> KeyStore:
    if isinstance(keys, (str, os.PathLike)):
        return _key_file(os.fspath(keys))
    return KeyStore.coerce(keys)


def _time(value: Any) -> dt.datetime | None:
    if value is None or value != value:  # None, NaN or NaT: no time
        return None
    if isinstance(value, dt.datetime):  # pandas.Timestamp too
        stamp = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
        return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=dt.timezone.utc)
    return parse_time(str(value))


def decode_partition(frame: pandas.DataFrame, column: str = "hex", *,
                     time_column: str | None = None, keys: Keys = None,
                     signatures: Mapping[int | str, Any] | None = None,
                     already_decrypted: bool = False,
                     profiles: ProfilesOption = True) -> pandas.DataFrame:
    """The readings of one pandas DataFrame of hex telegrams (what each partition runs)."""
    from ._dongles import clean_hex

    hexes = frame[column].tolist()
    times = frame[time_column].tolist() if time_column else [None] * len(hexes)
    items: list[Captured] = []
    for index, text, time in zip(frame.index.tolist(), hexes, times, strict=True):
        try:
            items.append(Captured(_time(time), f"{column}[{index}]", clean_hex(str(text))))
        except ValueError:
            continue  # not hex, or not a time: no rows, as a telegram that does not decode
    table = decode_capture(items, _keys(keys), already_decrypted=already_decrypted,
                           signatures=signatures, profiles=profiles)
    return table.to_pandas()


def dask_readings(frame: dask.dataframe.DataFrame, column: str = "hex", *,
                  time_column: str | None = None, keys: Keys = None,
                  signatures: Mapping[int | str, Any] | None = None,
                  already_decrypted: bool = False,
                  profiles: ProfilesOption = True) -> dask.dataframe.DataFrame:
    """A Dask DataFrame of readings from one of hex telegrams (see the module docstring).

    ``column`` holds the telegrams as hex, ``time_column`` (optional) their times
    (datetimes, ISO 8601 text or Unix seconds). ``source`` says ``column[index]``
    of each reading's telegram. Needs ``meterkit[data]`` (dask, pandas, pyarrow).
    """
    meta = mbus.tables.ReadingTable().to_pandas()
    return frame.map_partitions(decode_partition, column, time_column=time_column, keys=keys,
                                signatures=signatures, already_decrypted=already_decrypted,
                                profiles=profiles, meta=meta)
