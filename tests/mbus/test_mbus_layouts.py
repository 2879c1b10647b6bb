"""The scan's layout cache: a telegram whose header bytes match a learnt layout scans the same.

The reference is the scan itself without the cache (``_records._scan``): whatever the
cache holds, ``scan_records`` must give the same pairs, or raise the same error.
"""

from __future__ import annotations

import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mbus
import mbus.records
from mbus import _records

# Whole records of several kinds: numbers, BCD, dates, DIFE and VIFE chains, plain-text
# units, LVAR text and BCD, REAL32, fillers, and special DIFs that end the records.
_RECORDS = [bytes.fromhex(h) for h in (
    "0413e8030000", "026c5f2c", "046d3b17e0ec", "0c0678563412", "04fb827500000080",
    "8c10139910f012", "0dfd0e03414243", "0dfd0ec2123f", "053e0000803f", "01fd1701",
    "0c1345a2ff00", "2f", "2f2f", "02fc0341424301ff", "8440fd9b2e02000000", "4c1301020304")]
_TAILS = [b"", b"\x0f\x01\x02", b"\x1f", b"\x0f"]


def reference(data: bytes) -> tuple[object, ...]:
    """The scan without the cache: its pairs, or the error it raises."""
    try:
        return ("pairs", tuple(_records._scan(data, 0, len(data), False, False, 0, None)))
    except mbus.MBusError as exc:
        return ("error", type(exc), str(exc))


# Every structure seen, by id, with the shapes it stood for (the test keeps it alive).
_STRUCTURES: dict[int, tuple[object, tuple[object, ...]]] = {}


def scanned(data: bytes) -> tuple[object, ...]:
    try:
        pairs = mbus.records.scan_records(data)
    except mbus.MBusError as exc:
        return ("error", type(exc), str(exc))
    assert isinstance(pairs, mbus.records.PendingRecords)
    shapes = tuple(shape for shape, _ in pairs)
    if pairs.structure is not None:  # stands for these very shapes, whoever passes it
        assert pairs.structure == shapes
        assert all(map(operator.is_, pairs.structure, shapes))
        kept = _STRUCTURES.setdefault(id(pairs.structure), (pairs.structure, shapes))
        assert kept[0] is pairs.structure and all(map(operator.is_, kept[1], shapes))
    return ("pairs", tuple(pairs))


@st.composite
def bodies_and_variants(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A body of records and the same body with some of its bytes changed."""
    body = b"".join(draw(st.lists(st.sampled_from(_RECORDS), min_size=1, max_size=8)))
    body += draw(st.sampled_from(_TAILS))
    changed = bytearray(body)
    for index in draw(st.lists(st.integers(0, len(body) - 1), max_size=3)):
        changed[index] = draw(st.integers(0, 255))
    return body, bytes(changed)


@settings(max_examples=400)
@given(bodies_and_variants())
def test_a_learnt_layout_scans_like_the_scan(case: tuple[bytes, bytes]) -> None:
    body, variant = case
    _records._LAYOUTS.clear()
    _STRUCTURES.clear()
    for _ in range(3):  # first sight, learnt on the second, used on the third
        assert scanned(body) == reference(body)
    assert scanned(variant) == reference(variant)  # same key, maybe another layout
    assert scanned(variant) == reference(variant)
    assert scanned(body) == reference(body)


def test_a_telegram_with_other_data_takes_the_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    # Volume, a date, a DIFE chain, LVAR text, manufacturer data: only data bytes differ.
    first = bytes.fromhex("0413e8030000" "026c5f2c" "8c101399100000" "0dfd0e03414243" "0f0102")
    second = bytes.fromhex("041301020304" "026c1a2b" "8c101312345678" "0dfd0e03646566" "0f0809")
    _records._LAYOUTS.clear()
    assert mbus.records.scan_records(first).structure is None  # first sight: no layout
    learnt = mbus.records.scan_records(first)  # second sight: learnt, with its structure
    assert learnt.structure is not None
    expected = tuple(_records._scan(second, 0, len(second), False, False, 0, None))

    def no_scan(*args: object) -> None:
        raise AssertionError("scanned although the layout matches")

    monkeypatch.setattr(_records, "_scan", no_scan)
    found = mbus.records.scan_records(second)
    assert tuple(found) == expected
    # The layout's shapes, shared: the same object for every telegram of the layout.
    assert found.structure is not None and found.structure == tuple(s for s, _ in expected)
    assert found.structure is learnt.structure
    assert mbus.records.scan_records(first).structure is found.structure
    assert [data.hex() for _, data in expected] == ["01020304", "1a2b", "12345678", "03646566",
                                                    "0809"]


def test_a_changed_lvar_or_header_byte_is_scanned_again() -> None:
    first = bytes.fromhex("0413e8030000" "0dfd0e03414243" "2f2f")
    _records._LAYOUTS.clear()
    mbus.records.scan_records(first)
    mbus.records.scan_records(first)
    # The LVAR byte 03 -> 01: one character, then 42 43 2f2f is a record (DIF 0x42: int16).
    shorter = bytes.fromhex("0413e8030000" "0dfd0e01414243" "2f2f")
    pairs = scanned(shorter)
    assert pairs == reference(shorter)
    assert [(shape.header.hex(), data.hex()) for shape, data in pairs[1]] == [  # type: ignore[attr-defined]
        ("0413", "e8030000"), ("0dfd0e", "0141"), ("4243", "2f2f")]
    # A VIF 13 -> 14 (volume in 10 l): the same positions, another shape.
    other = bytes.fromhex("0414e8030000" "0dfd0e03414243" "2f2f")
    pairs = scanned(other)
    assert pairs == reference(other)
    assert pairs[0] == "pairs" and pairs[1][0][0].exponent == -2  # type: ignore[index]
