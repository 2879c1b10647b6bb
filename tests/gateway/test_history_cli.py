"""meterkit history, backup and restore: the command lines."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.__main__ import main
from gateway.history import PointReading, SQLiteHistory, reading_to_dict

from .history_support import at, counter_readings


@pytest.fixture
def history_file(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite"
    with SQLiteHistory(path) as history:
        history.append(counter_readings("flat1/kwh", 6))
        history.append([PointReading("flat1/flow_degC", at(0), 61.5, "degC", "temperature",
                                     ("estimated", "stale")),
                        PointReading("flat1/door", at(0), True),
                        PointReading("flat1/door", at(15), None, quality=("comm_failure",))])
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_history_text_json_and_csv(history_file: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "history", "flat1/kwh", "--history", str(history_file),
                         "--since", "2026-01-01T00:30:00Z", "--until", "2026-01-01T01:00")
    assert status == 0
    assert out.splitlines() == ["2026-01-01T00:30:00Z  0.50 kWh", "2026-01-01T00:45:00Z  0.75 kWh"]
    status, out, _ = run(capsys, "history", "flat1/flow_degC", "--history", str(history_file),
                         "--json")
    assert [json.loads(line) for line in out.splitlines()] == [{
        "point": "flat1/flow_degC", "time": "2026-01-01T00:00:00Z", "value": 61.5,
        "value_type": "float", "unit": "degC", "quantity": "temperature",
        "quality": ["estimated", "stale"]}]
    status, out, _ = run(capsys, "history", "flat1/door", "--history", str(history_file),
                         "--csv", "--since", "2026-01-01T01:00:00+01:00")
    assert out.splitlines() == ["point,time,value,unit,quantity,quality",
                                "flat1/door,2026-01-01T00:00:00Z,true,,,",
                                "flat1/door,2026-01-01T00:15:00Z,,,,comm_failure"]
    status, out, _ = run(capsys, "history", "flat1/kwh", "--history", str(history_file),
                         "--json", "--since", "2026-01-01T01:15:00Z")
    assert json.loads(out)["value"] == "1.25" and json.loads(out)["value_type"] == "decimal"
    assert Decimal(json.loads(out)["value"]) == Decimal("1.25")


def test_history_errors_are_one_line(history_file: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "history", "nobody", "--history", str(history_file))
    assert (status, out, err) == (1, "", f"meterkit history: {history_file}: no point 'nobody'\n")
    status, _, err = run(capsys, "history", "x", "--history", str(tmp_path / "missing.sqlite"))
    assert status == 1 and err.endswith("missing.sqlite: no such history file\n")
    status, _, err = run(capsys, "history", "x", "--history", str(history_file),
                         "--since", "yesterday")
    assert status == 2 and err == "meterkit history: --since 'yesterday' is not an ISO 8601 time\n"
    assert not (tmp_path / "missing.sqlite").exists()


def test_backup_and_restore(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    (config / "profiles").mkdir(parents=True)
    (config / "site.toml").write_text('[site]\nname = "flat3"\n')
    (config / "profiles" / "heat.toml").write_text('kind = "meter"\n')
    monkeypatch.setenv("BACKUP_PASSPHRASE", "s3cret words")
    archive = str(tmp_path / "config.mkb")
    status, out, _ = run(capsys, "backup", archive, "--passphrase-env", "BACKUP_PASSPHRASE",
                         "--config", str(config))
    assert (status, out) == (0, f"{archive}: 2 files, AES-256-GCM: profiles/heat.toml, "
                                "site.toml\n")
    target = tmp_path / "restored"
    status, out, _ = run(capsys, "restore", archive, "--passphrase-env", "BACKUP_PASSPHRASE",
                         "--to", str(target))
    assert status == 0 and out.startswith(f"restored 2 files into {target}: ")
    assert (target / "site.toml").read_text() == '[site]\nname = "flat3"\n'

    monkeypatch.setenv("BACKUP_PASSPHRASE", "wrong words")
    status, _, err = run(capsys, "restore", archive, "--passphrase-env", "BACKUP_PASSPHRASE",
                         "--to", str(tmp_path / "other"))
    assert status == 1 and err == (f"meterkit restore: {archive}: wrong passphrase (or the "
                                   "archive's header was modified); nothing was changed\n")
    assert not (tmp_path / "other").exists()

    monkeypatch.delenv("BACKUP_PASSPHRASE")
    status, _, err = run(capsys, "backup", archive, "--passphrase-env", "BACKUP_PASSPHRASE")
    assert status == 2 and "BACKUP_PASSPHRASE is not set" in err
    assert "BACKUP_PASSPHRASE" not in os.environ


def test_reading_to_dict_keeps_json_standard() -> None:
    eastern = timezone(timedelta(hours=-5))
    row = reading_to_dict(PointReading("p", datetime(2026, 1, 1, 7, tzinfo=eastern),
                                       float("nan"), quality=("invalid",)))
    assert row == {"point": "p", "time": "2026-01-01T12:00:00Z", "value": "nan",
                   "value_type": "float", "unit": "", "quantity": "", "quality": ["invalid"]}
    assert json.loads(json.dumps(row, allow_nan=False)) == row
    big = reading_to_dict(PointReading("p", at(0), Decimal("1E+3")))
    assert (big["value"], big["value_type"]) == ("1E+3", "decimal")
