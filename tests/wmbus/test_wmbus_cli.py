"""Command line: wmbus decode and wmbus listen."""

from __future__ import annotations

import io
import json
from pathlib import Path

import mbus
import wmbus
from wmbus.__main__ import main
from wmbus._cli import main as cli_main

N21 = ("2E4493157856341233037A2A0020255923C95AAA26D1B2E7493B013EC4A6F6D3529B520E"
       "DFF0EA6DEFC99D6D69EBF3")
KEY = "0102030405060708090A0B0C0D0E0F11"


def _run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(argv, stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def test_decode_text_with_key_and_separators() -> None:
    spaced = N21[:20] + "_" + N21[20:40] + " | " + N21[40:]
    code, out, _ = _run(["decode", spaced, "--key", KEY])
    assert code == 0
    assert "ELS 12345678 gas" in out and "volume: 28504.27 m3" in out
    assert "decrypted by key" in out


def test_decode_json_from_stdin_and_keys_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys.csv"
    keys.write_text(f"12345678,{KEY}\n")
    code, out, _ = _run(["decode", "--keys", str(keys), "--json"], stdin=N21 + "\n")
    assert code == 0
    document = json.loads(out)
    assert document["security"] == {"mode": 5, "encrypted_blocks": 2, "decrypted_by": "key",
                                    "mac_ok": None, "key_for": "12345678"}
    assert document["records"][0]["value"] == 28504.27
    assert KEY.lower() not in out.lower()


def test_decode_from_file_and_wrong_key(tmp_path: Path) -> None:
    telegrams = tmp_path / "telegrams.txt"
    telegrams.write_text(N21 + "\n")
    code, out, _ = _run(["decode", str(telegrams), "--key", "00" * 16, "--json"])
    assert code == 1
    document = json.loads(out)
    assert document["error_type"] == "DecryptionError" and "wrong key?" in document["error"]


def test_decode_learns_signatures(tmp_path: Path) -> None:
    records = [mbus.build_record(0x13, 7)]
    full = wmbus.build_telegram(manufacturer="KAM", id="1", records=records).hex()
    compact = wmbus.build_telegram(manufacturer="KAM", id="1", records=records, tpl="none",
                                   compact=True).hex()
    cache = tmp_path / "signatures.json"
    code, _, err = _run(["decode", compact, "--signatures", str(cache)])
    assert code == 1 and "a full frame from this meter is needed first" in err
    assert _run(["decode", full, "--signatures", str(cache)])[0] == 0
    assert _run(["decode", compact, "--signatures", str(cache)])[0] == 0


def test_listen_replays_a_capture(tmp_path: Path) -> None:
    frame = bytes.fromhex(N21)
    capture = tmp_path / "capture.bin"
    capture.write_bytes(wmbus.Amb8465Codec.encode(frame) * 2)  # the second is a duplicate
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"12345678": KEY}))
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(["listen", "--url", f"file:{capture}", "--dongle", "amb8465", "--keys",
                     str(keys), "--json"], stdout=out, stderr=err)
    assert code == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 1 and lines[0]["event"] == "telegram"
    assert lines[0]["records"][0]["value"] == 28504.27 and lines[0]["rssi"] == -60.0


def test_listen_over_pyserial_loop_url() -> None:
    out = io.StringIO()
    code = cli_main(["listen", "--url", "file:/nonexistent/capture", "--dongle", "hex"],
                    stdout=out, stderr=io.StringIO())
    assert code == 2


def test_console_entry_point(capsys: object) -> None:
    assert main(["decode", N21, "--key", KEY, "--json"]) == 0
