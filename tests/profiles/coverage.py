"""How many of wmbusmeters' expected numbers meterkit's named meter fields give (dev corpus).

The wireless dev corpus (``../shared/corpus/wmbus/dev.jsonl``, or ``METERKIT_CORPUS``)
holds, for most telegrams, the JSON that wmbusmeters printed for it (``expected``).
Every number there is one *expected number*. This module decodes the corpus in its
order (one format-signature cache, ``prior_telegrams`` first, stored plaintext read in
the already-decrypted mode, as ``tests/wmbus/test_wmbus_conformance.py`` does) and
compares each expected number with ``to_dict()["meter"]["fields"]``:

* ``found``: a field of the same name holds the value (the names of the shipped
  profiles follow wmbusmeters' ``<what>_<unit>`` convention);
* ``found_by_value``: no field has that name, but a named field holds the value in
  the unit the expected name ends with (``_kwh``, ``_m3``, ``_c`` ...); only for
  non-zero numbers, since a zero is found almost anywhere;
* ``differs``: a field of the same name holds another value: a failure, never a miss
  (unless wmbusmeters' number is known to be wrong: ``upstream_error``, with the reason
  from :data:`KNOWN_UPSTREAM_ERRORS`);
* ``missing``: neither; its reason is given (:data:`KNOWN_REASONS` first, else what
  the decode shows: no profile, a profile without that field, the value not among the
  raw records at all ...; for a telegram that does not decode, the reason the wmbus
  conformance test gives for it, else the error).

A value matches when it rounds to the printed number at 6 decimals (wmbusmeters
prints at most 6) or agrees to 9 significant digits.

Run ``python -m tests.profiles.coverage`` (``--misses`` lists every miss with its reason,
``--records`` measures the raw records instead of the named fields, ``--json`` prints
every outcome).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import profiles
import wmbus

from ..mbus.corpus import WMBUS, wmbus_lines
from ..wmbus.test_wmbus_conformance import EXCLUDED

__all__ = ["KNOWN_REASONS", "KNOWN_UPSTREAM_ERRORS", "Outcome", "decode_corpus",
           "expected_numbers", "field_in_named_unit", "main", "measure", "meter_part",
           "same_number", "summary", "telegram_digest"]

# The unit a wmbusmeters name ends with -> the same unit in meterkit's spelling
# ("" where wmbusmeters' number has no unit: counters, heat cost allocation units ...).
SUFFIX_UNITS: dict[str, str] = {
    "kwh": "kWh", "mwh": "MWh", "gj": "GJ", "kvarh": "kvarh", "kvah": "kVAh",
    "kw": "kW", "kvar": "kvar", "kva": "kVA", "m3": "m3", "m3h": "m3/h", "lh": "l/h",
    "c": "degC", "k": "K", "v": "V", "a": "A", "hz": "Hz", "h": "h", "s": "s", "d": "d",
    "min": "min", "bar": "bar", "rh": "%", "pct": "%", "y": "year", "month": "month",
    "hca": "", "counter": "", "factor": "", "nr": "", "m3c": "",
}

# Why meterkit does not give an expected number: facts about the telegram or about
# wmbusmeters' output that no profile can or should change. Keyed by (telegram digest,
# expected name); a name of "*" covers every expected number of that telegram.
_NO_VALUE = ("the meter sends 0x80000000 (int32 'no value'): EN 13757-3 type B reads it "
             "as -21474836.48, wmbusmeters prints it unsigned; no field is named for it")
_SHIFTED = ("the upstream test telegram lost its first hex digit (a Zenner C5 telegram "
            "E5 44 49 6A ..., like line 26's, shifted by half a byte: L 0x54, CI 0xA3 ...), "
            "so it is no telegram of this meter; wmbusmeters prints 0 for every field it "
            "did not find")
_NO_VALUE_ZERO = ("the month was never recorded (FF FF FF): the layout gives no value, "
                  "wmbusmeters prints 0")
_PCT = ("wmbusmeters prints the remaining battery life in days as a percentage; no field "
        "is named for that")
_OPERATING_TIME = ("wmbusmeters prints the raw number of the manufacturer record 06 FF20 "
                   "(201962358) under a name in years; the record's unit is published nowhere "
                   "we know (it would be 6.4 years in seconds): no field is named for it")
_OLD_NAMES = ("an older wmbusmeters driver's name for a value the profile names as the newer "
              "driver does (its zero cannot be found by value)")
KNOWN_REASONS: dict[tuple[str, str], str] = {
    **{("83ec021fce9d", f"total_volume_consumption_month-{n}_m3"): _NO_VALUE
       for n in range(2, 15)},
    ("fabdd24f2a2d", "operating_time_y"): _OPERATING_TIME,
    ("2599dfe6e61f", "*"): _SHIFTED,
    ("f69b90ba6e27", "June_total_m3"): _NO_VALUE_ZERO,
    ("f69b90ba6e27", "July_total_m3"): _NO_VALUE_ZERO,
    **{(digest, "battery_pct"): _PCT for digest in (
        "b9cfcef46015", "64e7304a965b", "798db57199da", "f7c17797c601")},
    ("ac539ebd3ba8", "target_m3"): _OLD_NAMES,
    ("ac539ebd3ba8", "target_year_m3"): _OLD_NAMES,
    ("0ca6bc0b7360", "target_year_kwh"): _OLD_NAMES,
}

# Expected numbers that are wrong upstream: a field that differs from them is reported
# with the reason instead of as a failure. Keyed like KNOWN_REASONS.
_CORRECTION = ("the record carries the correction factor VIFE 0x75 (x0.1, EN 13757-3 Table "
               "15), which meterkit applies and wmbusmeters does not: its number is ten times "
               "the standard's")
_APPARENT = ("wmbusmeters computes the apparent energy from its reactive energy, which lacks "
             "the correction factor VIFE 0x75 (x0.1, EN 13757-3 Table 15)")
KNOWN_UPSTREAM_ERRORS: dict[tuple[str, str], str] = {
    ("22c16de37c30", "total_reactive_energy_consumption_kvarh"): _CORRECTION,
    ("22c16de37c30", "total_reactive_energy_production_kvarh"): _CORRECTION,
    ("22c16de37c30", "total_apparent_energy_consumption_kvah"): _APPARENT,
    ("22c16de37c30", "total_apparent_energy_production_kvah"): _APPARENT,
    ("75356e2a1e75", "total_m3"): "wmbusmeters expects 6.548 m3 but the telegram's BCD volume "
                                  "is 5.648 m3 (digits swapped in the upstream test)",
}

HALF_MICRO = Decimal("0.0000005")  # half a unit of wmbusmeters' sixth decimal


@dataclass(frozen=True, slots=True)
class Outcome:
    """One expected number and what meterkit gave for it."""

    line: int  # 1-based line number in dev.jsonl
    digest: str  # sha1 of the telegram hex, first 12 digits
    driver: str
    meter: str  # the name wmbusmeters' test gave the meter
    field: str
    expected: float
    status: str  # found, found_by_value, differs, upstream_error, missing
    got: str | None = None  # our value (differs) or the field that held it (found_by_value)
    profile: str | None = None
    reason: str | None = None


Result = wmbus.Telegram | wmbus.WMBusError


def _key(line: Mapping[str, Any]) -> bytes | None:
    key = line.get("key", "NOKEY")
    return None if key == "NOKEY" else bytes.fromhex(key)


def decode_corpus(lines: Sequence[Mapping[str, Any]]) -> list[Result]:
    """Each line's telegram decoded in corpus order, sharing one format-signature cache."""
    signatures = wmbus.SignatureCache()
    results: list[Result] = []
    for line in lines:
        decoder = wmbus.Decoder(signatures=signatures, already_decrypted=True)
        try:
            for text in line.get("prior_telegrams", []):
                decoder.decode(bytes.fromhex(text), _key(line))
            results.append(decoder.decode(bytes.fromhex(line["telegram"]), _key(line)))
        except wmbus.WMBusError as exc:
            results.append(exc)
    return results


def expected_numbers(expected: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of one ``expected`` object (booleans and texts are not numbers)."""
    return {name: value for name, value in expected.items()
            if isinstance(value, int | float) and not isinstance(value, bool)}


def as_decimal(value: object) -> Decimal | None:
    """A field or record value as a Decimal; None when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def same_number(ours: Decimal, printed: float) -> bool:
    """Whether ``ours`` is what wmbusmeters printed as ``printed``."""
    theirs = Decimal(repr(printed))
    difference = abs(ours - theirs)
    return difference <= HALF_MICRO or difference <= abs(theirs) * Decimal("1e-9")


def in_unit(value: Decimal, unit: str, wanted: str) -> Decimal | None:
    """``value`` (in ``unit``) expressed in ``wanted``; None when they do not convert."""
    if unit == wanted:
        return value
    if not unit or not wanted:
        return None
    try:
        return profiles.convert(value, unit, wanted)
    except profiles.UnitError:
        return None


def _suffix_unit(name: str) -> str | None:
    return SUFFIX_UNITS.get(name.rsplit("_", 1)[-1].lower())


def telegram_digest(line: Mapping[str, Any]) -> str:
    """How the known reasons name a corpus line: the SHA-1 of its telegram, 12 digits."""
    return hashlib.sha1(line["telegram"].encode()).hexdigest()[:12]


def field_in_named_unit(name: str, value: object, unit: str) -> Decimal | None:
    """A field's value in the unit its name ends with (``_kwh`` ...); None if it has none.

    A field without a unit (a manufacturer record) is taken in the unit its name says.
    """
    ours = as_decimal(value)
    wanted = _suffix_unit(name)
    if ours is None or wanted is None or unit in (wanted, ""):
        return ours
    return in_unit(ours, unit, wanted)


def meter_part(telegram: wmbus.Telegram,
               library: profiles.MeterProfiles | None = None) -> dict[str, Any]:
    """``to_dict()["meter"]``; where the decoder does not give one yet, the shipped profiles
    (or ``library``) applied to the telegram's records exactly as ``wmbus`` applies them."""
    if library is None:
        part = telegram.to_dict().get("meter")
        if part is not None:
            return dict(part)
        library = profiles.shipped_meter_profiles()
    header = telegram.header
    records = telegram.records
    fields = library.apply(
        [record.shape for record in records], lambda index: records[index].value,
        manufacturer=telegram.manufacturer, version=header.version if header else None,
        device_type=header.medium if header else None, ci=telegram.ci,
        status=header.status if header else None, payload=telegram.payload,
        meter_id=telegram.id, data_of=lambda index: records[index].data)
    return fields.to_dict()


def _record_values(telegram: wmbus.Telegram) -> list[tuple[Decimal, str]]:
    out = []
    for record in telegram.to_dict()["records"]:
        number = as_decimal(record.get("value"))
        if number is not None:
            out.append((number, record.get("unit", "")))
    return out


def _holds(values: Iterable[tuple[str, Decimal, str]], printed: float,
           wanted: str | None) -> str | None:
    """The name of the first (name, value, unit) that holds ``printed`` in ``wanted``."""
    for name, value, unit in values:
        if wanted is None:
            candidates = [value]
        else:
            converted = in_unit(value, unit, wanted)
            candidates = [] if converted is None else [converted]
        if any(same_number(candidate, printed) for candidate in candidates):
            return name
    return None


def _missing_reason(digest: str, name: str, printed: float, meter: Mapping[str, Any],
                    telegram: wmbus.Telegram) -> str:
    known = KNOWN_REASONS.get((digest, name)) or KNOWN_REASONS.get((digest, "*"))
    if known is not None:
        return known
    wanted = _suffix_unit(name)
    raw = [(str(index), value, unit) for index, (value, unit)
           in enumerate(_record_values(telegram))]
    in_records = printed != 0 and _holds(raw, printed, wanted) is not None
    where = ("a zero (only looked for by name)" if printed == 0 else
             "the value is among the raw records" if in_records else
             "the value is not among the raw records (manufacturer data or driver logic)")
    if meter.get("profile") is None:
        return f"no profile for this meter (generic names only); {where}"
    return f"profile {meter['profile']} has no field {name}; {where}"


def measure(lines: Sequence[Mapping[str, Any]], results: Sequence[Result], *,
            records: bool = False, library: profiles.MeterProfiles | None = None
            ) -> list[Outcome]:
    """Every expected number of ``lines`` with its outcome.

    With ``records=True`` the raw records are measured instead of the named fields
    (by value only, in the unit the name ends with): the figure before profiles.
    """
    outcomes: list[Outcome] = []
    for number, (line, result) in enumerate(zip(lines, results, strict=True), 1):
        expected = line.get("expected")
        if not expected:
            continue
        digest = telegram_digest(line)
        driver = str(line.get("driver") or expected.get("meter") or "")
        common: dict[str, Any] = {"line": number, "digest": digest, "driver": driver,
                                  "meter": str(line.get("name", ""))}
        for name, printed in sorted(expected_numbers(expected).items()):
            if isinstance(result, Exception):
                why = EXCLUDED[digest][1] if digest in EXCLUDED else str(result)
                outcomes.append(Outcome(**common, field=name, expected=printed,
                                        status="missing",
                                        reason=f"does not decode: {type(result).__name__}: "
                                               f"{why}"))
                continue
            outcomes.append(_outcome(common, name, printed, result, records, library))
    return outcomes


def _outcome(common: dict[str, Any], name: str, printed: float, telegram: wmbus.Telegram,
             records: bool, library: profiles.MeterProfiles | None) -> Outcome:
    wanted = _suffix_unit(name)
    if records:
        raw = [(str(index), value, unit) for index, (value, unit)
               in enumerate(_record_values(telegram))]
        holder = _holds(raw, printed, wanted) if printed != 0 else None
        if holder is not None:
            return Outcome(**common, field=name, expected=printed, status="found_by_value",
                           got=f"record {holder}")
        return Outcome(**common, field=name, expected=printed, status="missing",
                       reason="not among the raw records" if printed != 0 else
                       "zero: not looked for among raw records")
    meter = meter_part(telegram, library)
    fields: Mapping[str, Any] = meter.get("fields", {})
    units: Mapping[str, str] = meter.get("units", {})
    profile = meter.get("profile")
    if name in fields:
        unit = units.get(name, "")
        converted = field_in_named_unit(name, fields[name], unit)
        if converted is not None and same_number(converted, printed):
            return Outcome(**common, field=name, expected=printed, status="found",
                           profile=profile)
        upstream = KNOWN_UPSTREAM_ERRORS.get((common["digest"], name))
        if upstream is not None:
            return Outcome(**common, field=name, expected=printed, status="upstream_error",
                           got=f"{fields[name]!r} {unit}".strip(), profile=profile,
                           reason=upstream)
        return Outcome(**common, field=name, expected=printed, status="differs",
                       got=f"{fields[name]!r} {unit}".strip(), profile=profile)
    named = [(field, value, units.get(field, "")) for field, raw in fields.items()
             if (value := as_decimal(raw)) is not None]
    holder = _holds(named, printed, wanted) if printed != 0 else None
    if holder is not None:
        return Outcome(**common, field=name, expected=printed, status="found_by_value",
                       got=holder, profile=profile)
    return Outcome(**common, field=name, expected=printed, status="missing", profile=profile,
                   reason=_missing_reason(common["digest"], name, printed, meter, telegram))


def summary(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """Counts by status, and ``total``."""
    counts = Counter(outcome.status for outcome in outcomes)
    return {"total": len(outcomes), **{status: counts.get(status, 0) for status in
                                       ("found", "found_by_value", "differs", "upstream_error",
                                        "missing")}}


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures; exit status 1 when a value differs."""
    parser = argparse.ArgumentParser(prog="python -m tests.profiles.coverage",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--misses", action="store_true", help="list every miss and its reason")
    parser.add_argument("--records", action="store_true",
                        help="measure the raw records instead of the named fields")
    parser.add_argument("--json", action="store_true", help="print every outcome as JSON")
    parser.add_argument("--driver", help="only the lines of this wmbusmeters driver")
    parser.add_argument("--profiles", metavar="DIR",
                        help="apply only the profiles of DIR instead of what the decoder "
                             "gives (to try profiles before shipping them)")
    args = parser.parse_args(argv)
    lines = wmbus_lines()
    if not lines:
        print(f"corpus not found at {WMBUS} (../shared/corpus or METERKIT_CORPUS)",
              file=sys.stderr)
        return 2
    library = None if args.profiles is None else profiles.load_meter_profiles(args.profiles,
                                                                          shipped=False)
    outcomes = measure(lines, decode_corpus(lines), records=args.records, library=library)
    if args.driver:
        outcomes = [outcome for outcome in outcomes if outcome.driver == args.driver]
    if args.json:
        for outcome in outcomes:
            print(json.dumps(asdict(outcome)))
        return 0
    counts = summary(outcomes)
    total = counts["total"] or 1
    what = "raw records" if args.records else "named fields"
    print(f"{WMBUS / 'dev.jsonl'}: {counts['total']} expected numbers; among the {what}: "
          f"{counts['found'] + counts['found_by_value']} found "
          f"({(counts['found'] + counts['found_by_value']) / total:.1%}; by name "
          f"{counts['found']}, {counts['found'] / total:.1%}; by value under another name "
          f"{counts['found_by_value']}), {counts['differs']} differ, "
          f"{counts['upstream_error']} differ from a number known to be wrong upstream, "
          f"{counts['missing']} missing")
    for outcome in outcomes:
        if outcome.status == "differs":
            print(f"DIFFERS line {outcome.line} {outcome.driver}/{outcome.meter} "
                  f"{outcome.field}: expected {outcome.expected}, got {outcome.got} "
                  f"(profile {outcome.profile})")
    for outcome in outcomes:
        if outcome.status == "upstream_error":
            print(f"UPSTREAM ERROR line {outcome.line} {outcome.driver}/{outcome.meter} "
                  f"{outcome.field}: expected {outcome.expected}, got {outcome.got}: "
                  f"{outcome.reason}")
    if args.misses:
        by_driver = Counter(outcome.driver for outcome in outcomes
                            if outcome.status == "missing")
        print("missing by driver: " + ", ".join(f"{driver} {count}" for driver, count
                                               in by_driver.most_common()))
        for outcome in outcomes:
            if outcome.status == "missing":
                print(f"missing line {outcome.line} {outcome.driver}/{outcome.meter} "
                      f"{outcome.field}={outcome.expected}: {outcome.reason}")
    return 1 if counts["differs"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
