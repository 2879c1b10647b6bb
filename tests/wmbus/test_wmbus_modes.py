"""Security modes other than 0, 5 and 7: named and refused, or taken in clear with care."""

from __future__ import annotations

from decimal import Decimal

import pytest

import wmbus

# OMS Annex N.2.1's records (volume 28504.27 m3, a date, an error flag field) in clear.
RECORDS = bytes.fromhex("0C1427048502046D32371F1502FD170000")
KEY = bytes(range(16))


def _frame(mode: int, payload: bytes, blocks: int = 0) -> bytes:
    config = (mode << 8) | (blocks << 4)
    apl = bytes((0x7A, 0x2A, 0x00)) + config.to_bytes(2, "little") + payload
    return wmbus.build_frame(manufacturer="ELS", id="12345678", apl=apl)


@pytest.mark.parametrize(("mode", "name"), [
    (8, "AES-128-CTR with CMAC"), (9, "AES-128-GCM"), (10, "AES-128-CCM"), (11, "reserved"),
    (12, "reserved"), (13, "TLS")])
def test_modes_8_to_13_are_named_and_refused(mode: int, name: str) -> None:
    for key in (None, KEY):
        with pytest.raises(wmbus.UnsupportedError) as info:
            wmbus.decode(_frame(mode, b"\x2f\x2f" + RECORDS), key=key)
        assert str(info.value).endswith(f"not supported yet: mode {mode} ({name})")
        assert info.value.field == "TPL.CW" and info.value.offset == 13


@pytest.mark.parametrize("mode", [1, 4, 6, 14, 15, 16, 31])
def test_reserved_mode_without_a_key_reads_valid_records(mode: int) -> None:
    for payload in (b"\x2f\x2f" + RECORDS, RECORDS):  # with the 2F2F check or without
        telegram = wmbus.decode(_frame(mode, payload))
        assert telegram.records[0].value == Decimal("28504.27")
        security = telegram.to_dict()["security"]
        assert security["mode"] == mode and security["decrypted_by"] == "input"
        assert security["verified"] is False


@pytest.mark.parametrize("mode", [1, 6, 16])
def test_reserved_mode_payload_that_is_not_records_is_refused(mode: int) -> None:
    scrambled = bytes.fromhex("1115F78184AB0F1D1E2000000059041122")  # no 2F2F, DIF 0x11 ...
    with pytest.raises(wmbus.UnsupportedError, match=f"not supported yet: mode {mode} .*not "
                       "valid records in clear"):
        wmbus.decode(_frame(mode, scrambled))
    truncated = RECORDS[:-3]  # records that stop inside the last one
    with pytest.raises(wmbus.UnsupportedError, match="not valid records"):
        wmbus.decode(_frame(mode, truncated))


def test_reserved_mode_with_a_key_known_is_refused() -> None:
    with pytest.raises(wmbus.UnexpectedPlaintextError, match="reserved security mode 6"):
        wmbus.decode(_frame(6, b"\x2f\x2f" + RECORDS), key=KEY)
    store = wmbus.KeyStore({"12345678": KEY.hex()})
    with pytest.raises(wmbus.UnexpectedPlaintextError):
        wmbus.Decoder(store).decode(_frame(6, RECORDS))
    with pytest.raises(wmbus.UnsupportedError, match="with a key known for 12345678"):
        wmbus.decode(_frame(6, bytes(range(0x11, 0x31))), key=KEY)
    # A capture decrypted earlier is read in the already-decrypted mode, unverified.
    telegram = wmbus.decode(_frame(6, b"\x2f\x2f" + RECORDS), key=KEY, already_decrypted=True)
    assert telegram.security.decrypted_by == "input" and telegram.security.verified is False
