"""Applying meter profiles: which profile a meter gets, and its fields for one telegram.

The caller (``mbus``, ``wmbus``) describes a telegram through a small protocol
and never hands over its own types: the header values (manufacturer, version,
device type, CI, status byte), the record *heads* (objects with the attributes
of :class:`RecordHead`; ``mbus.records.RecordShape`` is one) and a function
giving the Python value of record ``i``, called only for the records a field
uses.

Decoders share head objects between telegrams (one per distinct record header),
so a telegram's sequence of head ids says which records it has. Which field
takes which record depends on that sequence alone (and on which values are
missing, rare: see :meth:`MeterProfiles._plan`), so it is worked out once per
sequence and kept as a *plan*; a telegram seen before costs one lookup (its
header values and head ids: :meth:`MeterProfiles.document`), its values and
their unit conversions, done with int arithmetic where the record's JSON value is a
number (:meth:`_Conversion.number_json`). Layouts' synthetic records have shared heads
too (:func:`profiles._layouts.layout_head`). Speed tricks, kept because they pay
(callgrind, instructions per warm telegram, ``python -m benchmarks.instructions``):
per-sequence plans and the cached detection took decrypt + decode + to_dict of the
wireless dev corpus from 556k to 450k; one lookup per telegram, int conversions and
no per-telegram glue objects took it from 467k to 395k (275k without profiles) and
mbus decode + to_dict of the 76 libmbus frames from 372k to 286k (226k without).
"""

from __future__ import annotations

import datetime
import decimal
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple, cast, overload

from ._errors import ExpressionError, ProfileError
from ._expressions import Program, is_ready, program, ready_result, result_decimal, result_number
from ._fields import _FLOAT_DIGITS, FieldValue, MeterFields, NamedField, field_json, field_value
from ._layouts import (
    Layout,
    LayoutHead,
    LayoutRecord,
    _Program,
    _program,
    _read_again,
    _read_blocks,
    scaled_value,
)
from ._meter import FieldRule, MeterProfile, load_meter_profile
from ._selectors import RecordHead, RecordSelector
from ._shipped import shipped_profiles
from ._units import UNITS, WIDE, convert, exact_ratio, odd_part, twos_and_fives

if TYPE_CHECKING:
    from .transforms import Transform, TransformContext

__all__ = ["STANDARD_STATUS", "MeterProfiles", "apply_profile", "generic_fields",
           "load_meter_profiles", "shipped_meter_profiles"]

ValueOf = Callable[[int], object]
RecordValue = Callable[[Any, Any], object]
"""A record's Python value from its ``(head, data)`` pair."""
DataOf = Callable[[int], bytes]
_MANUFACTURER_DATA = frozenset({"manufacturer_specific", "more_records_follow"})

STANDARD_STATUS = ((0x04, "POWER_LOW"), (0x08, "PERMANENT_ERROR"), (0x10, "TEMPORARY_ERROR"))
"""Bits of the header status byte, EN 13757-3:2018 Table 9 (bits 0-1 are the application
state: 1 ``APPLICATION_BUSY``, 2 ``APPLICATION_ERROR``, 3 ``ABNORMAL_CONDITION``)."""
_APPLICATION_STATE = ("", "APPLICATION_BUSY", "APPLICATION_ERROR", "ABNORMAL_CONDITION")
_CACHE_LIMIT = 4096
# Generic names show energy in kWh and power in kW, as users read them.
_GENERIC_UNITS = {"Wh": "kWh", "W": "kW"}
_SKIPPED_FUNCTIONS = frozenset({"manufacturer_specific", "more_records_follow", "global_readout"})


def standard_status(status: int | None) -> str:
    """The header status byte as texts (EN 13757-3 names, upper case), or ``"OK"``."""
    if not status:
        return "OK"
    texts = [_APPLICATION_STATE[status & 3]] if status & 3 else []
    texts.extend(text for bit, text in STANDARD_STATUS if status & bit)
    return " ".join(texts) or "OK"


# The standard status texts of every header status byte.
_STANDARD_TEXTS: dict[int | None, str] = {status: standard_status(status)
                                          for status in (None, *range(256))}


class _Conversion(NamedTuple):
    """What a field does to its record's value: the unit ``source`` converted to
    ``target`` (when ``converts``; as a temperature difference with ``difference``), then
    multiplied by ``scale``. ``ratio``, where the whole conversion is a multiplication by
    a fraction (no offset, no scale), is ``(numerator, denominator, the denominator's
    factors other than 2 and 5, whether the denominator is a power of ten)``; ``scaling``,
    where it is a positive ``scale`` alone, ``(its coefficient, 10 to the minus its
    exponent)`` (an exponent of at least 0: ``(the whole multiplier, 1)``).

    ``number_json(number)`` is what :meth:`json` gives for a record whose JSON value is
    ``number``, made with int arithmetic where ``number`` is an int (a whole result is an
    int, one of at most 15 digits over a power of ten the float that prints back exactly,
    one without a finite decimal expansion the 28-digit decimal as text) or a float
    (:func:`_float_json`); None where it takes :meth:`json`'s way. It is one function per
    kind of conversion (:func:`_number_json`), so that a field pays only for its own
    kind's arithmetic.
    Speed trick, kept because it pays 23 % end to end: mbus decode + to_dict of the 76
    libmbus frames (Wh -> kWh of the generic names) takes 253k instead of 327k
    instructions per warm telegram (callgrind, December 2026); for scales (ime_dmm's
    kWh x 0.01), decrypt + decode + to_dict of the 4 ime_dmm dev-corpus telegrams takes
    369k instead of 547k (/tmp script: the bench_profiles loop over those telegrams)."""

    source: str
    target: str
    converts: bool
    difference: bool
    scale: Decimal | None
    ratio: tuple[int, int, int, bool] | None
    scaling: tuple[int, int] | None
    number_json: Callable[[object], int | float | str | None]

    def python(self, value: FieldValue) -> FieldValue:
        """The field's value from the record's (a :func:`field_value` form)."""
        if self.converts:
            value = _converted(value, self.source, self.target, self.difference)
        if self.scale is not None:
            value = _scaled(value, self.scale)
        return value

    def json(self, value: object) -> object:
        """The JSON form of the field's value from the record's Python value (None: none)."""
        found = field_value(value)
        return None if found is None else field_json(self.python(found))


def _number_json(ratio: tuple[int, int, int, bool] | None, scaling: tuple[int, int] | None,
                 floats: bool) -> Callable[[object], int | float | str | None]:
    """:attr:`_Conversion.number_json` for a conversion with this ``ratio`` and
    ``scaling``, of records whose values are floats (``floats``) or not."""
    low, high = -_EXACT_FLOAT, _EXACT_FLOAT
    if ratio is not None:
        numerator, denominator, odd, decimal = ratio
        if decimal and floats:
            def by_decimal_ratio_of_float(number: object) -> int | float | str | None:
                if type(number) is float:
                    return _float_json(number, numerator, denominator, True)
                return None
            return by_decimal_ratio_of_float
        if decimal:
            def by_decimal_ratio(number: object) -> int | float | str | None:
                if type(number) is int:
                    number *= numerator
                    if not low < number < high:
                        return None
                    # int division rounds correctly, as float(Decimal)
                    return number / denominator if number % denominator else number // denominator
                if type(number) is float:
                    return _float_json(number, numerator, denominator)
                return None
            return by_decimal_ratio

        # number / denominator has a finite expansion where odd divides number: it is an
        # integer once multiplied by 10**places.
        _, twos, fives = twos_and_fives(denominator)
        places = 10 ** max(twos, fives)

        def by_ratio(number: object) -> int | float | str | None:
            if type(number) is not int:
                return None
            number *= numerator
            if not low < number < high:
                return None
            if not number % denominator:
                return number // denominator
            if number % odd:
                return str(_ROUNDED.divide(number, denominator))  # ints taken exactly
            # A finite decimal (9000 s = 2.5 h): the float that prints back exactly, where
            # it has at most 15 significant digits.
            digits = str(abs(number) * places // denominator).rstrip("0")
            return number / denominator if len(digits) <= _FLOAT_DIGITS else None
        return by_ratio
    if scaling is not None:  # Decimal(number) * scale, as field_json writes it
        coefficient, divisor = scaling

        def by_scaling(number: object) -> int | float | str | None:
            if type(number) is not int:
                return None
            number *= coefficient
            if divisor == 1:
                return number
            return number / divisor if low < number < high else None
        return by_scaling
    return _no_number_json


def _no_number_json(number: object) -> None:
    """:attr:`_Conversion.number_json` where no int arithmetic does the conversion."""
    return None


def _float_json(number: float, numerator: int, denominator: int, of_float: bool = False
                ) -> float | None:
    """:attr:`_Conversion.number_json` of a float, for a conversion by ``numerator /
    denominator``, a power of ten. A record's float JSON value is either the float of
    an exact decimal of at most 15 digits, whose Python value is that Decimal
    (decoders and layouts write longer ones as text), or the Python value itself
    (REAL32 data):
    either way its shortest form (``repr``) gives the decimal that :meth:`_Conversion.json`
    converts. Only whole results and those of more than 15 digits then differ (an int
    or text from a Decimal, a float from a float): None for them, unless the float has
    more than 15 digits, so that it is no decimal's, or the record's value is known to be
    the float (``of_float``: its head says REAL32). Speed trick, kept because it pays
    16.5 % end to end: decrypt + decode + to_dict of the 28 dev-corpus telegrams where it
    converts a float (REAL32 W -> kW, ...) takes 292.6k instead of 350.4k instructions per
    warm telegram (callgrind, December 2026: ``benchmarks.bench_profiles.instructions``
    over those telegrams, against this function returning None)."""
    # The decimal: digits / places. Most have at most 6 places: a decimal of at most 15
    # digits that gives the float back is the one (no two give the same float).
    digits = round(number * 1e6) if -1e8 < number < 1e8 else 0
    if digits / 1000000 == number:
        places = 1000000
    else:
        whole, point, fraction = repr(number).partition(".")
        if not point or "e" in fraction:  # 1e+16, 1.5e-05: json()'s way
            return None
        digits = int(whole + fraction)
        places = 10 ** len(fraction)
    exact = digits * numerator
    denominator *= places
    if not of_float and -_EXACT_FLOAT < digits < _EXACT_FLOAT and (
            not -_EXACT_FLOAT < exact < _EXACT_FLOAT or not exact % denominator):
        return None
    return exact / denominator  # int division rounds correctly, as float(Decimal)


def _heads_key(manufacturer: str | None, version: int | None, device_type: int | None,
               ci: int | None, prefix: bytes, heads: Iterable[object]) -> tuple[object, ...]:
    """:meth:`MeterProfiles.document`'s key of a telegram without a structure: its header
    values, the payload's ``prefix`` that profiles of its manufacturer detect by, and the
    ids of its record heads."""
    return (manufacturer, version, device_type, ci, prefix, *map(id, heads))


def _gives_floats(head: RecordHead) -> bool:
    """Whether the record's Python value is a float: its head says REAL32 data (a head may
    say its ``coding``, as ``mbus.records.RecordShape`` does)."""
    return getattr(head, "coding", None) == "real32"


_EXACT_FLOAT = 10**15  # a decimal of at most 15 significant digits survives a float
_ROUNDED = decimal.Context(prec=28)  # convert()'s rounding where no finite expansion exists
_CONVERSIONS: dict[tuple[str, str, bool, bool, Decimal | None, bool], _Conversion] = {}


def _conversion(source: str, target: str, converts: bool, quantity: str,
                scale: Decimal | None, floats: bool = False) -> _Conversion | None:
    """The conversion a field applies (None: the value as it is); one object per kind, and
    per whether the records' values are floats (``floats``: :func:`_gives_floats`)."""
    if not converts and scale is None:
        return None
    difference = quantity.endswith("_difference")
    key = (source, target, converts, difference, scale, floats)
    found = _CONVERSIONS.get(key)
    if found is None:
        ratio = None
        if converts and scale is None:
            factor = exact_ratio(source, target, difference=difference)
            if factor is not None:
                ratio = (factor.numerator, factor.denominator, odd_part(factor.denominator),
                         10 ** (len(str(factor.denominator)) - 1) == factor.denominator)
        scaling = None
        if not converts and scale is not None and scale.is_finite() and scale > 0:
            _, digits, exponent = scale.as_tuple()
            assert isinstance(exponent, int)
            coefficient = int("".join(map(str, digits)))
            scaling = ((coefficient * 10**exponent, 1) if exponent >= 0
                       else (coefficient, 10**-exponent))
        found = _Conversion(source, target, converts, difference, scale, ratio, scaling,
                            _number_json(ratio, scaling, floats))
        if len(_CONVERSIONS) < _CACHE_LIMIT:
            _CONVERSIONS[key] = found
    return found


# One field a plan takes: (name, record index (layout records count after the telegram's),
# unit, quantity, conversion or None).
_Take = tuple[str, int, str, str, "_Conversion | None"]


class _Plan(NamedTuple):
    """What a profile (or the generic names) takes from one sequence of record heads."""

    heads: tuple[object, ...]  # holds the heads, so that their ids stay theirs
    takes: tuple[_Take, ...]  # in the order of the fields
    status_records: dict[int, int]  # status table -> index of the record it reads
    units: dict[str, str]  # the takes' units (those that have one), in order
    # For _json_fields: (name, record index, conversion or None) of each take, in order.
    fills: tuple[tuple[str, int, _Conversion | None], ...]
    # The fields' names in order, each None: a copy filled in place costs less than a
    # dict built field by field, which grows as it fills (see _json_fields).
    template: dict[str, object]
    profile: str | None  # the profile's name
    # The records the status tables read (None: the profile has no status tables), and the
    # status fields' texts by (header status byte, those records' JSON values).
    status_reads: tuple[int, ...] | None
    texts: dict[tuple[object, ...], dict[str, str]]
    # For a profile that computes fields (_computed_document): the takes its formulas,
    # dates and status tables read, (name, record index, conversion); every field it can
    # write, in order, hidden ones left out; the units of the takes and computed fields.
    reads: tuple[tuple[str, int, _Conversion | None], ...]
    shown: tuple[str, ...]
    all_units: dict[str, str]
    # The records taken as without a value, and the plans of these heads with more records
    # without a value, by their indices (MeterProfiles._without).
    missing: tuple[int, ...]
    without: dict[tuple[int, ...], _Plan]


def _new_plan(profile: MeterProfile | None, heads: Sequence[object], takes: Sequence[_Take],
              status_records: dict[int, int], missing: tuple[int, ...]) -> _Plan:
    names = []
    units: dict[str, str] = {}
    # One pass: plans are made at first sight.
    for name, _, unit, _, _ in takes:
        names.append(name)
        if unit:
            units[name] = unit
    assert len(set(names)) == len(names), "a plan's field names are unique (_json_fields)"
    reads: tuple[tuple[str, int, _Conversion | None], ...] = ()
    shown: tuple[str, ...] = ()
    all_units = units
    if profile is not None and (profile.has_formulas or profile.reads_fields):
        reads = tuple((name, record, conversion) for name, record, _, _, conversion in takes
                      if name in profile.read_fields)
        computed = profile.computed_fields
        shown = tuple(sorted({*names, *computed, *profile.status_fields}
                             - profile.hidden_fields, key=profile.positions.__getitem__))
        all_units = {**units, **{name: rule.unit for name, rule in computed.items()
                                 if rule.unit}}
    return _Plan(tuple(heads), tuple(takes), status_records, units,
                 tuple((name, record, conversion) for name, record, _, _, conversion in takes),
                 dict.fromkeys(names),
                 None if profile is None else profile.name,
                 tuple(status_records.values()) if profile is not None and profile.status
                 else None, {}, reads, shown, all_units, missing, {})


class MeterProfiles:
    """A set of meter profiles, checked against each other, ready to name meters.

    Two profiles that can match one meter are an error (:class:`ProfileError` naming
    both files) unless one is more specific than the other; the more specific one
    wins. Picklable (its caches are not pickled).
    """

    def __init__(self, profiles: Iterable[MeterProfile] = ()) -> None:
        self.profiles: tuple[MeterProfile, ...] = tuple(profiles)
        self._by_manufacturer: dict[str, list[MeterProfile]] = {}
        for profile in self.profiles:
            for code in profile.detect.manufacturers:
                self._by_manufacturer.setdefault(code, []).append(profile)
        self._check_overlaps()
        # Most specific first, so the first match wins (every overlap is nested): a profile
        # goes after the profiles nested in it.
        for code, candidates in self._by_manufacturer.items():
            self._by_manufacturer[code] = sorted(candidates, key=lambda profile: sum(
                other.detect.within(profile.detect) for other in candidates))
        # Detection depends on the payload's first bytes only as far as a prefix reaches.
        self._prefix_lengths: dict[str | None, int] = {
            code: max((len(profile.detect.prefix or b"") for profile in candidates), default=0)
            for code, candidates in self._by_manufacturer.items()}
        # (manufacturer, version, device type, ci, payload start) -> profile or None.
        self._found: dict[tuple[object, ...], MeterProfile | None] = {}
        # id(profile) -> (profile, {head ids: plan}); None: the generic names.
        self._plans: dict[int | None, tuple[object, dict[tuple[int, ...], _Plan]]] = {}
        # (header values, payload start, head ids) -> (profile, plan, heads): see document().
        self._documents: dict[tuple[object, ...], _DocumentEntry] = {}
        # id(profile) -> (profile, {id(head): _rules(...) of the head}, _rule_index(profile)).
        self._heads: dict[int, tuple[MeterProfile, dict[int, _HeadRules], _RuleIndex]] = {}
        # id(head) -> (head, generic name or None to skip the record, unit, quantity,
        # conversion).
        self._generic: dict[int, tuple[object, str | None, str, str, _Conversion | None]] = {}

    def __getstate__(self) -> tuple[MeterProfile, ...]:
        return self.profiles

    def __setstate__(self, state: tuple[MeterProfile, ...]) -> None:
        self.__init__(state)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"MeterProfiles({len(self.profiles)} profiles)"

    def __len__(self) -> int:
        return len(self.profiles)

    def _check_overlaps(self) -> None:
        names: dict[str, MeterProfile] = {}
        for profile in self.profiles:
            if profile.name in names:
                raise ProfileError(f"two profiles are named {profile.name!r} (the other is "
                                   f"{names[profile.name].file})", file=profile.file,
                                   table="profile", key="name")
            names[profile.name] = profile
        seen: set[tuple[str, str]] = set()
        for candidates in self._by_manufacturer.values():
            for index, first in enumerate(candidates):
                for second in candidates[index + 1:]:
                    pair = (first.name, second.name)
                    if pair in seen:
                        continue
                    seen.add(pair)
                    if (first.detect.overlaps(second.detect)
                            and not first.detect.within(second.detect)
                            and not second.detect.within(first.detect)):
                        raise ProfileError(
                            f"profiles {first.name!r} and {second.name!r} ({second.file}) "
                            "can match the same meter and neither is more specific: narrow "
                            "one's version, device_type, ci or prefix", file=first.file,
                            table="detect")

    def find(self, manufacturer: str | None, version: int | None = None,
             device_type: int | None = None, ci: int | None = None,
             payload: bytes = b"") -> MeterProfile | None:
        """The most specific profile for a meter, or None."""
        length = self._prefix_lengths.get(manufacturer or "")
        if length is None:
            return None
        key = (manufacturer, version, device_type, ci, payload[:length])
        try:
            return self._found[key]
        except KeyError:
            pass
        found = None
        for profile in self._by_manufacturer[manufacturer or ""]:
            if profile.detect.matches(manufacturer, version, device_type, ci, payload):
                found = profile
                break
        if len(self._found) >= _CACHE_LIMIT:
            self._found.clear()
        self._found[key] = found
        return found

    def apply(self, heads: Sequence[RecordHead], value_of: ValueOf, *,
              manufacturer: str | None, version: int | None = None,
              device_type: int | None = None, ci: int | None = None,
              status: int | None = None, payload: bytes = b"",
              meter_id: str | None = None, data_of: DataOf | None = None,
              context: TransformContext | None = None,
              telegram: str | None = None) -> MeterFields:
        """The named fields of one telegram: its profile's, or generic ones.

        ``value_of(i)`` gives record *i*'s Python value, ``data_of(i)`` its data bytes
        (for layouts reading a record; without it, the value when it is bytes).
        ``context`` gives transforms that decrypt the meter's key and link address.
        ``meter_id`` and ``telegram`` (its bytes as hex, say) name the telegram in the
        error of a formula that fails.
        """
        profile = self.find(manufacturer, version, device_type, ci, payload)
        if profile is None:
            return self.generic(heads, value_of, status)
        return self.fields_of(profile, heads, value_of, status=status, meter_id=meter_id,
                              payload=payload, data_of=data_of, context=context,
                              telegram=telegram)

    # --- plans -----------------------------------------------------------------------------

    def _cached_plan(self, profile: MeterProfile | None, heads: Sequence[RecordHead],
                     count: int, missing: tuple[int, ...] = ()) -> _Plan:
        """The plan for this sequence of heads, the records ``missing`` having no value
        (kept: meters leave the same dates unset telegram after telegram)."""
        key = tuple(map(id, heads))
        if missing:
            key += (-1, *missing)  # no id is -1
        slot = self._plans.get(id(profile) if profile is not None else None)
        if slot is None or slot[0] is not profile:
            slot = self._plans[id(profile) if profile is not None else None] = (profile, {})
        plans = slot[1]
        plan = plans.get(key)
        if plan is None:
            if len(plans) >= _CACHE_LIMIT:
                plans.clear()
            plan = plans[key] = self._plan(profile, heads, count, missing)
        return plan

    def _without(self, profile: MeterProfile | None, plan: _Plan, heads: Sequence[RecordHead],
                 count: int, indices: tuple[int, ...]) -> _Plan:
        """The plan of ``heads`` (``plan``'s) with the records ``indices`` without a value
        too, kept in ``plan`` (meters leave the same records unset telegram after
        telegram). All the records a plan takes that have no value are set aside at once:
        a telegram with many unset dates costs one more pass, not one per date."""
        found = plan.without.get(indices)
        if found is None:
            found = self._cached_plan(profile, heads, count,
                                      tuple(sorted({*plan.missing, *indices})))
            if len(plan.without) < _TEXTS_LIMIT:
                plan.without[indices] = found
        return found

    def _plan(self, profile: MeterProfile | None, heads: Sequence[RecordHead], count: int,
              missing: tuple[int, ...]) -> _Plan:
        """Which field takes which record: each head's matching rules in telegram order,
        the first match winning (or the n-th, for ``occurrence``); a record without a value
        (in ``missing``) gives no field. ``count``: the telegram's own records, layout
        records after them."""
        if profile is None:
            return self._generic_plan(heads, missing)
        found: dict[str, _Take] = {}
        status_records: dict[int, int] = {}
        seen: dict[str, int] = {}  # matches so far, for rules that take the n-th record
        cache = self._heads.get(id(profile))
        heads_seen = cache[1] if cache is not None and cache[0] is profile else {}
        for index, head in enumerate(heads):
            entry = heads_seen.get(id(head))
            if entry is None or entry[0] is not head:
                entry = self._rules(profile, head, index >= count)
            _, takes, tables = entry
            for table in tables:
                status_records.setdefault(table, index)
            for name, unit, quantity, conversion, occurrence in takes:
                if occurrence > 1:
                    seen[name] = seen.get(name, 0) + 1
                    if seen[name] != occurrence:
                        continue
                if name in found:
                    continue
                if index in missing:
                    break
                found[name] = (name, index, unit, quantity, conversion)
        order = profile.positions
        takes_in_order = sorted(found.values(), key=lambda take: order[take[0]])
        return _new_plan(profile, heads, takes_in_order, status_records, missing)

    def _rules(self, profile: MeterProfile, head: RecordHead, synthetic: bool) -> _HeadRules:
        """(head, what each field rule of ``profile`` that takes it gives: name, unit,
        quantity, conversion, occurrence; the status tables that take it); it depends on the
        head alone, so it is kept per head."""
        cache = self._heads.get(id(profile))
        if cache is None or cache[0] is not profile:
            cache = self._heads[id(profile)] = (profile, {}, _rule_index(profile))
        entry = cache[1].get(id(head))
        if entry is not None and entry[0] is head:
            return entry
        rules_by_quantity, status_by_quantity = cache[2]
        quantity = head.quantity
        takes = []
        for rule in rules_by_quantity.get(quantity, rules_by_quantity[None]):
            if not rule.selector.matches(head, synthetic):
                continue
            wanted = rule.unit
            if wanted is not None and wanted != head.unit and rule.record_unit is None:
                found = UNITS.get(head.unit)  # a unit of the field's dimension converts
                if found is None or found[0] != UNITS[wanted][0]:
                    continue
            name = rule.expanded_name({axis: getattr(head, axis) for axis in rule.expand}
                                      ) if rule.expand else rule.name
            source = rule.record_unit or head.unit
            unit = wanted or source
            conversion = _conversion(source, unit, wanted is not None and unit != source,
                                     quantity, rule.scale, _gives_floats(head))
            takes.append((name, unit, quantity, conversion, rule.occurrence))
        status = tuple(index for index, selector in
                       status_by_quantity.get(quantity, status_by_quantity[None])
                       if selector.matches(head, synthetic))
        entry = (head, tuple(takes), status)  # holds the head, so its id stays its own
        if len(cache[1]) >= _CACHE_LIMIT:
            cache[1].clear()
        cache[1][id(head)] = entry
        return entry

    def _generic_plan(self, heads: Sequence[RecordHead], missing: tuple[int, ...]) -> _Plan:
        """Every record by its generic name; a second record of a name gets ``_2`` ..."""
        takes: list[_Take] = []
        taken: set[str] = set()
        numbers: dict[str, int] = {}  # the next number to try per name taken twice
        get = self._generic.get  # an entry holds its head: an id found is that head's
        for index, head in enumerate(heads):
            entry = get(id(head)) or self._generic_entry(head)
            name = entry[1]
            if name is None or index in missing:
                continue
            if name in taken:  # the first free number: names only get taken, so it grows
                number = numbers.get(name, 2)
                while f"{name}_{number}" in taken:
                    number += 1
                numbers[name] = number + 1
                name = f"{name}_{number}"
            taken.add(name)
            takes.append((name, index, entry[2], entry[3], entry[4]))
        return _new_plan(None, heads, takes, {}, missing)

    def _generic_entry(self, head: RecordHead
                       ) -> tuple[object, str | None, str, str, _Conversion | None]:
        """(head, its generic name or None for a record that gets none, unit, quantity,
        conversion), kept per head."""
        if head.function in _SKIPPED_FUNCTIONS:
            entry: tuple[object, str | None, str, str, _Conversion | None] = (
                head, None, "", "", None)
        else:
            name, unit = generic_name(head)
            source = head.unit
            entry = (head, name, unit, head.quantity, None if unit == source
                     else _conversion(source, unit, True, head.quantity, None,
                                      _gives_floats(head)))
        if len(self._generic) >= _CACHE_LIMIT:
            self._generic.clear()
        self._generic[id(head)] = entry
        return entry

    # --- the fields ----------------------------------------------------------------------------

    def generic(self, heads: Sequence[RecordHead], value_of: ValueOf,
                status: int | None = None) -> MeterFields:
        """Generic fields named from the records (``volume_m3``, ``volume_m3_storage_1``)."""
        fields = self._named(None, heads, len(heads), value_of)[1]
        fields.append(NamedField("status", standard_status(status), "", "status", None))
        return MeterFields(None, tuple(fields))

    def document(self, records: Sequence[tuple[RecordHead, Any]],
                 record_dicts: Sequence[Mapping[str, object]], value: RecordValue,
                 manufacturer: str | None, version: int | None, device_type: int | None,
                 ci: int | None, status: int | None, payload: bytes = b"",
                 context: TransformContext | None = None, structure: object = None
                 ) -> dict[str, Any] | None:
        """``apply(...).to_dict()`` for one telegram, written from its records' JSON forms
        (``record_dicts[i]["value"]``, by the JSON rules of record values) without making
        the fields (Python values only for those that formulas and status tables read);
        None where a formula fails (:meth:`apply` raises the error, naming the meter and
        the telegram).

        ``records`` are the telegram's ``(head, data)`` pairs, ``value(head, data)`` gives a
        record's Python value (read only where a JSON form is not enough: a value given
        in another unit that int arithmetic does not convert, layouts, status tables).
        The header values, ``payload`` and ``context`` are those of :meth:`apply`.
        ``structure``, where the decoder has one, is an object that stands for the sequence
        of record heads: every telegram with these heads may pass the same object, and no
        other sequence passes it while it lives (``mbus.records.PendingRecords.structure``);
        the profiles then find the telegram's plan by it instead of by each head.
        """
        # One lookup finds the profile and the plan: the structure and the header values
        # (with the payload's start where a profile detects by it), or the header values
        # and the heads' ids. The keys differ in their first item: an int, a str or None.
        length = self._prefix_lengths.get(manufacturer)
        if structure is None:
            key: tuple[object, ...] = _heads_key(manufacturer, version, device_type, ci,
                                                 payload[:length or 0], map(_HEAD, records))
        elif length:
            key = (id(structure), manufacturer, version, device_type, ci, payload[:length])
        else:
            key = (id(structure), manufacturer, version, device_type, ci)
        entry = self._documents.get(key)
        if entry is None:
            entry = self._document_entry(key, records, manufacturer, version, device_type, ci,
                                         payload, structure, length or 0)
        profile, plan, heads, sources, _ = entry
        if plan is None:
            return self._written(profile, heads, sources, records, record_dicts, value, status,
                                 payload, context)
        if sources.settled:  # the plan the last telegram settled on, if it fits this one
            final, pattern = sources.settled[0]
            for index, unset in pattern:
                if (record_dicts[index]["value"] is None) is not unset:
                    break
            else:
                plan = final
        fields = _json_fields(plan, record_dicts, records, value)
        if type(fields) is tuple:
            examined: set[int] = set()
            while type(fields) is tuple:  # records without a value: the plan without them
                examined.update(index for _, index, _ in plan.fills)
                plan = self._without(profile, plan, heads, len(heads), fields)
                fields = _json_fields(plan, record_dicts, records, value)
            _settle(sources, plan, examined, record_dicts)
        assert type(fields) is dict
        if profile is not None and (profile.has_formulas or profile.reads_fields):
            return _computed_document(profile, plan, fields, record_dicts, records, value,
                                      status, [])
        if plan.status_reads is None:
            fields["status"] = _STANDARD_TEXTS.get(status) or standard_status(status)
        else:
            assert profile is not None
            fields.update(_cached_texts(profile, plan, status, record_dicts, records, value))
        return {"profile": plan.profile, "fields": fields, "units": plan.units.copy()}

    def _document_entry(self, key: tuple[object, ...], records: Sequence[tuple[RecordHead, Any]],
                        manufacturer: str | None, version: int | None,
                        device_type: int | None, ci: int | None, payload: bytes,
                        structure: object, length: int) -> _DocumentEntry:
        """(profile, plan, heads, :class:`_Layouts`, structure) for :meth:`document`: plan
        None where a layout of the profile reads in such telegrams (``length``: that of the
        payload's start that profiles of the manufacturer detect by)."""
        heads = tuple(map(_HEAD, records))
        entry: _DocumentEntry
        if structure is not None:
            # A decoder passes a structure once it knows where the records lie (mbus.records:
            # from a meter's second telegram on): the entry the heads had before serves
            # it, with what it settled and the plans of its layouts' paths.
            before = self._documents.get(_heads_key(manufacturer, version, device_type, ci,
                                                    payload[:length], heads))
            if before is not None:
                profile, plan, heads, sources, _ = before
                entry = (profile, plan, heads, sources, structure)
                self._keep(key, entry)
                return entry
        profile = self.find(manufacturer, version, device_type, ci, payload)
        reads = _layout_reads(profile, heads) if profile is not None else ()
        if profile is not None and reads:
            # Where nothing reads the layouts' values (formulas, status tables), _written
            # reads them quickly (JSON values and path) once it knows the path's plan.
            quick = not (profile.has_formulas or profile.reads_fields or profile.status)
            entry = (profile, None, heads, _Layouts(reads, {}, quick, []), structure)
        else:
            entry = (profile, self._cached_plan(profile, heads, len(heads)), heads,
                     _Layouts((), {}, False, []), structure)
        self._keep(key, entry)
        return entry

    def _keep(self, key: tuple[object, ...], entry: _DocumentEntry) -> None:
        if len(self._documents) >= _CACHE_LIMIT:
            self._documents.clear()
        # The entry holds the heads and the structure, so that their ids stay theirs.
        self._documents[key] = entry

    def _written(self, profile: MeterProfile | None, heads: Sequence[RecordHead],
                 layouts: _Layouts, records: Sequence[tuple[RecordHead, Any]],
                 record_dicts: Sequence[Mapping[str, object]], value: RecordValue,
                 status: int | None, payload: bytes, context: TransformContext | None
                 ) -> dict[str, Any] | None:
        """:meth:`document` the long way: layouts (reading where ``layouts`` say), records
        without a value, computed fields. The plan is kept per path the layouts took
        (equal paths, equal synthetic heads), so no heads are gathered per telegram."""
        count = len(heads)
        found: list[LayoutHead] = []
        values: list[Decimal | int | str] = []
        json_values: list[int | float | str] = []
        path: list[object] = []
        quick = layouts.quick
        problems = _read_layouts(layouts.reads, records, payload, context, found, values,
                                 json_values, True, path, quick)
        key = tuple(path)
        kept = layouts.plans.get(key)
        if kept is None:
            if quick:  # a new path: its heads are needed, read in full
                del found[:], values[:], json_values[:]
                problems = _read_layouts(layouts.reads, records, payload, context, found,
                                         values, json_values, True, [])
                quick = False
            kept = _path_plan(self._cached_plan(profile, (*heads, *found), count), count)
            if len(layouts.plans) < _PATHS_LIMIT:
                layouts.plans[key] = kept
        plan, own, synthetic = kept
        fields = _taken_fields(plan, own, synthetic, record_dicts, json_values, records,
                               None if quick else values, value)
        while type(fields) is not dict:
            if type(fields) is tuple:  # records without a value: the plan without them
                plan = self._without(profile, plan,
                                     cast("tuple[RecordHead, ...]", plan.heads), count, fields)
                _, own, synthetic = _path_plan(plan, count)
            else:  # a quick read, and a layout's value is needed after all
                del values[:]
                _read_layouts(layouts.reads, records, payload, context, [], values, [], True,
                              [])
                quick = False
            fields = _taken_fields(plan, own, synthetic, record_dicts, json_values, records,
                                   None if quick else values, value)
        assert type(fields) is dict
        computes = profile is not None and (profile.has_formulas or profile.reads_fields)
        if profile is not None and (computes or profile.status):
            # Formulas and status tables read the records, the layouts' too.
            pairs: Sequence[tuple[Any, Any]] = records
            if found:
                pairs = _WithLayouts(records, found, values, value)
                value = pairs.value
                if plan.status_reads is not None:  # status tables read the JSON values
                    record_dicts = _WithLayoutDicts(record_dicts, json_values)
            if computes:
                return _computed_document(profile, plan, fields, record_dicts, pairs, value,
                                          status, problems)
            fields.update(_cached_texts(profile, plan, status, record_dicts, pairs, value))
        else:
            fields["status"] = _STANDARD_TEXTS.get(status) or standard_status(status)
        out: dict[str, Any] = {"profile": plan.profile, "fields": fields,
                               "units": plan.units.copy()}
        if problems:
            out["problems"] = problems
        return out

    def fields_of(self, profile: MeterProfile, heads: Sequence[RecordHead], value_of: ValueOf,
                  *, status: int | None = None, meter_id: str | None = None,
                  payload: bytes = b"", data_of: DataOf | None = None,
                  context: TransformContext | None = None,
                  telegram: str | None = None) -> MeterFields:
        """The fields ``profile`` gives for a telegram's records (``data_of(i)``: record
        *i*'s data bytes, for layouts that read a record; ``payload`` for layouts of the
        payload; ``context`` for the layouts' transforms). A formula that fails raises
        :class:`ProfileError` naming the profile, the field and the telegram
        (``telegram`` and ``meter_id``)."""
        count = len(heads)
        problems: list[str] = []
        if profile.layouts:
            synthetic, problems = _run_layouts(profile, heads, data_of or value_of, payload,
                                               context)
            value_of = _with_synthetic(value_of, count, synthetic)
            heads = [*heads, *(record.head for record in synthetic)]
        plan, fields = self._named(profile, heads, count, value_of)
        values = {field.name: field.value for field in fields}
        if profile.has_formulas:
            problems += _formulas(profile, values, meter_id, telegram)
            fields.extend(NamedField(rule.name, values[rule.name], rule.unit or "",
                                     "date" if rule.date else "formula", None)
                          for rule in profile.computed_fields.values() if rule.name in values)
        texts = _status_texts(profile, values, plan.status_records, value_of, status)
        fields.extend(NamedField(name, text, "", "status", None) for name, text in texts.items())
        order = profile.positions
        hidden = profile.hidden_fields  # inputs of formulas and status tables only
        ordered = tuple(sorted((field for field in fields if field.name not in hidden),
                               key=lambda field: order[field.name]))
        return MeterFields(profile.name, ordered, tuple(problems))

    def _named(self, profile: MeterProfile | None, heads: Sequence[RecordHead], count: int,
               value_of: ValueOf) -> tuple[_Plan, list[NamedField]]:
        """The plan of ``heads`` and the fields it takes, with their values (Python forms)."""
        plan = self._cached_plan(profile, heads, count)
        fields = _python_fields(plan, value_of)
        while type(fields) is tuple:  # records without a value: the plan without them
            plan = self._without(profile, plan, heads, count, fields)
            fields = _python_fields(plan, value_of)
        assert type(fields) is list
        return plan, fields

    def _json_fields(self, profile: MeterProfile | None, heads: Sequence[RecordHead],
                     count: int, record_dicts: Sequence[Mapping[str, object]],
                     records: Sequence[tuple[Any, Any]], value: RecordValue
                     ) -> tuple[_Plan, dict[str, object]]:
        """The plan of ``heads`` and the fields it takes, with their values (JSON forms)."""
        plan = self._cached_plan(profile, heads, count)
        fields = _json_fields(plan, record_dicts, records, value)
        while type(fields) is tuple:  # records without a value: the plan without them
            plan = self._without(profile, plan, heads, count, fields)
            fields = _json_fields(plan, record_dicts, records, value)
        assert type(fields) is dict
        return plan, fields


_HEAD = itemgetter(0)


class _Layouts(NamedTuple):
    """What document() keeps per telegram structure for :meth:`MeterProfiles._written`:
    the profile's layouts that read in it (:func:`_layout_reads`), and the plans by the
    path the layouts' bytes took (``path`` of :func:`profiles._layouts.read_layout_into`)."""

    reads: tuple[_LayoutRead, ...]
    plans: dict[tuple[object, ...], _PathPlan]
    quick: bool  # reads quickly (``quick`` of read_layout_into) where it knows the plan
    # Where document() has the plan (no layouts read): the plan the last telegram with
    # records without a value settled on, and (index, no JSON value) of the records its
    # chain of plans examined (_settle); empty: none.
    settled: list[tuple[_Plan, tuple[tuple[int, bool], ...]]]


# A plan's fills (name, record index, conversion or None) of one kind of records.
_Fills = tuple[tuple[str, int, "_Conversion | None"], ...]


def _settle(layouts: _Layouts, plan: _Plan, examined: set[int],
            record_dicts: Sequence[Mapping[str, object]]) -> None:
    """Keep ``plan``, the one a telegram settled on, with which of the records its chain
    of plans ``examined`` had no JSON value: a telegram with the same ones settles on it
    from the structure's plan the same way, the values of the others playing no part.
    Kept only where the records set aside are those without a JSON value it examined:
    the chain started at the structure's plan (a plan's records set aside are none it
    takes), and no Python value that converts to none set one aside."""
    unset = {index for index in examined if record_dicts[index]["value"] is None}
    if unset == set(plan.missing):
        layouts.settled[:] = [(plan, tuple((index, index in unset)
                                           for index in sorted(examined)))]


class _PathPlan(NamedTuple):
    """A plan kept per path (:class:`_Layouts`), its fills split by where their JSON
    values are: the telegram's records (``own``), the layouts' records (``synthetic``,
    by their place among the layouts' JSON values instead of their record index)."""

    plan: _Plan
    own: _Fills
    synthetic: _Fills


def _path_plan(plan: _Plan, count: int) -> _PathPlan:
    """``plan``'s :class:`_PathPlan` (``count``: the telegram's own records)."""
    return _PathPlan(plan, tuple(fill for fill in plan.fills if fill[1] < count),
                     tuple((name, index - count, conversion)
                           for name, index, conversion in plan.fills if index >= count))


_PATHS_LIMIT = 64  # plans kept per telegram structure (patterns of gates, unset dates)
# What document() keeps per telegram structure: (profile, plan (None: _written makes the
# fields), the heads (holding them keeps their ids theirs), _Layouts of the heads).
_DocumentEntry = tuple["MeterProfile | None", "_Plan | None", tuple[Any, ...], _Layouts,
                       object]
# A profile's field rules (not computed) and status tables (reading records) by the quantity
# they name: each quantity's in file order with those naming none; None: those naming none.
_RuleIndex = tuple[dict[str | None, tuple[FieldRule, ...]],
                   dict[str | None, tuple[tuple[int, RecordSelector], ...]]]
# (head, (name, unit, quantity, conversion, occurrence) of each field rule taking it, the
# status tables taking it).
_HeadRules = tuple[object, tuple[tuple[str, str, str, _Conversion | None, int], ...],
                   tuple[int, ...]]


def _rule_index(profile: MeterProfile) -> _RuleIndex:
    """Which rules and status tables can take a head of each quantity (so a new head is
    matched against those only): each quantity's, in file order with those naming none;
    None: those naming none."""
    rules: dict[str | None, list[FieldRule]] = {None: []}
    tables: dict[str | None, list[tuple[int, RecordSelector]]] = {None: []}
    for rule in profile.fields:
        rules.setdefault(rule.selector.quantity, [])
    for table in profile.status:
        if table.selector is not None:
            rules.setdefault(table.selector.quantity, [])
    for quantity in rules:
        tables[quantity] = []
    for rule in profile.fields:
        if not rule.computed:
            quantity = rule.selector.quantity
            for taking in (rules.values() if quantity is None else (rules[quantity],)):
                taking.append(rule)
    for index, table in enumerate(profile.status):
        if table.selector is not None:
            quantity = table.selector.quantity
            for reading in (tables.values() if quantity is None else (tables[quantity],)):
                reading.append((index, table.selector))
    return ({quantity: tuple(taking) for quantity, taking in rules.items()},
            {quantity: tuple(reading) for quantity, reading in tables.items()})


def _cached_texts(profile: MeterProfile, plan: _Plan, status: int | None,
                  record_dicts: Sequence[Mapping[str, object]],
                  records: Sequence[tuple[Any, Any]], value: RecordValue) -> dict[str, str]:
    """The status fields' texts, kept per plan by the values they depend on (a plan's
    heads fix how a JSON value maps to the Python value the tables read)."""
    assert plan.status_reads is not None
    key: list[object] = [status]
    for index in plan.status_reads:  # (a comprehension costs ~1.3k more: its own frame)
        key.append(record_dicts[index]["value"])
    texts = plan.texts.get(tuple(key))
    if texts is None:
        found = _status_texts(profile, {}, plan.status_records, _value_of(records, value),
                              status)
        texts = {name: found[name] for name in profile.status_fields if name in found}
        if len(plan.texts) < _TEXTS_LIMIT:
            plan.texts[tuple(key)] = texts
    return texts


_TEXTS_LIMIT = 64  # status values kept per plan (meters report few distinct ones)


def _value_of(records: Sequence[tuple[Any, Any]], value: RecordValue) -> ValueOf:
    """Record *i*'s Python value, from the pairs."""
    def value_of(index: int) -> object:
        return value(*records[index])
    return value_of


class _WithLayouts(Sequence[tuple[Any, Any]]):
    """The telegram's ``(head, data)`` pairs, then the layouts' ``(head, value)``: a pair
    made where it is read (formulas and status tables read few of them); :meth:`value`
    reads both kinds (``record_value`` the telegram's)."""

    __slots__ = ("heads", "own", "record_value", "records", "values")

    def __init__(self, records: Sequence[tuple[Any, Any]], heads: list[LayoutHead],
                 values: list[Decimal | int | str], record_value: RecordValue) -> None:
        self.records, self.heads, self.values = records, heads, values
        self.own = len(records)
        self.record_value = record_value

    def value(self, head: Any, data: Any) -> object:
        """The Python value of a pair: ``record_value``'s for the telegram's, the value
        itself for a layout's record (made where it is read: see ``lazy`` of
        :func:`profiles._layouts.read_layout_into`)."""
        return scaled_value(data) if type(head) is LayoutHead else self.record_value(head, data)

    def __len__(self) -> int:
        return self.own + len(self.heads)

    @overload
    def __getitem__(self, index: int) -> tuple[Any, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[Any, Any]]: ...

    def __getitem__(self, index: int | slice) -> tuple[Any, Any] | Sequence[tuple[Any, Any]]:
        if type(index) is not int or index < 0:
            return [*self.records, *zip(self.heads, self.values, strict=True)][index]
        if index < self.own:
            return self.records[index]
        return self.heads[index - self.own], self.values[index - self.own]


class _WithLayoutDicts(Sequence[Mapping[str, object]]):
    """The telegram's record dicts, then ``{"value": json}`` of the layouts' records: a
    dict made where it is read (status tables read few of them)."""

    __slots__ = ("json_values", "own", "record_dicts")

    def __init__(self, record_dicts: Sequence[Mapping[str, object]],
                 json_values: list[int | float | str]) -> None:
        self.record_dicts, self.json_values = record_dicts, json_values
        self.own = len(record_dicts)

    def __len__(self) -> int:
        return self.own + len(self.json_values)

    @overload
    def __getitem__(self, index: int) -> Mapping[str, object]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Mapping[str, object]]: ...

    def __getitem__(self, index: int | slice
                    ) -> Mapping[str, object] | Sequence[Mapping[str, object]]:
        if type(index) is not int or index < 0:
            return [*self.record_dicts, *[{"value": json} for json in self.json_values]][index]
        if index < self.own:
            return self.record_dicts[index]
        return {"value": self.json_values[index - self.own]}


def _with_synthetic(value_of: ValueOf, count: int, synthetic: list[LayoutRecord]) -> ValueOf:
    """``value_of`` reading layout records (indices from ``count`` on) too."""
    def value(index: int) -> object:
        return value_of(index) if index < count else synthetic[index - count].value
    return value


def _python_fields(plan: _Plan, value_of: ValueOf) -> list[NamedField] | tuple[int, ...]:
    """The plan's fields with their values, or the indices of the records it takes that
    have no value."""
    fields = []
    missing: list[int] = []
    for name, index, unit, quantity, conversion in plan.takes:
        value = field_value(value_of(index))
        if value is None:
            missing.append(index)
            continue
        if conversion is not None:
            value = conversion.python(value)
        fields.append(NamedField(name, value, unit, quantity, index))
    return tuple(sorted(set(missing))) if missing else fields


def _json_fields(plan: _Plan, record_dicts: Sequence[Mapping[str, object]],
                 records: Sequence[tuple[Any, Any]], value: RecordValue
                 ) -> dict[str, object] | tuple[int, ...]:
    """The plan's fields as JSON values: ``record_dicts[i]["value"]`` where the field takes
    record *i*'s value as it is, else converted (from the int JSON value where it can, else
    from ``value(*records[i])``); or the indices of the records it takes that have no
    value (those without a JSON value, else the first whose Python value converts to
    none)."""
    # The plan's template filled in place, each value tested and converted as it is taken:
    # a comprehension's dict grows as it fills, and `None in fields.values()` costs an
    # equality test per field.
    fields: dict[str, object] = plan.template.copy()
    for name, index, conversion in plan.fills:
        if (found := record_dicts[index]["value"]) is None:
            return _missing([record_dict["value"] for record_dict in record_dicts], plan)
        if conversion is not None:
            converted: object = conversion.number_json(found)
            if converted is None:
                converted = conversion.json(value(*records[index]))
                if converted is None:
                    return (_missing([record_dict["value"] for record_dict in record_dicts],
                                     plan) or (index,))
            found = converted
        fields[name] = found
    return fields


def _missing(every: Sequence[object], plan: _Plan) -> tuple[int, ...]:
    """The indices of the records ``plan`` takes whose JSON value in ``every`` is None."""
    return tuple(sorted({index for _, index, _ in plan.fills if every[index] is None}))


def _taken_fields(plan: _Plan, own: _Fills, synthetic: _Fills,
                  record_dicts: Sequence[Mapping[str, object]],
                  json_values: list[int | float | str], records: Sequence[tuple[Any, Any]],
                  values: Sequence[Decimal | int | str] | None, value: RecordValue
                  ) -> dict[str, object] | tuple[int, ...] | None:
    """:func:`_json_fields` of a telegram with layouts, ``own`` and ``synthetic`` the
    plan's fills (:class:`_PathPlan`): the JSON values of the telegram's records in
    ``record_dicts``, the layouts' in ``json_values``. A conversion that needs the Python
    value makes it from ``records`` or, for a layout's record, from its value in
    ``values`` (None: not read, and needed: the caller reads it and asks again).

    A layout's record always has a value (one without is left out), so the records
    without a value, and those whose Python value converts to none, are the telegram's:
    filled first, they are met as in the plan's order."""
    fields: dict[str, object] = plan.template.copy()  # filled in place: _json_fields
    for name, index, conversion in own:
        if (found := record_dicts[index]["value"]) is None:
            return _own_missing(record_dicts, own)
        if conversion is not None:
            converted: object = conversion.number_json(found)
            if converted is None:
                converted = conversion.json(value(*records[index]))
                if converted is None:
                    return _own_missing(record_dicts, own) or (index,)
            found = converted
        fields[name] = found
    for name, place, conversion in synthetic:
        found = json_values[place]
        if conversion is not None:
            converted = conversion.number_json(found)
            if converted is None:
                if values is None:
                    return None
                converted = conversion.json(scaled_value(values[place]))
                assert converted is not None  # a layout's value is never None
            found = converted
        fields[name] = found
    return fields


def _own_missing(record_dicts: Sequence[Mapping[str, object]], own: _Fills) -> tuple[int, ...]:
    """The indices of the records in ``own`` whose JSON value is None (:func:`_missing`)."""
    return tuple(sorted({index for _, index, _ in own if record_dicts[index]["value"] is None}))


def _run_layouts(profile: MeterProfile, heads: Sequence[RecordHead], data_of: ValueOf,
                 payload: bytes, context: TransformContext | None
                 ) -> tuple[list[LayoutRecord], list[str]]:
    """The synthetic records of the profile's layouts, and what stopped any of them
    (``data_of(i)``: record *i*'s data bytes, or its value)."""
    found: list[LayoutHead] = []
    values: list[Decimal | int | str] = []
    reads = _layout_reads(profile, heads)
    # The data of the records the layouts read, each asked for once.
    data = {source: (None, data_of(source)) for _, source, _, _ in reads if source != _PAYLOAD}
    problems = _read_layouts(reads, data, payload, context, found, values, [], False, [])
    return list(map(LayoutRecord, found, values)), problems


_PAYLOAD = -1  # a layout of the payload, in _layout_reads
# A layout as a telegram structure reads it: (layout, the index of its record or _PAYLOAD,
# its transform or None, its blocks (held here: no lookup per read)).
_LayoutRead = tuple[Layout, int, "Transform | None", _Program]


def _layout_reads(profile: MeterProfile, heads: Sequence[RecordHead]
                  ) -> tuple[_LayoutRead, ...]:
    """The profile's layouts that read in a telegram of these heads, in order: (layout,
    the index of its record or ``_PAYLOAD``, its transform or None, its blocks); one whose
    record the telegram lacks is left out."""
    reads: list[_LayoutRead] = []
    for layout in profile.layouts:
        source: int | None = None
        if layout.source == "payload":
            source = _PAYLOAD
        else:
            for index, head in enumerate(heads):
                if (head.function in _MANUFACTURER_DATA if layout.source == "manufacturer_data"
                        else layout.selector is not None
                        and layout.selector.matches(head, False)):
                    source = index
                    break
        if source is not None:
            reads.append((layout, source, None if layout.transform is None
                          else _transforms().TRANSFORMS[layout.transform], _program(layout)))
    return tuple(reads)


def _read_layouts(reads: tuple[_LayoutRead, ...],
                  records: Sequence[tuple[Any, Any]] | Mapping[int, tuple[Any, Any]],
                  payload: bytes, context: TransformContext | None, found: list[LayoutHead],
                  values: list[Decimal | int | str], json_values: list[int | float | str],
                  lazy: bool, path: list[object], quick: bool = False) -> list[str]:
    """The layouts read as ``reads`` (:func:`_layout_reads`) say, appending the synthetic
    records' heads, values and JSON values to the lists, and what stands for the heads to
    ``path`` (see :func:`profiles._layouts.read_layout_into`, also for ``lazy``; a layout
    that reads nothing appends nothing; ``quick`` too); what stopped any layout.
    ``records[i][1]``: record *i*'s data bytes (a layout reads nothing from a record whose
    data is not bytes)."""
    problems: list[str] = []
    for layout, source, transform, blocks in reads:
        if source == _PAYLOAD:
            data = payload
        else:
            raw = records[source][1]
            if not isinstance(raw, bytes):
                continue
            data = raw
        if transform is not None:
            try:
                data = transform(data, context or _transforms().NO_CONTEXT)
            except _transforms().TransformError as error:
                problems.append(f"{layout.table}: transform {layout.transform}: {error}")
                continue
        # read_layout_into, inline (without its frame): a layout's fault as the item raised
        # it (only its message is read).
        count, made, mark = len(found), len(json_values), len(path)
        last = _read_blocks(blocks, data, found, values,  # type: ignore[arg-type]
                            json_values, lazy, path, quick)
        if last is not None:
            path.append(last)
            continue
        fault = _read_again(layout, data, found, values, json_values, count, made, path, mark,
                            False)
        if fault is not None:
            problems.append(f"{layout.table}: {fault.message}")
    return problems


@functools.cache
def _transforms() -> ModuleType:
    """``profiles.transforms``, imported at first use (it imports cryptography), then kept:
    an import statement per telegram costs more than the transform."""
    from . import transforms

    return transforms


def _converted(value: FieldValue, source: str, target: str, difference: bool) -> FieldValue:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return float(convert(Decimal(repr(value)), source, target, difference=difference))
    return _exact(convert(value, source, target, difference=difference))


def _scaled(value: FieldValue, scale: Decimal) -> FieldValue:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return float(Decimal(repr(value)) * scale)
    return _exact(WIDE.multiply(value, scale))  # an int taken exactly


def _exact(value: Decimal | int) -> Decimal | int:
    """Whole numbers without a fraction part as int (as the records give them)."""
    if isinstance(value, Decimal) and value == value.to_integral_value() and (
            value.as_tuple().exponent >= 0):  # type: ignore[operator]
        return int(value)
    return value


def _number(value: FieldValue) -> Decimal | int | None:
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return None


class _Step(NamedTuple):
    """A computed field as :func:`_formulas` evaluates it: its rule, the fields it reads
    (sorted), its formula's program (None: a date) or its date parts' programs, and its
    lookup table as a dict; for a formula whose result is the field's value (no lookup,
    no scale), its ready program (reads unchecked, :func:`_computed_document`)."""

    rule: FieldRule
    inputs: tuple[str, ...]
    program: Program | None
    date: tuple[tuple[str, Program], ...]
    lookup: dict[Decimal, Decimal | int | str] | None
    ready: Program | None


class _Formulas(NamedTuple):
    """A profile's computed fields, worked out once per profile (:func:`_formula_plan`)."""

    profile: MeterProfile  # holds it, so that its id stays its own
    steps: dict[str, _Step]  # by name, in file order
    order: tuple[_Step, ...] | None  # the order of the walk, where no telegram changes it
    shown: tuple[str, ...]  # the computed fields that are output (not hidden), in order


_FORMULAS: dict[int, _Formulas] = {}


def _formula_plan(profile: MeterProfile) -> _Formulas:
    """The steps of the profile's computed fields and the order :func:`_formulas` walks
    them in: file order, each field after the computed fields it reads, as if every input
    were there. That is the walk's order for every telegram unless a field is the first to
    reach a computed field it reads after another input (a missing input ends the walk of
    a field there, leaving the computed one for later): then ``order`` is None."""
    found = _FORMULAS.get(id(profile))
    if found is not None and found.profile is profile:
        return found
    steps = {rule.name: _Step(rule, rule.inputs,
                              None if rule.formula is None else program(rule.formula),
                              tuple((part, program(formula)) for part, formula in rule.date),
                              None if rule.lookup is None else dict(rule.lookup),
                              None if rule.formula is None or rule.lookup is not None
                              or rule.scale is not None else program(rule.formula, True))
             for rule in profile.computed_fields.values()}
    order: list[_Step] = []
    reached: set[str] = set()
    late = False  # whether a computed field is first reached after another input

    def visit(step: _Step) -> None:
        nonlocal late
        reached.add(step.rule.name)
        for position, name in enumerate(step.inputs):
            if name in steps and name not in reached:
                late = late or position > 0
                visit(steps[name])
        order.append(step)

    for step in steps.values():
        if step.rule.name not in reached:
            visit(step)
    found = _Formulas(profile, steps, None if late else tuple(order),
                      tuple(name for name in steps if name not in profile.hidden_fields))
    if len(_FORMULAS) >= _CACHE_LIMIT:
        _FORMULAS.clear()
    _FORMULAS[id(profile)] = found
    return found


def _formulas(profile: MeterProfile, values: dict[str, FieldValue], meter_id: str | None,
              telegram: str | None) -> list[str]:
    """Add to ``values`` (field name -> value) the computed fields whose inputs are all
    there (the loader refused cycles); the problems met (a value missing from a lookup
    table). The fields are walked in file order, each after the computed fields it reads,
    up to its first input missing; where no telegram changes that order, in the order
    worked out once (:func:`_formula_plan`)."""
    plan = _formula_plan(profile)
    problems: list[str] = []
    numbers: dict[str, Decimal | int] = {}  # the values read so far, as numbers
    if plan.order is not None:
        for step in plan.order:
            for name in step.inputs:
                if name not in numbers:
                    number = _number(values[name]) if name in values else None
                    if number is None:
                        break  # an input is missing in this telegram: no value
                    numbers[name] = number
            else:
                _compute(profile, step, values, numbers, problems, meter_id, telegram)
        return problems
    steps = plan.steps
    done: set[str] = set()

    def walk(step: _Step) -> None:
        done.add(step.rule.name)
        for name in step.inputs:
            if name in steps and name not in done:
                walk(steps[name])
            if name not in numbers:
                number = _number(values[name]) if name in values else None
                if number is None:
                    return  # an input is missing in this telegram: no value
                numbers[name] = number
        _compute(profile, step, values, numbers, problems, meter_id, telegram)

    for step in steps.values():
        if step.rule.name not in done:
            walk(step)
    return problems


def _compute(profile: MeterProfile, step: _Step, values: dict[str, FieldValue],
             numbers: dict[str, Decimal | int], problems: list[str], meter_id: str | None,
             telegram: str | None) -> None:
    """Add the field of ``step`` to ``values`` (its inputs are all in ``numbers``), or what
    stops it to ``problems``; a formula that fails raises ProfileError naming the profile,
    the field and the telegram."""
    rule = step.rule
    try:
        if step.program is None:
            text = _date(step.date, numbers)
            if text is not None:  # a date that is not one (month 0 ...) gives no field
                values[rule.name] = text
            return
        number = step.program(numbers)
    except ExpressionError as exc:
        raise ProfileError(
            f"profile {profile.name}, field {rule.name}, telegram "
            f"{telegram or '(not given)'} of meter {meter_id or '(no id)'}: {exc.message}",
            file=profile.file, table=rule.table,
            key="formula" if rule.formula is not None else "date") from None
    if step.lookup is None and rule.scale is None:
        if type(number) is not int:
            number = result_number(number)  # _exact(result_decimal(number))
        values[rule.name] = numbers[rule.name] = number
        return
    result = result_decimal(number)
    value: Decimal | int | str = result
    if step.lookup is not None:
        looked = step.lookup.get(result)
        if looked is None:
            problems.append(f"{rule.table}: {rule.name}: {result} is not in "
                            f"lookups.{rule.lookup_name}")
            return
        value = looked
    if rule.scale is not None and not isinstance(value, str):
        value = value * rule.scale
    if isinstance(value, str):
        values[rule.name] = value
    else:  # a number, as formulas that read it take it (_number)
        values[rule.name] = numbers[rule.name] = _exact(value)


def _date(parts: tuple[tuple[str, Program], ...],
          values: Mapping[str, Decimal | int]) -> str | None:
    """The ISO text of a date (and time) from its parts' formulas; None when they give no
    valid date."""
    numbers: dict[str, int] = {}
    for part, formula in parts:
        value = formula(values)
        whole = int(value)
        if whole != value:
            return None
        numbers[part] = whole
    try:
        day = datetime.date(numbers["year"], numbers["month"], numbers["day"])
        if "hour" not in numbers:
            return day.isoformat()
        moment = datetime.time(numbers["hour"], numbers["minute"])
    except (ValueError, OverflowError):
        return None
    return f"{day.isoformat()}T{moment.isoformat('minutes')}"


class _Computing(NamedTuple):
    """What :func:`_computed_document` does for one plan of a profile that computes fields
    (the plan fixes which fields are there), worked out once per plan (:func:`_computing`)."""

    plan: _Plan  # holds it, so that its id stays its own
    # The takes formulas and dates read, as numbers: (name, record index, conversion).
    numbers: tuple[tuple[str, int, _Conversion | None], ...]
    # The takes status tables read, as Python values.
    values: tuple[tuple[str, int, _Conversion | None], ...]
    # The computed fields this plan can give, in the order of the walk, each with its
    # inputs (all in the numbers of a telegram, or no value), its ready program
    # (_Step.ready) and its name; None: the walk itself (_Formulas.order is None) reading
    # every take of plan.reads.
    steps: tuple[tuple[_Step, frozenset[str], Program | None, str], ...] | None
    shown: tuple[str, ...]  # the computed fields of the steps that are output, in order
    units: dict[str, str]  # the units of plan.shown (all of them there)
    # The fields of the output that this plan can give (plan.shown without the computed
    # fields that have no step), in order, each None: filled in place (see _json_fields).
    template: dict[str, object]
    # The takes in the output; None where they are all the takes (none hidden): then the
    # fields go in at once.
    taken: tuple[str, ...] | None
    statuses: int  # the status fields in the template


_COMPUTING: dict[int, _Computing] = {}
# A JSON int below this in size is a number formulas read as it is: the Python value it is
# the form of is that int or a Decimal equal to it, within the bounds of formula inputs
# (_expressions._number takes both alike).
_JSON_NUMBER = 10**600
_JSON_LOW = -_JSON_NUMBER
# A JSON float is the float of an exact decimal of at most 15 significant digits (the
# Python value; longer ones are written as text) or the Python value itself (a float):
# within these bounds (normal floats, not 0.0, which a tiny decimal gives too) its
# shortest form (repr) is that decimal's value, the number formulas read (_number).
_FLOAT_LOW, _FLOAT_HIGH = 1e-300, 1e300


def _computing(profile: MeterProfile, plan: _Plan) -> _Computing:
    """:class:`_Computing` of ``plan``, made and kept (:func:`_computed_document` finds it
    by the plan's id)."""
    formulas = _formula_plan(profile)
    read_by_formulas = {name for rule in profile.computed_fields.values()
                        for name in rule.reads}
    read_by_tables = {table.field for table in profile.status if table.source == "field"}
    steps: tuple[tuple[_Step, frozenset[str], Program | None, str], ...] | None = None
    shown: tuple[str, ...] = formulas.shown
    if formulas.order is not None:
        # A computed field whose inputs no telegram of this plan has all of gets no step.
        there = {name for name, _, _ in plan.reads}
        kept = []
        for step in formulas.order:
            if there.issuperset(step.inputs):
                kept.append((step, frozenset(step.inputs), step.ready, step.rule.name))
                there.add(step.rule.name)
        steps = tuple(kept)
        shown = tuple(name for name in formulas.shown if name in there)
    units = plan.all_units
    given = {*plan.template, *shown, *profile.status_fields}
    template = dict.fromkeys(name for name in plan.shown if name in given)
    taken = tuple(name for name in plan.template if name in template)
    found = _Computing(
        plan,
        tuple(read for read in plan.reads if read[0] in read_by_formulas),
        tuple(read for read in plan.reads if read[0] in read_by_tables),
        steps, shown, {name: units[name] for name in template if name in units},
        template, None if len(taken) == len(plan.template) else taken,
        sum(name in template for name in profile.status_fields))
    if len(_COMPUTING) >= _CACHE_LIMIT:
        _COMPUTING.clear()
    _COMPUTING[id(plan)] = found
    return found


def _computed_document(profile: MeterProfile, plan: _Plan, fields: dict[str, object],
                       record_dicts: Sequence[Mapping[str, object]],
                       records: Sequence[tuple[Any, Any]], value: RecordValue,
                       status: int | None, problems: list[str]) -> dict[str, Any] | None:
    """:meth:`MeterProfiles.document` of a profile that computes fields: ``fields`` (the
    JSON values of the fields the plan takes) with the computed fields and status texts
    added, in order, without the hidden ones; the Python values made only for the fields
    that formulas, dates and status tables read and whose JSON value does not say the
    number (an int does). None where a formula fails (:meth:`apply` raises its error,
    naming the meter and the telegram)."""
    computing = _COMPUTING.get(id(plan))
    if computing is None or computing.plan is not plan:
        computing = _computing(profile, plan)
    values: dict[str, FieldValue] = {}
    if computing.steps is None:
        for name, index, conversion in plan.reads:
            found = field_value(value(*records[index]))
            if found is None:
                return None
            values[name] = found if conversion is None else conversion.python(found)
        try:
            problems = [*problems, *_formulas(profile, values, None, None)]
        except ProfileError:
            return None
    else:
        numbers: dict[str, Decimal | int] = {}
        # Whether every number is ready (_expressions.is_ready): then the steps run their
        # ready programs, which read them without a check (the checks done once here).
        ready = True
        for name, index, conversion in computing.numbers:
            json = fields[name]
            if type(json) is int and _JSON_LOW < json < _JSON_NUMBER:
                numbers[name] = json  # ready: within the size rule
                continue
            if type(json) is float and _FLOAT_LOW < abs(json) < _FLOAT_HIGH:
                numbers[name] = Decimal(repr(json))  # ready: 17 digits, exponent > -330
                continue
            found = field_value(value(*records[index]))
            if found is None:
                return None
            if conversion is None:
                number = _number(found)
            elif type(json) is str and (type(found) is int or type(found) is Decimal):
                # The text of the converted Decimal (field_json): no second conversion.
                number = Decimal(json)
            else:
                number = _number(conversion.python(found))
            if number is not None:  # else no formula reading it has a value
                numbers[name] = number
                ready = ready and is_ready(number)
        for name, index, conversion in computing.values:
            found = field_value(value(*records[index]))
            if found is None:
                return None
            values[name] = found if conversion is None else conversion.python(found)
        computed: list[str] = []
        present = numbers.keys()
        # Whether every number the steps can read is there (each take's, each step's so
        # far): then no step's inputs need a look.
        every = len(numbers) == len(computing.numbers)
        try:
            for step, inputs, run, name in computing.steps:
                if every or present >= inputs:
                    if ready and run is not None:
                        number, ready = ready_result(run(numbers))
                        values[name] = numbers[name] = number
                    else:
                        _compute(profile, step, values, numbers, computed, None, None)
                        # A number of a lookup or scale is not checked: from here on, the
                        # checked programs.
                        ready = ready and name not in numbers
                        every = every and name in numbers
        except (ExpressionError, ProfileError):  # _compute names it: not needed here
            return None
        if computed:
            problems = [*problems, *computed]
    texts: Mapping[str, str]
    if profile.reads_fields:
        texts = _status_texts(profile, values, plan.status_records, _value_of(records, value),
                              status)
    elif plan.status_reads is None:  # no status tables
        texts = {"status": _STANDARD_TEXTS.get(status) or standard_status(status)}
    else:
        texts = _cached_texts(profile, plan, status, record_dicts, records, value)
    # The fields in plan.shown's order: its template filled in place, the values of the
    # takes (no None among them) put in at once.
    shown = computing.template.copy()
    if computing.taken is None:
        shown.update(fields)
    else:
        for name in computing.taken:
            shown[name] = fields[name]
    for name in computing.shown:
        if name in values:
            shown[name] = field_json(values[name])
        else:
            del shown[name]
    shown.update(texts)
    if len(shown) == len(computing.template) and len(texts) == computing.statuses:
        units = computing.units.copy()
    else:  # a computed field or a status text not there (or a status field hidden)
        shown = {name: written for name in plan.shown
                 if (written := shown.get(name)) is not None}
        all_units = plan.all_units
        units = {name: all_units[name] for name in shown if name in all_units}
    out: dict[str, Any] = {"profile": profile.name, "fields": shown, "units": units}
    if problems:
        out["problems"] = problems
    return out


def _status_value(value: object) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, (bytes, bytearray)):
        return int.from_bytes(value, "little")
    return None


def _status_texts(profile: MeterProfile, found: Mapping[str, FieldValue],
                  status_records: dict[int, int], value_of: ValueOf,
                  status: int | None) -> dict[str, str]:
    """Each status field whose tables read a value in this telegram: their texts joined;
    without any, the ``none`` text (default ``OK``) of the first bits table that read a
    value (no bit set), or ``""`` where only values tables did (their value names
    nothing). ``status``: ``OK`` without texts; when
    no table of it read a value, the header status byte's standard texts, and without that
    byte either, ``OK`` only for a profile with no tables of ``status`` (else not given:
    nothing in the telegram says how the meter is)."""
    texts: dict[str, list[str]] = {}
    nothing = {"status": "OK"}  # what a field says when no text applies
    for index, table in enumerate(profile.status):
        value: int | None = None
        if table.source == "header":
            value = status
        elif table.source == "field":
            assert table.field is not None
            if table.field in found:
                value = _status_value(found[table.field])
        elif index in status_records:
            value = _status_value(value_of(status_records[index]))
        if value is not None:  # a source this telegram lacks gives no text, not "OK"
            items = texts.setdefault(table.into, [])
            if table.bits:
                nothing.setdefault(table.into, table.none)
            for text in table.texts(value):
                if text not in items:
                    items.append(text)
    out = {name: " ".join(items) or nothing.get(name, "") for name, items in texts.items()}
    if "status" not in out and (status is not None or all(
            table.into != "status" for table in profile.status)):
        out["status"] = standard_status(status)
    return out


_UNIT_TOKENS = {"degC": "c", "degF": "f", "%": "pct"}


def generic_name(head: RecordHead) -> tuple[str, str]:
    """The generic field name of a record and the unit its value is given in."""
    unit = head.unit
    unit = _GENERIC_UNITS.get(unit, unit)
    parts = [head.quantity]
    if unit:
        parts.append(_UNIT_TOKENS.get(unit) or unit.lower().replace("/", "").replace("*", "_"))
    if head.storage:
        parts.append(f"storage_{head.storage}")
    if head.tariff:
        parts.append(f"tariff_{head.tariff}")
    if head.subunit:
        parts.append(f"subunit_{head.subunit}")
    if head.function != "instantaneous":
        parts.append(head.function)
    if head.extensions:
        parts += head.extensions
    if "" in parts:  # an empty part takes no separator
        parts = [part for part in parts if part]
    return "_".join(parts), unit


def generic_fields(heads: Sequence[RecordHead], value_of: ValueOf,
                   status: int | None = None) -> MeterFields:
    """Generic fields for a telegram (no profile): see :meth:`MeterProfiles.generic`."""
    return _NO_PROFILES.generic(heads, value_of, status)


def apply_profile(profile: MeterProfile, heads: Sequence[RecordHead], value_of: ValueOf, *,
                  status: int | None = None, meter_id: str | None = None,
                  payload: bytes = b"", data_of: DataOf | None = None,
                  context: TransformContext | None = None,
                  telegram: str | None = None) -> MeterFields:
    """The fields ``profile`` gives for a telegram, whatever its detection says."""
    return _NO_PROFILES.fields_of(profile, heads, value_of, status=status, meter_id=meter_id,
                                  payload=payload, data_of=data_of, context=context,
                                  telegram=telegram)


def load_meter_profiles(*places: str | Path, shipped: bool = True) -> MeterProfiles:
    """The meter profiles in ``places`` (folders of ``*.toml`` files, or files), checked
    together; with ``shipped``, meterkit's own profiles too, a user's profile of the same
    name replacing the shipped one."""
    chosen: dict[str, MeterProfile] = {}
    if shipped:
        for path in shipped_profiles("meter"):
            profile = load_meter_profile(path)
            chosen[profile.name] = profile
    users: dict[str, MeterProfile] = {}
    for place in places:
        path = Path(place)
        if path.is_dir():
            files = sorted(path.glob("*.toml"))
        elif path.is_file():
            files = [path]
        else:
            raise ProfileError("no such profile file or folder", file=str(path))
        for file in files:
            profile = load_meter_profile(file)
            if profile.name in users:
                raise ProfileError(f"a profile named {profile.name!r} is also in "
                                   f"{users[profile.name].file}", file=str(file),
                                   table="profile", key="name")
            users[profile.name] = profile
    chosen.update(users)
    return MeterProfiles(chosen.values())


_SHIPPED: list[MeterProfiles] = []
_NO_PROFILES = MeterProfiles()


def shipped_meter_profiles() -> MeterProfiles:
    """meterkit's shipped meter profiles, loaded once per process."""
    if not _SHIPPED:
        _SHIPPED.append(load_meter_profiles())
    return _SHIPPED[0]

