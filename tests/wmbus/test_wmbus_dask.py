"""Dask: a CSV capture on a 2-worker LocalCluster gives the readings decoded serially."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import wmbus

from ..mbus.corpus import WMBUS, require, wmbus_lines


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1") as cluster, \
            Client(cluster) as connected:
        yield connected


def _capture(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """The dev corpus as a time,hex CSV (each line's prior telegrams just before it)."""
    require(WMBUS)
    rows: list[tuple[str, str]] = []
    keys: dict[str, str] = {}
    start = dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)
    for line in wmbus_lines():
        for hexed in [*line.get("prior_telegrams", []), line["telegram"]]:
            rows.append(((start + dt.timedelta(minutes=len(rows))).isoformat(), hexed))
        if line.get("key", "NOKEY") != "NOKEY" and line.get("id"):
            keys[line["id"]] = line["key"]
    capture = tmp_path / "capture.csv"
    pd.DataFrame(rows, columns=["time", "hex"]).to_csv(capture, index=False)
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps(keys), encoding="utf-8")
    return capture, key_file, list(keys.values())


def test_map_partitions_on_a_local_cluster(client: Client, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    capture, key_file, keys = _capture(tmp_path)
    frame = dd.read_csv(capture, blocksize=20_000, dtype=str)
    assert frame.npartitions >= 2
    with caplog.at_level(logging.DEBUG):
        readings = wmbus.dask_readings(frame, "hex", time_column="time", keys=key_file,
                                       already_decrypted=True)
        result = readings.compute()
    # The same as each partition decoded serially here (partitions decode on their own).
    expected = pd.concat([
        wmbus.decode_partition(frame.get_partition(i).compute(), "hex", time_column="time",
                               keys=str(key_file), already_decrypted=True)
        for i in range(frame.npartitions)])
    assert len(result) > 1000
    assert result.reset_index(drop=True).equals(expected.reset_index(drop=True))
    assert list(result.columns) == list(wmbus.decode_capture([]).to_pandas().columns)
    assert result["value"].map(type).astype(str).str.contains("Decimal").any()
    assert result["time"].min() == pd.Timestamp("2026-11-24T00:00:00Z")
    logs = json.dumps([client.get_worker_logs(), client.get_scheduler_logs()], default=str)
    secret = [key for key in keys if key.lower() not in capture.read_text().lower()]
    assert secret and not any(key.lower() in (logs + caplog.text).lower() for key in secret)
    assert str(key_file) not in repr(result)
