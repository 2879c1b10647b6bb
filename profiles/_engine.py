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
sequence and kept as a *plan*; a telegram seen before costs a lookup, its
values and their unit conversions. Layouts' synthetic records have shared
heads too (:func:`profiles._layouts.layout_head`). Speed trick, kept because it
pays: per-sequence plans and the cached detection took decrypt + decode +
to_dict of the dev corpus with profiles from 556k to 450k instructions per
telegram, 19 % (without profiles: 263k; ``python -m benchmarks profiles``,
callgrind figures).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ._errors import ExpressionError, ProfileError
from ._expressions import Expression
from ._fields import FieldValue, MeterFields, NamedField, field_json, field_value
from ._layouts import LayoutRecord, read_layout
from ._meter import FieldRule, MeterProfile, load_meter_profile
from ._selectors import RecordHead
from ._shipped import shipped_profiles
from ._units import UNITS, WIDE, convert

if TYPE_CHECKING:
    from .transforms import TransformContext

__all__ = ["STANDARD_STATUS", "MeterProfiles", "apply_profile", "generic_fields",
           "load_meter_profiles", "shipped_meter_profiles"]

ValueOf = Callable[[int], object]
# field name, unit, converted?, scale, the unit the value is in, which match it takes
Rule = tuple[str, str, bool, Decimal | None, str, int]
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


class _Conversion(NamedTuple):
    """What a field does to its record's value: the unit ``source`` converted to
    ``target`` (when ``converts``; as a temperature difference with ``difference``), then
    multiplied by ``scale``."""

    source: str
    target: str
    converts: bool
    difference: bool
    scale: Decimal | None

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


def _conversion(source: str, target: str, converts: bool, quantity: str,
                scale: Decimal | None) -> _Conversion | None:
    """The conversion a field applies (None: the value as it is)."""
    if not converts and scale is None:
        return None
    return _Conversion(source, target, converts, quantity.endswith("_difference"), scale)


class _Take(NamedTuple):
    """One field a plan takes: from record number ``record`` (layout records count after the
    telegram's), in ``unit``, through ``conversion`` (None: as it is)."""

    name: str
    record: int
    unit: str
    quantity: str
    conversion: _Conversion | None


class _Plan(NamedTuple):
    """What a profile (or the generic names) takes from one sequence of record heads."""

    heads: tuple[object, ...]  # holds the heads, so that their ids stay theirs
    takes: tuple[_Take, ...]  # in the order of the fields
    status_records: dict[int, int]  # status table -> index of the record it reads
    units: dict[str, str]  # the takes' units (those that have one), in order
    # The takes column by column, for _json_fields, and those that convert.
    names: tuple[str, ...]
    records: tuple[int, ...]
    conversions: tuple[tuple[str, int, _Conversion], ...]


def _new_plan(heads: Sequence[object], takes: tuple[_Take, ...],
              status_records: dict[int, int]) -> _Plan:
    return _Plan(tuple(heads), takes, status_records,
                 {take.name: take.unit for take in takes if take.unit},
                 tuple(take.name for take in takes), tuple(take.record for take in takes),
                 tuple((take.name, take.record, take.conversion) for take in takes
                       if take.conversion is not None))



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
        self._prefix_lengths = {code: max((len(profile.detect.prefix or b"")
                                           for profile in candidates), default=0)
                                for code, candidates in self._by_manufacturer.items()}
        # (manufacturer, version, device type, ci, payload start) -> profile or None.
        self._found: dict[tuple[object, ...], MeterProfile | None] = {}
        # id(profile) -> (profile, {head ids: plan}); None: the generic names.
        self._plans: dict[int | None, tuple[object, dict[tuple[int, ...], _Plan]]] = {}
        # Per profile: id(head) -> (head, its field rules, the status tables reading it).
        self._heads: dict[int, dict[int, tuple[object, tuple[Rule, ...], tuple[int, ...]]]] = {}
        # id(head) -> (head, generic name or None to skip the record, unit, convert?).
        self._generic: dict[int, tuple[object, str | None, str, bool]] = {}

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

    def _plan(self, profile: MeterProfile | None, heads: Sequence[RecordHead], count: int,
              missing: tuple[int, ...]) -> _Plan:
        """Which field takes which record: each head's matching rules in telegram order,
        the first match winning (or the n-th, for ``occurrence``); a record without a value
        (in ``missing``) gives no field. ``count``: the telegram's own records, layout
        records after them."""
        if profile is None:
            return _new_plan(heads, self._generic_takes(heads, missing), {})
        found: dict[str, _Take] = {}
        status_records: dict[int, int] = {}
        seen: dict[str, int] = {}  # matches so far, for rules that take the n-th record
        for index, head in enumerate(heads):
            _, rules, tables = self._rules(profile, head, index >= count)
            for table in tables:
                status_records.setdefault(table, index)
            for name, unit, converts, scale, source, occurrence in rules:
                if occurrence > 1:
                    seen[name] = seen.get(name, 0) + 1
                    if seen[name] != occurrence:
                        continue
                if name in found:
                    continue
                if index in missing:
                    break
                found[name] = _Take(name, index, unit, head.quantity,
                                    _conversion(source, unit, converts, head.quantity, scale))
        order = profile.positions
        takes = tuple(sorted(found.values(), key=lambda take: order[take.name]))
        return _new_plan(heads, takes, status_records)

    def _rules(self, profile: MeterProfile, head: RecordHead,
               synthetic: bool) -> tuple[object, tuple[Rule, ...], tuple[int, ...]]:
        """(head, what each field rule of ``profile`` that takes it gives, the status tables
        that take it); it depends on the head alone, so it is kept per head."""
        cache = self._heads.get(id(profile))
        if cache is None:
            cache = self._heads[id(profile)] = {}
        entry = cache.get(id(head))
        if entry is not None and entry[0] is head:
            return entry
        rules = []
        for rule in profile.fields:
            if not rule.computed and _rule_matches(rule, head, synthetic):
                name = rule.expanded_name({axis: getattr(head, axis) for axis in rule.expand})
                source = rule.record_unit or head.unit
                unit = rule.unit or source
                rules.append((name, unit, rule.unit is not None and rule.unit != source,
                              rule.scale, source, rule.occurrence))
        status = tuple(index for index, table in enumerate(profile.status)
                       if table.selector is not None and table.selector.matches(head, synthetic))
        entry = (head, tuple(rules), status)  # holds the head, so its id stays its own
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[id(head)] = entry
        return entry

    def _generic_takes(self, heads: Sequence[RecordHead],
                       missing: tuple[int, ...]) -> tuple[_Take, ...]:
        """Every record by its generic name; a second record of a name gets ``_2`` ..."""
        takes: list[_Take] = []
        taken: set[str] = set()
        for index, head in enumerate(heads):
            if head.function in _SKIPPED_FUNCTIONS:
                continue
            if index in missing:
                continue
            name, unit = generic_name(head)
            if name in taken:
                count = 2
                while f"{name}_{count}" in taken:
                    count += 1
                name = f"{name}_{count}"
            taken.add(name)
            takes.append(_Take(name, index, unit, head.quantity,
                               _conversion(head.unit, unit, unit != head.unit, head.quantity,
                                           None)))
        return tuple(takes)

    # --- the fields ----------------------------------------------------------------------------

    def generic(self, heads: Sequence[RecordHead], value_of: ValueOf,
                status: int | None = None) -> MeterFields:
        """Generic fields named from the records (``volume_m3``, ``volume_m3_storage_1``)."""
        fields = self._named(None, heads, len(heads), value_of)[1]
        fields.append(NamedField("status", standard_status(status), "", "status", None))
        return MeterFields(None, tuple(fields))

    def generic_document(self, heads: Sequence[RecordHead],
                         record_dicts: Sequence[Mapping[str, object]], value_of: ValueOf,
                         status: int | None = None) -> dict[str, Any]:
        """``generic(heads, value_of, status).to_dict()``, made from the records' JSON forms
        (``record_dicts[i]["value"]``, by the JSON rules of record values) without the Python
        values; ``value_of`` is read only for a value given in another unit (Wh as kWh)."""
        plan, fields = self._json_fields(None, heads, len(heads), record_dicts, value_of)
        fields["status"] = standard_status(status)
        return {"profile": None, "fields": fields, "units": dict(plan.units)}

    def profile_document(self, profile: MeterProfile, heads: Sequence[RecordHead],
                         record_dicts: Sequence[Mapping[str, object]], value_of: ValueOf, *,
                         status: int | None = None, payload: bytes = b"",
                         data_of: DataOf | None = None,
                         context: TransformContext | None = None) -> dict[str, Any] | None:
        """``fields_of(profile, ...).to_dict()`` written from the records' JSON forms where a
        field takes a record's value as it is (Python values only for converted or scaled
        fields, layouts and status tables); None for a profile with formulas or status
        tables reading fields, whose fields must be made (:meth:`fields_of`)."""
        if profile.has_formulas or profile.reads_fields:
            return None
        count = len(heads)
        synthetic: list[LayoutRecord] = []
        problems: list[str] = []
        if profile.layouts:
            synthetic, problems = _run_layouts(profile, heads, value_of, data_of, payload,
                                               context)
            value_of = _with_synthetic(value_of, count, synthetic)
            heads = [*heads, *(record.head for record in synthetic)]
            record_dicts = [*record_dicts,
                            *({"value": field_json(record.value)} for record in synthetic)]
        plan, fields = self._json_fields(profile, heads, count, record_dicts, value_of)
        texts = _status_texts(profile, {}, plan.status_records, value_of, status)
        for name in profile.status_fields:
            if name in texts:
                fields[name] = texts[name]
        out = {"profile": profile.name, "fields": fields, "units": dict(plan.units)}
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
            synthetic, problems = _run_layouts(profile, heads, value_of, data_of, payload,
                                               context)
            value_of = _with_synthetic(value_of, count, synthetic)
            heads = [*heads, *(record.head for record in synthetic)]
        plan, fields = self._named(profile, heads, count, value_of)
        found = {field.name: field for field in fields}
        if profile.has_formulas:
            problems += _formulas(profile, found, meter_id, telegram)
        texts = _status_texts(profile, found, plan.status_records, value_of, status)
        for name, text in texts.items():
            found[name] = NamedField(name, text, "", "status", None)
        order = profile.positions
        hidden = profile.hidden_fields  # inputs of formulas and status tables only
        ordered = tuple(sorted((field for field in found.values() if field.name not in hidden),
                               key=lambda field: order[field.name]))
        return MeterFields(profile.name, ordered, tuple(problems))

    def _named(self, profile: MeterProfile | None, heads: Sequence[RecordHead], count: int,
               value_of: ValueOf) -> tuple[_Plan, list[NamedField]]:
        """The plan of ``heads`` and the fields it takes, with their values (Python forms)."""
        missing: tuple[int, ...] = ()
        while True:
            plan = self._cached_plan(profile, heads, count, missing)
            fields = _python_fields(plan, value_of)
            if isinstance(fields, list):
                return plan, fields
            missing = tuple(sorted((*missing, fields)))  # a record without a value

    def _json_fields(self, profile: MeterProfile | None, heads: Sequence[RecordHead],
                     count: int, record_dicts: Sequence[Mapping[str, object]],
                     value_of: ValueOf) -> tuple[_Plan, dict[str, object]]:
        """The plan of ``heads`` and the fields it takes, with their values (JSON forms)."""
        missing: tuple[int, ...] = ()
        while True:
            plan = self._cached_plan(profile, heads, count, missing)
            fields = _json_fields(plan, record_dicts, value_of)
            if isinstance(fields, dict):
                return plan, fields
            missing = tuple(sorted((*missing, fields)))  # a record without a value


def _with_synthetic(value_of: ValueOf, count: int, synthetic: list[LayoutRecord]) -> ValueOf:
    """``value_of`` reading layout records (indices from ``count`` on) too."""
    def value(index: int) -> object:
        return value_of(index) if index < count else synthetic[index - count].value
    return value


def _python_fields(plan: _Plan, value_of: ValueOf) -> list[NamedField] | int:
    """The plan's fields with their values, or the index of a record it takes that has
    no value."""
    fields = []
    for name, index, unit, quantity, conversion in plan.takes:
        value = field_value(value_of(index))
        if value is None:
            return index
        if conversion is not None:
            value = conversion.python(value)
        fields.append(NamedField(name, value, unit, quantity, index))
    return fields


_VALUE = itemgetter("value")


def _json_fields(plan: _Plan, record_dicts: Sequence[Mapping[str, object]],
                 value_of: ValueOf) -> dict[str, object] | int:
    """The plan's fields as JSON values: ``record_dicts[i]["value"]`` where the field takes
    record *i*'s value as it is, else converted from ``value_of(i)``; or the index of a
    record it takes that has no value.

    """
    taken = list(map(_VALUE, map(record_dicts.__getitem__, plan.records)))
    if None in taken:
        return plan.records[taken.index(None)]
    fields = dict(zip(plan.names, taken, strict=True))
    for name, index, conversion in plan.conversions:
        value = conversion.json(value_of(index))
        if value is None:
            return index
        fields[name] = value  # keeps its place
    return fields


def _run_layouts(profile: MeterProfile, heads: Sequence[RecordHead], value_of: ValueOf,
                 data_of: DataOf | None, payload: bytes,
                 context: TransformContext | None) -> tuple[list[LayoutRecord], list[str]]:
    """The synthetic records of the profile's layouts, and what stopped any of them."""
    from .transforms import NO_CONTEXT, TRANSFORMS, TransformError

    records: list[LayoutRecord] = []
    problems: list[str] = []
    for layout in profile.layouts:
        data: bytes | None = None
        if layout.source == "payload":
            data = payload
        else:
            for index, head in enumerate(heads):
                if (head.function in _MANUFACTURER_DATA if layout.source == "manufacturer_data"
                        else layout.selector is not None
                        and layout.selector.matches(head, False)):
                    raw = data_of(index) if data_of is not None else value_of(index)
                    data = raw if isinstance(raw, bytes) else None
                    break
        if data is None:
            continue
        if layout.transform is not None:
            try:
                data = TRANSFORMS[layout.transform](data, context or NO_CONTEXT)
            except TransformError as error:
                problems.append(f"{layout.table}: transform {layout.transform}: {error}")
                continue
        read, fault = read_layout(layout, data)
        records.extend(read)
        if fault is not None:
            problems.append(f"{layout.table}: {fault.message}")
    return records, problems


def _rule_matches(rule: FieldRule, head: RecordHead, synthetic: bool = False) -> bool:
    if not rule.selector.matches(head, synthetic):
        return False
    if rule.unit is None or rule.unit == head.unit or rule.record_unit is not None:
        return True
    source = UNITS.get(head.unit)
    return source is not None and source[0] == UNITS[rule.unit][0]


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
    return _exact(WIDE.multiply(Decimal(value), scale))


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


def _formulas(profile: MeterProfile, found: dict[str, NamedField], meter_id: str | None,
              telegram: str | None) -> list[str]:
    """Evaluate the computed fields whose inputs are all present (the loader refused
    cycles); the problems met (a value missing from a lookup table)."""
    computed = {rule.name: rule for rule in profile.fields if rule.computed}
    done: set[str] = set()
    problems: list[str] = []

    def evaluate(rule: FieldRule) -> None:
        done.add(rule.name)
        values: dict[str, Decimal | int] = {}
        for name in sorted(rule.reads):
            if name in computed and name not in done:
                evaluate(computed[name])
            number = _number(found[name].value) if name in found else None
            if number is None:
                return  # an input is missing in this telegram: no value
            values[name] = number
        try:
            if rule.date:
                text = _date(rule.date, values)
                if text is not None:  # a date that is not one (month 0 ...) gives no field
                    found[rule.name] = NamedField(rule.name, text, "", "date", None)
                return
            assert rule.formula is not None
            result = rule.formula.evaluate(values)
        except ExpressionError as exc:
            raise ProfileError(
                f"profile {profile.name}, field {rule.name}, telegram "
                f"{telegram or '(not given)'} of meter {meter_id or '(no id)'}: {exc.message}",
                file=profile.file, table=rule.table,
                key="formula" if rule.formula is not None else "date") from None
        value: Decimal | int | str = result
        if rule.lookup is not None:
            looked = dict(rule.lookup).get(result)
            if looked is None:
                problems.append(f"{rule.table}: {rule.name}: {result} is not in "
                                f"lookups.{rule.lookup_name}")
                return
            value = looked
        if rule.scale is not None and not isinstance(value, str):
            value = value * rule.scale
        if not isinstance(value, (str, float)):
            value = _exact(value)
        found[rule.name] = NamedField(rule.name, value, rule.unit or "", "formula", None)

    for rule in computed.values():
        if rule.name not in done:
            evaluate(rule)
    return problems


def _date(parts: tuple[tuple[str, Expression], ...],
          values: dict[str, Decimal | int]) -> str | None:
    """The ISO text of a date (and time) from its parts' formulas; None when they give no
    valid date."""
    numbers: dict[str, int] = {}
    for part, formula in parts:
        value = formula.fraction(values)
        if value.denominator != 1:
            return None
        numbers[part] = value.numerator
    try:
        day = datetime.date(numbers["year"], numbers["month"], numbers["day"])
        if "hour" not in numbers:
            return day.isoformat()
        moment = datetime.time(numbers["hour"], numbers["minute"])
    except (ValueError, OverflowError):
        return None
    return f"{day.isoformat()}T{moment.isoformat('minutes')}"


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


def _status_texts(profile: MeterProfile, found: dict[str, NamedField],
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
                value = _status_value(found[table.field].value)
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


def _unit_token(unit: str) -> str:
    return {"degC": "c", "degF": "f", "%": "pct"}.get(unit) or (
        unit.lower().replace("/", "").replace("*", "_"))


def generic_name(head: RecordHead) -> tuple[str, str]:
    """The generic field name of a record and the unit its value is given in."""
    unit = _GENERIC_UNITS.get(head.unit, head.unit)
    parts = [head.quantity]
    if unit:
        parts.append(_unit_token(unit))
    for axis in ("storage", "tariff", "subunit"):
        number = getattr(head, axis)
        if number:
            parts.append(f"{axis}_{number}")
    if head.function != "instantaneous":
        parts.append(head.function)
    parts.extend(head.extensions)
    return "_".join(part for part in parts if part), unit


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

