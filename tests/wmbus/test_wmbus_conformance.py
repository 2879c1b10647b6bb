"""Conformance against ../shared/corpus/wmbus/dev.jsonl (wmbusmeters, OMS/CEN, jmbus vectors).

The corpus is read where it lies (never copied) and decoded in its order, as a
receiver would meet it: one format-signature cache for the whole run, so a compact
frame decodes only when a full frame of its format came earlier (in its line's
``prior_telegrams`` or in an earlier line). Most "encrypted" lines are stored
already decrypted with their security bits still set: they are read in the explicit
already-decrypted mode, and without it (with their key known) they must be refused.

Lines that cannot decode are listed in ``EXCLUDED``; every expected number of the
corpus that is not found among the decoded record values is listed in ``NOT_FOUND``
with its reason, and a listed value that starts being found fails the test until
the list is updated. Both are keyed by the SHA-1 of the line's telegram.
"""

from __future__ import annotations

import hashlib
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import wmbus

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "wmbus" / "dev.jsonl"

# sha1(telegram hex)[:12] -> why it does not decode (each checked by test_exclusions_still_fail).
EXCLUDED: dict[str, tuple[type[Exception], str]] = {
    "63767c7e5b80": (wmbus.CRCError, "simulated compact frame (flowIQ 2200 Votten, built-in "
                     "signature 0x0905): its flow (023B) was edited to 0x0023 but its "
                     "full-frame CRC 0x8054 is still that of the frame with flow 0 (the "
                     "original, in wmbusmeters issue #701, has 0 and the same CRC)"),
    "18c2f99281a5": (wmbus.UnsupportedError, "TPL security mode 16 (reserved; rfmtx1, "
                     "manufacturer scrambling): its payload is not valid records in clear"),
    "6938cbe60fa2": (wmbus.UnsupportedError, "CI 0x81 (network layer) before the TPL: not "
                     "supported yet"),
    "a23401191649": (wmbus.CRCError, "simulated compact frame (MyTapWater): its flow "
                     "temperature was edited (0x32) but its full-frame CRC is still that of "
                     "the full frame with 0x7f"),
    "2a081164f473": (wmbus.KeyMissingError, "mode 7 ciphertext published without its key"),
    "2a694a53b27b": (wmbus.DecodeError, "L field (77) one byte short of the 4 encrypted "
                     "blocks its configuration word announces (jmbus testMessage2)"),
}

# Why an expected number of wmbusmeters is not among our record values.
MANUFACTURER_CI = ("manufacturer-specific CI (0xA0-0xB7): its payload layout is not decoded "
                   "yet (a device profile is missing)")
MANUFACTURER_RECORD = ("inside a manufacturer-specific record (DIF 0x0F, VIF 0x7F/0xFF): not "
                       "decoded yet (a device profile is missing)")
MANUFACTURER_VIF = ("a manufacturer-specific VIF whose unit or scale only the driver knows "
                    "(a device profile is missing)")
RESERVED_DIF = ("the driver reads a manufacturer layout where EN 13757-3 sees a reserved DIF "
                "(0x6F): the records stop there")
PACKED_HISTORY = ("monthly history packed into one variable-length record (DIF 0x0D) that "
                  "only the driver unpacks (a device profile is missing)")
DERIVED = ("computed by the driver from other values (apparent from active and reactive "
           "energy): a profile formula is missing")
NO_VALUE_MARKER = ("0x80000000, the int32 'no value' pattern: wmbusmeters prints it unsigned "
                   "(21474836.48), EN 13757-3 type B makes it negative")
WHOLE_YEARS = ("the driver truncates the battery lifetime to whole years (the telegram says "
               "458006400 s, 14.5 years)")
UPSTREAM_MISMATCH = ("wmbusmeters expects 6.548 m3 but the telegram's BCD volume is 5.648 m3 "
                     "(digits swapped in the upstream test)")

# (telegram SHA-1, reason, the expected fields not found): checked both ways by
# test_expected_values_found_or_listed.
_NOT_FOUND_LINES: list[tuple[str, str, str]] = [
    ("22c16de37c30", DERIVED, "total_apparent_energy_consumption_kvah"),
    ("04423a545953", MANUFACTURER_CI,
     "current_hca previous_hca temp_room_avg_c temp_room_prev_avg_c"),
    ("36b48d2a1363", MANUFACTURER_CI,
     "current_gj current_kwh previous_gj previous_kwh total_gj total_kwh"),
    ("4d843b097e42", MANUFACTURER_CI,
     "battery_y last_month_total_m3 remaining_battery_life_y target_m3 total_m3 "
     "transmit_period_s"),
    ("583592431512", MANUFACTURER_CI,
     "battery_y last_month_total_m3 remaining_battery_life_y target_m3 total_m3 "
     "transmit_period_s"),
    ("62dfb4d0f190", MANUFACTURER_CI, "previous_hca temp_room_avg_c temp_room_prev_avg_c"),
    ("707c0c79c502", MANUFACTURER_CI, "historic_age_h historic_m3 total_m3"),
    ("9bc8236ff55a", MANUFACTURER_CI, "historic_age_h historic_m3 total_m3"),
    ("a6b576f6b2f5", MANUFACTURER_CI, "historic_age_h historic_m3 total_m3"),
    ("c1830d3cf2fc", MANUFACTURER_CI,
     "last_apr_m3 last_aug_m3 last_dec_m3 last_feb_m3 last_jan_m3 last_jul_m3 "
     "last_jun_m3 last_mar_m3 last_may_m3 last_nov_m3 last_oct_m3 last_sep_m3 "
     "target_m3 total_m3"),
    ("c8ac320cc172", MANUFACTURER_CI, "current_kwh previous_kwh total_kwh"),
    ("d01077ee8006", MANUFACTURER_CI, "historic_age_h historic_m3 total_m3"),
    ("e0a91be1ddb8", MANUFACTURER_CI, "target_m3 total_m3"),
    ("ef6a89c221fb", MANUFACTURER_CI, "remaining_battery_life_y total_m3 transmit_period_s"),
    ("fbef2d631fe3", MANUFACTURER_CI, "historic_age_h historic_m3 total_m3"),
    ("fcf809b72421", MANUFACTURER_CI, "current_kwh previous_kwh total_kwh"),
    ("fd32721ee202", MANUFACTURER_CI, "current_hca previous_hca temp_radiator_c temp_room_c"),
    ("066937c8c9a2", MANUFACTURER_RECORD, "total_m3"),
    ("0bb2e2f4eb72", MANUFACTURER_RECORD, "total_m3"),
    ("0e73b1fd53c5", MANUFACTURER_RECORD, "due_17_date_m3 total_m3"),
    ("1ba265ecce06", MANUFACTURER_RECORD, "total_m3"),
    ("29fff4a0c3a1", MANUFACTURER_RECORD, "total_m3"),
    ("3e89c4cac5dd", MANUFACTURER_RECORD,
     "ambient_temperature_at_set_date_1_c ambient_temperature_at_set_date_2_c "
     "average_ambient_temperature_c average_ambient_temperature_last_month_c "
     "average_heater_temperature_c average_heater_temperature_last_month_c "
     "max_ambient_temperature_c total_consumption_hca"),
    ("40ee316ebdfd", MANUFACTURER_RECORD,
     "due_17_date_m3 due_date_m3 target_m3 target_year_m3 total_m3 volume_delta_10_m3 "
     "volume_delta_11_m3 volume_delta_12_m3 volume_delta_13_m3 volume_delta_2_m3 "
     "volume_delta_3_m3 volume_delta_4_m3 volume_delta_5_m3 volume_delta_6_m3 "
     "volume_delta_7_m3 volume_delta_8_m3 volume_delta_9_m3"),
    ("69303a837b2f", MANUFACTURER_RECORD, "total_m3"),
    ("70af8908c3a6", MANUFACTURER_RECORD,
     "consumption_at_set_date_17_hca consumption_at_set_date_1_hca "
     "consumption_at_set_date_hca current_consumption_hca"),
    ("771786331bcb", MANUFACTURER_RECORD,
     "consumption_at_set_date_17_hca consumption_at_set_date_1_hca "
     "consumption_at_set_date_hca current_consumption_hca"),
    ("83890df3464d", MANUFACTURER_RECORD, "voltage_v"),
    ("a6636633af9a", MANUFACTURER_RECORD,
     "target_m3 target_year_m3 total_m3 volume_delta_10_m3 volume_delta_11_m3 "
     "volume_delta_12_m3 volume_delta_13_m3 volume_delta_2_m3 volume_delta_3_m3 "
     "volume_delta_5_m3 volume_delta_6_m3 volume_delta_7_m3 volume_delta_8_m3 "
     "volume_delta_9_m3"),
    ("a9e54868903d", MANUFACTURER_RECORD, "total_m3"),
    ("b6ce10f6865d", MANUFACTURER_RECORD, "due_17_date_m3 total_m3"),
    ("bcadb4aec1aa", MANUFACTURER_RECORD, "total_m3"),
    ("d477a5cecbb0", MANUFACTURER_RECORD, "voltage_v"),
    ("e6b9c904fd77", MANUFACTURER_RECORD, "total_m3"),
    ("ef467088038b", MANUFACTURER_RECORD, "total_m3"),
    ("f69b90ba6e27", MANUFACTURER_RECORD,
     "April_total_m3 August_total_m3 December_total_m3 February_total_m3 "
     "January_total_m3 March_total_m3 May_total_m3 November_total_m3 October_total_m3 "
     "September_total_m3 backflow_m3 voltage_v"),
    ("fb7066414f41", MANUFACTURER_RECORD, "due_17_date_m3 due_date_m3 total_m3"),
    ("e013b9af926a", MANUFACTURER_VIF, "frequency_hz"),
    ("e4669124171b", MANUFACTURER_VIF, "dust_level_counter"),
    ("83ec021fce9d", NO_VALUE_MARKER,
     "total_volume_consumption_month-10_m3 total_volume_consumption_month-11_m3 "
     "total_volume_consumption_month-12_m3 total_volume_consumption_month-13_m3 "
     "total_volume_consumption_month-14_m3 total_volume_consumption_month-2_m3 "
     "total_volume_consumption_month-3_m3 total_volume_consumption_month-4_m3 "
     "total_volume_consumption_month-5_m3 total_volume_consumption_month-6_m3 "
     "total_volume_consumption_month-7_m3 total_volume_consumption_month-8_m3 "
     "total_volume_consumption_month-9_m3"),
    ("1aee616c7e89", PACKED_HISTORY, "consumption_2_hca consumption_3_hca consumption_4_hca"),
    ("31226f900aa7", RESERVED_DIF,
     "current_hca prev_01_hca prev_02_hca prev_03_hca prev_04_hca prev_05_hca prev_hca"),
    ("8e1cb13f7cb5", RESERVED_DIF,
     "current_hca prev_01_hca prev_02_hca prev_03_hca prev_04_hca prev_hca"),
    ("75356e2a1e75", UPSTREAM_MISMATCH, "total_m3"),
    ("39b0bcee62b1", WHOLE_YEARS, "battery_y"),
]
NOT_FOUND: dict[tuple[str, str], str] = {
    (digest, name): reason for digest, reason, names in _NOT_FOUND_LINES
    for name in names.split()}


def _lines() -> list[dict[str, Any]]:
    if not CORPUS.exists():
        pytest.skip(f"conformance corpus not found at {CORPUS} (../shared/corpus is absent)")
    with CORPUS.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _key(line: dict[str, Any]) -> bytes | None:
    key = line.get("key", "NOKEY")
    return None if key == "NOKEY" else bytes.fromhex(key)


def _digest(line: dict[str, Any]) -> str:
    return hashlib.sha1(line["telegram"].encode()).hexdigest()[:12]


Result = wmbus.Telegram | wmbus.WMBusError


def _in_order(lines: list[dict[str, Any]], *, already_decrypted: bool = True) -> list[Result]:
    """Each line's result, decoding the corpus in order with one format-signature cache."""
    signatures = wmbus.SignatureCache()
    results: list[Result] = []
    for line in lines:
        decoder = wmbus.Decoder(signatures=signatures, already_decrypted=already_decrypted)
        try:
            for text in line.get("prior_telegrams", []):
                decoder.decode(bytes.fromhex(text), _key(line))
            results.append(decoder.decode(bytes.fromhex(line["telegram"]), _key(line)))
        except wmbus.WMBusError as exc:
            results.append(exc)
    return results


@pytest.fixture(scope="module")
def corpus() -> list[tuple[dict[str, Any], Result]]:
    lines = _lines()
    return list(zip(lines, _in_order(lines), strict=True))


def _telegram(result: Result) -> wmbus.Telegram:
    if isinstance(result, Exception):
        raise result
    return result


def test_every_line_decodes(corpus: list[tuple[dict[str, Any], Result]]) -> None:
    failures = []
    for number, (line, result) in enumerate(corpus, 1):
        if _digest(line) in EXCLUDED:
            continue
        if isinstance(result, Exception):
            failures.append(f"line {number} ({line.get('name')}, {_digest(line)}): {result}")
            continue
        json.dumps(result.to_dict())  # every decoded object serialises
    assert not failures, "\n".join(failures)


def test_exclusions_still_fail(corpus: list[tuple[dict[str, Any], Result]]) -> None:
    seen = set()
    for line, result in corpus:
        digest = _digest(line)
        if digest in EXCLUDED:
            seen.add(digest)
            assert isinstance(result, EXCLUDED[digest][0]), (digest, result)
    assert seen == set(EXCLUDED)


def test_stored_plaintext_needs_the_already_decrypted_mode(
        corpus: list[tuple[dict[str, Any], Result]]) -> None:
    """With its key known, a line stored decrypted is refused unless the mode says so.

    So is a line with records sent with no security at all (mode 0) although a key is
    given for it (a downgrade: the dev corpus has wmbusmeters' "aes_removed" simulation).
    """
    lines = [line for line, _ in corpus]
    strict = _in_order(lines, already_decrypted=False)
    stored, refused = 0, 0
    for (line, result), plain in zip(corpus, strict, strict=True):
        if isinstance(result, Exception):
            continue
        security = result.security
        stored += security.decrypted_by == "input"
        unprotected = (security.mode == 0 and security.ell_encryption is None
                       and result.tpl is not None and bool(result.records))
        if security.decrypted_by == "input":
            assert security.verified is False and security.to_dict()["verified"] is False
        if _key(line) is not None and (security.decrypted_by == "input" or unprotected):
            # A key known: the clear payload is refused.
            assert isinstance(plain, wmbus.UnexpectedPlaintextError), line.get("name")
            refused += 1
        else:  # no key (clear payloads decode, unverified), real ciphertext, mode 0 data
            assert isinstance(plain, wmbus.Telegram), (line.get("name"), plain)
            assert plain.to_dict() == result.to_dict()
    assert stored >= 100 and refused >= 5


def test_every_line_with_a_key_decrypts(corpus: list[tuple[dict[str, Any], Result]]) -> None:
    decrypted = 0
    for line, result in corpus:
        key = _key(line)
        if key is None or _digest(line) in EXCLUDED:
            continue
        telegram = _telegram(result)
        security = telegram.security
        if security.mode or security.ell_encryption:
            assert security.decrypted_by in ("key", "input"), line.get("name")
        if security.decrypted_by == "key":
            decrypted += 1
            # Mode 5 has no MAC: records sent in clear after its encrypted blocks are not
            # protected, so such a telegram is not verified as a whole.
            in_clear = telegram.payload[16 * security.encrypted_blocks:].strip(b"\x2f")
            assert security.verified is not (security.mode == 5 and bool(in_clear))
            wrong = bytes((key[0] ^ 0x01,)) + key[1:]
            with pytest.raises(wmbus.SecurityError):
                wmbus.Decoder(already_decrypted=True).decode(bytes.fromhex(line["telegram"]),
                                                             wrong)
    assert decrypted >= 25


def _by_name(corpus: list[tuple[dict[str, Any], Result]], fragment: str) -> wmbus.Telegram:
    return _telegram(next(result for line, result in corpus
                          if fragment in (line.get("name") or "")))


def test_published_examples(corpus: list[tuple[dict[str, Any], Result]]) -> None:
    n21 = _by_name(corpus, "N.2.1. wM-Bus Meter with Security profile A")
    assert [r.to_dict()["value"] for r in n21.records[:2]] == [28504.27, "2008-05-31T23:50:00"]
    assert n21.records[0].unit == "m3"
    f3 = _by_name(corpus, "parse F.3 Security mode 7 example")
    assert f3.security.mac_ok is True and f3.security.verified is True
    assert f3.header is not None
    assert (f3.header.manufacturer, f3.header.id, f3.header.version) == ("ELS", "12345678", 51)
    assert (f3.link.manufacturer, f3.link.id) == ("RAD", "11223344")
    assert f3.ell is not None and (f3.ell.receiver_manufacturer, f3.ell.receiver_id) == (
        "XYZ", "33445566")
    n54 = _by_name(corpus, "N.5.4 M-Bus Example with partial encryption")
    assert len(n54.records) == 5
    f2 = _by_name(corpus, "Table F.2 from CEN/TR 17167:2018 but without")
    assert f2.security.decrypted_by == "key"
    negative = _by_name(corpus, "testDecodeNegativeTemperature6BCD")
    # jmbus: assertEquals(-4.1, lastValue, 0.1)
    assert abs(float(str(negative.records[-1].value)) - -4.1) <= 0.1
    jmbus_ell = _telegram(next(result for line, result in corpus
                               if "DecryptionTest" in line["source"]))
    assert jmbus_ell.records[1].value == Decimal("474.24")  # jmbus assert


# wmbusmeters' units -> ours: k/M/G prefixes, minutes, hours, days, kWh vs J, and years
# (its drivers count 365 or 365.2425 days a year).
_FACTORS = (1, 1e3, 1e-3, 1e6, 1e-6, 1e9, 1e-9, 3600, 1 / 3600, 3.6e6, 1 / 3.6e6, 60, 1 / 60,
            86400, 1 / 86400, 1e2, 1e-2, 1 / (365 * 86400), 1 / (365.2425 * 86400))


def _numbers(expected: dict[str, Any]) -> dict[str, float]:
    """The expected numbers worth looking for: non-zero (a zero is found anywhere), no ID."""
    return {k: float(v) for k, v in expected.items() if isinstance(v, (int, float))
            and not isinstance(v, bool) and v != 0 and k not in ("id",)}


def _found(target: float, values: list[float]) -> bool:
    return any(math.isclose(value * factor, target, rel_tol=1e-4, abs_tol=5e-4)
               for value in values for factor in _FACTORS)


def test_expected_values_found_or_listed(corpus: list[tuple[dict[str, Any], Result]],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    total = found = 0
    problems: list[str] = []
    checked: set[tuple[str, str]] = set()
    for number, (line, result) in enumerate(corpus, 1):
        expected = line.get("expected")
        digest = _digest(line)
        if not expected or digest in EXCLUDED:
            continue
        telegram = _telegram(result)
        values = [float(r.value) for r in telegram.records
                  if isinstance(r.value, (int, float, Decimal)) and not isinstance(r.value, bool)]
        for name, target in _numbers(expected).items():
            total += 1
            listed = NOT_FOUND.get((digest, name))
            checked.add((digest, name))
            if _found(target, values):
                found += 1
                if listed is not None:
                    problems.append(f"line {number} {digest} {name}={target} is found now: "
                                    "remove it from NOT_FOUND")
            elif listed is None:
                problems.append(f"line {number} {digest} ({line.get('driver')}) {name}={target}"
                                " is not found: fix the decoder or list it in NOT_FOUND")
    problems += [f"NOT_FOUND entry {key} names no expected value of the corpus"
                 for key in sorted(set(NOT_FOUND) - checked)]
    with capsys.disabled():
        print(f"\nwmbus conformance: {found} of {total} non-zero expected numbers found among "
              f"decoded record values ({found / total:.1%}); {len(NOT_FOUND)} listed as not "
              "found, each with its reason")
    assert not problems, "\n".join(problems)
