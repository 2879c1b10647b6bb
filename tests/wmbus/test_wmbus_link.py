"""Link layer: CRC-16 of EN 13757-4, formats A/B/none, trailing bytes, 3-of-6."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mbus
import wmbus
from wmbus._link import parse_link

# EN 13757-3 Table P.1 / OMS Annex N.2: an unencrypted gas meter telegram (no CRCs).
PLAIN = bytes.fromhex("2E4493157856341233037A2A0000002F2F0C1427048502046D32371F1502FD1700002F2F"
                      "2F2F2F2F2F2F2F2F2F2F2F")


def test_crc_check_value() -> None:
    # CRC-16/EN-13757 catalogue check value over "123456789".
    assert wmbus.crc16_en13757(b"123456789") == 0xC2B7


def test_plain_frame_has_no_crcs() -> None:
    link, apl = parse_link(PLAIN)
    assert (link.format, link.crcs, link.trailing) == ("none", 0, b"")
    assert (link.manufacturer, link.id, link.version, link.device_type) == ("ELS", "12345678",
                                                                           0x33, 0x03)
    assert link.function == "SND_NR" and link.medium_name == "gas"
    assert apl[0] == 0x7A


@pytest.mark.parametrize("fmt, crcs", [("A", 4), ("B", 1)])
def test_crcs_found_and_removed(fmt: str, crcs: int) -> None:
    framed = wmbus.add_crcs(PLAIN, fmt)
    assert len(framed) == len(PLAIN) + 2 * crcs
    link, apl = parse_link(framed)
    assert (link.format, link.crcs) == (fmt, crcs)
    assert apl == PLAIN[10:]
    assert wmbus.decode(framed).to_dict()["records"] == wmbus.decode(PLAIN).to_dict()["records"]


def test_format_a_block_layout() -> None:
    # Block 1 = L C M A + CRC (12 bytes), then 16 data bytes + CRC per block.
    framed = wmbus.add_crcs(PLAIN, "A")
    assert framed[:10] == PLAIN[:10]
    assert int.from_bytes(framed[10:12], "big") == wmbus.crc16_en13757(PLAIN[:10])
    assert framed[12:28] == PLAIN[10:26]
    assert int.from_bytes(framed[28:30], "big") == wmbus.crc16_en13757(PLAIN[10:26])


def test_format_b_long_frame_has_three_blocks() -> None:
    frame = wmbus.build_frame(manufacturer="KAM", id="1", apl=b"\x78" + b"\x2f" * 140)
    framed = wmbus.add_crcs(frame, "B")
    assert framed[0] == len(framed) - 1  # L counts the CRCs in format B
    link, apl = parse_link(framed)
    assert (link.format, link.crcs) == ("B", 2)
    assert apl == frame[10:]


def test_trailing_bytes_reported() -> None:
    for framed in (PLAIN, wmbus.add_crcs(PLAIN, "A"), wmbus.add_crcs(PLAIN, "B")):
        link, _ = parse_link(framed + b"\xc3")
        assert link.trailing == b"\xc3"
        assert wmbus.decode(framed + b"\xc3").to_dict()["link"]["trailing"] == "c3"


def test_broken_crc_is_not_guessed_as_a_format() -> None:
    framed = bytearray(wmbus.add_crcs(PLAIN, "A"))
    framed[20] ^= 0x01
    # Neither A nor B checks; as a CRC-less frame the extra bytes are trailing.
    link, _ = parse_link(bytes(framed))
    assert link.format == "none" and len(link.trailing) == 8


def test_frame_without_l_field() -> None:
    link, apl = parse_link(PLAIN[1:])
    assert link.l_field is False and link.id == "12345678" and apl == PLAIN[10:]


def test_cut_off_frame() -> None:
    with pytest.raises(wmbus.LinkError, match="L field says 47 bytes but only 30"):
        parse_link(PLAIN[:30])
    with pytest.raises(wmbus.LinkError, match="at least 11 bytes"):
        parse_link(b"\x0a\x44")


def test_wired_long_frame() -> None:
    wired = bytes.fromhex("6820206808FD7278563412931533032A0000000C1427048502046D32371F1502FD17"
                          "00008916")
    telegram = wmbus.decode(wired)
    assert telegram.link.format == "wired" and telegram.link.address == 0xFD
    assert telegram.id == "12345678"
    assert str(telegram.records[0].value) == "28504.27"


# EN 13757-4 Table 10: the 3-out-of-6 code words.
CODE_WORDS = ["010110", "001101", "001110", "001011", "011100", "011001", "011010", "010011",
              "101100", "100101", "100110", "100011", "110100", "110001", "110010", "101001"]


def test_3of6_table() -> None:
    for nibble, word in enumerate(CODE_WORDS):
        bits = word + CODE_WORDS[0] + "0101"  # 12 chips + postamble to two bytes
        chips = int(bits, 2).to_bytes(2, "big")
        assert wmbus.decode_3of6(chips) == bytes((nibble << 4,))
        assert wmbus.encode_3of6(bytes((nibble << 4,))) == chips


def test_3of6_invalid_code_word() -> None:
    with pytest.raises(wmbus.LinkError, match="invalid 3-of-6"):
        wmbus.decode_3of6(b"\xff\xff\xff")


@settings(max_examples=150)
@given(st.binary(max_size=64))
def test_3of6_round_trip(data: bytes) -> None:
    assert wmbus.decode_3of6(wmbus.encode_3of6(data), len(data)) == data


@settings(max_examples=150)
@given(st.binary(min_size=1, max_size=200), st.sampled_from(["A", "B"]))
def test_crc_formats_round_trip(payload: bytes, fmt: str) -> None:
    frame = wmbus.build_frame(manufacturer="ABC", id="87654321", apl=payload[:230])
    link, apl = parse_link(wmbus.add_crcs(frame, fmt))
    assert link.format == fmt and apl == frame[10:]


def test_t1_chips_to_frame() -> None:
    framed = wmbus.add_crcs(PLAIN, "A")
    chips = wmbus.encode_3of6(framed) + b"\x55\x55"  # postamble and noise after the frame
    assert wmbus.decode_t1(chips) == framed
    assert wmbus.decode(wmbus.decode_t1(chips)).link.format == "A"


def test_unsupported_mode_before_its_extension() -> None:
    frame = wmbus.build_frame(manufacturer="KAM", id="1", apl=bytes.fromhex("7a01000d0d"))
    with pytest.raises(wmbus.UnsupportedError, match="not supported yet: mode 13"):
        wmbus.decode(frame)


def test_same_header_and_records_as_mbus() -> None:
    # OMS Annex N.2.2: the wired twin of the N.2.1 gas meter.
    wired = bytes.fromhex("6820206808FD7278563412931533032A0000000C1427048502046D32371F1502FD17"
                          "00008916")
    ours, theirs = wmbus.decode(wired).to_dict(), mbus.decode(wired).to_dict()
    assert ours["header"] == theirs["header"]
    assert ours["records"] == theirs["records"]
    assert set(ours) >= {"link", "security", "header", "records"}
