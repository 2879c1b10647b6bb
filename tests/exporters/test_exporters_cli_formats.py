"""The command line, formats half (issue 6: ``exporters csv [--profile de] [-o FILE]``,
``exporters xml [-o FILE]``, ``exporters validate FILE.xml``, ``python -m exporters``)."""

from __future__ import annotations

import io
import json
import os
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


def test_documents_without_a_time_get_the_time_they_are_read_said_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out.csv"
    before = datetime.now(UTC).replace(microsecond=0)
    code, _, err = run(monkeypatch, capsys, ["csv", "-o", str(target)], STDIN + STDIN)
    after = datetime.now(UTC)
    assert code == 0, err
    notes = [line for line in err.splitlines() if "--timestamp" in line]
    assert len(notes) == 1
    assert notes[0].startswith("exporters csv: line 1 ")
    with target.open(encoding="utf-8", newline="") as stream:
        readings = list(read_csv(stream))
    assert len(readings) == 6
    from_documents = [r for r in readings if r.meter_id == "12345678"]
    assert len(from_documents) == 4
    assert all(before <= r.timestamp <= after for r in from_documents)
    # A reading object carries its own time.
    assert [r.timestamp for r in readings if r.meter_id == "7"] == [T0, T0]


def clock_document(clock: str, **extra: object) -> dict[str, object]:
    records = [
        {"quantity": "energy", "unit": "Wh", "value": 5, "storage": 0},
        {"quantity": "datetime", "unit": "", "value": "2020-01-01T00:00:00", "storage": 1},
        {"quantity": "datetime", "unit": "", "value": clock, "storage": 0, "tariff": 0,
         "subunit": 0, "function": "instantaneous"},
    ]  # fmt: skip
    return {"header": {"id": "1"}, "records": records, **extra}


@pytest.mark.parametrize(
    ("document", "options", "expected"),
    [
        # The meter's clock (storage 0) read in the meter's zone, before --timestamp.
        (clock_document("2026-11-24T09:15:00"), ["--meter-zone", "+01:00",
         "--timestamp", "2030-01-01T00:00:00Z"], datetime(2026, 11, 24, 8, 15, tzinfo=UTC)),
        (clock_document("2026-07-01T12:00:00"), ["--meter-zone", "Europe/Berlin"],
         datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
        (clock_document("2026-11-24T09:15:00"), ["--meter-zone", "UTC"],
         datetime(2026, 11, 24, 9, 15, tzinfo=UTC)),
        # The document's own timestamp key wins over the clock.
        (clock_document("2026-11-24T09:15:00", timestamp="2026-11-24T10:00:00+02:00"),
         ["--meter-zone", "UTC"], datetime(2026, 11, 24, 8, 0, tzinfo=UTC)),
        # A clock record without a valid time does not count: --timestamp is next.
        ({"header": {"id": "1"}, "records": [
            {"quantity": "energy", "unit": "Wh", "value": 5},
            {"quantity": "datetime", "value": None, "flags": ["invalid_date"]}]},
         ["--timestamp", "2026-11-24T08:00:00Z"], T0),
    ],
)  # fmt: skip
def test_reading_time_rule(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    document: dict[str, object],
    options: list[str],
    expected: datetime,
) -> None:
    code, out, err = run(monkeypatch, capsys, ["csv", *options], json.dumps(document))
    assert code == 0, err
    assert err == ""
    readings = list(read_csv(io.StringIO(out, newline="")))
    assert readings
    assert {r.timestamp for r in readings} == {expected}


def test_the_meter_zone_defaults_to_this_machines_zone(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "exporters", "csv"],
        input=json.dumps(clock_document("2026-11-24T09:15:00")),
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "TZ": "Asia/Kolkata"},  # +05:30, no daylight saving
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    readings = list(read_csv(io.StringIO(done.stdout, newline="")))
    assert {r.timestamp for r in readings} == {datetime(2026, 11, 24, 3, 45, tzinfo=UTC)}


def test_an_unknown_meter_zone_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        run(monkeypatch, capsys, ["csv", "--meter-zone", "Mars/Olympus"], STDIN)
    assert info.value.code == 2
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err


ERROR_OBJECT = {
    "line": 4,
    "error": "checksum at byte 31: checksum is 0x9b, the frame sums to 0x9a",
    "error_type": "ChecksumError",
    "field": "checksum",
    "offset": 31,
}


@pytest.mark.parametrize("command", ["csv", "xml"])
def test_error_objects_are_reported_and_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    stdin = json.dumps(ERROR_OBJECT) + "\n" + json.dumps(READING.to_dict()) + "\n"
    code, out, err = run(monkeypatch, capsys, [command], stdin)
    assert code == 0, err
    assert err == (
        f"exporters {command}: line 1: skipped an error object (input line 4 of the "
        "decoder): checksum at byte 31: checksum is 0x9b, the frame sums to 0x9a\n"
    )
    source = io.StringIO(out, newline="") if command == "csv" else io.BytesIO(out.encode())
    items = list(read_csv(source) if command == "csv" else read_xml(source))  # type: ignore[arg-type]
    assert items == [READING]


def test_strict_makes_an_error_object_fatal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = json.dumps(READING.to_dict()) + "\n" + json.dumps(ERROR_OBJECT) + "\n"
    code, out, err = run(monkeypatch, capsys, ["csv", "--strict"], stdin)
    assert code == 1
    assert out == ""
    assert err.startswith("exporters csv: error: line 2, field 'error': an error object")


@pytest.mark.parametrize("command", ["csv", "xml"])
@pytest.mark.parametrize("to_file", [False, True])
def test_a_run_that_fails_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: str,
    to_file: bool,
) -> None:
    """All or nothing: a bad line after good ones leaves neither output nor file."""
    target = tmp_path / f"out.{command}"
    stdin = json.dumps(READING.to_dict()) + "\n" + '{"meter_id": "7", oops}\n'
    argv = [command, *(["-o", str(target)] if to_file else [])]
    code, out, err = run(monkeypatch, capsys, argv, stdin)
    assert code == 1
    assert out == ""
    assert err.startswith(f"exporters {command}: error: line 2, byte offset ")
    assert len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_stdin_that_is_not_utf8_is_one_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.dumps(READING.to_dict()).encode() + b'\n{"meter_id": "\xff"}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code = main(["csv"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    offset = data.index(b"\xff")
    assert err == f"exporters csv: error: byte offset {offset}: not UTF-8: byte ff\n"


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
    assert decoded.returncode == 0, decoded.stderr
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


def long_frame(body_hex: str) -> str:
    """A long frame around ``body_hex`` (C field to the last data byte), checksum computed."""
    body = bytes.fromhex(body_hex)
    frame = bytes([0x68, len(body), len(body), 0x68]) + body + bytes([sum(body) % 256, 0x16])
    return frame.hex(" ")


# Heat meter 12345678 (EN 13757-3 variable data): 04 06 energy 0x91e7 kWh, 04 14 volume
# 0xdb2c x 0.01 m3, 04 6d its clock (type F: 2026-11-24 09:15).
WITH_CLOCK = long_frame(
    "08 01 72 78563412 2d2c 08 04 05 00 0000 0406 e7910000 0414 2cdb0000 046d 0f09583b"
)
# Meter 87654321, same values, no clock record.
WITHOUT_CLOCK = long_frame("08 01 72 21436587 2d2c 08 04 05 00 0000 0406 e7910000 0414 2cdb0000")


def test_the_readme_pipe_runs_as_written(tmp_path: Path) -> None:
    """README: ``mbus decode --json -f frames.hex | exporters csv --profile de -o readings.csv``
    in a real shell with the installed commands, a frame that fails in the middle."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    command = "mbus decode --json -f frames.hex | exporters csv --profile de -o readings.csv"
    assert f"`{command}`" in readme
    (tmp_path / "frames.hex").write_text(
        f"{WITH_CLOCK}\n68 1b 1b 68 08 01 72\n{WITHOUT_CLOCK}\n", encoding="ascii"
    )
    scripts = Path(sys.executable).parent
    assert (scripts / "mbus").is_file() and (scripts / "exporters").is_file()
    env = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ['PATH']}",
           "TZ": "Europe/Berlin"}  # fmt: skip
    before = datetime.now(UTC).replace(microsecond=0)
    done = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    after = datetime.now(UTC)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "exporters csv: line 2: skipped an error object (input line 2 of the decoder): "
        "length at byte 7: frame is cut off: 7 bytes, the frame needs 33",
        "exporters csv: line 3 and others without a time of their own get the time they "
        "are read (UTC); give --timestamp to set one",
        "exporters csv: wrote 5 readings to readings.csv",
    ]
    data = (tmp_path / "readings.csv").read_bytes()
    assert data.startswith(b"meter_id;meter_name;quantity;value;value_type;unit;timestamp;")
    with (tmp_path / "readings.csv").open(encoding="utf-8", newline="") as stream:
        readings = list(read_csv(stream))
    clock = [(r.quantity, r.value, r.unit, r.timestamp) for r in readings
             if r.meter_id == "12345678"]  # fmt: skip
    meter_time = datetime(2026, 11, 24, 8, 15, tzinfo=UTC)  # 09:15 in Berlin, winter
    assert clock == [
        ("energy", 37351 * 1000, "Wh", meter_time),
        ("volume", Decimal("561.08"), "m3", meter_time),
        ("datetime", "2026-11-24T09:15:00", "", meter_time),
    ]
    read_time = [r for r in readings if r.meter_id == "87654321"]
    assert [(r.quantity, r.value) for r in read_time] == [
        ("energy", 37351000), ("volume", Decimal("561.08"))
    ]  # fmt: skip
    assert all(before <= r.timestamp <= after for r in read_time)
