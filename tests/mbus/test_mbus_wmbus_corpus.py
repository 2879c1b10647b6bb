"""The wired M-Bus long frames among wmbusmeters' test telegrams (../shared/corpus/wmbus).

22 of them carry wmbusmeters' decoded output (``expected``): every number there must be
the value of one of our records, in the unit its key names (``total_kwh``, ``flow_c``,
``volume_flow_m3h``, ...), rounded as wmbusmeters printed it. The numbers we do not
find are listed in DEVIATIONS, each with its reason; a number that starts being found
fails the test until its entry is removed.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import mbus
import mbus.records

from .corpus import WMBUS, require, wmbus_lines

# Key suffix -> (our unit, how many of ours make one of theirs), tried in order.
SUFFIX_UNITS: dict[str, tuple[tuple[str, int], ...]] = {
    "kwh": (("Wh", 1000), ("J", 3_600_000)),
    "kvarh": (("Wh", 1000),),
    "kw": (("W", 1000),),
    "m3": (("m3", 1),),
    "m3h": (("m3/h", 1),),
    "c": (("degC", 1), ("K", 1)),
    "a": (("A", 1),),
    "v": (("V", 1),),
    "hz": (("Hz", 1),),
    "h": (("s", 3600),),
    "s": (("s", 1),),
    "rh": (("%", 1),),
}
# Keys with another suffix (counters, factors, kVA of manufacturer records) are
# compared with records that have no unit.
NO_UNIT: tuple[tuple[str, int], ...] = (("", 1),)

_IME = ("every record of this frame has a manufacturer-specific VIF (FF 8x ...): the "
        "wmbusmeters ime driver knows its quantity and scale (x0.01 kWh, x0.001 kW, "
        "minutes); EN 13757-3 defines neither, so we keep the raw integer without a unit")
_MANUFACTURER_FREQUENCY = ("the frequency is a manufacturer-specific record ({}): we decode "
                           "the number ({}) without a unit; wmbusmeters' driver knows "
                           "it is Hz{}")

DEVIATIONS: dict[str, dict[str, str]] = {
    "iem3000.xmq/Schneider1": {
        "frequency_hz": _MANUFACTURER_FREQUENCY.format("05 FF 0B, REAL32", "49.99256...", "")},
    "iem3000.xmq/S2_1": {
        "frequency_hz": _MANUFACTURER_FREQUENCY.format("05 FF 0B, REAL32", "50.02125...", "")},
    "iem3000.xmq/S4_1": {
        "frequency_hz": _MANUFACTURER_FREQUENCY.format("05 FF 0B, REAL32", "50.04811...", "")},
    "iem3000.xmq/S4_3": {
        "nominal_frequency_hz": _MANUFACTURER_FREQUENCY.format("03 FF 24, int24", "50", "")},
    "nemo.xmq/Elen#2": {
        "frequency_hz": _MANUFACTURER_FREQUENCY.format("05 FF 5A, REAL32", "500.0",
                                                       " scaled by 0.1")},
    "ime.xmq/MyMeter": dict.fromkeys([
        "negative_tariff1_reactive_energy_kvarh", "negative_total_reactive_energy_kvarh",
        "partial_negative_reactive_energy_kvarh", "partial_positive_active_energy_kwh",
        "partial_positive_reactive_energy_kvarh", "positive_tariff1_active_energy_kwh",
        "positive_tariff1_reactive_energy_kvarh", "positive_tariff2_active_energy_kwh",
        "positive_tariff2_reactive_energy_kvarh", "positive_total_active_energy_kwh",
        "positive_total_reactive_energy_kvarh",
        # zero, but in Wh; our records of this frame have no unit at all
        "negative_tariff1_active_energy_kwh", "negative_tariff2_active_energy_kwh",
        "negative_tariff2_reactive_energy_kvarh", "negative_total_active_energy_kwh",
        "partial_negative_active_energy_kwh"], _IME),
    "ime.xmq/MyMeter#2": dict.fromkeys([
        "active_power_l1_kw", "active_power_l2_kw", "active_power_l3_kw",
        "apparent_power_l2_kva", "three_phase_total_active_power_kw",
        "three_phase_total_apparent_power_kva"], _IME),
    "ime.xmq/MyMeter#3": dict.fromkeys([
        "max_total_active_power_tariff1_kw", "max_total_active_power_tariff2_kw",
        "run_meter_tariff1_h", "run_meter_tariff2_h", "run_meter_total_h",
        "three_phase_power_factor", "total_active_power_requirement_kw"], _IME),
}


def _wired() -> list[tuple[str, dict[str, Any]]]:
    """(label, corpus line) of each wired long frame; the label names source and meter."""
    out: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for line in wmbus_lines():
        data = bytes.fromhex(line["telegram"])
        if len(data) > 4 and data[0] == 0x68 and data[1] == data[2] and data[3] == 0x68:
            label = f"{Path(line['source']).name}/{line.get('name', len(out))}"
            seen[label] = seen.get(label, 0) + 1
            out.append((label if seen[label] == 1 else f"{label}#{seen[label]}", line))
    return out


WIRED = _wired()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _found(key: str, expected: int | float, records: list[dict[str, Any]]) -> bool:
    """Whether a record holds ``expected`` in the unit ``key`` names, as rounded there."""
    places = max(-int(Decimal(repr(expected)).as_tuple().exponent), 0)
    wanted = Decimal(repr(expected))
    for unit, factor in SUFFIX_UNITS.get(key.rsplit("_", 1)[-1], NO_UNIT):
        for record in records:
            value = record["value"]
            if (record["unit"] == unit and _is_number(value)
                    and round(Decimal(repr(value)) / factor, places) == wanted):
                return True
    return False


def _decode(data: bytes) -> mbus.Telegram:
    size = mbus.records.frame_length(data)
    assert size is not None
    if size < len(data):
        # One upstream test script appends a wireless telegram after the wired frame:
        # mbus.decode() refuses the trailer, the framer splits it off.
        with pytest.raises(mbus.FrameError, match="follow the end of the frame"):
            mbus.decode(data)
    return mbus.decode(data[:size])


@pytest.mark.parametrize(("label", "line"), WIRED, ids=[label for label, _ in WIRED])
def test_wired_frame_decodes_to_the_values_wmbusmeters_found(label: str,
                                                             line: dict[str, Any]) -> None:
    data = bytes.fromhex(line["telegram"])
    try:
        telegram = _decode(data)
    except mbus.EncryptedError as error:
        # OMS Annex N.5.4: mode 5, one encrypted block; the key is wmbus's business.
        assert (error.mode, error.blocks) == (5, 1)
        assert "expected" not in line
        return
    assert telegram.header is not None and telegram.records
    records = telegram.to_dict()["records"]
    expected = line.get("expected")
    if expected is None:
        assert all("value" in record for record in records)
        return
    assert telegram.header.id == expected["id"]
    numbers = {key: value for key, value in expected.items() if _is_number(value)}
    missing = {key for key, value in numbers.items() if not _found(key, value, records)}
    listed = set(DEVIATIONS.get(label, {}))
    assert missing - listed == set(), f"{label}: not found and not listed: {missing - listed}"
    assert listed - missing == set(), f"{label}: found now, remove from DEVIATIONS: " \
                                      f"{listed - missing}"


def test_wired_frames_present() -> None:
    require(WMBUS)
    assert len(WIRED) == 28
    assert sum("expected" in line for _, line in WIRED) == 22


def test_every_deviation_names_a_frame_and_a_key_of_the_corpus() -> None:
    require(WMBUS)
    lines = dict(WIRED)
    for label, keys in DEVIATIONS.items():
        assert label in lines, label
        assert set(keys) <= set(lines[label]["expected"]), label
        assert all(reason for reason in keys.values())


def test_values_found_overall() -> None:
    require(WMBUS)
    numbers = found = 0
    for _, line in WIRED:
        if "expected" not in line:
            continue
        records = _decode(bytes.fromhex(line["telegram"])).to_dict()["records"]
        for key, value in line["expected"].items():
            if _is_number(value):
                numbers += 1
                found += _found(key, value, records)
    # Measured: 278 of 312 numbers; the other 34 are the deviations above.
    assert (found, numbers) == (numbers - sum(map(len, DEVIATIONS.values())), numbers)
