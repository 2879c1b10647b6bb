"""Apator NA-1: the ``apator_aes_slice`` transform, its context and the shipped profile.

The expected numbers are wmbusmeters' output for the same telegrams (the corpus line's
``expected``), read from ../shared/corpus at test time; the telegrams carry their key.
"""

from __future__ import annotations

import json
import pickle
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

import wmbus
from profiles.transforms import (
    KEYED_TRANSFORMS,
    NO_CONTEXT,
    TRANSFORMS,
    TransformError,
    WrongKeyError,
    apator_aes_slice,
    decrypt_apator_slice,
    keyed_context,
)
from tests.mbus.corpus import WMBUS, require, wmbus_lines
from tests.profiles import na1_frames

LINK_ADDRESS = bytes.fromhex("0106813591041407")  # APA 04913581, version 0x14, water
KEY = bytes(range(16))


def na1_lines() -> list[dict[str, Any]]:
    require(WMBUS)
    lines = [line for line in wmbus_lines() if line.get("driver") == "apatorna1"
             and line.get("expected")]
    assert lines, "no Apator NA-1 telegrams in the corpus"
    return lines


def encrypted_payload(plain: bytes, key: bytes = KEY, access: int = 0x42,
                      frame_status: int = 0x01) -> bytes:
    """A payload as an NA-1 sends it, made here with ``cryptography``'s own CBC."""
    iv = LINK_ADDRESS + bytes((access,)) * 8
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return bytes((access, frame_status)) + encryptor.update(plain) + encryptor.finalize()


def test_the_registries_name_it() -> None:
    assert TRANSFORMS["apator_aes_slice"] is apator_aes_slice
    assert KEYED_TRANSFORMS["apator_aes_slice"] is decrypt_apator_slice


def test_it_decrypts_the_slice_with_the_mode_5_iv() -> None:
    plain = bytes.fromhex("2f0102030405060708090a0b0c0d0e0f")
    payload = encrypted_payload(plain)
    assert decrypt_apator_slice(payload, KEY, LINK_ADDRESS) == payload[:2] + plain
    out = apator_aes_slice(payload, keyed_context(payload, KEY, LINK_ADDRESS))
    assert out == payload[:2] + plain


def test_bytes_after_the_slice_are_kept() -> None:
    payload = encrypted_payload(b"\x2f" + bytes(15)) + b"\xaa\xbb"
    context = keyed_context(payload, KEY, LINK_ADDRESS)
    assert apator_aes_slice(payload, context)[-2:] == b"\xaa\xbb"


def test_a_wrong_key_is_a_wrong_key_error_not_values() -> None:
    payload = encrypted_payload(b"\x2f" + bytes(15))
    wrong = bytes(16)
    with pytest.raises(WrongKeyError, match="wrong key") as caught:
        decrypt_apator_slice(payload, wrong, LINK_ADDRESS)
    assert caught.value.offset == 2
    context = keyed_context(payload, wrong, LINK_ADDRESS)
    for _ in range(2):  # the kept error is raised again each time, as a fresh copy
        with pytest.raises(WrongKeyError, match="wrong key") as caught:
            apator_aes_slice(payload, context)
        assert caught.value.offset == 2 and caught.value.__traceback__ is not None
    assert context.keyed[0].error is not None
    assert context.keyed[0].error.__traceback__ is None  # holds no frame (nor its key)


def test_the_key_check_refuses_255_wrong_keys_in_256() -> None:
    """The only fixed plaintext byte is 0x2F: a wrong key passes once in 256 (the module
    text says so); over many wrong keys, about that share passes, no more."""
    payload = encrypted_payload(b"\x2f" + bytes(15))
    passed = 0
    for number in range(4096):
        try:
            decrypt_apator_slice(payload, number.to_bytes(16, "big"), LINK_ADDRESS)
        except WrongKeyError:
            continue
        passed += 1
    assert 4 <= passed <= 40  # 16 expected; far from "every wrong key passes"


@pytest.mark.parametrize(("key", "address", "message"), [
    (bytes(8), LINK_ADDRESS, r"16-byte AES-128 key.*has 8 bytes"),
    (KEY, b"", "M and A fields"),
])
def test_a_short_key_or_no_address_is_an_error(key: bytes, address: bytes,
                                                message: str) -> None:
    payload = encrypted_payload(b"\x2f" + bytes(15))
    with pytest.raises(TransformError, match=message) as caught:
        apator_aes_slice(payload, keyed_context(payload, key, address))
    assert caught.value.offset == 2


def test_without_a_key_it_is_an_error() -> None:
    payload = encrypted_payload(b"\x2f" + bytes(15))
    with pytest.raises(TransformError, match="needs the meter's AES-128 key") as caught:
        apator_aes_slice(payload, NO_CONTEXT)
    assert caught.value.offset == 2
    # What was made for other bytes is not used for these.
    other = keyed_context(encrypted_payload(b"\x2f" + bytes(15), access=7), KEY, LINK_ADDRESS)
    with pytest.raises(TransformError, match="needs the meter's AES-128 key"):
        apator_aes_slice(payload, other)


def test_a_short_payload_is_an_error() -> None:
    with pytest.raises(TransformError, match=r"at least 18 bytes.*this one 17") as caught:
        apator_aes_slice(bytes(17), keyed_context(bytes(17), KEY, LINK_ADDRESS))
    assert caught.value.offset == 17
    with pytest.raises(TransformError, match=r"at least 18 bytes.*this one 17"):
        apator_aes_slice(bytes(17), NO_CONTEXT)


@given(data=st.binary(max_size=40), key=st.binary(min_size=16, max_size=16))
def test_arbitrary_bytes_give_bytes_or_a_transform_error(data: bytes, key: bytes) -> None:
    try:
        out = apator_aes_slice(data, keyed_context(data, key, LINK_ADDRESS))
    except TransformError:
        return
    assert len(out) == len(data) and out[2] == 0x2F


@pytest.mark.parametrize("plain", [b"\x2f" + bytes(15), b"\x00" + bytes(15)],
                         ids=["right key", "wrong key"])
def test_the_context_holds_no_key(plain: bytes) -> None:
    payload = encrypted_payload(plain)
    context = keyed_context(payload, KEY, LINK_ADDRESS)
    for shown in (repr(context), pickle.dumps(context)):
        assert KEY not in (shown if isinstance(shown, bytes) else shown.encode())
        assert KEY.hex() not in str(shown)
    assert pickle.loads(pickle.dumps(context)).keyed[0].output == context.keyed[0].output


def test_corpus_slices_decrypt_to_the_totals_wmbusmeters_printed() -> None:
    for line in na1_lines():
        frame = bytes.fromhex(line["telegram"])
        telegram = wmbus.Decoder(profiles=False).decode(frame)
        out = decrypt_apator_slice(telegram.payload, bytes.fromhex(line["key"]), frame[2:10])
        packed = int.from_bytes(out[3:7], "little")
        litres = ((packed >> 8) * 16 + (packed & 0x0F)) * 10 ** ((packed >> 4) & 0x03)
        assert Decimal(litres) / 1000 == Decimal(repr(line["expected"]["total_m3"]))


@pytest.mark.parametrize("how", ["argument", "key store"])
def test_the_decoder_gives_the_profile_the_meters_key(how: str) -> None:
    for line in na1_lines():
        frame, key = bytes.fromhex(line["telegram"]), bytes.fromhex(line["key"])
        if how == "argument":
            telegram = wmbus.Decoder().decode(frame, key)
        else:
            telegram = wmbus.Decoder(keys={line["expected"]["id"]: key.hex()}).decode(frame)
        meter = telegram.meter
        assert meter is not None and meter.profile == "apator_na1"
        expected = line["expected"]
        for name in ("total_m3", "historic_m3", "historic_age_h"):
            assert Decimal(str(meter[name])) == Decimal(repr(expected[name])), name
        for name in ("frame_status", "current_status", "historic_status"):
            assert meter[name] == expected[name], name
        assert meter["status"] == expected["current_status"]
        assert meter.problems == ()
        assert key.hex() not in repr(telegram)
        assert key.hex() not in str(telegram.to_dict())


@pytest.mark.parametrize("key", [None, bytes.fromhex("11" * 16)], ids=["no key", "wrong key"])
def test_without_the_right_key_no_value_flows_on(key: bytes | None) -> None:
    line = na1_lines()[0]
    telegram = wmbus.Decoder().decode(bytes.fromhex(line["telegram"]), key)
    meter = telegram.meter
    assert meter is not None and meter.profile == "apator_na1"
    assert "total_m3" not in meter.values and "historic_m3" not in meter.values
    assert meter["frame_status"] == line["expected"]["frame_status"]  # sent in clear
    reason = "needs the meter's AES-128 key" if key is None else "wrong key"
    assert any(reason in problem for problem in meter.problems), meter.problems


# --- telegrams made here (tests/profiles/na1_frames.py), decoded whole ------------------------

def test_a_decoded_telegram_keeps_no_key_in_pickles_repr_or_to_dict() -> None:
    frame = na1_frames.na1_frame(na1_frames.plaintext(litres=345312, exponent=1, age_h=545,
                                                      delta=1000))
    decoder = wmbus.Decoder(keys={na1_frames.ID: na1_frames.KEY.hex()})
    telegram = decoder.decode(frame)
    key = na1_frames.KEY
    for stage in ("before the meter part is made", "after"):
        if stage == "after":
            assert telegram.meter is not None and telegram.meter["total_m3"] == Decimal(
                "3453.12")
        pickled = pickle.dumps(telegram)
        shown = repr(telegram) + json.dumps(telegram.to_dict())
        assert key not in pickled and key.hex() not in shown and key.hex().upper() not in shown
        again, meter = pickle.loads(pickled).meter, telegram.meter
        assert again is not None and meter is not None and again.problems == ()
        assert again.values == meter.values  # decodes after the round trip


def test_a_pickled_telegram_still_gives_the_decrypted_fields() -> None:
    frame = na1_frames.na1_frame(na1_frames.plaintext(
        litres=0x1234567, exponent=2, seconds=24 * 3600 * 366, age_h=0x3FF, delta=0x2ABCDEF,
        current=0x08, historic=0x81), frame_status=0x21)
    telegram = wmbus.Decoder(keys={na1_frames.ID: na1_frames.KEY.hex()}).decode(frame)
    meter = pickle.loads(pickle.dumps(telegram)).meter
    assert meter is not None and meter.profile == "apator_na1" and meter.problems == ()
    assert meter["total_m3"] == Decimal(0x1234567 * 100) / 1000
    assert meter["historic_m3"] == Decimal((0x1234567 - 0x2ABCDEF) * 100) / 1000
    assert meter["historic_age_h"] == 0x3FF
    assert meter["frame_status"] == "SUMMER_TIME INSTALL_FRAME"
    assert meter["current_status"] == meter["status"] == "LEAK"
    assert meter["historic_status"] == "BATTERY_LIFETIME_THRESHOLD_EXCEEDED MINIMUM_FLOW"
    # The packed parts the formulas read are inputs, not output.
    assert list(meter.values) == ["total_m3", "historic_age_h", "historic_m3", "status",
                                  "frame_status", "current_status", "historic_status"]


def test_no_bit_set_says_ok_in_each_status_field() -> None:
    frame = na1_frames.na1_frame(na1_frames.plaintext(litres=1))
    meter = wmbus.Decoder(keys={na1_frames.ID: na1_frames.KEY.hex()}).decode(frame).meter
    assert meter is not None
    assert [meter[name] for name in ("status", "frame_status", "current_status",
                                     "historic_status")] == ["OK"] * 4


@pytest.mark.parametrize("keys", [{}, {na1_frames.ID: "11" * 16}, {na1_frames.ID: "11" * 8}],
                         ids=["no key", "wrong key", "DES-sized key"])
def test_without_the_right_key_the_meter_part_says_why_and_gives_no_value(
        keys: dict[str, str]) -> None:
    frame = na1_frames.na1_frame(na1_frames.plaintext(litres=1000), frame_status=0x01)
    meter = wmbus.Decoder(keys=keys).decode(frame).meter
    assert meter is not None and meter.profile == "apator_na1"
    # Nothing read from the encrypted block, nor a status claiming "OK" for it.
    assert meter.values == {"frame_status": "SUMMER_TIME"}  # sent in clear
    reason = {0: "needs the meter's AES-128 key", 1: "wrong key for this meter",
              2: "16-byte AES-128 key"}[len(keys) and 1 + (len(keys[na1_frames.ID]) == 16)]
    assert len(meter.problems) == 1 and reason in meter.problems[0], meter.problems
