"""The delivery command lines: ``exporters send``, ``exporters upload``, ``exporters mqtt``."""

from __future__ import annotations

import email
import email.policy
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs7

from exporters._cli import main
from exporters._transport_cli import default_spool_directory

from .delivery_support import (
    Mosquitto,
    Pki,
    Subscriber,
    free_port,
    ftp_server,
    mosquitto_binary,
    sftp_server,
    smtp_server,
)

READING_LINE = json.dumps({
    "meter_id": "12345678", "quantity": "energy", "value": "1234.5", "value_type": "decimal",
    "unit": "Wh", "timestamp": "2026-11-24T08:15:00Z",
})
DOCUMENT_LINE = json.dumps({
    "header": {"id": "11490378", "manufacturer": "ACW", "version": 14, "medium": "cold_water",
               "access_number": 10, "status": 0, "signature": 0},
    "records": [
        {"function": "instantaneous", "storage": 0, "tariff": 0, "subunit": 0,
         "quantity": "volume", "unit": "m3", "value": 54.321, "dif": "04", "vif": "13",
         "data": "31d40000"},
    ],
    "timestamp": "2026-11-24T08:15:00Z",
})
# A wired long frame (EN 13757-3 variable data, KAM 12345678: energy and volume records).
WIRED_FRAME_HEX = (
    "681b1b680801727856341 22d2c080405000000 0406e7910000 04142cdb0000 9a16".replace(" ", "")
)


@pytest.fixture
def export_file(tmp_path: Path) -> Path:
    path = tmp_path / "export-20261124.csv"
    path.write_bytes(b"meter_id,value\r\n12345678,1234.5\r\n")
    return path


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# --- send -------------------------------------------------------------------------------------


def test_send_with_starttls_login_and_smime(
    tmp_path: Path, pki: Pki, export_file: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "pa55")
    with smtp_server(pki, users={"logger": "pa55"}) as (port, sink):
        status = main([
            "send", "--smtp", f"127.0.0.1:{port}", "--from", "sender@example.org",
            "--to", "recipient@example.org", "--starttls", "--user", "logger",
            "--password-env", "SMTP_PASSWORD", "--cafile", str(pki.ca_file),
            "--smime-sign", f"{pki.cert_file('sender')},{pki.key_file('sender')}",
            "--smime-encrypt", str(pki.cert_file("recipient")),
            "--spool", str(tmp_path / "spool"), str(export_file),
        ])
    assert status == 0, capsys.readouterr().err
    assert "delivered 1 file(s)" in one_line(capsys.readouterr().err)
    assert len(sink.messages) == 1
    cert, key = pki.people["recipient"]
    inner = pkcs7.pkcs7_decrypt_smime(sink.messages[0][2], cert, key, [])
    message = email.message_from_bytes(inner, policy=email.policy.default)
    assert message.get_content_type() == "multipart/signed"
    attachments = [p for p in message.walk() if p.get_filename() == export_file.name]
    assert attachments[0].get_payload(decode=True) == export_file.read_bytes()


def test_send_failure_is_one_line_and_the_file_stays_queued_for_the_next_run(
    tmp_path: Path, pki: Pki, export_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool"
    port = free_port()
    args = ["send", "--smtp", f"127.0.0.1:{port}", "--from", "a@example.org",
            "--to", "b@example.org", "--cafile", str(pki.ca_file), "--timeout", "5",
            "--spool", str(spool), str(export_file)]
    assert main(args) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith("exporters send: error: cannot connect to 127.0.0.1:")
    assert "1 file(s) stay queued" in line
    assert len(list((spool / "outbox").iterdir())) == 1
    # the next run, with the server up, sends the queued file once (it is not queued twice)
    with smtp_server(pki) as (server_port, sink):
        args[2] = f"127.0.0.1:{server_port}"
        assert main(args) == 0
    assert len(sink.messages) == 1
    assert list((spool / "outbox").iterdir()) == []


def test_send_refuses_bad_options(export_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["send", "--smtp", "127.0.0.1:25", "--from", "a@b", "--to", "c@d",
                   "--smime-sign", "only-a-cert.pem", str(export_file)])
    assert status == 1
    assert "CERT,KEY" in one_line(capsys.readouterr().err)
    status = main(["send", "--smtp", "127.0.0.1:25", "--from", "a@b", "--to", "c@d",
                   "--password-env", "METERKIT_SURELY_UNSET", "--user", "u", str(export_file)])
    assert status == 1
    assert "METERKIT_SURELY_UNSET" in one_line(capsys.readouterr().err)


# --- upload -----------------------------------------------------------------------------------


def test_upload_by_ftp_and_ftps(
    tmp_path: Path, pki: Pki, export_file: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FTP_PASSWORD", "s3cret")
    with ftp_server(tmp_path / "ftp") as peer:
        (peer.root / "in").mkdir()
        status = main(["upload", f"ftp://meter@127.0.0.1:{peer.port}/in", str(export_file),
                       "--password-env", "FTP_PASSWORD", "--spool", str(tmp_path / "s1")])
        assert status == 0, capsys.readouterr().err
    assert (peer.root / "in" / export_file.name).read_bytes() == export_file.read_bytes()
    pytest.importorskip("OpenSSL", reason="pyftpdlib's FTPS server needs pyOpenSSL")
    with ftp_server(tmp_path / "ftps", tls_pki=pki) as peer:
        status = main(["upload", f"ftps://meter:s3cret@127.0.0.1:{peer.port}/", str(export_file),
                       "--cafile", str(pki.ca_file), "--spool", str(tmp_path / "s2")])
        assert status == 0, capsys.readouterr().err
    assert (peer.root / export_file.name).read_bytes() == export_file.read_bytes()


def test_upload_by_sftp_with_a_pinned_key_file(
    tmp_path: Path, export_file: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("paramiko")
    monkeypatch.setenv("SFTP_PASSWORD", "s3cret")
    with sftp_server(tmp_path / "sftp") as peer:
        key_file = tmp_path / "server_key.pub"
        key_file.write_text(peer.host_key_line + "\n")
        url = f"sftp://meter@127.0.0.1:{peer.port}/"
        spool = tmp_path / "spool"
        status = main(["upload", url, str(export_file), "--host-key", str(key_file),
                       "--password-env", "SFTP_PASSWORD", "--spool", str(spool)])
        assert status == 0, capsys.readouterr().err
        capsys.readouterr()
        # without a pin there is no upload at all
        assert main(["upload", url, str(export_file), "--password-env", "SFTP_PASSWORD",
                     "--spool", str(spool)]) == 1
        assert "--host-key" in one_line(capsys.readouterr().err)
        # the same bytes again: reported, not sent again
        assert main(["upload", url, str(export_file), "--host-key", str(key_file),
                     "--password-env", "SFTP_PASSWORD", "--spool", str(spool)]) == 0
        assert "already delivered" in capsys.readouterr().err
        # with a wrong pin a new version stays queued
        other = "SHA256:" + "A" * 43
        export_file.write_bytes(b"meter_id,value\r\n12345678,1300.0\r\n")
        assert main(["upload", url, str(export_file), "--host-key", other,
                     "--password-env", "SFTP_PASSWORD", "--spool", str(spool)]) == 1
        line = one_line(capsys.readouterr().err)
        assert "is pinned; refusing to log in" in line and "1 file(s) stay queued" in line
        # --retry without a file delivers what is queued
        assert main(["upload", url, "--retry", "--host-key", str(key_file),
                     "--password-env", "SFTP_PASSWORD", "--spool", str(spool)]) == 0
    assert (peer.root / export_file.name).read_bytes() == export_file.read_bytes()
    assert peer.logins == ["meter", "meter"]


def test_upload_retry_refusals_spool_list_and_requeue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool"
    files = []
    for name in ("a.csv", "refused.csv", "b.csv"):
        files.append(tmp_path / name)
        files[-1].write_bytes(name.encode())
    down = f"ftp://meter:s3cret@127.0.0.1:{free_port()}/"
    assert main(["upload", down, *map(str, files), "--timeout", "5",
                 "--spool", str(spool)]) == 1
    assert "3 file(s) stay queued" in one_line(capsys.readouterr().err)
    # what was accepted is listed before any delivery (a killed caller looks here)
    assert main(["spool", "list", "--spool", str(spool)]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in listing["queued"]] == ["a.csv", "refused.csv", "b.csv"]
    assert listing["queued"][0]["failures"] == 1 and listing["failed"] == []
    with ftp_server(tmp_path / "ftp", refuse={"refused.csv"}) as peer:
        url = f"ftp://meter:s3cret@127.0.0.1:{peer.port}/"
        assert main(["upload", url, "--spool", str(spool)]) == 1  # no FILE, no --retry
        assert "--retry" in one_line(capsys.readouterr().err)
        assert main(["upload", url, "--retry", "--spool", str(spool)]) == 1
        line = one_line(capsys.readouterr().err)
        assert "delivered 2 file(s)" in line and "refused for good" in line
        assert "refused.csv (" in line and "553" in line
        assert sorted(p.name for p in peer.root.iterdir()) == ["a.csv", "b.csv"]
        assert main(["spool", "list", "--spool", str(spool)]) == 0
        listing = json.loads(capsys.readouterr().out)
        assert listing["queued"] == []
        (failed,) = listing["failed"]
        assert failed["name"] == "refused.csv" and "553" in failed["reason"]
        assert sorted(d["name"] for d in listing["delivered"]) == ["a.csv", "b.csv"]
        assert all(d["destination"].startswith("ftp://127.0.0.1:") for d in listing["delivered"])
    with ftp_server(tmp_path / "ftp") as peer:
        url = f"ftp://meter:s3cret@127.0.0.1:{peer.port}/"
        assert main(["spool", "requeue", failed["entry_id"], "--spool", str(spool)]) == 0
        capsys.readouterr()
        assert main(["upload", url, "--retry", "--spool", str(spool)]) == 0
        assert (peer.root / "refused.csv").read_bytes() == b"refused.csv"
    capsys.readouterr()
    assert main(["spool", "requeue", failed["entry_id"], "--spool", str(spool)]) == 1
    assert "no failed entry" in one_line(capsys.readouterr().err)


def test_upload_of_a_missing_file_queues_nothing(
    tmp_path: Path, export_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool"
    status = main(["upload", "ftp://127.0.0.1:1/", str(export_file), str(tmp_path / "nope.csv"),
                   "--spool", str(spool)])
    assert status == 1
    assert "no such file" in one_line(capsys.readouterr().err)
    assert not (spool / "outbox").exists() or list((spool / "outbox").iterdir()) == []


def test_upload_refuses_other_schemes(
    export_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["upload", "http://example.org/", str(export_file)]) == 1
    assert "unsupported URL scheme" in one_line(capsys.readouterr().err)


def test_default_spool_directory_is_per_destination_under_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    a = default_spool_directory("ftp://h:21/in")
    b = default_spool_directory("ftp://h:21/out")
    assert a.parent == tmp_path / "meterkit" / "spool"
    assert a != b


# --- mqtt -------------------------------------------------------------------------------------


def test_mqtt_publishes_readings_and_documents_from_stdin(
    mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(READING_LINE + "\n" + DOCUMENT_LINE + "\n"))
    status = main(["mqtt", "--broker", f"127.0.0.1:{mosquitto.port}", "--ha-discovery",
                   "--timeout", "15"])
    assert status == 0, capsys.readouterr().err
    assert "4 message(s) acknowledged" in one_line(capsys.readouterr().err)
    late = Subscriber(mosquitto.port, ["meters/#", "homeassistant/#"])
    try:
        got = {t: json.loads(p) for t, p, _ in late.wait_for(4)}
    finally:
        late.close()
    assert got["meters/12345678/energy"]["value"] == "1234.5"
    assert got["meters/11490378/volume"]["unit"] == "m3"
    volume = got["homeassistant/sensor/meterkit_11490378/volume/config"]
    assert volume["device_class"] == "water"


def test_mqtt_with_a_custom_topic_as_a_command(mosquitto: Mosquitto) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "exporters", "mqtt", "--broker", f"127.0.0.1:{mosquitto.port}",
         "--topic", "site/{id}/{quantity}/{storage}", "--timeout", "15"],
        input=READING_LINE + "\n", capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    late = Subscriber(mosquitto.port, ["site/#"])
    try:
        assert [t for t, _, _ in late.wait_for(1)] == ["site/12345678/energy/0"]
    finally:
        late.close()


def test_mqtt_one_message_per_meter(
    mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(READING_LINE + "\n" + DOCUMENT_LINE + "\n"))
    status = main(["mqtt", "--broker", f"127.0.0.1:{mosquitto.port}", "--per", "meter"])
    assert status == 0, capsys.readouterr().err
    late = Subscriber(mosquitto.port, ["meters/#"])
    try:
        got = {t: json.loads(p) for t, p, _ in late.wait_for(2)}
    finally:
        late.close()
    assert sorted(got) == ["meters/11490378", "meters/12345678"]
    assert [r["quantity"] for r in got["meters/11490378"]["readings"]] == ["volume"]


def test_mqtt_over_tls_with_login(
    tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (Debian package 'mosquitto')")
    broker = Mosquitto(tmp_path / "broker", users={"logger": "pa55"}, pki=pki)
    broker.start()
    try:
        monkeypatch.setenv("MQTT_PASSWORD", "pa55")
        monkeypatch.setattr(sys, "stdin", io.StringIO(READING_LINE + "\n"))
        status = main(["mqtt", "--broker", f"127.0.0.1:{broker.port}", "--tls",
                       "--cafile", str(pki.ca_file), "--user", "logger",
                       "--password-env", "MQTT_PASSWORD", "--timeout", "15"])
        assert status == 0, capsys.readouterr().err
        late = Subscriber(broker.port, ["meters/#"], username="logger", password="pa55",
                          tls=pki.client_context())
        try:
            assert [t for t, _, _ in late.wait_for(1)] == ["meters/12345678/energy"]
        finally:
            late.close()
    finally:
        broker.stop()


def test_mqtt_without_a_broker_fails_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(READING_LINE + "\n"))
    status = main(["mqtt", "--broker", f"127.0.0.1:{free_port()}", "--timeout", "1"])
    assert status == 1
    line = one_line(capsys.readouterr().err)
    assert "did not acknowledge 1 of 1 message(s) within 1 s" in line
    assert "(cannot connect to 127.0.0.1:" in line


def test_mqtt_bad_broker_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["mqtt", "--broker", "host:notaport"])
    assert info.value.code == 2


def test_mqtt_reads_stdin_by_the_same_rule_as_csv(mosquitto: Mosquitto) -> None:
    # What `mbus decode --json` prints: an error object for a bad line, then a wired
    # document without a time of its own.
    decoded = subprocess.run(
        [sys.executable, "-m", "mbus", "decode", "--json"],
        input="68 00\n" + WIRED_FRAME_HEX + "\n", capture_output=True, text=True, timeout=60,
    )
    assert decoded.returncode == 1, decoded.stderr
    result = subprocess.run(
        [sys.executable, "-m", "exporters", "mqtt", "--broker", f"127.0.0.1:{mosquitto.port}",
         "--timeout", "15"],
        input=decoded.stdout, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "skipped an error object (input line 1 of the decoder)" in result.stderr
    assert "get the time they are read" in result.stderr
    late = Subscriber(mosquitto.port, ["meters/#"])
    try:
        got = {t: json.loads(p) for t, p, _ in late.wait_for(2)}
    finally:
        late.close()
    assert got["meters/12345678/volume"]["value"] == "561.08"
    assert got["meters/12345678/volume"]["unit"] == "m3"
