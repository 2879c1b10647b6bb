"""``s0 replay``: the JSON keys of the issue, events, and one-line errors naming row and field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from s0 import main

CLEAN = "time,level\n" + "".join(
    f"{t},1\n{t + 0.05:.3f},0\n" for t in (0.0, 3.6, 7.2)
)  # three 50 ms pulses 3.6 s apart; the last fall is the last row


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "edges.csv"
    path.write_text(text)
    return str(path)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_json_summary_has_exactly_the_issues_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        ["replay", write(tmp_path, CLEAN), "--imp-per-unit", "1000", "--json"], capsys
    )
    assert (status, err) == (0, "")
    (line,) = out.splitlines()
    assert json.loads(line) == {
        "pulses": 3,
        "rejected": 0,
        "total": "0.003",
        "unit": "kWh",
        "power": 1.0,  # 1000 imp/kWh, 3.6 s apart: 1 kW, at the last edge
    }


def test_events_come_first_one_json_line_per_pulse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = CLEAN + "8,1\n8.01,0\n"  # a 10 ms glitch, long after the last pulse
    status, out, _ = run(
        ["replay", write(tmp_path, text), "--imp-per-unit", "1000", "--json", "--events"], capsys
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert [line.get("event") for line in lines] == ["counted"] * 3 + ["rejected", None]
    assert lines[3]["reason"] == "on_too_short"
    assert lines[-1]["rejected"] == 1 and lines[-1]["pulses"] == 3
    assert lines[-1]["power"] == 1.0  # 0.81 s since the last pulse bounds nothing yet


def test_options_unit_thresholds_offset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "time,level\n0,1\n0.02,0\n1,1\n1.02,0\n"
    argv = ["replay", write(tmp_path, text), "--imp-per-unit", "100", "--unit", "m3", "--json"]
    _, out, _ = run(argv, capsys)
    assert json.loads(out)["pulses"] == 0  # 20 ms is below the default min_on
    _, out, _ = run([*argv, "--min-on", "0.02", "--offset", "1234.5"], capsys)
    data = json.loads(out)
    assert (data["pulses"], data["total"], data["unit"]) == (2, "1234.52", "m3")
    assert data["power"] == 36.0  # 1 s apart, 100 imp/m3: 36 m3/h
    _, out, _ = run([*argv, "--min-on", "0.02", "--debounce", "0.03"], capsys)
    assert json.loads(out)["pulses"] == 0  # the 20 ms highs never pass a 30 ms debounce
    _, out, _ = run([*argv, "--min-on", "0.02", "--min-off", "2"], capsys)
    assert json.loads(out)["rejected"] == 1


def test_text_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["replay", write(tmp_path, CLEAN), "--imp-per-unit", "1000"], capsys)
    assert status == 0
    assert out.splitlines() == [
        "pulses:   3",
        "rejected: 0",
        "total:    0.003 kWh",
        "power:    1 kW",
    ]


def test_empty_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        ["replay", write(tmp_path, "time,level\n"), "--imp-per-unit", "1000", "--json"], capsys
    )
    assert status == 0
    assert json.loads(out) == {
        "pulses": 0, "rejected": 0, "total": "0.000", "unit": "kWh", "power": None
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("time,level\n0,1\nabc,0\n", "row 3, field time"),
        ("time,level\n0,1\n1,2\n", "row 3, field level"),
        ("time,level\n0,1\n\n1\n", "row 4, field level"),
        ("time,level\n1,1\n0.5,0\n", "row 3, field time"),
        ("time,level\n0,1\nNaN,0\n", "row 3, field time"),
        ("time,level\n0,1\n1e30,0\n", "row 3, field time"),
        ("when,level\n0,1\n", "row 1, field header"),
        ("", "row 1"),
        ("time,level\n0,1\n1,\"0\n", "row "),
        ("level,time\n1,0\nx,1\n", "row 3, field level"),
    ],
)
def test_bad_rows_exit_1_with_one_line_naming_row_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, where: str
) -> None:
    status, out, err = run(["replay", write(tmp_path, text), "--imp-per-unit", "1"], capsys)
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1
    assert where in err and "edges.csv" in err


def test_columns_in_any_order_and_extra_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "note, Level ,TIME\nx,1,0\ny,0,0.05\n"
    _, out, _ = run(["replay", write(tmp_path, text), "--imp-per-unit", "1", "--json"], capsys)
    assert json.loads(out)["pulses"] == 1


def test_missing_file_and_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(["replay", str(tmp_path / "nope.csv"), "--imp-per-unit", "1"], capsys)
    assert status == 1 and "cannot read" in err and len(err.splitlines()) == 1
    status, _, err = run(["replay", write(tmp_path, CLEAN), "--imp-per-unit", "0"], capsys)
    assert status == 2 and "--imp-per-unit" in err
    with pytest.raises(SystemExit) as info:
        main(["replay", write(tmp_path, CLEAN), "--imp-per-unit", "x"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["replay", write(tmp_path, CLEAN)])  # --imp-per-unit is required


def test_python_dash_m_and_stdin(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "s0", "replay", "-", "--imp-per-unit", "1000", "--json"],
        input=CLEAN,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pulses"] == 3


def test_a_reader_that_goes_away_stops_replay_quietly(tmp_path: Path) -> None:
    """``s0 replay ... --events | head -1``: status 141 (as SIGPIPE), no traceback."""
    rows = "".join(f"{i},1\n{i}.5,0\n" for i in range(20_000))
    path = write(tmp_path, "time,level\n" + rows)
    process = subprocess.Popen(
        [sys.executable, "-m", "s0", "replay", path, "--imp-per-unit", "1000", "--events"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None and process.stderr is not None
    assert json.loads(process.stdout.readline())["event"] == "counted"
    process.stdout.close()  # more than a pipe buffer is still to come
    assert process.wait() == 141
    assert process.stderr.read() == b""
    process.stderr.close()
