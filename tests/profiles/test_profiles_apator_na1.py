"""Apator NA-1: the ``apator_aes_slice`` transform, its context and the shipped profile.

The expected numbers are wmbusmeters' output for the same telegrams (the corpus line's
``expected``), read from ../shared/corpus at test time; the telegrams carry their key.
"""

from __future__ import annotations

import pickle
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

import wmbus
from profiles.transforms import (
    NO_CONTEXT,
    TRANSFORMS,
    TransformContext,
    TransformError,
    apator_aes_slice,
)
from tests.mbus.corpus import WMBUS, require, wmbus_lines

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


def test_the_registry_names_it() -> None:
    assert TRANSFORMS["apator_aes_slice"] is apator_aes_slice


def test_it_decrypts_the_slice_with_the_mode_5_iv() -> None:
    plain = bytes.fromhex("2f0102030405060708090a0b0c0d0e0f")
    payload = encrypted_payload(plain)
    out = apator_aes_slice(payload, TransformContext(KEY, LINK_ADDRESS))
    assert out == payload[:2] + plain


def test_bytes_after_the_slice_are_kept() -> None:
    payload = encrypted_payload(b"\x2f" + bytes(15)) + b"\xaa\xbb"
    assert apator_aes_slice(payload, TransformContext(KEY, LINK_ADDRESS))[-2:] == b"\xaa\xbb"


def test_a_wrong_key_is_an_error_not_values() -> None:
    payload = encrypted_payload(b"\x2f" + bytes(15))
    wrong = bytes(16)
    with pytest.raises(TransformError, match="wrong key") as caught:
        apator_aes_slice(payload, TransformContext(wrong, LINK_ADDRESS))
    assert caught.value.offset == 2


@pytest.mark.parametrize(("context", "message"), [
    (NO_CONTEXT, "needs the meter's AES-128 key"),
    (TransformContext(bytes(8), LINK_ADDRESS), r"16-byte AES-128 key.*has 8 bytes"),
    (TransformContext(KEY, b""), "M and A fields"),
])
def test_a_missing_key_or_address_is_an_error(context: TransformContext, message: str) -> None:
    with pytest.raises(TransformError, match=message) as caught:
        apator_aes_slice(encrypted_payload(b"\x2f" + bytes(15)), context)
    assert caught.value.offset == 2


def test_a_short_payload_is_an_error() -> None:
    with pytest.raises(TransformError, match=r"at least 18 bytes.*this one 17") as caught:
        apator_aes_slice(bytes(17), TransformContext(KEY, LINK_ADDRESS))
    assert caught.value.offset == 17


@given(data=st.binary(max_size=40), key=st.binary(min_size=16, max_size=16))
def test_arbitrary_bytes_give_bytes_or_a_transform_error(data: bytes, key: bytes) -> None:
    try:
        out = apator_aes_slice(data, TransformContext(key, LINK_ADDRESS))
    except TransformError:
        return
    assert len(out) == len(data) and out[2] == 0x2F


def test_the_context_never_shows_the_key() -> None:
    context = TransformContext(KEY, LINK_ADDRESS)
    assert KEY.hex() not in repr(context)
    assert pickle.loads(pickle.dumps(context)) == context


def test_corpus_slices_decrypt_to_the_totals_wmbusmeters_printed() -> None:
    for line in na1_lines():
        frame = bytes.fromhex(line["telegram"])
        telegram = wmbus.Decoder(profiles=False).decode(frame)
        out = apator_aes_slice(telegram.payload,
                               TransformContext(bytes.fromhex(line["key"]), frame[2:10]))
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
        for name in ("frame_status", "historic_status"):
            assert (meter[name] or "OK") == expected[name], name
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
