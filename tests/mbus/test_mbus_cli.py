"""The ``mbus decode`` command line."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mbus
import mbus.records
from mbus._cli import SIGPIPE_STATUS, main
from mbus._cli_decode import run_decode

from .corpus import hex_bytes, libmbus_files

REPO = Path(__file__).resolve().parents[2]

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
    [("68 1b 1b 68 08 01 72", "line 1: length at byte 7"),
     ("00 zz", "line 1: hex at byte 1: 'z' is not a hex digit"),
     ("123", "line 1: hex at byte 1: odd number"),
     (FRAME.replace("9a 16", "9b 16"), "line 1: checksum at byte 31")],
)
def test_bad_input_exits_1_with_one_line(text: str, message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", *text.split()]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("mbus decode: ")
    assert message in line


# E5, then a long frame whose configuration word 0x0510 names security mode 5, 1 block.
ENCRYPTED = ("681f1f68080172785634122d2c010703001005"
             "0102030405060708090a0b0c0d0e0f10" "9016")


def test_encrypted_frame_after_another_keeps_its_error_fields(
        capsys: pytest.CaptureFixture[str]) -> None:
    # Regression: the CLI rebuilt EncryptedError without mode and blocks (TypeError).
    assert main(["decode", "--json", "e5" + ENCRYPTED]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {
        "line": 1, "error_type": "EncryptedError", "field": "configuration", "offset": 20,
        "error": "configuration at byte 20: application data is encrypted (security mode 5, "
                 "1 blocks): decrypt it with the meter's key, e.g. wmbus.decode(data, "
                 "key=...) (frame at byte 1)"}


def test_a_moved_error_keeps_every_field() -> None:
    with pytest.raises(mbus.EncryptedError) as caught:
        mbus.decode(bytes.fromhex(ENCRYPTED))
    error = caught.value
    moved = error.moved(10, "frame at byte 10")
    assert type(moved) is mbus.EncryptedError
    assert (moved.mode, moved.blocks, moved.field, moved.data) == (
        5, 1, "configuration", error.data)
    assert error.offset == 19 and moved.offset == 29
    assert str(moved) == f"configuration at byte 29: {error.message} (frame at byte 10)"
    copy = pickle.loads(pickle.dumps(moved))
    assert (type(copy), copy.__dict__, str(copy)) == (type(moved), moved.__dict__, str(moved))


def test_a_moved_record_error_keeps_the_records_before_it() -> None:
    # A temperature record, then a DIF announcing 4 bytes with only 2 left.
    with pytest.raises(mbus.RecordError) as caught:
        mbus.records.decode_records(bytes.fromhex("015b15" "0413aabb"))
    error = caught.value
    moved = error.moved(7)
    assert [r.value for r in moved.records_before] == [21]
    assert moved.record_offset == error.record_offset == 3
    assert error.offset is not None and moved.offset == error.offset + 7


def test_one_bad_line_costs_only_itself(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "frames.hex"
    path.write_text(f"{FRAME}\n\n# a comment\n{FRAME.replace('9a 16', '9b 16')}\nzz\ne5\n")
    assert main(["decode", "--json", "-f", str(path)]) == 1
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d.get("frame", {}).get("type") for d in documents] == ["long", None, None, "ack"]
    assert documents[1] == {
        "line": 4, "error_type": "ChecksumError", "field": "checksum", "offset": 31,
        "error": "checksum at byte 31: checksum is 0x9b, the frame sums to 0x9a"}
    assert documents[2] == {"line": 5, "error_type": "InputError", "field": "hex",
                            "offset": 0, "error": "hex at byte 0: 'z' is not a hex digit"}

    assert main(["decode", "-f", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "mbus decode: line 4: checksum at byte 31: checksum is 0x9b, the frame sums to 0x9a",
        "mbus decode: line 5: hex at byte 0: 'z' is not a hex digit"]
    assert captured.out.count("type=long") == 1 and "type=ack" in captured.out


def test_an_unreadable_file_is_one_line_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "-f", str(tmp_path / "missing.hex")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mbus decode: cannot read ") and "missing.hex" in line


def _corpus_lines() -> list[str]:
    return [hex_bytes(path).hex() for path in libmbus_files("test-frames")[:40]]


def _mutated(frame: str, position: int, byte: int, cut: int) -> str:
    data = bytearray.fromhex(frame)
    if data:
        data[position % len(data)] = byte
    return data[:len(data) - cut % 4].hex()


def _mutated_whole(frame: str, position: int, byte: int) -> str:
    """A long frame with one application byte changed and its checksum made right again,
    so that the change reaches the application layer."""
    data = bytearray.fromhex(frame)
    if len(data) > 9 and data[0] == 0x68:
        data[7 + position % (len(data) - 9)] = byte
        data[-2] = sum(data[4:-2]) & 0xFF
    return data.hex()


LINES = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=60).map(bytes.hex),
    st.builds(_mutated, st.sampled_from([FRAME.replace(" ", ""), ENCRYPTED, "e5",
                                         *_corpus_lines()]),
              st.integers(0, 300), st.integers(0, 255), st.integers(0, 7)),
    st.builds(_mutated_whole, st.sampled_from([FRAME.replace(" ", ""), *_corpus_lines()]),
              st.integers(0, 300), st.integers(0, 255)),
    st.lists(st.sampled_from(["e5", "1040017116", FRAME, ENCRYPTED]),
             max_size=4).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, max_size=6))
@example(["e5" + ENCRYPTED])
@example(["\x00", "0x", "68"])
def test_decode_on_arbitrary_lines_gives_only_documents_and_typed_errors(
        lines: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    status = run_decode(lines, json_output=True, out=out, err=err)
    documents = [json.loads(line) for line in out.getvalue().splitlines()]
    errors = [d for d in documents if "error" in d]
    assert status == (1 if errors or not documents else 0)
    for document in errors:
        assert set(document) == {"line", "error", "error_type", "field", "offset"}
        kind = getattr(mbus, document["error_type"], None) or getattr(
            sys.modules["mbus._cli_decode"], document["error_type"])
        assert issubclass(kind, mbus.DecodeError)
    # Every line was accounted for: one error object per failed line, in order.
    assert [d["line"] for d in errors] == sorted({d["line"] for d in errors})


def test_python_dash_m_reads_stdin() -> None:
    result = subprocess.run([sys.executable, "-m", "mbus", "decode", "--json"], input=FRAME,
                            capture_output=True, text=True, check=False, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["records"][1]["value"] == 561.08


def test_stdin_that_is_not_utf8_fails_its_line_only() -> None:
    data = FRAME.encode() + b"\n\xff\xfe\ne5\n"
    result = subprocess.run([sys.executable, "-m", "mbus", "decode", "--json"], input=data,
                            capture_output=True, check=False, cwd=REPO)
    assert result.returncode == 1, result.stderr
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d.get("line") for d in documents] == [None, 2, None]
    assert documents[1]["error_type"] == "InputError"


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # Enough output to fill the pipe's buffer after head has gone.
    path = tmp_path / "frames.hex"
    path.write_text((FRAME + "\n") * 3000)
    result = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m mbus decode --json -f "{path}" | head -1'],
        capture_output=True, text=True, check=False, cwd=REPO)
    (first,) = result.stdout.splitlines()
    assert json.loads(first)["header"]["id"] == "12345678"
    assert result.stderr == ""


def test_a_closed_pipe_gives_the_sigpipe_status(tmp_path: Path) -> None:
    path = tmp_path / "frames.hex"
    path.write_text((FRAME + "\n") * 3000)
    command = subprocess.Popen([sys.executable, "-m", "mbus", "decode", "--json", "-f",
                                str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=REPO)
    assert command.stdout is not None and command.stderr is not None
    assert json.loads(command.stdout.readline())["frame"]["type"] == "long"
    command.stdout.close()
    assert command.stderr.read() == b""
    assert command.wait() == SIGPIPE_STATUS


def _strict_json(line: str) -> object:
    def refuse(constant: str) -> object:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(line, parse_constant=refuse)


def test_json_output_is_strict_json_even_for_a_real32_nan(
        capsys: pytest.CaptureFixture[str]) -> None:
    # A REAL32 NaN is how some meters say "no value" (iEM3000 power factor); Python's
    # json would print it as NaN, which is not JSON and which exporters refuse.
    header = mbus.Header(id="77777777", manufacturer="SEC", version=1, medium=2,
                         access_number=0, status=0)
    records = mbus.records.decode_records(bytes.fromhex("05130000c0ff" "05130000803f"))
    frame = mbus.build_telegram(address=1, header=header, records=records).encode()
    assert main(["decode", "--json", frame.hex()]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    document = _strict_json(line)
    assert isinstance(document, dict)
    first, second = (record["value"] for record in document["records"])
    assert first in (None, "nan") and second == 0.001


def test_the_readme_pipe_into_exporters_csv(tmp_path: Path) -> None:
    # README: mbus decode --json -f frames.hex | exporters csv --profile de -o readings.csv
    # A bad line is one error object in the stream: exporters reports it and goes on.
    other = FRAME.replace("78 56 34 12", "21 43 65 87").replace("9a 16", "d6 16")
    frames = tmp_path / "frames.hex"
    frames.write_text(f"{FRAME}\nzz\n{other}\n")
    csv_path = tmp_path / "readings.csv"
    result = subprocess.run(
        ["bash", "-c", "set -o pipefail; "
         f'"{sys.executable}" -m mbus decode --json -f "{frames}" | '
         f'"{sys.executable}" -m exporters csv --profile de -o "{csv_path}"; '
         'echo "statuses ${PIPESTATUS[*]}"'],
        capture_output=True, text=True, check=False, cwd=REPO)
    assert result.stdout.strip() == "statuses 1 0", result.stderr
    errors = result.stderr.splitlines()
    assert any("'z' is not a hex digit" in line for line in errors), errors
    assert sum("time" in line and "read" in line for line in errors) == 1, errors
    rows = csv_path.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + 4  # header, then energy and volume of each good frame
    assert ";" in rows[0] and "12345678" in rows[1] and "87654321" in rows[-1]
    assert any("561,08" in row for row in rows)  # German profile: decimal comma
