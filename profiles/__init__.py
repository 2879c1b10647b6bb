"""profiles: devices described as data (TOML), shared by meterkit's bus libraries.

A profile file says what a device's values are called and how to read them:
meter profiles name the records of M-Bus and wireless M-Bus meters, Modbus
register maps and BACnet point lists describe those devices. This package holds
what they share: reading TOML with errors that name file, table and key
(:func:`load_toml`, :class:`TableReader`), exact unit conversion
(:func:`convert`), a safe formula language (:func:`parse_expression`), the
reading protocol (:class:`Reading`, :class:`PointReading`) and the shipped
profile files (:func:`shipped_profiles`, :func:`find_profile`), and the meter
profiles: loading (:func:`load_meter_profiles`), matching meters and naming their
records (:class:`MeterProfiles`, :class:`MeterFields`). The format is documented in
the "Device profiles" guide.

``profiles`` imports no other meterkit package; ``mbus``, ``wmbus``, ``modbus`` and
``bacnet`` import it.

>>> import profiles
>>> profiles.convert(Decimal("6408"), "l", "m3")
Decimal('6.408')
>>> profiles.parse_expression("total_kwh * 1000").evaluate({"total_kwh": Decimal("1.5")})
Decimal('1500')
"""

from ._analysis import explain_detection, starting_profile
from ._engine import (
    MeterProfiles,
    apply_profile,
    generic_fields,
    load_meter_profiles,
    shipped_meter_profiles,
)
from ._errors import ExpressionError, ProfileError, UnitError
from ._expressions import FUNCTIONS, Expression, parse_expression
from ._fields import FieldValue, MeterFields, NamedField, field_json
from ._meter import Detection, FieldRule, MeterProfile, StatusTable, load_meter_profile
from ._options import add_profile_options, profiles_option
from ._reading import QUALITY_FLAGS, PointReading, Reading, ReadingValue
from ._selectors import RecordHead, RecordSelector
from ._shipped import KINDS, find_profile, shipped_profiles
from ._toml import TableReader, load_toml
from ._units import UNITS, convert, dimension

__all__ = [
    "FUNCTIONS",
    "KINDS",
    "QUALITY_FLAGS",
    "UNITS",
    "Detection",
    "Expression",
    "ExpressionError",
    "FieldRule",
    "FieldValue",
    "MeterFields",
    "MeterProfile",
    "MeterProfiles",
    "NamedField",
    "PointReading",
    "ProfileError",
    "Reading",
    "ReadingValue",
    "RecordHead",
    "RecordSelector",
    "StatusTable",
    "TableReader",
    "UnitError",
    "add_profile_options",
    "apply_profile",
    "convert",
    "dimension",
    "explain_detection",
    "field_json",
    "find_profile",
    "generic_fields",
    "load_meter_profile",
    "load_meter_profiles",
    "load_toml",
    "parse_expression",
    "profiles_option",
    "shipped_meter_profiles",
    "shipped_profiles",
    "starting_profile",
]
