"""The family transforms on real corpus telegrams, on malformed bytes, on arbitrary bytes.

The expected numbers are wmbusmeters' output for the same telegrams (the corpus line's
``expected``), read from ../shared/corpus at test time.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wmbus
from profiles.transforms import (
    NO_CONTEXT,
    TRANSFORMS,
    TransformError,
    apator162_registers,
    bfw240_history,
)
from tests.mbus.corpus import WMBUS, require, wmbus_lines


def corpus_telegrams(driver: str) -> list[tuple[dict[str, Any], wmbus.Telegram]]:
    """(line, decoded telegram) of the corpus lines of one wmbusmeters driver."""
    require(WMBUS)
    out = []
    for line in wmbus_lines():
        if line.get("driver") == driver and line.get("expected"):
            key = None if line.get("key", "NOKEY") == "NOKEY" else bytes.fromhex(line["key"])
            decoder = wmbus.Decoder(already_decrypted=True)
            out.append((line, decoder.decode(bytes.fromhex(line["telegram"]), key)))
    assert out, f"no {driver} telegrams in the corpus"
    return out


def uint(data: bytes, start: int, length: int) -> int:
    return int.from_bytes(data[start:start + length], "little")


def test_the_registry_names_the_family_transforms() -> None:
    assert TRANSFORMS["bfw240_history"] is bfw240_history
    assert TRANSFORMS["apator162_registers"] is apator162_registers


def test_bfw240_history_gives_the_units_wmbusmeters_printed() -> None:
    for line, telegram in corpus_telegrams("bfw240radio"):
        out = bfw240_history(telegram.payload)
        expected = line["expected"]
        assert uint(out, 0, 2) == expected["prev_hca"]
        assert uint(out, 2, 2) == expected["current_hca"]
        for month in range(1, 19):
            assert uint(out, 2 + 2 * month, 2) == expected[f"prev_{month:02d}_hca"], month
        day, month_bcd, year = out[40:43]
        assert f"20{year:02x}-{month_bcd:02x}-{day:02x}" == expected["device_date"]


def test_bfw240_history_refuses_a_short_payload() -> None:
    with pytest.raises(TransformError, match="BFW 240 payload has 40 bytes") as caught:
        bfw240_history(bytes(39))
    assert caught.value.offset == 39


def manufacturer_data(telegram: wmbus.Telegram) -> bytes:
    record = telegram.records[-1]
    assert record.function == "manufacturer_specific"
    return record.data


def test_apator162_registers_give_the_total_wmbusmeters_printed() -> None:
    for line, telegram in corpus_telegrams("apator162"):
        data = manufacturer_data(telegram)
        out = apator162_registers(data)
        assert out[:7] == data[:7]
        litres = uint(out, 7, 4)
        assert Decimal(litres) / 1000 == Decimal(repr(line["expected"]["total_m3"]))


def test_apator162_without_a_total_register_says_absent() -> None:
    data = bytes(7) + bytes((0x11, 0x34, 0x12)) + b"\xff\xff" + b"\x00\x00"
    assert apator162_registers(data) == bytes(7) + b"\xff\xff\xff\xff"


@pytest.mark.parametrize(("data", "message", "offset"), [
    (bytes(8), "7 status bytes and a checksum", 8),
    (bytes(7) + b"\x55\x00\x00\x00", "register 0x55 has no known length", 7),
    (bytes(7) + b"\x10\x01\x02\x00\x00", "register 0x10 needs 4 bytes, 2 are left", 7),
])
def test_apator162_refuses_malformed_registers(data: bytes, message: str, offset: int) -> None:
    with pytest.raises(TransformError, match=message) as caught:
        apator162_registers(data)
    assert caught.value.offset == offset


@pytest.mark.parametrize("name", ["apator162_registers", "bfw240_history"])
@given(data=st.binary(max_size=80))
def test_arbitrary_bytes_give_bytes_or_a_transform_error(name: str, data: bytes) -> None:
    try:
        out = TRANSFORMS[name](data, NO_CONTEXT)
    except TransformError:
        return
    assert isinstance(out, bytes)
