"""The ``alarms replay`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from alarms.__main__ import main

RULES = """
[[rule]]
point = "tank.level"
kind = "upper"
limit = 80
hysteresis = 2
raise_delay = 5
severity = "major"
alarm_id = "tank.hi"
alarm_class = "process"
raise_text = "{point} high: {value} >= {limit}"
clear_text = "{point} normal: {value}"

[[rule]]
point = "tank.level"
kind = "stale"
timeout = 60
severity = "minor"
alarm_id = "tank.stale"
"""

SAMPLES = """time,point,value
0,tank.level,70
10,tank.level,81
12,tank.level,83
20,tank.level,79
30,tank.level,77.5
"""

KEYS = [
    "time",
    "event",
    "alarm_id",
    "point",
    "severity",
    "value",
    "notification_id",
    "correlated",
    "text",
]


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    rules = tmp_path / "rules.toml"
    samples = tmp_path / "samples.csv"
    rules.write_text(RULES, encoding="utf-8")
    samples.write_text(SAMPLES, encoding="utf-8")
    return str(rules), str(samples)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_replay_json_lines(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", *files, "--json"]) == 0
    out = lines(capsys)
    assert [list(line) for line in out] == [KEYS, KEYS]
    assert out == [
        {
            "time": 15.0,
            "event": "raised",
            "alarm_id": "tank.hi",
            "point": "tank.level",
            "severity": "major",
            "value": 83.0,
            "notification_id": 1,
            "correlated": [],
            "text": "tank.level high: 83.0 >= 80.0",
        },
        {
            "time": 30.0,
            "event": "cleared",
            "alarm_id": "tank.hi",
            "point": "tank.level",
            "severity": "cleared",
            "value": 77.5,
            "notification_id": 2,
            "correlated": [1],
            "text": "tank.level normal: 77.5",
        },
    ]


def test_replay_until_runs_later_deadlines(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", *files, "--json", "--until", "200"]) == 0
    out = lines(capsys)
    assert out[-1]["event"] == "raised" and out[-1]["alarm_id"] == "tank.stale"
    assert out[-1]["time"] == 90.0 and out[-1]["value"] == 60.0
    assert out[-1]["severity"] == "minor"


def test_replay_human_readable(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", *files]) == 0
    text = capsys.readouterr().out.splitlines()
    assert len(text) == 2
    assert "RAISED" in text[0] and "tank.hi" in text[0] and "[major]" in text[0]
    assert "CLEARED" in text[1] and "clears #1" in text[1]


def test_replay_until_before_last_sample_is_an_error(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", *files, "--until", "5"]) == 1
    assert "--until" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("rules", "samples", "message"),
    [
        ("[[rule]]\npoint='p'\nkind='upper'\n", SAMPLES, "limit"),
        (RULES, "time,point\n1,a\n", "header"),
        (RULES, SAMPLES + "25,tank.level,1\n", ":7: time"),
        (RULES, SAMPLES + "40,tank.level,abc\n", ":7: value is not a number"),
    ],
)
def test_input_errors_exit_1_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rules: str, samples: str, message: str
) -> None:
    (tmp_path / "r.toml").write_text(rules, encoding="utf-8")
    (tmp_path / "s.csv").write_text(samples, encoding="utf-8")
    assert main(["replay", str(tmp_path / "r.toml"), str(tmp_path / "s.csv")]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("alarms: error: ") and message in captured.err
    assert captured.out == ""


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.toml").write_text(RULES, encoding="utf-8")
    assert main(["replay", str(tmp_path / "r.toml"), str(tmp_path / "none.csv")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["replay", "only-one"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["replay", "a", "b", "--until", "soon"])
    assert caught.value.code == 2


def test_python_dash_m(files: tuple[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alarms", "replay", *files, "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert [json.loads(line)["notification_id"] for line in result.stdout.splitlines()] == [1, 2]


def test_a_reader_that_goes_away_stops_replay_quietly(tmp_path: Path) -> None:
    """``alarms replay ... | head -1``: status 141 (as SIGPIPE), no traceback."""
    rules = tmp_path / "r.toml"
    rules.write_text('[[rule]]\npoint = "p"\nkind = "upper"\nlimit = 1\n', encoding="utf-8")
    samples = tmp_path / "s.csv"
    lines = "".join(f"{i},p,{i % 3}\n" for i in range(20_000))
    samples.write_text("time,point,value\n" + lines, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "alarms", "replay", str(rules), str(samples), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None and process.stderr is not None
    assert json.loads(process.stdout.readline())["event"] == "raised"
    process.stdout.close()  # more than a pipe buffer is still to come
    assert process.wait() == 141
    assert process.stderr.read() == b""
    process.stderr.close()
