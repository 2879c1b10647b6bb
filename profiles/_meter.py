"""Meter profiles: the data of one ``kind = "meter"`` file, and its loader.

:func:`load_meter_profile` reads and checks a whole file (every fault a
:class:`ProfileError` naming file, table and key) into a :class:`MeterProfile`,
plain immutable data made of tuples and small dataclasses, so profiles pickle
and compare. The format is documented in the "Device profiles" guide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from decimal import Decimal
from pathlib import Path

from ._errors import ExpressionError, ProfileError, UnitError
from ._expressions import Expression, parse_expression
from ._formula_units import UNCHECKED, Unit, check_units
from ._layouts import Layout, read_layout_table
from ._selectors import (
    MAX_EXPANSION,
    IntSet,
    RecordSelector,
    intersects,
    is_subset,
    read_int_set,
    read_selector,
    set_values,
)
from ._toml import TableReader, load_toml
from ._units import UNITS

__all__ = ["Detection", "FieldRule", "MeterProfile", "StatusTable", "load_meter_profile",
           "read_meter_profile"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEMPLATE = re.compile(r"\{([a-z]*)(?::0([1-9]))?\}")  # {n} or zero-padded {n:02}
_PLACEHOLDERS = ("storage", "tariff", "subunit", "n")
_MANUFACTURER = re.compile(r"^[A-Z@]{3}$")
MAX_OCCURRENCE = 64  # the n-th of identical records: meters repeat a header a few times
_HEX = re.compile(r"^(?:[0-9a-f]{2})+$")


@dataclass(frozen=True, slots=True)
class Detection:
    """Which meters a profile is for (None = any). ``prefix``: payload start bytes."""

    manufacturers: frozenset[str]
    version: IntSet | None = None
    device_type: IntSet | None = None
    ci: IntSet | None = None
    prefix: bytes | None = None

    def matches(self, manufacturer: str | None, version: int | None, device_type: int | None,
                ci: int | None, payload: bytes) -> bool:
        """Whether a meter with these header values (and payload) is one of ours."""
        if manufacturer not in self.manufacturers:
            return False
        for ranges, value in ((self.version, version), (self.device_type, device_type),
                              (self.ci, ci)):
            if ranges is not None and (value is None or not any(
                    low <= value <= high for low, high in ranges)):
                return False
        return self.prefix is None or payload.startswith(self.prefix)

    def within(self, other: Detection) -> bool:
        """Whether every meter this detection matches, ``other`` matches too."""
        return (self.manufacturers <= other.manufacturers
                and is_subset(self.version, other.version)
                and is_subset(self.device_type, other.device_type)
                and is_subset(self.ci, other.ci)
                and (other.prefix is None or (self.prefix is not None
                                              and self.prefix.startswith(other.prefix))))

    def overlaps(self, other: Detection) -> bool:
        """Whether some meter matches both detections."""
        if self.prefix is not None and other.prefix is not None and not (
                self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix)):
            return False
        return (bool(self.manufacturers & other.manufacturers)
                and intersects(self.version, other.version)
                and intersects(self.device_type, other.device_type)
                and intersects(self.ci, other.ci))


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One ``[[fields]]`` table: a name (maybe a template), what it matches, what it gives.

    ``expand`` lists the coordinates (``storage``, ``tariff``, ``subunit``) whose
    several values make several fields; ``formula`` replaces the record match.
    ``record_unit`` is the unit the matched records' values are in when the record does
    not say it (a manufacturer VIF) or says another one (reactive energy sent with an
    active-energy VIF); ``occurrence`` picks the n-th matching record (meters that repeat
    identical record headers). A computed field has a ``formula`` (its value, or with
    ``lookup`` the key into a lookup table: ``(key, value)`` pairs, ``lookup_name`` its
    name) or ``date`` (``(part, formula)`` pairs: year, month, day, maybe hour and minute).
    A ``hidden`` field is an input of formulas or status tables that is not output.
    """

    name: str
    table: str
    selector: RecordSelector
    unit: str | None = None
    scale: Decimal | None = None
    formula: Expression | None = None
    expand: tuple[str, ...] = ()
    n_start: int = 1
    record_unit: str | None = None
    occurrence: int = 1
    lookup: tuple[tuple[Decimal, Decimal | int | str], ...] | None = None
    lookup_name: str | None = None
    date: tuple[tuple[str, Expression], ...] = ()
    hidden: bool = False
    inputs: tuple[str, ...] = dataclass_field(default=(), init=False, repr=False,
                                              compare=False)
    """The fields a computed field reads, sorted (worked out when made)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(sorted(self.reads)))

    @property
    def computed(self) -> bool:
        """Whether the field is computed from other fields (a formula or a date)."""
        return self.formula is not None or bool(self.date)

    @property
    def reads(self) -> frozenset[str]:
        """The fields a computed field reads."""
        names = set(self.formula.names) if self.formula is not None else set()
        for _, part in self.date:
            names |= part.names
        return frozenset(names)

    def names(self) -> list[str]:
        """Every name this rule can give (one, or one per value of its ranges)."""
        if not self.expand:
            return [self.name]
        combos: list[dict[str, int]] = [{}]
        for axis in self.expand:
            ranges = getattr(self.selector, axis)
            combos = [{**combo, axis: value} for combo in combos for value in set_values(ranges)]
        return [self.expanded_name(combo) for combo in combos]

    def expanded_name(self, coordinates: dict[str, int]) -> str:
        """The name for one record's storage/tariff/subunit values."""
        if not self.expand:
            return self.name
        values = dict(coordinates)
        storage = self.selector.storage
        if storage is not None and "storage" in coordinates:
            values["n"] = coordinates["storage"] - storage[0][0] + self.n_start
        return _TEMPLATE.sub(lambda found: f"{values[found.group(1)]:0{found.group(2) or 0}d}",
                             self.name)


@dataclass(frozen=True, slots=True)
class StatusTable:
    """One ``[[status]]`` table: where its value comes from and how it becomes texts.

    ``source`` is ``"header"``, ``"field"`` (``field`` names it) or ``"record"``
    (``selector`` picks it). ``bits`` pairs a mask with its text (``none``: the text when
    no bit is set); otherwise ``values`` maps the masked value to a text (``unknown`` for
    the others, ``{value}`` replaced by the value in hex).
    """

    table: str
    source: str
    into: str = "status"
    field: str | None = None
    selector: RecordSelector | None = None
    bits: tuple[tuple[int, str], ...] = ()
    mask: int | None = None
    values: tuple[tuple[int, str], ...] = ()
    unknown: str | None = None
    ignore: int = 0
    none: str = "OK"

    def texts(self, value: int) -> list[str]:
        """The texts the value gives (empty: nothing to report)."""
        value &= ~self.ignore
        if self.bits:
            return [text for mask, text in self.bits if value & mask == mask and text]
        if self.mask is not None:
            value &= self.mask
        for key, text in self.values:
            if key == value:
                return [text] if text else []
        if self.unknown is None:
            return []
        return [self.unknown.replace("{value}", f"0x{value:02x}")]


@dataclass(frozen=True, slots=True)
class MeterProfile:
    """A meter profile as loaded: plain immutable data (picklable)."""

    name: str
    file: str
    description: str
    sources: tuple[str, ...]
    detect: Detection
    fields: tuple[FieldRule, ...]
    status: tuple[StatusTable, ...] = ()
    layouts: tuple[Layout, ...] = ()
    field_names: tuple[str, ...] = ()
    """Every field name the profile can give, expanded, in file order (``status`` and the
    other status fields last); worked out when the profile is made."""
    positions: dict[str, int] = dataclass_field(default_factory=dict, compare=False,
                                                repr=False)
    """Field name -> its place in :attr:`field_names` (worked out when made)."""
    has_formulas: bool = False
    """Whether a field is computed: a formula or a date (worked out when made)."""
    reads_fields: bool = False
    """Whether a status table reads a field (worked out when made)."""
    status_fields: tuple[str, ...] = ()
    """The fields of the status tables: ``status`` and each ``into``, in order (worked
    out when made)."""
    hidden_fields: frozenset[str] = frozenset()
    """The names of the ``hidden`` fields: read by formulas or status tables, not output
    (worked out when made)."""
    computed_fields: dict[str, FieldRule] = dataclass_field(default_factory=dict,
                                                            compare=False, repr=False)
    """Name -> rule of each computed field (formula or date), in file order (worked out
    when made)."""
    read_fields: frozenset[str] = frozenset()
    """The fields formulas, dates and status tables read (worked out when made)."""

    def __post_init__(self) -> None:
        names = [name for rule in self.fields for name in rule.names()]
        status_fields: list[str] = []
        for into in ("status", *(table.into for table in self.status)):
            if into not in status_fields:
                status_fields.append(into)
            if into not in names:
                names.append(into)
        object.__setattr__(self, "status_fields", tuple(status_fields))
        object.__setattr__(self, "reads_fields",
                           any(table.source == "field" for table in self.status))
        object.__setattr__(self, "field_names", tuple(names))
        object.__setattr__(self, "positions", {name: index for index, name in enumerate(names)})
        object.__setattr__(self, "has_formulas", any(rule.computed for rule in self.fields))
        object.__setattr__(self, "hidden_fields", frozenset(
            name for rule in self.fields if rule.hidden for name in rule.names()))
        object.__setattr__(self, "computed_fields",
                           {rule.name: rule for rule in self.fields if rule.computed})
        object.__setattr__(self, "read_fields", frozenset(
            {name for rule in self.fields for name in rule.reads}
            | {table.field for table in self.status if table.field is not None}))


def load_meter_profile(path: str | Path) -> MeterProfile:
    """Load and check the meter profile file at ``path``.

    Raises :class:`ProfileError` naming file, table and key for any fault.
    """
    return read_meter_profile(load_toml(path), str(path))


def read_meter_profile(data: dict[str, object], file: str) -> MeterProfile:
    """A meter profile from an already parsed TOML document (``file`` names it in errors)."""
    top = TableReader(data, file=file)
    kind = top.text("kind")
    if kind != "meter":
        raise top.error("kind", f"this is a {kind!r} profile, not a meter profile")
    head = top.table("profile")
    name = head.text("name")
    if not _NAME.match(name):
        raise head.error("name", f"{name!r}: use letters, digits and underscores")
    stem = Path(file).stem
    if Path(file).suffix == ".toml" and stem != name:
        raise head.error("name", f"{name!r} must equal the file's name {stem!r}")
    description = head.text("description")
    sources = tuple(head.optional_text_list("source", []))
    head.finish()
    detect = _read_detection(top.table("detect"))
    lookups = _read_lookups(top.optional_table("lookups"))
    rules = tuple(_read_field(reader, lookups) for reader in top.optional_tables("fields"))
    status = tuple(table for reader in top.optional_tables("status")
                   for table in _read_status(reader))
    layouts = tuple(_read_layout(reader) for reader in top.optional_tables("layouts"))
    top.finish()
    profile = MeterProfile(name, file, description, sources, detect, rules, status, layouts)
    _check_names(profile)
    return replace(profile, fields=_with_units(profile))


def _read_layout(reader: TableReader) -> Layout:
    from .transforms import KEYED_TRANSFORMS, TRANSFORMS

    layout = read_layout_table(reader, tuple(TRANSFORMS))
    if layout.transform in KEYED_TRANSFORMS and layout.source != "payload":
        # Its keyed step runs at decode time, on the payload (where the key is known).
        raise reader.error("from", f"transform {layout.transform!r} needs the meter's key: "
                                   "it reads the payload (from = \"payload\")")
    return layout


def _read_detection(reader: TableReader) -> Detection:
    manufacturers = reader.text_list("manufacturer")
    for code in manufacturers:
        if not _MANUFACTURER.match(code):
            raise reader.error("manufacturer", f"{code!r} is not a three-letter manufacturer "
                                               "code (upper case, as FLAG IDs are written)")
    prefix_text = reader.optional_text("prefix", None)
    prefix = None
    if prefix_text is not None:
        cleaned = prefix_text.replace(" ", "").lower()
        if not _HEX.match(cleaned):
            raise reader.error("prefix", f"{prefix_text!r} is not hex bytes")
        prefix = bytes.fromhex(cleaned)
    detection = Detection(
        manufacturers=frozenset(manufacturers),
        version=read_int_set(reader, "version", maximum=0xFF),
        device_type=read_int_set(reader, "device_type", maximum=0xFF),
        ci=read_int_set(reader, "ci", maximum=0xFF),
        prefix=prefix)
    reader.finish()
    return detection


def _read_unit(reader: TableReader, key: str = "unit") -> str | None:
    unit = reader.optional_text(key, None)
    if unit is not None and unit not in UNITS:
        raise reader.error(key, f"{unit!r} is not a unit meterkit knows "
                                f"(see the units of the profiles guide)")
    return unit


_DATE_PARTS = ("year", "month", "day", "hour", "minute")


def _parse(text: str, reader: TableReader, table: str, key: str) -> Expression:
    try:
        return parse_expression(text)
    except ExpressionError as exc:
        raise exc.located(file=reader.file, table=table, key=key) from None


def _read_date(reader: TableReader) -> tuple[tuple[str, Expression], ...]:
    """A ``date = { year = "...", month = "...", day = "..." }`` table (hour and minute
    optional, together)."""
    parts = []
    for part in _DATE_PARTS:
        text = reader.optional_text(part, None)
        if text is not None:
            parts.append((part, _parse(text, reader, reader.table_name, part)))
        elif part in ("year", "month", "day"):
            raise reader.error(part, "missing (a date needs year, month and day)")
    if len(parts) == 4:
        raise reader.error("minute" if reader.has("hour") else "hour",
                           "give hour and minute together")
    reader.finish()
    return tuple(parts)


LookupTable = tuple[tuple[Decimal, Decimal | int | str], ...]


def _read_lookups(reader: TableReader | None) -> dict[str, LookupTable]:
    """The ``[lookups]`` tables: ``NAME = { "KEY" = VALUE, ... }`` with numeric keys
    (``"3"``, ``"0x1f"``, ``"-1.5"``) and numbers or texts as values."""
    if reader is None:
        return {}
    tables: dict[str, LookupTable] = {}
    for name in sorted(reader.keys()):
        table = reader.raw(name)
        if not _NAME.match(name) or not isinstance(table, dict) or not table:
            raise reader.error(name, "a lookup table is NAME = { \"KEY\" = VALUE, ... }")
        entries: list[tuple[Decimal, Decimal | int | str]] = []
        for key, value in table.items():
            try:
                number = Decimal(int(key, 0)) if key.lower().startswith(("0x", "-0x")) \
                    else Decimal(key)
            except ArithmeticError:
                number = None
            except ValueError:
                number = None
            if number is None or not number.is_finite():
                raise reader.error(name, f"key {key!r} is not a number such as \"3\" or "
                                         "\"0x1f\"")
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise reader.error(name, f"{key!r}: the value must be a number or a text")
            entries.append((number, Decimal(repr(value)) if isinstance(value, float)
                            else value))
        if len({number for number, _ in entries}) != len(entries):
            raise reader.error(name, "two keys name the same number")
        tables[name] = tuple(entries)
    reader.finish()
    return tables


def _read_field(reader: TableReader,
                lookups: dict[str, LookupTable] | None = None) -> FieldRule:
    lookups = lookups or {}
    name = reader.text("name")
    unit = _read_unit(reader)
    scale = reader.optional_decimal("scale", None)
    formula_text = reader.optional_text("formula", None)
    n_start = reader.optional_integer("n_start", 1)
    record_unit = _read_unit(reader, "record_unit")
    occurrence = reader.optional_integer("occurrence", 1, minimum=1, maximum=MAX_OCCURRENCE)
    where = reader.table_name
    if record_unit is not None and unit is not None and UNITS[record_unit][0] != UNITS[unit][0]:
        raise reader.error("record_unit", f"{record_unit!r} does not convert to the field's "
                                          f"unit {unit!r}")
    lookup_name = reader.optional_text("lookup", None)
    date_reader = reader.optional_table("date")
    hidden = reader.optional_boolean("hidden", False)
    if formula_text is not None or date_reader is not None:
        if formula_text is not None and date_reader is not None:
            raise reader.error("date", "give either formula or date")
        formula = None
        if formula_text is not None:
            formula = _parse(formula_text, reader, where, "formula")
        date: tuple[tuple[str, Expression], ...] = ()
        if date_reader is not None:
            date = _read_date(date_reader)
            if unit is not None or scale is not None or lookup_name is not None:
                raise reader.error("date", "a date has no unit, scale or lookup")
        if any(reader.has(key) for key in ("quantity", "function", "storage", "tariff",
                                           "subunit", "vif", "vib", "extensions",
                                           "any_extensions", "origin", "record_unit",
                                           "occurrence")):
            what = "formula" if formula is not None else "date"
            raise reader.error(what, f"a {what} field matches no record: "
                                     "leave out the record keys")
        lookup = None
        if lookup_name is not None:
            if lookup_name not in lookups:
                raise reader.error("lookup", f"no table {lookup_name!r} in [lookups] (known: "
                                             f"{', '.join(sorted(lookups)) or 'none'})")
            lookup = lookups[lookup_name]
            if unit is not None and any(isinstance(value, str) for _, value in lookup):
                raise reader.error("unit", f"lookups.{lookup_name} gives texts, which have "
                                           "no unit")
        _check_template(reader, name, ())
        reader.finish()
        return FieldRule(name, where, RecordSelector(), unit, scale, formula, (), n_start,
                         lookup=lookup, lookup_name=lookup_name, date=date, hidden=hidden)
    if lookup_name is not None:
        raise reader.error("lookup", "a lookup maps a formula's value: give a formula")
    selector = read_selector(reader)
    if selector.is_empty:
        raise reader.error(None, "a field needs quantity, vif or vib (or a formula)")
    expand = tuple(axis for axis in ("storage", "tariff", "subunit")
                   if (ranges := getattr(selector, axis)) is not None
                   and (len(ranges) > 1 or ranges[0][0] != ranges[0][1]))
    count = 1
    for axis in expand:
        count *= len(set_values(getattr(selector, axis)))
        if count > MAX_EXPANSION:
            raise reader.error(axis, f"expands into more than {MAX_EXPANSION} fields")
    _check_template(reader, name, expand)
    reader.finish()
    return FieldRule(name, where, selector, unit, scale, None, expand, n_start, record_unit,
                     occurrence, hidden=hidden)


def _check_template(reader: TableReader, name: str, expand: tuple[str, ...]) -> None:
    used = [placeholder for placeholder, _ in _TEMPLATE.findall(name)]
    for placeholder in used:
        if placeholder not in _PLACEHOLDERS:
            raise reader.error("name", f"unknown placeholder {{{placeholder}}} "
                                       f"(known: {', '.join(_PLACEHOLDERS)}, each maybe "
                                       "zero-padded as {n:02})")
        axis = "storage" if placeholder == "n" else placeholder
        if axis not in expand:
            raise reader.error("name", f"placeholder {{{placeholder}}} needs a range of "
                                       f"{axis} values")
    for axis in expand:
        if axis not in used and not (axis == "storage" and "n" in used):
            raise reader.error("name", f"{axis} is a range: the name needs {{{axis}}}"
                                       + (" or {n}" if axis == "storage" else ""))
    if not _NAME.match(_TEMPLATE.sub("0", name)):
        raise reader.error("name", f"{name!r}: use letters, digits and underscores "
                                   "(and placeholders such as {n})")


def _hex_keys(reader: TableReader, key: str) -> tuple[tuple[int, str], ...]:
    table = reader.raw(key)
    if not isinstance(table, dict) or not table:
        raise reader.error(key, "must be a table of \"0x..\" = \"TEXT\" entries")
    entries: list[tuple[int, str]] = []
    for number, text in table.items():
        try:
            value = int(number, 0)
        except ValueError:
            raise reader.error(key, f"{number!r} is not an integer such as \"0x04\"") from None
        if value < 0 or not isinstance(text, str):
            raise reader.error(key, f"{number!r}: needs a number >= 0 and a text")
        entries.append((value, text))
    return tuple(entries)


def _read_status(reader: TableReader) -> list[StatusTable]:
    """One ``[[status]]`` table: one StatusTable per field it gives (``into`` may list
    several, ``status`` among them: a status field of its own that also adds to
    ``status``)."""
    targets = reader.optional_text_list("into", ["status"])
    for into in targets:
        if not _NAME.match(into):
            raise reader.error("into", f"{into!r}: use letters, digits and underscores")
    if not targets or len(set(targets)) != len(targets):
        raise reader.error("into", "give one field, or several different ones")
    field = reader.optional_text("field", None)
    header = reader.optional_boolean("header", False)
    has_selector = any(reader.has(key) for key in ("quantity", "function", "storage",
                                                   "tariff", "subunit", "vif", "vib"))
    if header + (field is not None) + has_selector != 1:
        raise reader.error(None, "give exactly one source: header = true, field = \"NAME\" "
                                 "or record keys (quantity, vib ...)")
    selector = read_selector(reader) if has_selector else None
    source = "header" if header else ("field" if field is not None else "record")
    ignore = reader.optional_integer("ignore", 0, minimum=0)
    unknown = reader.optional_text("unknown", None)
    bits = _hex_keys(reader, "bits") if reader.has("bits") else ()
    values = _hex_keys(reader, "values") if reader.has("values") else ()
    mask = reader.optional_integer("mask", None, minimum=1)
    none = reader.optional_text("none", None)
    if bool(bits) == bool(values):
        raise reader.error(None, "give either bits or values")
    if bits and (mask is not None or unknown is not None):
        raise reader.error("mask" if mask is not None else "unknown",
                           "belongs to a values table, not to bits")
    if values and none is not None:
        raise reader.error("none", "belongs to a bits table (a values table names its "
                                   "values, \"0x00\" among them)")
    if any(number == 0 for number, _ in bits):
        raise reader.error("bits", "0x0 is no bit")
    reader.finish()
    return [StatusTable(reader.table_name, source, into, field, selector, bits, mask, values,
                        unknown, ignore, "OK" if none is None else none) for into in targets]


def _check_names(profile: MeterProfile) -> None:
    """Field names unique; formulas read known fields without cycles; status fields exist."""
    owner: dict[str, FieldRule] = {}
    for rule in profile.fields:
        for name in rule.names():
            if name == "status":
                raise ProfileError("'status' is the field of the [[status]] tables",
                                   file=profile.file, table=rule.table, key="name")
            if name in owner:
                raise ProfileError(f"field {name!r} is also given by {owner[name].table}",
                                   file=profile.file, table=rule.table, key="name")
            owner[name] = rule
    status_names = {table.into for table in profile.status}
    for table in profile.status:
        if table.into in owner:
            raise ProfileError(f"{table.into!r} is a field of {owner[table.into].table} too",
                               file=profile.file, table=table.table, key="into")
        if table.field is not None and table.field not in owner:
            raise ProfileError(f"no field named {table.field!r}", file=profile.file,
                               table=table.table, key="field")
    for rule in profile.fields:
        for name in sorted(rule.reads):
            if name not in owner:
                hint = " (a status text is not a number)" if name in status_names else ""
                raise ProfileError(f"{'formula' if rule.formula else 'date'} reads {name!r}, "
                                   f"which no field gives{hint}", file=profile.file,
                                   table=rule.table, key="formula" if rule.formula else "date")
    read = {name for rule in profile.fields for name in rule.reads}
    read |= {table.field for table in profile.status if table.field is not None}
    for rule in profile.fields:
        if rule.hidden and not read & set(rule.names()):
            raise ProfileError(f"hidden field {rule.name!r} is read by no formula, date or "
                               "status table: it would give nothing (leave out hidden, or "
                               "the field)", file=profile.file, table=rule.table, key="hidden")
    _check_cycles(profile, owner)


def _check_cycles(profile: MeterProfile, owner: dict[str, FieldRule]) -> None:
    done: set[str] = set()

    def visit(rule: FieldRule, path: tuple[str, ...]) -> None:
        if rule.name in done or not rule.computed:
            return
        if rule.name in path:
            raise ProfileError(f"formulas read each other in a cycle: "
                               f"{' -> '.join((*path, rule.name))}", file=profile.file,
                               table=rule.table, key="formula" if rule.formula else "date")
        for name in sorted(rule.reads):
            visit(owner[name], (*path, rule.name))
        done.add(rule.name)

    for rule in profile.fields:
        visit(rule, ())


def _with_units(profile: MeterProfile) -> tuple[FieldRule, ...]:
    """The fields with their formulas' units checked (and exact conversions inserted where
    operands' units differ); a formula without a declared unit gets its result's."""
    units: dict[str, Unit] = {}
    for rule in profile.fields:
        if not rule.computed:
            unit = rule.unit or rule.record_unit
            difference = (rule.selector.quantity or "").endswith("_difference")
            for name in rule.names():
                units[name] = UNCHECKED if unit is None else (unit, difference)
    owner = {rule.name: rule for rule in profile.fields if rule.computed}
    checked: dict[str, FieldRule] = {}

    def visit(rule: FieldRule) -> None:
        for name in sorted(rule.reads):
            if name in owner and name not in checked:
                visit(owner[name])
        if rule.formula is None:  # a date: its parts are plain numbers
            checked[rule.name] = rule
            units[rule.name] = None
            return
        declared = None if rule.lookup is not None else rule.unit
        try:
            formula, unit = check_units(rule.formula, units, declared)
        except UnitError as exc:
            raise UnitError(exc.message, file=profile.file, table=rule.table,
                            key="formula") from None
        if rule.lookup is not None:
            units[rule.name] = (rule.unit, False) if rule.unit else None
            checked[rule.name] = replace(rule, formula=formula)
            return
        units[rule.name] = unit
        found = unit[0] if unit is not None and unit is not UNCHECKED else None
        checked[rule.name] = replace(rule, formula=formula, unit=rule.unit or found)

    for rule in owner.values():
        if rule.name not in checked:
            visit(rule)
    return tuple(checked.get(rule.name, rule) if rule.computed else rule
                 for rule in profile.fields)
