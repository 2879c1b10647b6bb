"""The shipped meter profiles: each on real dev-corpus telegrams, each status entry."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import wmbus
from profiles import (
    FieldRule,
    MeterFields,
    MeterProfile,
    RecordSelector,
    StatusTable,
    apply_profile,
    load_meter_profile,
    shipped_profiles,
)
from tests.mbus.corpus import WMBUS, require, wmbus_lines
from tests.profiles.heads import Head
from tests.profiles.test_profiles_families import FAMILY_DRIVERS

# Shipped profile -> the wmbusmeters drivers (corpus "driver") whose telegrams it names.
CORPUS_DRIVERS = {
    "kamstrup_multical21": ("multical21",),
}


def decoded_meter(line: dict[str, Any]) -> MeterFields | None:
    """The meter part of a corpus line's telegram (None when it does not decode)."""
    key = None if line.get("key", "NOKEY") == "NOKEY" else bytes.fromhex(line["key"])
    decoder = wmbus.Decoder(already_decrypted=True)
    try:
        for prior in line.get("prior_telegrams", []):
            decoder.decode(bytes.fromhex(prior), key=key)
        return decoder.decode(bytes.fromhex(line["telegram"]), key=key).meter
    except wmbus.WMBusError:
        return None


def same(expected: object, found: object) -> bool:
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return isinstance(found, (int, float, Decimal)) and Decimal(str(expected)) == Decimal(
            str(found))
    return expected == found


@pytest.mark.parametrize("name", sorted(CORPUS_DRIVERS))
def test_shipped_profile_names_real_telegrams(name: str) -> None:
    require(WMBUS)
    lines = [line for line in wmbus_lines() if line.get("driver") in CORPUS_DRIVERS[name]
             and line.get("expected")]
    compared = 0
    for line in lines:
        meter = decoded_meter(line)
        if meter is None:
            continue
        assert meter.profile == name, line["telegram"]
        values = meter.values
        for key, expected in line["expected"].items():
            if key in values:
                assert same(expected, values[key]), (line["telegram"], key, expected,
                                                     values[key])
                compared += 1
    assert compared >= 4, f"too few values of {name} compared with the corpus: {compared}"


def test_every_shipped_meter_profile_has_corpus_telegrams() -> None:
    names = {path.stem for path in shipped_profiles("meter")}
    missing = names - set(CORPUS_DRIVERS) - set(FAMILY_DRIVERS)
    assert not missing, f"shipped profiles without a corpus test: {sorted(missing)}"



def head_for(selector: RecordSelector) -> Head:
    """A record head the selector takes."""
    def first(ranges: tuple[tuple[int, int], ...] | None) -> int:
        return 0 if ranges is None else ranges[0][0]

    vif_hex = selector.vib or (f"{first(selector.vif):02x}" if selector.vif else "")
    function = sorted(selector.functions)[0] if selector.functions else "instantaneous"
    return Head(selector.quantity or "status_source", "", first(selector.storage), function,
                first(selector.tariff), first(selector.subunit),
                tuple(sorted(selector.extensions or ())), vif_hex)


def status_cases() -> list[tuple[str, int, int, str]]:
    cases = []
    for path in shipped_profiles("meter"):
        profile = load_meter_profile(path)
        for index, table in enumerate(profile.status):
            entries = table.bits or table.values
            for number, text in entries:
                if text:
                    cases.append((path.stem, index, number, text))
    return cases


def status_fields(profile: MeterProfile, table: StatusTable, value: int) -> MeterFields:
    if table.source == "header":
        return apply_profile(profile, [], lambda index: None, status=value)
    if table.source == "record":
        assert table.selector is not None
        heads = [head_for(table.selector)]
    else:
        rule: FieldRule = next(rule for rule in profile.fields if rule.name == table.field)
        heads = [head_for(rule.selector)]
    return apply_profile(profile, heads, lambda index: value)


@pytest.mark.parametrize(("name", "index", "number", "text"), status_cases())
def test_each_status_entry_gives_its_text(name: str, index: int, number: int,
                                          text: str) -> None:
    profile = load_meter_profile(next(path for path in shipped_profiles("meter")
                                      if path.stem == name))
    table = profile.status[index]
    value = number if table.bits or table.mask is None else number & table.mask
    fields = status_fields(profile, table, value)
    assert text in str(fields[table.into]).split(" ") or fields[table.into] == text


def bits_tables() -> list[tuple[str, int]]:
    return [(path.stem, index) for path in shipped_profiles("meter")
            for index, table in enumerate(load_meter_profile(path).status) if table.bits]


@pytest.mark.parametrize(("name", "index"), bits_tables())
def test_each_bits_table_with_no_bit_set_says_its_none_text(name: str, index: int) -> None:
    """No bit set: "OK" (or the table's ``none`` text), never a missing field."""
    profile = load_meter_profile(next(path for path in shipped_profiles("meter")
                                      if path.stem == name))
    table = profile.status[index]
    fields = status_fields(profile, table, 0)
    assert fields[table.into] == ("OK" if table.into == "status" else table.none)


def documented_profiles() -> list[str]:
    """The profile names listed under "Shipped meter profiles" in docs/profiles.rst."""
    text = (Path(__file__).parents[2] / "docs" / "profiles.rst").read_text(encoding="utf-8")
    section = text.split("\nShipped meter profiles\n", 1)[1].split("\nModbus register maps\n")[0]
    return re.findall(r"^   \* - ``(\w+)``$", section, flags=re.MULTILINE)


def test_the_docs_list_every_shipped_meter_profile_once() -> None:
    listed = documented_profiles()
    shipped = sorted(path.stem for path in shipped_profiles("meter"))
    assert sorted(listed) == shipped, (set(shipped) - set(listed), set(listed) - set(shipped))
    assert len(listed) == len(set(listed))
