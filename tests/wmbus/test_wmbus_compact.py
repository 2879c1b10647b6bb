"""Compact frames: format signatures (EN 13757-3 Annex G), the cache, the exact error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mbus
import wmbus

from ..mbus.corpus import WMBUS, require, wmbus_line, wmbus_lines

# jmbus ShortTelegramTest: a Kamstrup full frame (ELL 0x8D, stored decrypted), then its
# compact frame (CI 0x79) with format signature 0xD7C4 and full-frame CRC 0xB088.
FULL = bytes.fromhex("40442D2C713785691C0C8D2066445050201E5E780406A60B000004FF074E11000004FF08"
                     "130700000414C91A000002FD170000043B000000000259B10B025D67095B")
COMPACT = bytes.fromhex("31442D2C713785691C0C8D2067585050202A4479C4D788B0A60B00004E110000130700"
                        "00C91A0000000000000000B10B67095B")
HEADERS = ["0406", "04ff07", "04ff08", "0414", "02fd17", "043b", "0259", "025d"]


def test_signature_is_the_crc_of_the_record_headers() -> None:
    assert wmbus.format_signature(bytes.fromhex(h) for h in HEADERS) == 0xD7C4


def test_unknown_signature_error_text() -> None:
    with pytest.raises(wmbus.UnknownSignatureError) as info:
        wmbus.Decoder(signatures=wmbus.SignatureCache(known_formats=False)).decode(COMPACT)
    assert "format signature 0xd7c4 unknown: a full frame from this meter is needed first" \
        in str(info.value)


def test_learned_from_a_full_frame() -> None:
    decoder = wmbus.Decoder()
    full = decoder.decode(FULL)
    compact = decoder.decode(COMPACT)
    assert compact.compact is not None and compact.compact.signature == 0xD7C4
    assert compact.compact.data_crc == 0xB088
    assert [r.to_dict() for r in compact.records] == [r.to_dict() for r in full.records]
    assert compact.to_dict()["compact"] == {"kind": "compact", "signature": "0xd7c4",
                                            "data_crc": "0xb088"}


def test_pre_seeded_cache_and_save(tmp_path: Path) -> None:
    cache = wmbus.SignatureCache({"0xd7c4": HEADERS})
    assert 0xD7C4 in cache and len(cache) == 1
    assert wmbus.Decoder(signatures=cache).decode(COMPACT).records[0].value == 2982000  # 2982 kWh
    path = tmp_path / "signatures.json"
    cache.save(path)
    assert json.loads(path.read_text())["format_signatures"] == {"0xd7c4": HEADERS}
    again = wmbus.SignatureCache.load(path)
    assert again.headers(0xD7C4) == tuple(bytes.fromhex(h) for h in HEADERS)


def test_pre_seeding_checks_the_signature() -> None:
    with pytest.raises(wmbus.WMBusError, match="does not match"):
        wmbus.SignatureCache({"0x1234": HEADERS})


def test_changed_format_fails_the_data_crc() -> None:
    records = [mbus.build_record(0x13, 1234), mbus.build_record(0x5B, 45, coding="int16")]
    compact = bytearray(wmbus.build_telegram(manufacturer="KAM", id="1", records=records,
                                             tpl="none", compact=True))
    compact[-1] ^= 0x01  # a data byte: the full-frame CRC no longer matches
    decoder = wmbus.Decoder()
    decoder.decode(wmbus.build_telegram(manufacturer="KAM", id="1", records=records))
    with pytest.raises(wmbus.CRCError, match="full-frame CRC"):
        decoder.decode(bytes(compact))


def test_built_compact_frame_round_trip() -> None:
    records = [mbus.build_record(0x13, 1234), mbus.build_record(0x5B, 45, coding="int16")]
    decoder = wmbus.Decoder()
    decoder.decode(wmbus.build_telegram(manufacturer="KAM", id="1", records=records))
    compact = decoder.decode(wmbus.build_telegram(manufacturer="KAM", id="1", records=records,
                                                  tpl="none", compact=True))
    assert [r.value for r in compact.records] == [r.value for r in records]


def test_cache_is_bounded() -> None:
    cache = wmbus.SignatureCache(max_entries=2)
    for number, vif in enumerate((0x13, 0x14, 0x15)):
        cache.learn([mbus.build_record(vif, 1)], source=bytes((number,)))
    assert len(cache) == 2


def test_latest_full_frame_per_sender_counts() -> None:
    cache = wmbus.SignatureCache()
    first, second = [mbus.build_record(0x13, 1)], [mbus.build_record(0x14, 1)]
    cache.learn(first, source=b"meter")
    assert wmbus.format_signature([b"\x04\x13"]) in cache  # resolved on demand
    cache.learn(second, source=b"meter")
    assert len(cache) == 2


def test_format_frame_teaches_a_signature() -> None:
    # Format frame, CI 0x69: header bytes length, format signature, the record headers.
    headers = bytes.fromhex("".join(HEADERS))
    apl = bytes((0x69, len(headers))) + (0xD7C4).to_bytes(2, "little") + headers
    format_frame = wmbus.build_frame(manufacturer="KAM", id="69853771", apl=apl)
    decoder = wmbus.Decoder(signatures=wmbus.SignatureCache(known_formats=False))
    telegram = decoder.decode(format_frame)
    assert telegram.compact is not None and telegram.compact.kind == "format"
    assert telegram.records == ()
    assert decoder.decode(COMPACT).records[0].value == 2982000


# Kamstrup compact frames with no full frame before them: the dev corpus line "Vadden"
# (Multical 21, 0xc412, with wmbusmeters' values) and a flowIQ 2200 compact frame (0x0905)
# a user posted in wmbusmeters issue #701 (its full frame there reads 3.871 m3, target date
# 2022-11-01, max external temperature 27 C).
def _corpus_telegram(name: str) -> tuple[bytes, dict[str, object]]:
    line = wmbus_line(name)
    return bytes.fromhex(line["telegram"]), line["expected"]


VOTTEN = bytes.fromhex("3244372C763081233C168D2057D2ED112072257905095480000800000000000000000890"
                       "0008F0FFC12B0A1B00001F0F000013")


def _values(telegram: wmbus.Telegram) -> dict[str, object]:
    return {f"{r.quantity}/{r.function}/{r.storage}": r.value for r in telegram.records}


def test_built_in_formats_decode_without_a_full_frame() -> None:
    frame, expected = _corpus_telegram("Vadden")
    vadden = wmbus.Decoder().decode(frame)
    assert vadden.compact is not None and vadden.compact.signature == 0xC412
    values = [r.to_dict()["value"] for r in vadden.records]
    for name in ("total_m3", "max_flow_m3h", "flow_temperature_c"):
        assert expected[name] in values, name
    votten = wmbus.Decoder().decode(VOTTEN)
    assert votten.compact is not None and votten.compact.signature == 0x0905
    values = [r.to_dict()["value"] for r in votten.records]
    assert 3.871 in values and 27 in values and "2022-11-01" in values
    # Without the built-in table the same frames need a full frame first.
    for frame in (_corpus_telegram("Vadden")[0], VOTTEN):
        with pytest.raises(wmbus.UnknownSignatureError):
            wmbus.Decoder(signatures=wmbus.SignatureCache(known_formats=False)).decode(frame)


def test_built_in_and_learned_formats_agree() -> None:
    learned = wmbus.Decoder(signatures=wmbus.SignatureCache(known_formats=False))
    learned.decode(FULL)
    assert _values(learned.decode(COMPACT)) == _values(wmbus.Decoder().decode(COMPACT))


def test_every_built_in_format_matches_its_signature() -> None:
    from wmbus._known_formats import KNOWN_FORMATS
    cache = wmbus.SignatureCache()
    for signature in KNOWN_FORMATS:
        headers = cache.headers(signature)
        assert headers is not None and wmbus.format_signature(headers) == signature
        assert signature in cache
    assert len(cache) == 0 and cache.to_dict() == {}  # the built-ins are not saved


def test_a_wrong_built_in_entry_never_decodes(monkeypatch: pytest.MonkeyPatch) -> None:
    from wmbus import _compact
    from wmbus._known_formats import KNOWN_FORMATS
    monkeypatch.setitem(KNOWN_FORMATS, 0xC412, ("typo", "02ff20041392013b"))
    monkeypatch.setattr(_compact, "_KNOWN_SHAPES", {})
    with pytest.raises(wmbus.WMBusError, match="built-in format 0xc412"):
        wmbus.Decoder().decode(_corpus_telegram("Vadden")[0])


def test_unknown_signature_message_says_what_to_do() -> None:
    frame = bytearray(_corpus_telegram("Vadden")[0])
    frame[20:22] = (0x1234).to_bytes(2, "little")  # the signature, after the ELL and CI 0x79
    frame[17:19] = wmbus.crc16_en13757(bytes(frame[19:])).to_bytes(2, "little")  # ELL CRC
    with pytest.raises(wmbus.UnknownSignatureError) as info:
        wmbus.Decoder().decode(bytes(frame))
    message = str(info.value)
    assert "format signature 0x1234 unknown" in message
    assert "feed a full frame of this meter" in message
    assert "record headers whose signature is 0x1234" in message
    assert info.value.offset == 20 and info.value.data == b"\x34\x12"


def test_a_sender_that_keeps_its_format_is_learned_again_after_eviction() -> None:
    # One entry only: another format evicts the sender's; its next full frame (same format,
    # not hashed again while stored) must store it again, so its compact frame decodes.
    cache = wmbus.SignatureCache(max_entries=1, known_formats=False)
    decoder = wmbus.Decoder(signatures=cache)
    decoder.decode(FULL)
    assert 0xD7C4 in cache
    cache.add([bytes.fromhex("0413")])
    assert 0xD7C4 not in cache
    decoder.decode(FULL)
    assert decoder.decode(COMPACT).compact is not None


@pytest.mark.parametrize(("driver", "signature"), [
    ("engelmann-faw", 0x052D), ("kampress", 0x73DE), ("kamheat", 0x52C2)])
def test_corpus_compact_frames_of_the_added_formats_decode(driver: str,
                                                           signature: int) -> None:
    """The formats added from public full frames: the corpus' compact frames of those
    meters (CI 0x73 with its 2F2F after decryption, and two CI 0x79) pass their CRC."""
    require(WMBUS)
    decoded = []
    for line in wmbus_lines():
        if line.get("driver") != driver:
            continue
        key = None if line.get("key", "NOKEY") == "NOKEY" else bytes.fromhex(line["key"])
        telegram = wmbus.Decoder(signatures=wmbus.SignatureCache()).decode(
            bytes.fromhex(line["telegram"]), key)
        if telegram.compact is not None and telegram.compact.signature == signature:
            decoded.append(telegram)
    assert decoded, f"no {driver} compact frame with signature 0x{signature:04x}"
    for telegram in decoded:
        assert telegram.records and telegram.record_error is None
