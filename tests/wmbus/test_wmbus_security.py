"""Security: published OMS Vol. 2 Annex N and CEN/TR 17167 examples, wrong and missing keys."""

from __future__ import annotations

from decimal import Decimal

import pytest

import mbus
import wmbus
from wmbus._security import aes_cmac

# OMS Vol. 2 Annex N.2.1 (EN 13757-3 Table P.1 encrypted): mode 5, short TPL.
N21 = bytes.fromhex("2E4493157856341233037A2A0020255923C95AAA26D1B2E7493B013EC4A6F6D3529B520E"
                    "DFF0EA6DEFC99D6D69EBF3")
N21_KEY = bytes.fromhex("0102030405060708090A0B0C0D0E0F11")
# CEN/TR 17167 Table F.3: mode 7 with ELL (0x8E), AFL (CMAC) and long TPL via a radio converter.
F3 = bytes.fromhex("530824484433221103378E80753A63665544330A31900F002C25B30A0000AF5D74DF73A6"
                   "00D972785634129315330375002007109058475F4BC91DF878B80A1B0F98B629024AAC72"
                   "7942BFC549233C0140829B93")
F3_KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
# OMS Vol. 2 Annex N.5.3: heat cost allocator, partial encryption (one block, rest clear).
N53 = bytes.fromhex("304493444433221155378C00757288776655934455080004100500DFE2A782146D1513"
                    "581CD2F83F39040CFD1078563412")
# OMS Vol. 2 Annex N.5.4: the same as a wired M-Bus frame.
N54 = bytes.fromhex("682C2C6808FD7288776655934455080004100500DFE2A782146D1513581CD2F83F3904"
                    "0CFD10785634120C78443322112616")


def _values(telegram: wmbus.Telegram) -> list[object]:
    return [record.value for record in telegram.records]


def test_rfc4493_cmac_vectors() -> None:
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    assert aes_cmac(key, b"").hex() == "bb1d6929e95937287fa37d129b756746"
    assert aes_cmac(key, bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")).hex() == \
        "070a16b46b4d4144f79bdd9dd04a287c"


def test_annex_n21_mode5_published_values() -> None:
    telegram = wmbus.decode(N21, key=N21_KEY)
    assert telegram.security.mode == 5 and telegram.security.decrypted_by == "key"
    assert telegram.security.encrypted_blocks == 2
    volume, when, errors = telegram.records
    assert (volume.value, volume.unit) == (Decimal("28504.27"), "m3")
    assert volume.to_dict()["value"] == 28504.27
    assert when.to_dict()["value"] == "2008-05-31T23:50:00"
    assert errors.value == 0


def test_cen_tr_17167_f3_mode7_published_values() -> None:
    telegram = wmbus.decode(F3, key=F3_KEY)
    assert telegram.security.mode == 7 and telegram.security.mac_ok is True
    assert telegram.security.decrypted_by == "key"
    assert telegram.header is not None
    assert (telegram.header.manufacturer, telegram.header.id, telegram.header.version) == (
        "ELS", "12345678", 51)
    assert (telegram.link.manufacturer, telegram.link.id) == ("RAD", "11223344")
    assert telegram.ell is not None
    assert (telegram.ell.receiver_manufacturer, telegram.ell.receiver_id) == ("XYZ", "33445566")
    assert telegram.afl is not None and telegram.afl.message_counter == 0x0AB3
    assert _values(telegram)[0] == Decimal("28504.27")


def test_annex_n53_partial_encryption() -> None:
    telegram = wmbus.decode(N53, key=F3_KEY)
    assert telegram.security.encrypted_blocks == 1
    # The long TPL address (QDS 55667788) drives the IV, not the radio converter's.
    assert telegram.id == "55667788" and telegram.link.id == "11223344"
    assert [(r.quantity, r.storage, r.value) for r in telegram.records] == [
        ("hca_units", 0, 1234), ("date", 1, telegram.records[1].value),
        ("hca_units", 1, 23456), ("customer_location", 0, 12345678)]
    assert telegram.records[1].to_dict()["value"] == "2007-04-30"


def test_annex_n54_wired_frame_with_mode5() -> None:
    telegram = wmbus.decode(N54, key=F3_KEY)
    assert telegram.link.format == "wired"
    assert len(telegram.records) == 5
    assert telegram.records[-1].value == 11223344  # clear part after the encrypted block


def test_wrong_key_says_what_was_tried() -> None:
    wrong = bytes(16)
    with pytest.raises(wmbus.DecryptionError) as info:
        wmbus.decode(N21, key=wrong)
    message = str(info.value)
    assert "decrypted with the key for 12345678 but the plaintext does not start with 2F2F" \
        in message and "wrong key?" in message
    assert isinstance(info.value, mbus.DecodeError)  # one except clause catches both packages


def test_wrong_key_mode7_fails_the_mac() -> None:
    with pytest.raises(wmbus.AuthenticationError, match="AFL MAC does not match"):
        wmbus.decode(F3, key=N21_KEY)


def test_tampered_mode7_fails_the_mac() -> None:
    tampered = bytearray(F3)
    tampered[-5] ^= 0x40
    with pytest.raises(wmbus.AuthenticationError):
        wmbus.decode(bytes(tampered), key=F3_KEY)


def test_missing_key() -> None:
    with pytest.raises(wmbus.KeyMissingError, match="no key was given or found"):
        wmbus.decode(N21)


def test_key_store_lookup_by_meter() -> None:
    decoder = wmbus.Decoder(keys={"ELS.12345678": N21_KEY.hex()})
    assert decoder.decode(N21).security.key_for == "12345678"
    # The long TPL ID (ELS 12345678) is looked up first for the converter-relayed frame.
    decoder = wmbus.Decoder(keys={"12345678": F3_KEY})
    assert decoder.decode(F3).security.mac_ok is True


def test_already_decrypted_input_is_recognised() -> None:
    clear = bytes.fromhex("2E4493157856341233037A2A0020252F2F0C1427048502046D32371F1502FD1700"
                          "002F2F2F2F2F2F2F2F2F2F2F2F2F")
    telegram = wmbus.decode(clear)
    assert telegram.security.mode == 5 and telegram.security.decrypted_by == "input"
    assert telegram.to_dict()["security"]["decrypted_by"] == "input"
    assert _values(telegram)[0] == Decimal("28504.27")


def test_unsupported_mode() -> None:
    frame = bytes.fromhex("2E4493157856341233037A2A0000082F2F0C1427048502046D32371F1502FD1700"
                          "002F2F2F2F2F2F2F2F2F2F2F2F2F")
    with pytest.raises(wmbus.UnsupportedError, match="not supported yet: mode 8"):
        wmbus.decode(frame)


def test_ell_aes_ctr_published_example() -> None:
    # exmbus "decrypt and encrypt": ELL 0x8D, AES-128-CTR (the L field was removed upstream).
    frame = bytes.fromhex("442D2C1131342733028D20E9603A102008C67C819AAE99B4DE753AA136EF64917ED9"
                          "D8B2E2D35840BDEA173B8FE14CCE3F1406B7CF")
    key = bytes.fromhex("0102030405060708090A0B0C0D0E0F10")
    telegram = wmbus.decode(frame, key=key)
    assert telegram.link.l_field is False
    assert telegram.security.ell_encryption == "aes_ctr"
    assert telegram.security.decrypted_by == "key"
    assert telegram.records
    with pytest.raises(wmbus.DecryptionError, match="payload CRC does not match"):
        wmbus.decode(frame, key=N21_KEY)


def test_ell_iv_ignores_repeater_bits() -> None:
    # jmbus DecryptionTest: CC 0x30 has the hop-count bit set; record 1 is 474.24 m3.
    frame = bytes.fromhex("24442D2C692845631B168D3050209CD621B006B1140AEF4953AE5B86FAFC0B00E707"
                          "05B84689")
    telegram = wmbus.decode(frame, key=bytes.fromhex("4E5508544202058100DFEFA06B0934A5"))
    assert telegram.records[1].value == Decimal("474.240")


def test_key_never_in_output() -> None:
    decoder = wmbus.Decoder(keys={"12345678": N21_KEY})
    text = repr(decoder) + str(decoder.decode(N21).to_dict())
    assert N21_KEY.hex() not in text.lower()
