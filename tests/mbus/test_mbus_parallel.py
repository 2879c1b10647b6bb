"""``mbus decode --jobs N`` and ``mbus.decode_many``: the serial run's output, in input order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mbus
from mbus._cli import main

from .corpus import LIBMBUS, libmbus_files, require


def _corpus_lines() -> list[str]:
    """Every libmbus corpus frame (good, error and unsupported), with noise between them."""
    require(LIBMBUS)
    lines: list[str] = []
    for folder in ("test-frames", "error-frames", "unsupported-frames"):
        for path in libmbus_files(folder):
            text = " ".join(path.read_text(encoding="utf-8", errors="replace").split())
            lines += [text, "", "# comment", "68 zz"]
    return lines * 3


def _summary(result: mbus.DecodedLine) -> tuple[object, ...]:
    return (result.line, result.text, [t.to_dict() for t in result.telegrams],
            None if result.error is None else (type(result.error), str(result.error)))


def test_decode_many_in_processes_equals_serial() -> None:
    lines = _corpus_lines()
    serial = [_summary(r) for r in mbus.decode_many(lines)]
    parallel = [_summary(r) for r in mbus.decode_many(lines, jobs=2, chunk_size=7)]
    assert parallel == serial
    assert len(serial) == len([x for x in lines if x and not x.startswith("#")])
    assert sum(r[3] is not None for r in serial) > len(serial) // 4  # errors are kept too
    numbers = [int(str(r[0])) for r in serial]
    assert numbers == sorted(numbers)


@pytest.mark.parametrize("json_output", [True, False])
def test_cli_jobs_output_is_identical(tmp_path: Path, json_output: bool,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "frames.hex"
    path.write_text("\n".join(_corpus_lines()) + "\n", encoding="utf-8")
    flags = ["--json"] if json_output else []
    serial_status = main(["decode", *flags, "-f", str(path)])
    serial = capsys.readouterr()
    parallel_status = main(["decode", *flags, "--jobs", "2", "-f", str(path)])
    parallel = capsys.readouterr()
    assert (parallel_status, parallel.out, parallel.err) == (serial_status, serial.out,
                                                             serial.err)
    assert serial_status == 1 and serial.out
    if json_output:
        assert any("error" in json.loads(line) for line in serial.out.splitlines())


def test_jobs_must_be_a_positive_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["decode", "--jobs", "0", "E5"])
    assert "at least 1 process" in capsys.readouterr().err
