"""Security modes 2 and 3 (DES-CBC): telegrams encrypted here, by a path of their own.

The decoder decrypts with ``cryptography``'s CBC mode. The telegrams below are
encrypted block by block in ECB mode with the CBC chaining written out in the
test, and the cipher is pinned to single DES by the FIPS 46 worked example.
No DES telegram is in the dev corpus (none of its lines uses mode 2 or 3).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import warnings
from decimal import Decimal

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

import wmbus
from wmbus._cli import main as cli_main
from wmbus._security import des_cbc_decrypt

DES_KEY = bytes.fromhex("133457799BBCDFF1")
# The plaintext of OMS Vol. 2 Annex N.2.1 (EN 13757-3 Table P.1): volume 28504.27 m3, ...
PLAIN = bytes.fromhex("2F2F0C1427048502046D32371F1502FD1700002F2F2F2F2F2F2F2F2F2F2F2F2F")
# Link layer of the same example: ELS 12345678, version 0x33, water (0x03).
LINK = bytes.fromhex("4493157856341233037A")
ID_AND_M = bytes.fromhex("78563412") + bytes.fromhex("9315")  # ID as sent, then M
RECEIVED = dt.date(2026, 12, 3)


def _des_ecb_encrypt(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def _cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    out, previous = b"", iv
    for at in range(0, len(data), 8):
        previous = _des_ecb_encrypt(key, bytes(a ^ b for a, b in zip(data[at:at + 8],
                                                                   previous, strict=True)))
        out += previous
    return out


def _type_g(day: dt.date) -> bytes:
    # EN 13757-3 type G written out: day bits 0-4, year bits 5-7 and 12-15, month 8-11.
    year = day.year - 2000
    word = day.day | (year & 0x07) << 5 | day.month << 8 | (year >> 3) << 12
    return word.to_bytes(2, "little")


def _telegram(mode: int, payload: bytes) -> bytes:
    body = LINK + bytes((0x2A, 0x00, 0x00, mode)) + payload  # access 42, status, config
    return bytes((len(body),)) + body


def _mode2(key: bytes = DES_KEY) -> bytes:
    return _telegram(2, _cbc_encrypt(key, bytes(8), PLAIN))


def _mode3(day: dt.date, key: bytes = DES_KEY) -> bytes:
    return _telegram(3, _cbc_encrypt(key, ID_AND_M + _type_g(day), PLAIN))


def test_the_cipher_is_single_des_fips_46_example() -> None:
    ciphertext = bytes.fromhex("85E813540F0AB405")
    assert des_cbc_decrypt(DES_KEY, bytes(8), ciphertext) == bytes.fromhex("0123456789ABCDEF")


def test_no_deprecation_warning_leaks() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wmbus.decode(_mode2(), key=DES_KEY).security.mode == 2


def test_mode2_zero_iv_decodes_and_is_verified() -> None:
    telegram = wmbus.decode(_mode2(), key=DES_KEY)
    security = telegram.security
    assert (security.mode, security.decrypted_by, security.verified) == (2, "key", True)
    assert security.encrypted_blocks == 4  # 8-byte blocks
    assert telegram.records[0].value == Decimal("28504.27")
    assert telegram.records[1].to_dict()["value"] == "2008-05-31T23:50:00"


def test_a_16_byte_key_entry_holds_the_des_key_in_its_first_8_bytes() -> None:
    decoder = wmbus.Decoder(keys={"12345678": DES_KEY + bytes(8)})
    assert decoder.decode(_mode2()).security.key_for == "12345678"
    decoder = wmbus.Decoder(keys={"12345678": DES_KEY.hex()})  # 16 hex digits
    assert decoder.decode(_mode2()).records[0].value == Decimal("28504.27")


def test_mode3_decodes_with_the_day_received_and_is_never_verified() -> None:
    telegram = wmbus.decode(_mode3(RECEIVED), key=DES_KEY, received=RECEIVED)
    security = telegram.security
    assert (security.mode, security.decrypted_by, security.verified) == (3, "key", False)
    assert telegram.records[0].value == Decimal("28504.27")


def test_mode3_day_cannot_be_checked_so_no_other_day_is_tried() -> None:
    # Encrypted on the day before: 2F2F still checks (the IV reaches only plaintext bytes
    # 6 and 7), so the key is confirmed but the volume's low BCD byte differs. This is
    # why mode 3 is never marked verified and why neighbouring days are not tried.
    frame = _mode3(RECEIVED - dt.timedelta(days=1))
    telegram = wmbus.decode(frame, key=DES_KEY, received=RECEIVED)
    assert telegram.security.verified is False
    assert telegram.records[0].value != Decimal("28504.27")
    assert telegram.records[1:] == wmbus.decode(_mode3(RECEIVED), key=DES_KEY,
                                                received=RECEIVED).records[1:]


def test_mode3_wrong_key_names_the_iv_tried() -> None:
    with pytest.raises(wmbus.DecryptionError,
                       match=r"DES key for 12345678 \(mode 3, the IV of ID 12345678, "
                             r"manufacturer 9315 and the day 2026-12-03\)"):
        wmbus.decode(_mode3(RECEIVED), key=bytes.fromhex("0E329232EA6D0D73"),
                     received=RECEIVED)


def test_mode3_needs_the_day_received() -> None:
    with pytest.raises(wmbus.DecodeError, match="needs the day the telegram was received"):
        wmbus.decode(_mode3(RECEIVED), key=DES_KEY)


@pytest.mark.parametrize("mode", [2, 3])
def test_wrong_key_is_a_decryption_error_never_records(mode: int) -> None:
    frame = _mode2() if mode == 2 else _mode3(RECEIVED)
    wrong = bytes.fromhex("0E329232EA6D0D73")
    with pytest.raises(wmbus.DecryptionError) as caught:
        wmbus.decode(frame, key=wrong, received=RECEIVED)
    assert "DES key for 12345678" in str(caught.value)
    assert "does not start with 2F2F: wrong key?" in str(caught.value)
    assert caught.value.offset == 15


def test_no_key_for_ciphertext_is_key_missing() -> None:
    with pytest.raises(wmbus.KeyMissingError, match=r"mode 2 \(DES\) payload of ELS 12345678"):
        wmbus.decode(_mode2())


def test_plaintext_under_des_mode() -> None:
    clear = _telegram(2, PLAIN)
    # No key: stored decrypted (as most test corpora keep telegrams), taken unverified.
    telegram = wmbus.decode(clear)
    assert (telegram.security.decrypted_by, telegram.security.verified) == ("input", False)
    # A key known: refused as possibly forged, unless read in the already-decrypted mode.
    with pytest.raises(wmbus.UnexpectedPlaintextError):
        wmbus.decode(clear, key=DES_KEY)
    telegram = wmbus.decode(clear, key=DES_KEY, already_decrypted=True)
    assert (telegram.security.decrypted_by, telegram.security.verified) == ("input", False)


def test_clear_bytes_after_the_last_block_are_not_verified() -> None:
    frame = _mode2() + bytes.fromhex("02FD170100")  # a record outside the encrypted blocks
    telegram = wmbus.decode(frame[:0] + bytes((len(frame) - 1,)) + frame[1:], key=DES_KEY)
    assert telegram.security.decrypted_by == "key" and telegram.security.verified is False
    assert len(telegram.records) == 4


def test_des_key_refused_where_aes_is_needed() -> None:
    mode5 = bytes.fromhex("2E4493157856341233037A2A0020255923C95AAA26D1B2E7493B013EC4A6F6D3"
                          "529B520EDFF0EA6DEFC99D6D69EBF3")
    with pytest.raises(wmbus.KeyMissingError, match="has 8 bytes \\(a DES key\\)"):
        wmbus.decode(mode5, key=DES_KEY)


def test_too_short_for_one_block() -> None:
    with pytest.raises(wmbus.DecodeError, match="at least one 8-byte block"):
        wmbus.decode(_telegram(2, bytes.fromhex("A1B2C3")), key=DES_KEY)


def test_cli_received_date_option() -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = ["decode", "--json", "--key", DES_KEY.hex(), "--received-date",
            RECEIVED.isoformat(), _mode3(RECEIVED).hex()]
    assert cli_main(argv, stdout=out, stderr=err, stdin=io.StringIO("")) == 0, err.getvalue()
    document = json.loads(out.getvalue())
    assert document["security"]["mode"] == 3
    assert document["records"][0]["value"] == 28504.27
    bad = ["decode", "--received-date", "3.12.2026", _mode3(RECEIVED).hex()]
    with pytest.raises(SystemExit):
        cli_main(bad, stdout=out, stderr=err, stdin=io.StringIO(""))
