"""The command line, formats half (issue 6: ``exporters csv [--profile de] [-o FILE]``,
``exporters xml [-o FILE]``, ``exporters validate FILE.xml``, ``python -m exporters``)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from exporters import Reading, read_csv, read_xml, xml_schema
from exporters._cli import main

UTC = timezone.utc
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
DOCUMENT = {
    "header": {"id": "12345678", "manufacturer": "KAM", "status": 4},
    "records": [
        {"quantity": "energy", "unit": "Wh", "value": 1234.5, "dif": "04", "vif": "06"},
        {"quantity": "volume", "unit": "m3", "value": 12, "storage": 1},
    ],
}
READING = Reading(meter_id="7", quantity="volume", value=Decimal("0.5"), unit="m3", timestamp=T0)
STDIN = json.dumps(DOCUMENT) + "\n" + json.dumps(READING.to_dict()) + "\n"
SCHEMA = etree.XMLSchema(etree.fromstring(xml_schema()))


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_to_stdout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(monkeypatch, capsys, ["csv", "--timestamp", "2026-11-24T08:00:00Z"],
                         STDIN)  # fmt: skip
    assert code == 0, err
    readings = list(read_csv(io.StringIO(out, newline="")))
    assert [(r.meter_id, r.quantity, r.value) for r in readings] == [
        ("12345678", "energy", Decimal("1234.5")),
        ("12345678", "volume", 12),
        ("7", "volume", Decimal("0.5")),
    ]
    assert readings[0].status == ("power_low",)
    assert readings[2] == READING


def test_csv_german_profile_to_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out.csv"
    argv = ["csv", "--profile", "de", "-o", str(target), "--timestamp", "2026-11-24T08:00:00Z"]
    code, out, err = run(monkeypatch, capsys, argv, STDIN)
    assert code == 0, err
    assert out == ""
    assert "wrote 3 readings" in err
    data = target.read_bytes()
    assert data.startswith(b"meter_id;meter_name;quantity;value;")
    assert b";1234,5;decimal;" in data
    assert data.endswith(b"\r\n")
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left


def test_csv_bom(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                 tmp_path: Path) -> None:  # fmt: skip
    target = tmp_path / "out.csv"
    code, _, err = run(monkeypatch, capsys, ["csv", "--bom", "-o", str(target)],
                       json.dumps(READING.to_dict()))  # fmt: skip
    assert code == 0, err
    assert target.read_bytes().startswith(b"\xef\xbb\xbfmeter_id,")
    with target.open(encoding="utf-8", newline="") as stream:
        assert list(read_csv(stream)) == [READING]


def test_xml_to_file_is_valid(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out.xml"
    code, _, err = run(monkeypatch, capsys, ["xml", "-o", str(target), "--timestamp", "now"],
                       STDIN)  # fmt: skip
    assert code == 0, err
    tree = etree.parse(str(target))
    assert SCHEMA.validate(tree), SCHEMA.error_log
    with target.open("rb") as stream:
        items = list(read_xml(stream))
    assert len(items) == 3
    assert items[2] == READING


def test_xml_to_stdout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(monkeypatch, capsys, ["xml"], json.dumps(READING.to_dict()))
    assert code == 0
    assert SCHEMA.validate(etree.fromstring(out.encode()))


def test_missing_timestamp_fails_with_one_clear_line_and_no_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out.csv"
    code, _, err = run(monkeypatch, capsys, ["csv", "-o", str(target)], STDIN)
    assert code == 1
    assert err.startswith("exporters csv: error: ")
    assert "--timestamp" in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_bad_json_names_the_line(monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    code, _, err = run(monkeypatch, capsys, ["xml", "--timestamp", "now"], STDIN + "{oops\n")
    assert code == 1
    assert "line 3" in err


def test_bad_timestamp_option_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        run(monkeypatch, capsys, ["csv", "--timestamp", "2026-11-24T08:00:00"], STDIN)
    assert info.value.code == 2


def test_validate(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                  tmp_path: Path) -> None:  # fmt: skip
    good = tmp_path / "good.xml"
    run(monkeypatch, capsys, ["xml", "-o", str(good)], json.dumps(READING.to_dict()))
    bad = tmp_path / "bad.xml"
    bad.write_text(good.read_text().replace('storage="0"', 'storage="x"'))
    code, out, err = run(monkeypatch, capsys, ["validate", str(good)])
    assert (code, out, err) == (0, f"{good}: valid\n", "")
    code, out, err = run(monkeypatch, capsys, ["validate", str(good), str(bad)])
    assert code == 1
    assert out == f"{good}: valid\n"
    assert f"{bad}:3:" in err
    assert err.endswith(f"{bad}: invalid\n")


def test_no_command_prints_help(monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    code, _, err = run(monkeypatch, capsys, [])
    assert code == 2
    assert "csv" in err and "xml" in err and "validate" in err


def test_python_dash_m_and_a_pipe(tmp_path: Path) -> None:
    target = tmp_path / "out.xml"
    done = subprocess.run(
        [sys.executable, "-m", "exporters", "xml", "-o", str(target), "--timestamp", "now"],
        input=STDIN,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "exporters", "validate", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "libmbus" / "test-frames"


def test_mbus_decode_pipes_into_exporters_csv(tmp_path: Path) -> None:
    """``mbus decode --json < frames | exporters csv``: the command lines compose."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} is absent")
    frames = "".join(path.read_text() + "\n" for path in sorted(CORPUS.glob("*.hex"))[:10])
    decoded = subprocess.run(
        [sys.executable, "-m", "mbus", "decode", "--json"],
        input=frames, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if decoded.returncode != 0 or not decoded.stdout.strip():
        pytest.skip(f"mbus decode --json is not available: {decoded.stderr.strip()[-200:]}")
    target = tmp_path / "meters.csv"
    done = subprocess.run(
        [sys.executable, "-m", "exporters", "csv", "--profile", "de", "-o", str(target),
         "--timestamp", "2026-11-24T08:00:00Z"],
        input=decoded.stdout, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with target.open(encoding="utf-8", newline="") as stream:
        readings = list(read_csv(stream))
    assert len({r.meter_id for r in readings}) >= 5


def test_unwritable_output_and_missing_input_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "no" / "such" / "dir" / "out.csv"
    code, _, err = run(monkeypatch, capsys, ["csv", "-o", str(target)], STDIN)
    assert code == 1
    assert err.startswith("exporters csv: error: ") and len(err.splitlines()) == 1
    code, out, err = run(monkeypatch, capsys, ["validate", str(tmp_path / "missing.xml")])
    assert code == 1
    assert "missing.xml" in err and out == ""
