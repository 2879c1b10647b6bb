"""The shipped family profiles on real telegrams of the dev corpus (read where it lies).

Each family profile names the telegrams of the wmbusmeters drivers listed for it in
:data:`FAMILY_DRIVERS`: every such telegram that decodes must get that profile, and
every number wmbusmeters printed under a name the profile also gives must be the
field's value (as wmbusmeters prints it: at most 6 decimals). The status tables of all
shipped profiles are tested entry by entry in ``test_profiles_shipped``.

The whole-corpus figure (expected numbers found among the named fields) is measured by
``python -m tests.profiles.coverage``; :func:`test_corpus_coverage` keeps it from falling
and refuses any value that differs from wmbusmeters'.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import profiles
import wmbus
from tests.mbus.corpus import WMBUS, require, wmbus_lines

from . import coverage

# Shipped profile -> the wmbusmeters drivers (corpus "driver") whose telegrams it names.
FAMILY_DRIVERS: dict[str, tuple[str, ...]] = {
    "abb_b23": ("abbb23",),
    "amt_topas": ("topaseskr",),
    "amx_unismart": ("unismart",),
    "apator_162": ("apator162",),
    "apator_amiplus": ("amiplus",),
    "apator_eitn": ("apatoreitn",),
    "apator_na1": ("apatorna1",),
    "apator_elf": ("elf",),
    "apator_elf2": ("elf2",),
    "apator_ultrimis": ("ultrimisv2",),
    "aventies_hca": ("aventieshca",),
    "aventies_water": ("aventieswm",),
    "axioma_q400": ("q400",),
    "axioma_qualcosonic": ("qualcosonic",),
    "bmeters_hydrocal_m3": ("hydrocalm3",),
    "bmeters_hydrocal_m4": ("hydrocalm4",),
    "bmeters_hydroclima": ("hydroclimav2",),
    "bmeters_hydrodigit": ("hydrodigit",),
    "bfw_240radio": ("bfw240radio",),
    "bmeters_iwm_tx5": ("iwmtx5",),
    "carlogavazzi_em24": ("em24",),
    "diehl_hydrus": ("hydrus",),
    "diehl_izar": ("izar", "izarv2"),
    "diehl_sharky": ("sharky",),
    "diehl_sharky774": ("sharky774",),
    "diehl_waterstarm": ("waterstarm",),
    "easymeter_esyswm": ("esyswm",),
    "ei_smoke": ("ei6500",),
    "elster_emerlin868": ("emerlin868",),
    "eltako_dsz15dm": ("eltako",),
    "elv_sense": ("elvsense",),
    "emh_ehzp": ("ehzp",),
    "engelmann_faw": ("engelmann-faw",),
    "engelmann_hcae2": ("hcae2",),
    "engelmann_sensostar": ("sensostar",),
    "fio_water": ("fiowater",),
    "gransystems_ccm": ("gransystems",),
    "gwf_water": ("gwfwater",),
    "ime_dmm": ("ime",),
    "ime_nemo": ("nemo",),
    "imt_aquastream": ("aquastream",),
    "ista_heat": ("istaheat",),
    "ista_water": ("istawater",),
    "itron_water": ("itron",),
    "kaden_hca": ("kaden",),
    "kaden_water": ("kadenwater",),
    "kamstrup_heat": ("kamheat", "multical302", "multical403", "multical602", "multical603"),
    "kamstrup_omnipower": ("omnipower",),
    "kamstrup_pressure": ("kampress",),
    "landisgyr_ultraheat": ("ultraheat",),
    "lansen_pulse": ("lansenpu",),
    "lansen_repeater": ("lansenrp",),
    "lansen_th": ("lansenth",),
    "lse_hca": ("whe5x",),
    "lse_water": ("lse_07_17",),
    "maddalena_evo868": ("evo868",),
    "maddalena_microclima": ("microclima",),
    "maddalena_water": ("maddalena",),
    "nzr_dhz": ("nzr",),
    "pii_th": ("piigth",),
    "qundis_hca": ("qcaloric",),
    "qundis_heat": ("qheat", "qheatv2"),
    "qundis_heat_us": ("qheat_55_us",),
    "qundis_water": ("qwater", "qwaterv2"),
    "schneider_iem3000": ("iem3000",),
    "sontex_868": ("sontex868",),
    "sontex_supercal": ("supercal",),
    "sontex_supercom587": ("supercom587", "supercom587:t1"),
    "techem_compact5": ("compact5",),
    "techem_fhkvdata3": ("fhkvdataiii",),
    "techem_mkradio3": ("mkradio3",),
    "techem_mkradio3a": ("mkradio3a",),
    "techem_vario411": ("vario411",),
    "techem_vario451": ("vario451",),
    "watertech_water": ("watertech",),
    "wehrle_modularis": ("werhlemodwm",),
    "wehrle_weh07": ("weh_07",),
    "weptech_munia": ("munia",),
    "zenner_c5isf": ("c5isf", "c5isf_t1b"),
    "zenner_caltose": ("caltose",),
    "zenner_c5isf_water": ("c5isf_t1a2",),
    "zenner_minomess": ("minomess",),
    "zenner_uiws": ("uiws",),
}

# The acceptance figure cannot fall below what the shipped profiles reach today.
MINIMUM_FOUND = 1629


@pytest.fixture(scope="module")
def corpus() -> list[tuple[dict[str, Any], coverage.Result]]:
    require(WMBUS)
    lines = wmbus_lines()
    return list(zip(lines, coverage.decode_corpus(lines), strict=True))


def test_the_map_names_every_shipped_family() -> None:
    shipped = {path.stem for path in profiles.shipped_profiles("meter")}
    assert set(FAMILY_DRIVERS) <= shipped, set(FAMILY_DRIVERS) - shipped


@pytest.mark.parametrize("name", sorted(FAMILY_DRIVERS))
def test_family_profile_names_real_telegrams(
        name: str, corpus: list[tuple[dict[str, Any], coverage.Result]]) -> None:
    compared = 0
    for line, result in corpus:
        if line.get("driver") not in FAMILY_DRIVERS[name] or not line.get("expected"):
            continue
        if isinstance(result, wmbus.WMBusError):
            continue  # a wmbus coverage matter, listed by the coverage measurement
        meter = coverage.meter_part(result)
        assert meter["profile"] == name, line["telegram"]
        fields, units = meter["fields"], meter["units"]
        digest = coverage.telegram_digest(line)
        for key, printed in coverage.expected_numbers(line["expected"]).items():
            if key not in fields or (digest, key) in coverage.KNOWN_UPSTREAM_ERRORS:
                continue
            ours = coverage.field_in_named_unit(key, fields[key], units.get(key, ""))
            assert ours is not None and coverage.same_number(ours, printed), (
                line["telegram"], key, printed, fields[key], units.get(key))
            compared += 1
    assert compared >= 1, f"no value of {name} compared with the corpus"


def test_corpus_coverage(corpus: list[tuple[dict[str, Any], coverage.Result]]) -> None:
    lines = [line for line, _ in corpus]
    outcomes = coverage.measure(lines, [result for _, result in corpus])
    counts = coverage.summary(outcomes)
    differing = [outcome for outcome in outcomes if outcome.status == "differs"]
    assert not differing, differing
    assert all(outcome.reason for outcome in outcomes if outcome.status == "missing")
    found = counts["found"] + counts["found_by_value"]
    assert found >= MINIMUM_FOUND, f"{found} expected numbers found, fewer than before"


def techem_radio3a_frame(day: int, month: int) -> bytes:
    """A Techem radio 3 (version 0x50) telegram made here: date, total 1234.5 m3, history
    word k holding the half-month bytes 10 + k (low) and 50 + k (high)."""
    date = (25 << 9 | month << 5 | day).to_bytes(2, "little")
    history = b"".join(bytes((0xEE, 10 + k, 50 + k)) for k in range(12))
    payload = b"\x0c\x00" + date + (12345).to_bytes(3, "little") + history + b"\x00"
    return wmbus.build_frame(manufacturer="TCH", id="62560642", version=0x50,
                             device_type=0x72, apl=b"\xa2" + payload)


@pytest.mark.parametrize(("day", "month", "expected"), [
    # Day 1-15: month k before is the high byte of word k - 1 plus the low byte of word k
    # (month 0: the low byte of word 0): 1.0, then (49 + k) + (10 + k) tenths.
    (10, 3, {"target_m3": "1", "last_mar_m3": "1", "last_feb_m3": "6.1", "last_jan_m3": "6.3",
             "last_dec_m3": "6.5", "last_apr_m3": "8.1"}),
    # Later in the month: both bytes of word k, (10 + k) + (50 + k) tenths.
    (15, 3, {"target_m3": "1", "last_feb_m3": "6.1"}),  # the 15th is still the first half
    (20, 3, {"target_m3": "6", "last_mar_m3": "6", "last_feb_m3": "6.2", "last_apr_m3": "8.2"}),
    (16, 1, {"target_m3": "6", "last_jan_m3": "6", "last_dec_m3": "6.2", "last_feb_m3": "8.2"}),
])
def test_techem_radio3a_months_follow_the_current_date(day: int, month: int,
                                                       expected: dict[str, str]) -> None:
    meter = wmbus.Decoder().decode(techem_radio3a_frame(day, month)).meter
    assert meter is not None and meter.profile == "techem_mkradio3a" and not meter.problems
    assert meter["total_m3"] == Decimal("1234.5")
    for name, value in expected.items():
        assert meter[name] == Decimal(value), name
    assert not [name for name in meter.values if "history" in name or "month_" in name]
