"""The ``mbus decode`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mbus._cli import main

FRAME = "68 1b 1b 68 08 01 72 78 56 34 12 2d 2c 08 04 05 00 00 00 04 06 e7 91 00 00 04 14 2c db 00 00 9a 16"  # noqa: E501


def test_json_from_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--json", *FRAME.split()]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    document = json.loads(line)
    assert document["header"]["manufacturer"] == "KAM"
    assert document["records"][0] == {
        "function": "instantaneous", "storage": 0, "tariff": 0, "subunit": 0,
        "quantity": "energy", "unit": "Wh", "value": 37351000, "dif": "04", "vif": "06",
        "data": "e7910000", "coding": "int32"}


def test_several_frames_from_a_file_mixed_case(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "frames.txt"
    path.write_text(FRAME.upper() + "\n" + "e5\n" + FRAME.replace(" ", "") + "\n")
    assert main(["decode", "--json", "-f", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["frame"]["type"] for line in lines] == ["long", "ack", "long"]


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", FRAME]) == 0
    out = capsys.readouterr().out
    assert "energy" in out and "37351000" in out and "561.08" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [("68 1b 1b 68 08 01 72", "length at byte 7"), ("zz", "not a hex digit"),
     ("123", "odd number"), (FRAME.replace("9a 16", "9b 16"), "checksum at byte 31")],
)
def test_bad_input_exits_1_with_one_line(text: str, message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", *text.split()]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert message in line


def test_python_dash_m_reads_stdin() -> None:
    result = subprocess.run([sys.executable, "-m", "mbus", "decode", "--json"], input=FRAME,
                            capture_output=True, text=True, check=False,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["records"][1]["value"] == 561.08
