"""Applying meter profiles: which profile a meter gets, and its fields for one telegram.

The caller (``mbus``, ``wmbus``) describes a telegram through a small protocol
and never hands over its own types: the header values (manufacturer, version,
device type, CI, status byte), the record *heads* (objects with the attributes
of :class:`RecordHead`; ``mbus.records.RecordShape`` is one) and a function
giving the Python value of record ``i``, called only for the records a field
uses. Which rules a head matches depends on the head alone, so it is worked out
once per distinct head object and kept (heads are cached by the decoder too).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import ExpressionError, ProfileError
from ._fields import FieldValue, MeterFields, NamedField, field_json, field_value
from ._layouts import LayoutRecord, read_layout
from ._meter import FieldRule, MeterProfile, load_meter_profile
from ._selectors import RecordHead
from ._shipped import shipped_profiles
from ._units import UNITS, convert

if TYPE_CHECKING:
    from .transforms import TransformContext

__all__ = ["STANDARD_STATUS", "MeterProfiles", "apply_profile", "generic_fields",
           "load_meter_profiles", "shipped_meter_profiles"]

ValueOf = Callable[[int], object]
# field name, unit, converted?, scale, the unit the value is in, which match it takes
Plan = tuple[str, str, bool, Decimal | None, str, int]
_UNREAD = object()
DataOf = Callable[[int], bytes]
_MANUFACTURER_DATA = frozenset({"manufacturer_specific", "more_records_follow"})

STANDARD_STATUS = ((0x04, "POWER_LOW"), (0x08, "PERMANENT_ERROR"), (0x10, "TEMPORARY_ERROR"))
"""Bits of the header status byte, EN 13757-3:2018 Table 9 (bits 0-1 are the application
state: 1 ``APPLICATION_BUSY``, 2 ``APPLICATION_ERROR``, 3 ``ABNORMAL_CONDITION``)."""
_APPLICATION_STATE = ("", "APPLICATION_BUSY", "APPLICATION_ERROR", "ABNORMAL_CONDITION")
_CACHE_LIMIT = 4096
# Generic names show energy in kWh and power in kW, as users read them.
_GENERIC_UNITS = {"Wh": "kWh", "W": "kW"}
_PLAIN_VALUES = frozenset({int, Decimal, float, str})
_SKIPPED_FUNCTIONS = frozenset({"manufacturer_specific", "more_records_follow", "global_readout"})


def standard_status(status: int | None) -> str:
    """The header status byte as texts (EN 13757-3 names, upper case), or ``"OK"``."""
    if not status:
        return "OK"
    texts = [_APPLICATION_STATE[status & 3]] if status & 3 else []
    texts.extend(text for bit, text in STANDARD_STATUS if status & bit)
    return " ".join(texts) or "OK"


class MeterProfiles:
    """A set of meter profiles, checked against each other, ready to name meters.

    Two profiles that can match one meter are an error (:class:`ProfileError` naming
    both files) unless one is more specific than the other; the more specific one
    wins. Picklable (its match caches are not pickled).
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
        # Per profile name: id(head) -> (head, field rules, status tables) it matches.
        self._heads: dict[str, dict[int, tuple[object, tuple[Plan, ...], tuple[int, ...]]]] = {
            profile.name: {} for profile in self.profiles}
        # id(head) -> (head, generic name or None to skip the record, unit, convert?).
        self._generic: dict[int, tuple[object, str | None, str, bool]] = {}
        self._lock = threading.Lock()

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
        for profile in self._by_manufacturer.get(manufacturer or "", ()):
            if profile.detect.matches(manufacturer, version, device_type, ci, payload):
                return profile
        return None

    def apply(self, heads: Sequence[RecordHead], value_of: ValueOf, *,
              manufacturer: str | None, version: int | None = None,
              device_type: int | None = None, ci: int | None = None,
              status: int | None = None, payload: bytes = b"",
              meter_id: str | None = None, data_of: DataOf | None = None,
              context: TransformContext | None = None) -> MeterFields:
        """The named fields of one telegram: its profile's, or generic ones.

        ``value_of(i)`` gives record *i*'s Python value, ``data_of(i)`` its data bytes
        (for layouts reading a record; without it, the value when it is bytes).
        ``context`` gives transforms that decrypt the meter's key and link address.
        """
        profile = self.find(manufacturer, version, device_type, ci, payload)
        if profile is None:
            return self.generic(heads, value_of, status)
        return self.fields_of(profile, heads, value_of, status=status, meter_id=meter_id,
                              payload=payload, data_of=data_of, context=context)

    # --- per-head caches ---------------------------------------------------------------------

    def _rules(self, profile: MeterProfile, head: RecordHead,
               synthetic: bool = False) -> tuple[object, tuple[Plan, ...], tuple[int, ...]]:
        """(head, what each field rule of ``profile`` that takes it gives, the status tables
        that take it). A plan is (field name, unit, whether the value is converted, scale);
        all of it depends on the head alone, so records with a head seen before cost a
        lookup (layout records, new each telegram, are not kept)."""
        plans = []
        for rule in profile.fields:
            if rule.formula is None and _rule_matches(rule, head, synthetic):
                name = rule.expanded_name({axis: getattr(head, axis) for axis in rule.expand})
                source = rule.record_unit or head.unit
                unit = rule.unit or source
                plans.append((name, unit, rule.unit is not None and rule.unit != source,
                              rule.scale, source, rule.occurrence))
        status = tuple(index for index, table in enumerate(profile.status)
                       if table.selector is not None and table.selector.matches(head, synthetic))
        entry = (head, tuple(plans), status)  # holds the head, so its id stays its own
        if not synthetic:
            with self._lock:
                cache = self._heads.setdefault(profile.name, {})
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[id(head)] = entry
        return entry

    def _generic_entry(self, head: RecordHead) -> tuple[object, str | None, str, bool]:
        """(head, generic name or None, unit, whether the value is converted to it)."""
        if head.function in _SKIPPED_FUNCTIONS:
            entry: tuple[object, str | None, str, bool] = (head, None, "", False)
        else:
            name, unit = generic_name(head)
            entry = (head, name, unit, unit != head.unit)
        with self._lock:
            if len(self._generic) >= _CACHE_LIMIT:
                self._generic.clear()
            self._generic[id(head)] = entry
        return entry

    # --- the fields ----------------------------------------------------------------------------

    def generic(self, heads: Sequence[RecordHead], value_of: ValueOf,
                status: int | None = None) -> MeterFields:
        """Generic fields named from the records (``volume_m3``, ``volume_m3_storage_1``)."""
        # The hot path for meters without a profile: one cached entry per distinct head.
        cache = self._generic
        fields: list[NamedField] = []
        taken: set[str] = set()
        for index, head in enumerate(heads):
            entry = cache.get(id(head))
            if entry is None or entry[0] is not head:
                entry = self._generic_entry(head)
            name = entry[1]
            if name is None:
                continue
            value = value_of(index)
            if type(value) not in _PLAIN_VALUES:
                value = field_value(value)
                if value is None:
                    continue
            if entry[3]:
                value = _converted(value, head.unit, entry[2], head.quantity)  # type: ignore[arg-type]
            if name in taken:
                count = 2
                while f"{name}_{count}" in taken:
                    count += 1
                name = f"{name}_{count}"
            taken.add(name)
            fields.append(NamedField(name, value, entry[2], head.quantity, index))  # type: ignore[arg-type]
        fields.append(NamedField("status", standard_status(status), "", "status", None))
        return MeterFields(None, tuple(fields))

    def generic_document(self, heads: Sequence[RecordHead],
                         record_dicts: Sequence[Mapping[str, object]], value_of: ValueOf,
                         status: int | None = None) -> dict[str, Any]:
        """``generic(heads, value_of, status).to_dict()``, made from the records' JSON forms
        (``record_dicts[i]["value"]``, by the JSON rules of record values) without the Python
        values; ``value_of`` is read only for a value given in another unit (Wh as kWh)."""
        cache = self._generic
        fields: dict[str, object] = {}
        units: dict[str, str] = {}
        for index, head in enumerate(heads):
            entry = cache.get(id(head))
            if entry is None or entry[0] is not head:
                entry = self._generic_entry(head)
            name = entry[1]
            if name is None:
                continue
            value = record_dicts[index]["value"]
            if value is None:
                continue
            if entry[3]:
                python = field_value(value_of(index))
                if python is None:
                    continue
                value = field_json(_converted(python, head.unit, entry[2], head.quantity))
            if name in fields:
                count = 2
                while f"{name}_{count}" in fields:
                    count += 1
                name = f"{name}_{count}"
            fields[name] = value
            if entry[2]:
                units[name] = entry[2]
        fields["status"] = standard_status(status)
        return {"profile": None, "fields": fields, "units": units}

    def profile_document(self, profile: MeterProfile, heads: Sequence[RecordHead],
                         record_dicts: Sequence[Mapping[str, object]], value_of: ValueOf, *,
                         status: int | None = None) -> dict[str, Any] | None:
        """``fields_of(profile, ...).to_dict()`` written from the records' JSON forms where a
        field takes a record's value as it is (Python values only for converted or scaled
        fields and status tables); None for a profile with layouts, formulas or status
        tables reading fields, whose fields must be made (:meth:`fields_of`)."""
        if profile.layouts or profile.has_formulas or any(
                table.source == "field" for table in profile.status):
            return None
        cache = self._heads.get(profile.name, {})
        found: dict[str, tuple[object, str]] = {}
        status_records: dict[int, int] = {}
        seen: dict[str, int] = {}  # matches so far, for rules that take the n-th record
        for index, head in enumerate(heads):
            entry = cache.get(id(head))
            if entry is None or entry[0] is not head:
                entry = self._rules(profile, head)
            _, plans, tables = entry
            for table in tables:
                status_records.setdefault(table, index)
            for name, unit, converts, scale, source, occurrence in plans:
                if occurrence > 1:
                    seen[name] = seen.get(name, 0) + 1
                    if seen[name] != occurrence:
                        continue
                if name in found:
                    continue
                if converts or scale is not None:
                    raw = field_value(value_of(index))
                    if raw is None:
                        break
                    if converts:
                        raw = _converted(raw, source, unit, head.quantity)
                    if scale is not None:
                        raw = _scaled(raw, scale)
                    value: object = field_json(raw)
                else:
                    value = record_dicts[index]["value"]
                    if value is None:
                        break
                found[name] = (value, unit)
        texts = _status_texts(profile, {}, status_records, value_of, status)
        for name, text in texts.items():
            found[name] = (text, "")
        order = profile.positions
        fields: dict[str, object] = {}
        units: dict[str, str] = {}
        for name in sorted(found, key=order.__getitem__):
            value, unit = found[name]
            fields[name] = value
            if unit:
                units[name] = unit
        return {"profile": profile.name, "fields": fields, "units": units}

    def fields_of(self, profile: MeterProfile, heads: Sequence[RecordHead], value_of: ValueOf,
                  *, status: int | None = None, meter_id: str | None = None,
                  payload: bytes = b"", data_of: DataOf | None = None,
                  context: TransformContext | None = None) -> MeterFields:
        """The fields ``profile`` gives for a telegram's records (``data_of(i)``: record
        *i*'s data bytes, for layouts that read a record; ``payload`` for layouts of the
        payload; ``context`` for the layouts' transforms)."""
        found: dict[str, NamedField] = {}
        status_records: dict[int, int] = {}
        cache = self._heads.get(profile.name, {})
        count = len(heads)
        synthetic: list[LayoutRecord] = []
        problems: list[str] = []
        if profile.layouts:
            synthetic, problems = _run_layouts(profile, heads, value_of, data_of, payload,
                                               context)

        def value(index: int) -> object:
            return value_of(index) if index < count else synthetic[index - count].value

        all_heads: Sequence[RecordHead] = [*heads, *synthetic] if synthetic else heads
        seen: dict[str, int] = {}  # matches so far, for rules that take the n-th record
        for index, head in enumerate(all_heads):
            entry = cache.get(id(head)) if index < count else None
            if entry is None or entry[0] is not head:
                entry = self._rules(profile, head, index >= count)
            _, plans, tables = entry
            for table in tables:
                status_records.setdefault(table, index)
            raw: object = _UNREAD
            for name, unit, converts, scale, source, occurrence in plans:
                if occurrence > 1:
                    seen[name] = seen.get(name, 0) + 1
                    if seen[name] != occurrence:
                        continue
                if name in found:
                    continue
                if raw is _UNREAD:
                    raw = field_value(value(index))
                if raw is None:
                    break
                field = raw
                if converts:
                    field = _converted(field, source, unit, head.quantity)  # type: ignore[arg-type]
                if scale is not None:
                    field = _scaled(field, scale)  # type: ignore[arg-type]
                found[name] = NamedField(name, field, unit, head.quantity, index)  # type: ignore[arg-type]
        if profile.has_formulas:
            _formulas(profile, found, meter_id)
        texts = _status_texts(profile, found, status_records, value, status)
        for name, text in texts.items():
            found[name] = NamedField(name, text, "", "status", None)
        order = profile.positions
        ordered = tuple(sorted(found.values(), key=lambda field: order[field.name]))
        return MeterFields(profile.name, ordered, tuple(problems))


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


def _converted(value: FieldValue, source: str, target: str, quantity: str) -> FieldValue:
    if isinstance(value, str):
        return value
    difference = quantity.endswith("_difference")
    if isinstance(value, float):
        return float(convert(Decimal(repr(value)), source, target, difference=difference))
    return _exact(convert(value, source, target, difference=difference))


def _scaled(value: FieldValue, scale: Decimal) -> FieldValue:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return float(Decimal(repr(value)) * scale)
    return _exact(value * scale)


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


def _formulas(profile: MeterProfile, found: dict[str, NamedField],
              meter_id: str | None) -> None:
    """Evaluate the formula fields whose inputs are all present (the loader refused cycles)."""
    formulas = {rule.name: rule for rule in profile.fields if rule.formula is not None}
    done: set[str] = set()

    def evaluate(rule: FieldRule) -> None:
        done.add(rule.name)
        assert rule.formula is not None
        values: dict[str, Decimal | int] = {}
        for name in rule.formula.names:
            if name in formulas and name not in done:
                evaluate(formulas[name])
            number = _number(found[name].value) if name in found else None
            if number is None:
                return  # an input is missing in this telegram: no value
            values[name] = number
        try:
            result = rule.formula.evaluate(values)
        except ExpressionError as exc:
            raise ProfileError(f"meter {meter_id or '(no id)'}: {exc.message}",
                               file=profile.file, table=rule.table, key="formula") from None
        value = _exact(result * rule.scale if rule.scale is not None else result)
        found[rule.name] = NamedField(rule.name, value, rule.unit or "", "formula", None)

    for rule in formulas.values():
        if rule.name not in done:
            evaluate(rule)


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
    texts: dict[str, list[str]] = {}
    for index, table in enumerate(profile.status):
        texts.setdefault(table.into, [])
        value: int | None = None
        if table.source == "header":
            value = status
        elif table.source == "field":
            assert table.field is not None
            if table.field in found:
                value = _status_value(found[table.field].value)
        elif index in status_records:
            value = _status_value(value_of(status_records[index]))
        if value is not None:
            for text in table.texts(value):
                if text not in texts[table.into]:
                    texts[table.into].append(text)
    out = {name: " ".join(items) for name, items in texts.items()}
    if "status" in out:
        out["status"] = out["status"] or "OK"
    else:
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
                  context: TransformContext | None = None) -> MeterFields:
    """The fields ``profile`` gives for a telegram, whatever its detection says."""
    return _NO_PROFILES.fields_of(profile, heads, value_of, status=status, meter_id=meter_id,
                                  payload=payload, data_of=data_of, context=context)


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

