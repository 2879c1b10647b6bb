"""Command line: wmbus decode and wmbus listen."""

from __future__ import annotations

import io
import json
import socket
import threading
from pathlib import Path

import pytest

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
                                    "mac_ok": None, "verified": True, "key_for": "12345678"}
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


def test_listen_unreadable_capture() -> None:
    err = io.StringIO()
    code = cli_main(["listen", "--url", "file:/nonexistent/capture", "--dongle", "hex"],
                    stdout=io.StringIO(), stderr=err)
    assert code == 2 and "cannot open" in err.getvalue()


def test_listen_through_pyserial_socket_url() -> None:
    pytest.importorskip("serial")
    frame = wmbus.build_telegram(manufacturer="KAM", id="12345678",
                                 records=[mbus.build_record(0x13, 5)])
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        connection, _ = server.accept()
        connection.settimeout(0.1)
        with connection:
            # pyserial drops input that arrives while it opens the port: repeat the frame
            # (the receiver suppresses the duplicates) until the client hangs up.
            for _ in range(300):
                try:
                    connection.sendall(wmbus.Im871aCodec.encode(frame, rssi=0x40))
                    if connection.recv(1) == b"":
                        return
                except TimeoutError:
                    continue
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    out = io.StringIO()
    try:
        code = cli_main(["listen", "--url", f"socket://127.0.0.1:{port}", "--dongle", "im871a",
                         "--json", "--count", "1"], stdout=out, stderr=io.StringIO())
    finally:
        server.close()
    thread.join(timeout=5)
    assert code == 0
    (line,) = out.getvalue().splitlines()
    event = json.loads(line)
    assert event["event"] == "telegram" and event["header"]["id"] == "12345678"
    assert event["rssi"] == 64.0


def test_console_entry_point(capsys: object) -> None:
    assert main(["decode", N21, "--key", KEY, "--json"]) == 0


# N21 stored decrypted (as wmbusmeters logs it): security bits still say mode 5, 2 blocks.
N21_CLEAR = ("2E4493157856341233037A2A0020252F2F0C1427048502046D32371F1502FD1700002F2F2F2F2F"
             "2F2F2F2F2F2F2F2F2F")


def test_decode_already_decrypted() -> None:
    code, out, _ = _run(["decode", N21_CLEAR, "--key", KEY, "--json"])
    assert code == 1
    refused = json.loads(out)
    assert refused["error_type"] == "UnexpectedPlaintextError"
    assert "--already-decrypted" in refused["error"]
    code, out, _ = _run(["decode", N21_CLEAR, "--key", KEY, "--json", "--already-decrypted"])
    assert code == 0
    security = json.loads(out)["security"]
    assert (security["decrypted_by"], security["verified"]) == ("input", False)
    code, out, _ = _run(["decode", N21_CLEAR, "--key", KEY, "--already-decrypted"])
    assert "decrypted by input, not verified" in out


def test_listen_keeps_mode7_counters_in_its_state_file(tmp_path: Path) -> None:
    key = bytes(range(16))

    def heat(counter: int) -> bytes:
        return wmbus.build_telegram(manufacturer="ZRI", id="87654321", mode=7, key=key,
                                    message_counter=counter,
                                    records=[mbus.build_record(0x13, counter)])

    capture = tmp_path / "capture.txt"
    keys = tmp_path / "keys.csv"
    keys.write_text(f"87654321,{key.hex()}\n")
    state = tmp_path / "state.json"

    def listen(*frames: bytes) -> list[dict[str, object]]:
        capture.write_bytes(b"".join(wmbus.HexLineCodec.encode(frame) for frame in frames))
        out = io.StringIO()
        code = cli_main(["listen", "--url", f"file:{capture}", "--dongle", "hex", "--keys",
                         str(keys), "--state", str(state), "--json"], stdout=out,
                        stderr=io.StringIO())
        assert code == 0
        return [json.loads(line) for line in out.getvalue().splitlines()]

    assert [event["event"] for event in listen(heat(5))] == ["telegram"]
    assert json.loads(state.read_text())["message_counters"]["ZRI.87654321"]["counter"] == 5
    # After a restart: the same telegram again is a duplicate (dropped), an older one a replay.
    events = listen(heat(5), heat(4), heat(6))
    assert [(event["event"], event.get("error_type")) for event in events] == [
        ("security_violation", "ReplayError"), ("telegram", None)]
    saved = json.loads(state.read_text())
    assert saved["message_counters"]["ZRI.87654321"]["counter"] == 6
    assert saved["security_failures"] == {"ZRI.87654321": 1}
