"""Capture readers: every format yields (time, source, bytes); bad lines are named, not fatal."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import mbus
import wmbus

FRAME = wmbus.build_telegram(manufacturer="KAM", id="12345678",
                             records=[mbus.build_record(0x13, 1234)])
OTHER = wmbus.build_telegram(manufacturer="ELS", id="87654321",
                             records=[mbus.build_record(0x13, 99)])
UTC = dt.timezone.utc


def _read(data: bytes, fmt: str = "auto") -> tuple[list[wmbus.Captured], wmbus.Capture]:
    capture = wmbus.Capture(data, fmt, name="cap")
    return list(capture), capture


def test_hex_lines_with_a_bad_line_in_the_middle() -> None:
    data = (f"# header\n{FRAME.hex()}\n\nzz12\n{OTHER.hex().upper()}\n").encode()
    items, capture = _read(data)
    assert [(i.time, i.source, i.data) for i in items] == [(None, "cap:2", FRAME),
                                                          (None, "cap:5", OTHER)]
    (problem,) = capture.problems
    assert (problem.line, problem.offset, problem.text) == (4, None, "zz12")
    assert "not hex" in problem.reason


def test_time_hex_csv_with_header_naive_and_offset_times() -> None:
    data = (f"time,hex\n2026-11-24 08:00:00,{FRAME.hex()}\n"
            f"2026-11-24T09:00:00+01:00,{OTHER.hex()}\n"
            f"yesterday,{FRAME.hex()}\n1795507200,{FRAME.hex()}\n{FRAME.hex()}\n").encode()
    items, capture = _read(data)
    assert capture.format == "auto"
    assert [(i.time, i.source) for i in items] == [
        (dt.datetime(2026, 11, 24, 8, tzinfo=UTC), "cap:2"),
        (dt.datetime(2026, 11, 24, 8, tzinfo=UTC), "cap:3"),
        (dt.datetime(2026, 11, 24, 8, tzinfo=UTC), "cap:5")]
    assert [p.line for p in capture.problems] == [4, 6]
    assert "ISO 8601" in capture.problems[0].reason
    assert "2 columns" in capture.problems[1].reason


def test_rtlwmbus_lines_refuse_failed_crc() -> None:
    good = wmbus.RtlWmbusCodec.encode(FRAME, timestamp="2026-11-24 08:00:01.500")
    bad = wmbus.RtlWmbusCodec.encode(OTHER, crc_ok=False)
    items, capture = _read(good + bad + b"T1;garbage\n")
    assert [(i.time, i.data) for i in items] == [
        (dt.datetime(2026, 11, 24, 8, 0, 1, 500000, tzinfo=UTC), FRAME)]
    assert [p.line for p in capture.problems] == [2, 3]
    assert "CRC" in capture.problems[0].reason


def test_rtl433_json_lines_skip_other_decoders() -> None:
    other_device = json.dumps({"time": "2026-11-24 08:00:00", "model": "Acurite-Tower"})
    data = (wmbus.Rtl433Codec.encode(FRAME) + other_device.encode() + b"\n"
            + b'{"time": "2026-11-24 08:00:00", "data": 12}\n' + b"{broken\n")
    items, capture = _read(data)
    assert [(i.time, i.source, i.data) for i in items] == [
        (dt.datetime(2026, 11, 24, 8, tzinfo=UTC), "cap:1", FRAME)]
    assert [p.line for p in capture.problems] == [3, 4]


def test_wmbusmeters_log_lines() -> None:
    data = (f"[2026-11-24 08:00:00] (telegram) telegram=|{FRAME.hex()[:20]}_"
            f"{FRAME.hex()[20:]}|+12\n"
            "(wmbus) listening on /dev/ttyUSB0\n"
            f"telegram=|{OTHER.hex()}|\n"
            f"telegram=|{OTHER.hex()}\n").encode()
    items, capture = _read(data)
    assert [(i.time, i.source, i.data) for i in items] == [
        (dt.datetime(2026, 11, 24, 8, tzinfo=UTC), "cap:1", FRAME), (None, "cap:3", OTHER)]
    assert [(p.line, p.reason) for p in capture.problems] == [
        (4, "telegram= without the closing |")]


@pytest.mark.parametrize("fmt", ["im871a", "amb8465"])
def test_binary_dumps_name_byte_offsets(fmt: str) -> None:
    codec = wmbus.Im871aCodec if fmt == "im871a" else wmbus.Amb8465Codec
    first = codec.encode(FRAME)
    junk = b"\x00\x13\x17"
    second = codec.encode(OTHER)
    data = first + junk + second + second[:5]
    items, capture = _read(data)
    assert capture.format == "auto"
    assert [(i.source, i.data) for i in items] == [
        ("cap@0x0", FRAME), (f"cap@0x{len(first) + len(junk):x}", OTHER)]
    offsets = [p.offset for p in capture.problems]
    assert offsets == [len(first), len(first) + len(junk) + len(second)]
    assert "incomplete" in capture.problems[-1].reason


def test_binary_dump_across_read_blocks(tmp_path: Path) -> None:
    frames = [wmbus.Im871aCodec.encode(FRAME) for _ in range(5000)]  # many read blocks
    path = tmp_path / "dump.bin"
    path.write_bytes(b"".join(frames))
    capture = wmbus.Capture(path)
    items = list(capture)
    assert len(items) == 5000 and not capture.problems
    assert items[-1].source == f"{path}@0x{len(frames[0]) * 4999:x}"


def test_problems_are_capped_but_counted_and_passed_on() -> None:
    seen: list[wmbus.CaptureProblem] = []
    capture = wmbus.Capture(b"zz\n" * 50, "hex", max_problems=3, on_problem=seen.append)
    assert list(capture) == []
    assert (len(capture.problems), capture.problem_count, len(seen)) == (3, 50, 50)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(wmbus.CaptureError, match="unknown capture format"):
        wmbus.Capture(b"", "pcap")
    with pytest.raises(wmbus.CaptureError, match="cannot read"):
        list(wmbus.Capture(tmp_path / "absent.txt"))


def test_overlong_line_is_a_problem_not_a_hang() -> None:
    items, capture = _read(b"a" * 100_000 + b"\n" + FRAME.hex().encode() + b"\n", "hex")
    assert [i.source for i in items] == ["cap:2"]
    assert "longer than" in capture.problems[0].reason
