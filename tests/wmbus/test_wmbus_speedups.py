"""What the fast paths must not change: the CRC-16 of EN 13757-4 against its bit-by-bit
definition, dicts of shared objects, telegrams built without the dataclass __init__."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

import mbus
import mbus.records
import wmbus
from wmbus._crc import crc16_en13757_python, crc16_x25, crc16_x25_python
from wmbus._decoder import _stored_records
from wmbus._security import aes_cbc_decrypt, aes_cbc_encrypt

# EN 13757-4: generator x^16 + x^13 + x^12 + x^11 + x^10 + x^8 + x^6 + x^5 + x^2 + 1,
# register starts at zero, bits enter most significant first, the result is inverted.
_GENERATOR = (1 << 16) | (1 << 13) | (1 << 12) | (1 << 11) | (1 << 10) | (1 << 8) | (1 << 6) \
    | (1 << 5) | (1 << 2) | 1


def _bitwise(data: bytes) -> int:
    register = 0
    for byte in data:
        for bit in range(7, -1, -1):
            top = (register >> 15) & 1
            register = (register << 1) & 0xFFFF
            if top ^ ((byte >> bit) & 1):
                register ^= _GENERATOR & 0xFFFF
    return register ^ 0xFFFF


def test_bitwise_reference_gives_the_catalogue_check_value() -> None:
    assert _bitwise(b"123456789") == 0xC2B7  # CRC-16/EN-13757 check value


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_crc_matches_the_bitwise_definition(data: bytes) -> None:
    assert wmbus.crc16_en13757(data) == _bitwise(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=140), st.data())
def test_crc_of_a_slice_is_the_crc_of_the_sliced_bytes(data: bytes, draw: st.DataObject) -> None:
    size = len(data)
    start = draw.draw(st.integers(-size - 3, size + 3), label="start")
    end = draw.draw(st.none() | st.integers(-size - 3, size + 3), label="end")
    expected = _bitwise(data[start:end])
    assert wmbus.crc16_en13757(data, start, end) == expected
    assert wmbus.crc16_en13757(bytearray(data), start, end) == expected
    assert wmbus.crc16_en13757(memoryview(data), start, end) == expected


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_python_fallback_crc_matches_the_bitwise_definition(data: bytes) -> None:
    # Used where fastcrc cannot be installed: it must give the same CRC.
    assert crc16_en13757_python(data) == _bitwise(data)


def _bitwise_x25(data: bytes) -> int:
    # CRC-16/X-25: reflected CCITT generator 0x1021 (0x8408 reversed), register and result
    # inverted; the bits of each byte enter least significant first.
    register = 0xFFFF
    for byte in data:
        for bit in range(8):
            low = register & 1
            register >>= 1
            if low ^ ((byte >> bit) & 1):
                register ^= 0x8408
    return register ^ 0xFFFF


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_x25_crc_and_its_fallback_match_the_bitwise_definition(data: bytes) -> None:
    assert crc16_x25(data) == crc16_x25_python(data) == _bitwise_x25(data)


def test_x25_reference_gives_the_catalogue_check_value() -> None:
    assert _bitwise_x25(b"123456789") == 0x906E


# EN 13757-3 Table P.1 / OMS Annex N.2: an unencrypted gas meter telegram (no CRCs).
_PLAIN = bytes.fromhex("2E4493157856341233037A2A0000002F2F0C1427048502046D32371F1502FD1700002F2F"
                       "2F2F2F2F2F2F2F2F2F2F2F")


def test_dicts_of_repeated_telegrams_are_independent() -> None:
    decoder = wmbus.Decoder()
    for _ in range(2):  # the first dict and the first made from a memo
        first = decoder.decode(_PLAIN).to_dict()
        first["link"]["id"] = "changed"
        first["tpl"]["config"]["mode"] = 99
        first["security"]["verified"] = "changed"
    again = decoder.decode(_PLAIN).to_dict()
    assert again["link"]["id"] == "12345678"
    assert again["tpl"]["config"]["mode"] == 0
    assert again["security"] == {"mode": 0, "encrypted_blocks": 0, "decrypted_by": None,
                                 "mac_ok": None, "verified": False}
    assert again["link"] == {"format": "none", "crcs": 0, "c": 0x44, "function": "SND_NR",
                             "manufacturer": "ELS", "id": "12345678", "version": 0x33,
                             "device_type": 0x03, "medium": "gas", "length": 0x2E}


def test_a_frame_with_other_trailing_bytes_keeps_its_own() -> None:
    decoder = wmbus.Decoder()
    quiet = decoder.decode(_PLAIN + b"\x41").link
    loud = decoder.decode(_PLAIN + b"\x7f").link
    assert (quiet.trailing, loud.trailing) == (b"\x41", b"\x7f")
    assert loud.to_dict()["trailing"] == "7f"


def _wired_frame(body: bytes, trailing: bytes = b"") -> bytes:
    """A wired long frame around ``body`` (C A CI data) with its checksum."""
    return (bytes((0x68, len(body), len(body), 0x68)) + body
            + bytes((sum(body) & 0xFF, 0x16)) + trailing)


def test_wired_frames_with_other_addresses_or_trailing_bytes_keep_their_own_link() -> None:
    decoder = wmbus.Decoder(profiles=False)
    records = bytes.fromhex("0C1427048502")
    first = decoder.decode(_wired_frame(bytes.fromhex("0801" "78") + records)).link
    other = decoder.decode(_wired_frame(bytes.fromhex("0802" "78") + records)).link
    loud = decoder.decode(_wired_frame(bytes.fromhex("0801" "78") + records, b"\x7f")).link
    master = decoder.decode(_wired_frame(bytes.fromhex("5301" "78") + records)).link
    assert (first.address, first.c, first.trailing) == (1, 0x08, b"")
    assert (other.address, loud.trailing, master.c) == (2, b"\x7f", 0x53)
    assert decoder.decode(_wired_frame(bytes.fromhex("0801" "78") + records)).link == first


def test_ell_built_positionally_or_by_keywords_is_the_same() -> None:
    by_keywords = wmbus.ExtendedLinkLayer(ci=0x8D, cc=0x20, access_number=7,
                                          session_number=5, payload_crc=0x1234)
    assert wmbus.ExtendedLinkLayer(0x8D, 0x20, 7, None, None, None, None, 5, 0x1234) \
        == by_keywords
    assert dataclasses.replace(by_keywords, payload_crc=1).payload_crc == 1
    bits = [(0x80, "bidirectional"), (0x40, "response_delay"), (0x20, "synchronized"),
            (0x10, "hop_count"), (0x08, "priority"), (0x04, "accessibility"),
            (0x02, "repeated_access")]
    for cc in range(256):
        ell = wmbus.ExtendedLinkLayer(ci=0x8C, cc=cc, access_number=0)
        assert ell.cc_flags == tuple(name for bit, name in bits if cc & bit)


def test_a_decoded_telegram_equals_one_built_by_the_dataclass() -> None:
    telegram = wmbus.Decoder().decode(_PLAIN)
    rebuilt = dataclasses.replace(telegram)  # through the generated __init__ and its defaults
    assert rebuilt == telegram and repr(rebuilt) == repr(telegram)
    assert (telegram.error, telegram.alarm, telegram.record_error, telegram.undecoded) == (
        None, None, None, b"")
    assert rebuilt.to_dict() == telegram.to_dict()


def _reference_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from([bytes(16), bytes(range(16)), b"\xff" * 16]) | st.binary(
           min_size=16, max_size=16),
       iv=st.binary(min_size=16, max_size=16), blocks=st.integers(0, 8), data=st.data())
def test_cbc_decryption_with_a_kept_context_is_cbc(key: bytes, iv: bytes, blocks: int,
                                                    data: st.DataObject) -> None:
    # The same key again and again (the context is kept): every call is CBC of its own input.
    for _ in range(2):
        ciphertext = data.draw(st.binary(min_size=16 * blocks, max_size=16 * blocks))
        assert aes_cbc_decrypt(key, iv, ciphertext) == _reference_cbc_decrypt(key, iv,
                                                                               ciphertext)


def test_cbc_decryption_refuses_partial_blocks() -> None:
    with pytest.raises(ValueError, match="16-byte blocks"):
        aes_cbc_decrypt(bytes(16), bytes(16), bytes(20))


def test_cbc_decryption_in_threads_keeps_contexts_apart() -> None:
    key, iv = bytes(range(16)), bytes(16)
    plain = [bytes([n]) * 64 for n in range(32)]
    ciphertexts = [aes_cbc_encrypt(key, iv, p) for p in plain]

    def work(index: int) -> bool:
        return all(aes_cbc_decrypt(key, iv, ciphertexts[(index + n) % 32]) == plain[
            (index + n) % 32] for n in range(300))

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(work, range(8)))


def test_records_are_made_when_first_read() -> None:
    telegram = wmbus.Decoder().decode(_PLAIN)
    before = telegram.to_dict()
    assert isinstance(_stored_records(telegram), mbus.records.PendingRecords)  # to_dict made none
    records = telegram.records
    assert type(records) is tuple and all(type(r) is mbus.Record for r in records)
    assert telegram.records is records
    assert telegram.to_dict() == before
    assert before["records"] == [record.to_dict() for record in records]
    assert telegram == wmbus.Decoder().decode(_PLAIN)


def _distinct_values(cls: type) -> dict[str, object]:
    """A different object for every field of ``cls`` (what each one holds is not checked)."""
    return {item.name: (index, item.name) for index, item in enumerate(dataclasses.fields(cls))}


@pytest.mark.parametrize("cls", [wmbus.Telegram, wmbus.TransportLayer])
def test_the_written_out_init_sets_each_field_by_keyword_and_position(cls: type) -> None:
    values = _distinct_values(cls)
    by_keyword = cls(**values)
    by_position = cls(*values.values())
    for name, value in values.items():
        assert getattr(by_keyword, name) == value, name
        assert getattr(by_position, name) == value, name
    with pytest.raises(dataclasses.FrozenInstanceError):
        by_keyword.ci = 1


def test_the_written_out_init_keeps_the_defaults() -> None:
    link = wmbus.Decoder().decode(_PLAIN).link
    telegram = wmbus.Telegram(link=link, ci=0x7A, security=wmbus.Security())
    assert {item.name: getattr(telegram, item.name) for item in dataclasses.fields(telegram)} \
        == {item.name: item.default for item in dataclasses.fields(telegram)
            if item.name not in ("link", "ci", "security")} | {
            "link": link, "ci": 0x7A, "security": wmbus.Security()}
    assert wmbus.TransportLayer(0x7A, "short") == wmbus.TransportLayer(
        ci=0x7A, kind="short", header=None, config=None)
