"""Authenticity is enforced when a key is known (issue 10, section 1).

Forged plaintext under modes 5, 7 and the ELL, a flipped MAC, a stripped AFL and a
replayed mode 7 counter are each refused; the explicit already-decrypted mode reads
captures that another tool decrypted, marked unverified.
"""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest

import mbus
import wmbus
from wmbus._security import KDF_MAC_FROM_METER, aes_cmac, derive_key
from wmbus._serial import feed_gateway

from .test_wmbus_security import F3, F3_KEY, N21, N21_KEY  # the published examples

F3_AFL = 21  # L C M A (10) + ELL 0x8E (11): the AFL's CI
KEY = bytes(range(16, 32))
RECORDS = [mbus.build_record(0x13, 1234, coding="int32")]


def _plaintext_variant(frame: bytes, key: bytes) -> bytes:
    """``frame`` with its TPL ciphertext replaced by the plaintext (security bits, MAC kept)."""
    telegram = wmbus.decode(frame, key=key)
    assert telegram.security.decrypted_by == "key"
    assert telegram.link.format == "none" and not telegram.link.trailing
    return frame[:len(frame) - len(telegram.payload)] + telegram.payload


def _without_afl(frame: bytes) -> bytes:
    assert frame[F3_AFL] == 0x90
    size = 2 + frame[F3_AFL + 1]
    return bytes((frame[0] - size,)) + frame[1:F3_AFL] + frame[F3_AFL + size:]


def _ell_pair() -> tuple[bytes, bytes]:
    """An ELL (0x8D) telegram encrypted with KEY, and the same one forged in clear."""
    genuine = wmbus.build_telegram(manufacturer="KAM", id="12345678", records=RECORDS,
                                   ell="long", session_number=5, ell_encrypted=True, key=KEY)
    clear = bytearray(wmbus.build_telegram(manufacturer="KAM", id="12345678", records=RECORDS,
                                           ell="long", session_number=5))
    clear[16] |= 0x20  # SN bit 29: "AES-CTR encrypted", but the payload stays in clear
    return genuine, bytes(clear)


def test_genuine_telegrams_are_verified() -> None:
    for frame, key in ((N21, N21_KEY), (F3, F3_KEY), (_ell_pair()[0], KEY)):
        security = wmbus.decode(frame, key=key).security
        assert security.decrypted_by == "key" and security.verified is True
        assert security.to_dict()["verified"] is True


def test_forged_plaintext_mode5_is_refused() -> None:
    forged = _plaintext_variant(N21, N21_KEY)
    assert forged[15:17] == b"\x2f\x2f"
    with pytest.raises(wmbus.UnexpectedPlaintextError) as info:
        wmbus.decode(forged, key=N21_KEY)
    assert isinstance(info.value, wmbus.AuthenticationError)
    assert isinstance(info.value, wmbus.DecodeError)
    message = str(info.value)
    assert "configuration word says encrypted" in message
    assert "already_decrypted=True" in message and "--already-decrypted" in message
    # The key from a key store counts as known too.
    with pytest.raises(wmbus.UnexpectedPlaintextError):
        wmbus.Decoder({"12345678": N21_KEY}).decode(forged)


def test_forged_plaintext_mode7_is_refused() -> None:
    forged = _plaintext_variant(F3, F3_KEY)
    with pytest.raises(wmbus.UnexpectedPlaintextError, match="AFL MAC does not match"):
        wmbus.decode(forged, key=F3_KEY)


def test_forged_plaintext_ell_is_refused() -> None:
    genuine, forged = _ell_pair()
    assert wmbus.decode(forged).security.decrypted_by == "input"  # no key: taken as it came
    with pytest.raises(wmbus.UnexpectedPlaintextError, match="ELL session number says"):
        wmbus.decode(forged, key=KEY)
    with pytest.raises(wmbus.DecryptionError):
        wmbus.decode(genuine, key=N21_KEY)


def test_flipped_mac_names_expected_and_received() -> None:
    flipped = bytearray(F3)
    mac_at = F3_AFL + 2 + 7  # CI L | FCL(2) MCL MCR(4) | MAC
    flipped[mac_at] ^= 0x01
    with pytest.raises(wmbus.AuthenticationError) as info:
        wmbus.decode(bytes(flipped), key=F3_KEY)
    assert not isinstance(info.value, wmbus.UnexpectedPlaintextError)
    message = str(info.value)
    received = bytes(flipped[mac_at:mac_at + 8]).hex()
    assert f"expected an 8-byte AES-CMAC made with the key for 12345678 and message counter " \
           f"2739, received {received}" in message
    assert bytes(F3[mac_at:mac_at + 8]).hex() not in message  # the right MAC is not given away
    assert info.value.field == "AFL.MAC"


def test_stripped_afl_is_refused() -> None:
    stripped = _without_afl(F3)
    with pytest.raises(wmbus.AuthenticationError, match=r"expected an AFL .* received no AFL"):
        wmbus.decode(stripped, key=F3_KEY)
    forged = _without_afl(_plaintext_variant(F3, F3_KEY))
    with pytest.raises(wmbus.UnexpectedPlaintextError, match="came with no AFL"):
        wmbus.decode(forged, key=F3_KEY)
    # Without any key, the stripped plaintext decodes as a clear telegram, unverified.
    security = wmbus.decode(forged).security
    assert security.decrypted_by == "input" and security.verified is False


def test_short_mac_is_refused() -> None:
    genuine = wmbus.build_telegram(manufacturer="KAM", id="12345678", records=RECORDS,
                                   mode=7, key=KEY, message_counter=3)
    assert genuine[10:15] == bytes.fromhex("900f002c25")  # CI, AFL.L, FCL(2), MCL
    counter, tpl = genuine[15:19], genuine[27:]
    # A correct MAC, but truncated to 2 bytes (authentication type 3): too weak to accept.
    kmac = derive_key(KEY, KDF_MAC_FROM_METER, counter, genuine[4:8])
    mac = aes_cmac(kmac, b"\x23" + counter + tpl)[:2]
    body = genuine[1:10] + bytes.fromhex("9009002c23") + counter + mac + tpl
    with pytest.raises(wmbus.AuthenticationError, match="at least 8 bytes, received 2"):
        wmbus.decode(bytes((len(body),)) + body, key=KEY)


def test_already_decrypted_mode_reads_plaintext_unverified() -> None:
    for forged, key in ((_plaintext_variant(N21, N21_KEY), N21_KEY),
                        (_plaintext_variant(F3, F3_KEY), F3_KEY),
                        (_without_afl(_plaintext_variant(F3, F3_KEY)), F3_KEY),
                        (_ell_pair()[1], KEY)):
        telegram = wmbus.Decoder(already_decrypted=True).decode(forged, key)
        document = telegram.to_dict()["security"]
        assert document["decrypted_by"] == "input" and document["verified"] is False
        assert telegram.records
        assert wmbus.decode(forged, key, already_decrypted=True).records == telegram.records
    # Real ciphertext is still decrypted and checked in that mode.
    security = wmbus.Decoder(already_decrypted=True).decode(N21, N21_KEY).security
    assert security.decrypted_by == "key" and security.verified is True
    flipped = bytearray(F3)
    flipped[-1] ^= 0x01
    with pytest.raises(wmbus.AuthenticationError):
        wmbus.Decoder(already_decrypted=True).decode(bytes(flipped), F3_KEY)


def test_no_key_clear_payload_decodes_unverified() -> None:
    forged = _plaintext_variant(N21, N21_KEY)
    telegram = wmbus.decode(forged)
    assert telegram.security.decrypted_by == "input" and telegram.security.verified is False
    plain = wmbus.build_telegram(manufacturer="KAM", id="12345678", records=RECORDS)
    assert wmbus.decode(plain).security.to_dict()["verified"] is False


def test_mode0_data_from_a_meter_with_a_key_is_refused() -> None:
    plain = wmbus.build_telegram(manufacturer="KAM", id="12345678", records=RECORDS)
    with pytest.raises(wmbus.UnexpectedPlaintextError, match="asks for no security"):
        wmbus.decode(plain, key=KEY)
    with pytest.raises(wmbus.UnexpectedPlaintextError):
        wmbus.Decoder({"KAM.12345678": KEY}).decode(plain)
    assert wmbus.Decoder({"KAM.87654321": KEY}).decode(plain).records  # another meter's key
    # The N.2.1 telegram with its security bits cleared (mode 0) by a forger.
    downgraded = bytearray(_plaintext_variant(N21, N21_KEY))
    downgraded[13:15] = b"\x00\x00"
    with pytest.raises(wmbus.UnexpectedPlaintextError):
        wmbus.decode(bytes(downgraded), key=N21_KEY)
    # A tool that decrypted the capture and cleared the bits: the explicit mode reads it.
    security = wmbus.decode(bytes(downgraded), key=N21_KEY, already_decrypted=True).security
    assert (security.mode, security.verified) == (0, False)
    # Telegrams without application data (an empty payload, only 2F fill) pass.
    empty = wmbus.build_telegram(manufacturer="KAM", id="12345678", records=[])
    assert wmbus.decode(empty, key=KEY).records == ()


def test_wrong_key_is_always_an_error() -> None:
    wrong = bytes(16)
    for frame in (N21, F3, _ell_pair()[0], _plaintext_variant(N21, N21_KEY),
                  _plaintext_variant(F3, F3_KEY), _ell_pair()[1]):
        with pytest.raises(wmbus.SecurityError):
            wmbus.decode(frame, key=wrong)


def test_mode5_partial_encryption_is_not_fully_verified() -> None:
    frame = wmbus.build_telegram(manufacturer="KAM", id="12345678", records=RECORDS, mode=5,
                                 key=KEY, clear_records=RECORDS)
    security = wmbus.decode(frame, key=KEY).security
    assert security.decrypted_by == "key" and security.verified is False


def _mode7(counter: int, value: int = 1234) -> bytes:
    return wmbus.build_telegram(manufacturer="KAM", id="12345678", mode=7, key=KEY,
                                message_counter=counter,
                                records=[mbus.build_record(0x13, value, coding="int32")])


def test_receiver_refuses_and_counts_failed_authentication() -> None:
    receiver = wmbus.Receiver(wmbus.Decoder({"KAM.12345678": KEY}))
    forged = _plaintext_variant(_mode7(5), KEY)
    receiver.receive_frame(forged, time=1.0, rssi=-80)
    receiver.receive_frame(_mode7(6, value=1), time=2.0)
    flipped = bytearray(_mode7(7))
    flipped[-1] ^= 0x10
    receiver.receive_frame(bytes(flipped), time=3.0)
    first, received, second = receiver.events()
    assert isinstance(first, wmbus.SecurityViolation) and isinstance(second,
                                                                     wmbus.SecurityViolation)
    assert isinstance(received, wmbus.TelegramReceived)
    assert (first.meter, first.failures, first.error_type) == (
        "KAM.12345678", 1, "UnexpectedPlaintextError")
    assert (second.failures, second.error_type) == (2, "AuthenticationError")
    assert first.probable_cause == wmbus.SECURITY_VIOLATION == \
        "securityServiceOrMechanismViolation"
    assert first.to_dict()["event"] == "security_violation"
    assert receiver.security_failures == {"KAM.12345678": 2}
    assert receiver.last_seen == {"KAM.12345678": 2.0}  # refused telegrams do not count


def test_replayed_counter_is_refused_and_duplicates_are_not() -> None:
    receiver = wmbus.Receiver(wmbus.Decoder({"12345678": KEY}), duplicate_window=10.0,
                              report_duplicates=True)
    receiver.receive_frame(_mode7(10), time=0.0)
    receiver.receive_frame(_mode7(10), time=1.0)  # a repeater: same bytes in the window
    receiver.receive_frame(_mode7(10), time=60.0)  # same bytes, window over: a duplicate
    receiver.receive_frame(_mode7(9), time=61.0)  # an older telegram played back: replay
    receiver.receive_frame(_mode7(11), time=62.0)
    receiver.receive_frame(_mode7(11, value=5), time=63.0)  # same counter, other content
    kinds = [type(event).__name__ for event in receiver.events()]
    assert kinds == ["TelegramReceived", "DuplicateSuppressed", "DuplicateSuppressed",
                     "SecurityViolation", "TelegramReceived", "SecurityViolation"]
    assert receiver.duplicates == {"KAM.12345678": 2}
    assert receiver.security_failures == {"KAM.12345678": 2}
    assert receiver.message_counters["KAM.12345678"][0] == 11


def test_counters_persist_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "receiver.json"
    receiver = wmbus.Receiver(wmbus.Decoder({"12345678": KEY}))
    receiver.receive_frame(_mode7(20), time=0.0)
    receiver.save_state(path)
    assert json.loads(path.read_text())["message_counters"]["KAM.12345678"]["counter"] == 20
    restarted = wmbus.Receiver(wmbus.Decoder({"12345678": KEY}))
    restarted.load_state(path)
    restarted.receive_frame(_mode7(19), time=0.0)
    restarted.receive_frame(_mode7(20), time=0.0)  # the last telegram again: a duplicate
    restarted.receive_frame(_mode7(21), time=0.0)
    kinds = [type(event).__name__ for event in restarted.events()]
    assert kinds == ["SecurityViolation", "TelegramReceived"]
    for broken in ('{"message_counters": {"KAM.1": {"counter": -1, "digest": ""}}}',
                   '{"message_counters": {"KAM.1": {"counter": 4294967296, "digest": ""}}}',
                   '{"message_counters": [], "security_failures": {}}',
                   '{"security_failures": {"KAM.1": true}}', "[" * 100, "\udcff"):
        path.write_text(broken, errors="surrogateescape")
        with pytest.raises(wmbus.WMBusError):
            restarted.load_state(path)


def test_gateway_never_gets_a_telegram_that_failed() -> None:
    receiver = wmbus.Receiver(wmbus.Decoder({"12345678": KEY}), codec=wmbus.HexLineCodec())
    forged = _plaintext_variant(_mode7(5), KEY)
    genuine = wmbus.build_telegram(manufacturer="KAM", id="87654321", records=RECORDS)
    radio = io.BytesIO(wmbus.HexLineCodec.encode(forged) + wmbus.HexLineCodec.encode(genuine))
    gateway = wmbus.WirelessGateway()
    seen: list[object] = []
    feed_gateway(gateway, receiver, radio, lock=threading.Lock(), on_event=seen.append)
    assert list(gateway.meters) == ["KAM.87654321.0.7"]
    assert [type(event).__name__ for event in seen] == ["SecurityViolation",
                                                        "TelegramReceived"]


def test_failure_counts_are_bounded() -> None:
    receiver = wmbus.Receiver(wmbus.Decoder({"*": KEY}), max_remembered=3, duplicate_window=5)
    for number in range(10):  # forged telegrams from ten made-up addresses
        forged = _plaintext_variant(wmbus.build_telegram(
            manufacturer="KAM", id=f"{number}", mode=5, key=KEY, records=RECORDS), KEY)
        receiver.receive_frame(forged, time=float(number))
    receiver.receive_frame(forged, time=20.0)  # the last one again, after the window
    assert receiver.security_failures == {"KAM.00000007": 1, "KAM.00000008": 1,
                                          "KAM.00000009": 2}
