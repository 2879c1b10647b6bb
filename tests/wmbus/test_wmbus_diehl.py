"""Diehl meters: the OMS default key (mode 5) and IZAR PRIOS descrambling."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wmbus

from ..mbus.corpus import wmbus_line

# A Diehl (DME) Sharky heat meter, mode 5, 5 encrypted blocks, frame A (CRCs included), as
# published with a description of Diehl's frame kinds (encrypted with the Diehl default key).
SHARKY_A = bytes.fromhex(
    "5E44A5111828058141046DF17A4900500521BA8F123FDE8B924B3EFB3B7BD143159D913EB08FA29EE203"
    "0F73B672E1EC8F4253B98A443DF7051AF17F3AF98E3FEF86677BF5FB674534CCE08BC9BD73137EE51347"
    "9F405F915848755F7CD08FDAF4153994C741E1CD7824616432")
_APL = wmbus.parse_link(SHARKY_A)[1]
SHARKY = bytes((10 + len(_APL) - 1,)) + SHARKY_A[1:10] + _APL  # the CRCs removed
DEFAULT = bytes.fromhex("51728910E66D83F851728910E66D83F8")


def test_default_key_decrypts_and_is_marked() -> None:
    assert wmbus.decode(SHARKY_A).to_dict()["records"] == wmbus.decode(SHARKY).to_dict()["records"]
    telegram = wmbus.decode(SHARKY)
    assert telegram.manufacturer == "DME" and telegram.id == "81052818"
    security = telegram.to_dict()["security"]
    assert security["key_source"] == "default" and security["decrypted_by"] == "key"
    assert security["verified"] is False and "key_for" not in security
    assert telegram.records[1].value == wmbus.decode(SHARKY, key=DEFAULT).records[1].value
    assert telegram.record_error is None and telegram.records[1].unit == "m3"


def test_given_key_is_not_marked_default() -> None:
    security = wmbus.decode(SHARKY, key=DEFAULT).to_dict()["security"]
    assert "key_source" not in security and security["key_for"] == "81052818"
    assert security["verified"] is True


def test_wrong_default_key_is_an_error_never_garbage() -> None:
    frame = bytearray(SHARKY)
    frame[17] ^= 0x01  # a ciphertext byte of the first block
    with pytest.raises(wmbus.DecryptionError, match="tried the Diehl OMS default key"):
        wmbus.decode(bytes(frame))
    # A meter of another manufacturer gets no default key.
    other = bytearray(SHARKY)
    other[2:4] = bytes.fromhex("2D2C")  # KAM
    with pytest.raises(wmbus.KeyMissingError, match="no key was given"):
        wmbus.decode(bytes(other))


def _corpus_telegram(name: str) -> tuple[bytes, dict[str, Any]]:
    line = wmbus_line(name)
    return bytes.fromhex(line["telegram"]), line["expected"]


@pytest.mark.parametrize("name", ["IzarWater", "IzarWater2", "IzarWater7"])
def test_prios_descrambled_with_the_default_keys(name: str) -> None:
    frame, expected = _corpus_telegram(name)
    telegram = wmbus.decode(frame)
    security = telegram.to_dict()["security"]
    assert security["scrambling"] == "diehl_prios" and security["key_source"] == "default"
    assert security["verified"] is False
    # After the 4 clear bytes: the check byte 0x4B, then the total volume in litres.
    assert telegram.payload[4] == 0x4B
    litres = int.from_bytes(telegram.payload[5:9], "little")
    assert litres / 1000 == expected["total_m3"]


def test_prios_with_a_wrong_key_says_what_was_tried() -> None:
    frame, _ = _corpus_telegram("IzarWater")
    with pytest.raises(wmbus.DecryptionError) as info:
        wmbus.decode(frame, key=bytes(16))
    assert "descrambled with the key for 21242472" in str(info.value)
    assert "check byte is not 0x4b" in str(info.value)
    broken = bytearray(frame)
    broken[15] ^= 0x01  # the scrambled check byte
    with pytest.raises(wmbus.DecryptionError) as info:
        wmbus.decode(bytes(broken))
    assert "Diehl's default keys 39bc8a10e66d83f8 and 51728910e66d83f8" in str(info.value)
    assert info.value.offset == 15


def test_prios_scrambling_round_trip() -> None:
    from wmbus._diehl import LFSR_DEFAULT_KEYS, lfsr_descramble
    header = bytes(range(13))
    data = bytes(range(40, 80))
    scrambled = lfsr_descramble(LFSR_DEFAULT_KEYS[0], header, data)
    assert scrambled != data
    assert lfsr_descramble(LFSR_DEFAULT_KEYS[0], header, scrambled) == data
    assert lfsr_descramble(LFSR_DEFAULT_KEYS[1], header, scrambled) != data


def _bitwise_descramble(key: bytes, header: bytes, data: bytes) -> bytes:
    """The Diehl LFSR as specified, one shift at a time (the reference for the table)."""
    state = (int.from_bytes(key[0:4], "big") ^ int.from_bytes(key[4:8], "big")
             ^ int.from_bytes(header[0:4], "big") ^ int.from_bytes(header[4:8], "big")
             ^ int.from_bytes(header[8:12], "big"))
    out = bytearray()
    for byte in data:
        for _ in range(8):
            bit = ((state >> 1) ^ (state >> 2) ^ (state >> 11) ^ (state >> 31)) & 1
            state = ((state << 1) | bit) & 0xFFFFFFFF
        out.append(byte ^ (state & 0xFF))
    return bytes(out)


@given(st.binary(min_size=8, max_size=8), st.binary(min_size=13, max_size=13),
       st.binary(max_size=80))
def test_lfsr_byte_table_matches_the_bitwise_register(key: bytes, header: bytes,
                                                      data: bytes) -> None:
    from wmbus._diehl import lfsr_descramble
    assert lfsr_descramble(key, header, data) == _bitwise_descramble(key, header, data)


# Diehl "real data" frames (CI 0x7A, configuration word bit 0x1000) posted in wmbusmeters
# issues: a Hydrometer SHARKY 775 heat meter (#239) and a Hydrometer AQUARIUS water meter
# received on 2020-06-15 (#127). The configuration word's high byte is a checksum.
SHARKY775 = bytes.fromhex(
    "534424232004256092687A370045752235854DEEEA5939FAD81C25FEEF5A23C38FB9168493C563F08DB1"
    "0BAF87F660FBA91296BA2397E8F4220B86D3A192FB51E0BFCF24DCE72118E0C75A9E89F43BDFE370824B")
AQUARIUS = bytes.fromhex("1E4424238B07337614637AD000107B07C652851A0553B020E2AE631865B454")


def test_real_data_descrambled_with_a_default_key() -> None:
    for frame in (SHARKY775, AQUARIUS):
        telegram = wmbus.decode(frame)
        security = telegram.to_dict()["security"]
        assert security["scrambling"] == "diehl_real_data"
        assert security["key_source"] == "default" and security["verified"] is False
        assert security["mode"] == 0  # the high byte was a checksum, not a mode
        assert telegram.record_error is None and len(telegram.records) >= 3
    sharky = wmbus.decode(SHARKY775)
    assert {r.quantity for r in sharky.records} >= {"energy", "volume"}
    aquarius = wmbus.decode(AQUARIUS)
    dates = [r.to_dict()["value"] for r in aquarius.records if r.quantity == "date"]
    assert len(dates) == 1 and "2020-05-01" <= dates[0] <= "2020-06-15"


def test_real_data_with_a_broken_checksum_is_an_error() -> None:
    broken = bytearray(AQUARIUS)
    broken[20] ^= 0x01
    with pytest.raises(wmbus.DecryptionError) as info:
        wmbus.decode(bytes(broken))
    assert "matches neither the payload in clear nor the payload descrambled with Diehl's " \
        "default keys 39bc8a10e66d83f8 and 51728910e66d83f8" in str(info.value)
    with pytest.raises(wmbus.DecryptionError, match="descrambled with the key for 7633078B"):
        wmbus.decode(AQUARIUS, key=bytes(16))


def test_real_data_in_clear() -> None:
    from wmbus._diehl import LFSR_DEFAULT_KEYS, lfsr_descramble
    plain = lfsr_descramble(LFSR_DEFAULT_KEYS[1], AQUARIUS[2:10] + AQUARIUS[10:15],
                            AQUARIUS[15:])
    frame = bytearray(AQUARIUS[:15] + plain)
    frame[14] = (sum(plain) & 0xEF) | 0x10  # the checksum of the clear payload
    telegram = wmbus.decode(bytes(frame))
    assert telegram.security.scrambling is None and telegram.security.verified is False
    assert [r.value for r in telegram.records] == [r.value for r in
                                                   wmbus.decode(AQUARIUS).records]
    with pytest.raises(wmbus.UnexpectedPlaintextError):
        wmbus.decode(bytes(frame), key=bytes(16))
