"""``wmbus decode --jobs N`` and ``wmbus.decode_many``: serial results, compact frames too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import mbus
import wmbus
from wmbus._cli import main

from ..mbus.corpus import WMBUS, require, wmbus_lines

VOLUME = [mbus.build_record(0x13, 1234)]
TWO = [mbus.build_record(0x13, 1234), mbus.build_record(0x5B, 45, coding="int16")]


def _full(ident: str, records: list[mbus.Record]) -> str:
    return wmbus.build_telegram(manufacturer="KAM", id=ident, records=records).hex()


def _compact(ident: str, records: list[mbus.Record]) -> str:
    return wmbus.build_telegram(manufacturer="KAM", id=ident, records=records, tpl="none",
                                compact=True).hex()


def _filler(count: int) -> list[str]:
    return [_full(f"9{n:07d}", VOLUME) for n in range(count)]


def _capture() -> list[str]:
    """Compact frames whose full frames are in other chunks, before and after them."""
    lines = [_compact("1", VOLUME)]  # no full frame yet: fails serially
    lines += [_full("1", VOLUME), *_filler(9), _compact("1", VOLUME)]  # learned chunks ago
    # Meter 2 changes format twice before a compact frame of its first format arrives:
    # the serial cache kept only the sender's latest full frame, so that compact frame
    # fails there, although a worker seeded with the formats seen so far would decode it.
    lines += [_full("2", TWO), *_filler(3), _full("2", VOLUME), *_filler(9), _compact("2", TWO)]
    lines += ["", "not hex", _compact("2", VOLUME), "0102"]
    return lines


def _summary(result: wmbus.DecodedTelegram) -> tuple[Any, ...]:
    telegram = None if result.telegram is None else result.telegram.to_dict()
    error = None if result.error is None else (type(result.error), str(result.error))
    return result.line, result.text, telegram, error


def test_compact_frames_decode_in_parallel_exactly_when_serially() -> None:
    lines = _capture()
    serial_cache, parallel_cache = wmbus.SignatureCache(), wmbus.SignatureCache()
    serial = [_summary(r) for r in wmbus.decode_many(lines, signatures=serial_cache)]
    parallel = [_summary(r) for r in wmbus.decode_many(lines, jobs=2, chunk_size=2,
                                                        signatures=parallel_cache)]
    assert parallel == serial
    assert parallel_cache.to_dict() == serial_cache.to_dict()
    by_line = {line: error for line, _, _, error in serial}
    compact_first, compact_learned = 1, 12
    compact_old_format = len(lines) - 4
    assert by_line[compact_first] is not None
    assert by_line[compact_first][0] is wmbus.UnknownSignatureError
    assert by_line[compact_learned] is None
    assert by_line[compact_old_format] is not None
    assert by_line[compact_old_format][0] is wmbus.UnknownSignatureError
    assert by_line[len(lines) - 1] is None  # meter 2's latest format
    assert len(serial) == len(lines) - 1  # the blank line gives nothing


def _corpus_input() -> tuple[list[str], dict[str, str]]:
    require(WMBUS)
    lines: list[str] = []
    keys: dict[str, str] = {}
    for line in wmbus_lines():
        lines += [*line.get("prior_telegrams", []), line["telegram"]]
        if line.get("key", "NOKEY") != "NOKEY" and line.get("id"):
            keys[line["id"]] = line["key"]
    return lines, keys


@pytest.mark.parametrize("json_output", [True, False])
def test_cli_jobs_prints_what_the_serial_run_prints(
        tmp_path: Path, json_output: bool, capsys: pytest.CaptureFixture[str]) -> None:
    lines, keys = _corpus_input()
    capture = tmp_path / "capture.hex"
    capture.write_text("\n".join(lines * 2 + _capture()) + "\n", encoding="utf-8")
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps(keys), encoding="utf-8")
    runs = []
    for jobs in ("1", "2"):
        signatures = tmp_path / f"signatures{jobs}.json"
        argv = ["decode", str(capture), "--keys", str(key_file), "--already-decrypted",
                "--signatures", str(signatures), "--jobs", jobs]
        status = main([*argv, "--json"] if json_output else argv)
        printed = capsys.readouterr()
        runs.append((status, printed.out, printed.err, signatures.read_text()))
    assert runs[1] == runs[0]
    status, out, err, _ = runs[0]
    assert status == 1 and out.count("\n") > 300
    if json_output:
        assert sum("error" in json.loads(row) for row in out.splitlines()) >= 4
    else:
        assert err.count("\n") >= 4
    secret = [key for key in keys.values() if key.lower() not in capture.read_text().lower()]
    assert secret and not any(key.lower() in (out + err).lower() for key in secret)
