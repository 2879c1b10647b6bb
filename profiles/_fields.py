"""What a profile gives for one telegram: named fields with exact values and units."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

__all__ = ["FieldValue", "MeterFields", "NamedField", "field_json", "field_value"]

FieldValue = Decimal | int | float | str
"""A field's value: exact numbers as Decimal or int, float where the meter sent one, text."""

_FLOAT_DIGITS = 15  # a decimal of at most 15 significant digits survives a float


class NamedField(NamedTuple):
    """One named value: ``name``, ``value``, ``unit`` (``""`` when none), ``quantity``, and
    ``record``, the index of the record it came from (None for formulas and status texts;
    a layout's synthetic records count after the telegram's records)."""

    name: str
    value: FieldValue
    unit: str
    quantity: str
    record: int | None


def field_value(value: object) -> FieldValue | None:
    """A record's Python value as a field value (dates and times as ISO text, bytes as hex);
    None for a record without a value."""
    if value is None or isinstance(value, (Decimal, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    return str(value)


def field_json(value: FieldValue) -> int | float | str:
    """The JSON form of a field value, by the rules of record values: an int, a float that
    prints back exactly, or the exact decimal as a string; text stays text."""
    if type(value) is Decimal:
        text = str(value)
        if "." in text and "E" not in text:  # places after the point, all digits written
            # Its coefficient's digits: those after the sign and the leading zeros (and
            # the point), as as_tuple() counts them in twice the work; float() of a
            # Decimal is float() of its text.
            written = text.lstrip("-0.")
            return (float(text) if len(written) - ("." in written) <= _FLOAT_DIGITS
                    else text)
        if not value.is_finite():
            return text
        _, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        if exponent >= 0:
            return int(value)
        if len(digits) <= _FLOAT_DIGITS:
            return float(value)  # correctly rounded, so it prints back exactly
        return text
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity (as record values)
    return value


@dataclass(frozen=True, slots=True)
class MeterFields:
    """The named fields of one telegram: from ``profile`` (its name; None: generic names).

    ``problems`` lists what went wrong on the way without failing the telegram
    (a manufacturer layout that ran past its bytes, ...).
    """

    profile: str | None
    fields: tuple[NamedField, ...] = ()
    problems: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> FieldValue:
        for field in self.fields:
            if field.name == name:
                return field.value
        raise KeyError(name)

    def get(self, name: str, default: FieldValue | None = None) -> FieldValue | None:
        """The value of field ``name``, or ``default``."""
        for field in self.fields:
            if field.name == name:
                return field.value
        return default

    @property
    def values(self) -> dict[str, FieldValue]:
        """Field name -> value, in order."""
        return {field.name: field.value for field in self.fields}

    @property
    def units(self) -> dict[str, str]:
        """Field name -> unit, for the fields that have one."""
        return {field.name: field.unit for field in self.fields if field.unit}

    def text_lines(self) -> list[str]:
        """The fields as text for a terminal: the profile, then ``name: value unit`` lines."""
        lines = [f"meter profile: {self.profile or '(none: generic names)'}"]
        width = min(max((len(field.name) for field in self.fields), default=0), 40)
        for field in self.fields:
            lines.append(f"  {field.name.ljust(width)}  {field.value} {field.unit}".rstrip())
        lines.extend(f"  problem: {problem}" for problem in self.problems)
        return lines

    def to_dict(self) -> dict[str, Any]:
        """``{"profile": NAME_OR_NULL, "fields": {...}, "units": {...}}`` (and ``problems``
        when there are any), values as in record JSON."""
        out: dict[str, Any] = {
            "profile": self.profile,
            "fields": {field.name: field_json(field.value) for field in self.fields},
            "units": self.units,
        }
        if self.problems:
            out["problems"] = list(self.problems)
        return out
