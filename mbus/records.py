"""The record layer below :func:`mbus.decode`: what ``wmbus`` and device profiles build on.

Record shapes and the record decoder/encoder (:func:`scan_records`,
:func:`decode_records`, :func:`encode_records`, :func:`records_to_dicts`,
:func:`lazy_records`), the data codings (BCD, REAL32, date/time types F, G,
I, J), the fixed fields of the header (manufacturer code, BCD ID, medium) and
the link-layer helpers (:class:`ControlField`, :func:`frame_length`), and device
profiles applied to records (:func:`meter_fields`, :func:`meter_document`,
:func:`lazy_meter`, :func:`with_meter`) and the ``analyze`` report
(:func:`analysis_lines`, :func:`write_starting_profile`, :func:`starting_profile_path`).

>>> from mbus.records import scan_records, records_to_dicts
>>> pairs = scan_records(bytes.fromhex("04142cdb0000"))
>>> [(shape.quantity, data.hex()) for shape, data in pairs]
[('volume', '2cdb0000')]
>>> records_to_dicts(pairs)[0]["value"]
561.08

Records and shapes
    A record (:class:`mbus.Record`) is a pair ``(shape, data)``. Its
    :class:`RecordShape` is everything the record's DIF/DIFE/VIF/VIFE bytes say,
    as plain immutable data; shapes are cached by their header bytes, so a
    header seen before costs a lookup.

Values
    The data of a record is read by the reader its shape names
    (``RecordShape.reading``, one of :data:`READINGS`); a number is then scaled
    by the one scaling rule, :func:`scale`, and written as Python
    (:func:`python_number`: int or an exact Decimal) or JSON
    (:func:`json_number`). :func:`python_value` and :func:`json_value` do both
    steps for a record; :func:`record_dict` gives its ``to_dict()``.

>>> from mbus.records import python_value, scale
>>> shape, data = pairs[0]
>>> (shape.unit, shape.reading, shape.exponent)
('m3', 'signed', -2)
>>> scale(shape, int.from_bytes(data, "little"))
(56108, -2)
>>> python_value(shape, data)
(Decimal('561.08'), ())
"""

from ._analyze import analysis_lines, starting_profile_path, write_starting_profile
from ._codings import (
    decode_bcd,
    decode_real32,
    decode_type_f,
    decode_type_g,
    decode_type_i,
    decode_type_j,
    encode_bcd,
    encode_type_f,
    encode_type_g,
    encode_type_i,
    encode_type_j,
)
from ._framer import NeedData
from ._frames import ControlField, ControlFrame, address_kind, frame_length
from ._header import (
    APPLICATION_ERRORS,
    CI_NAMES,
    MEDIUM_NAMES,
    decode_bcd_id,
    decode_manufacturer,
    encode_bcd_id,
    encode_manufacturer,
    medium_name,
    status_flags,
)
from ._lazy_records import lazy_records
from ._meter import (
    MeterSlot,
    MeterSource,
    ProfilesOption,
    lazy_meter,
    meter_document,
    meter_fields,
    meter_profiles,
    record_value,
)
from ._record_encoder import build_record
from ._record_values import (
    READINGS,
    JsonValue,
    json_number,
    json_value,
    python_number,
    python_value,
    read,
    record_dict,
    scale,
)
from ._records import (
    FUNCTIONS,
    MAX_DIFE,
    MAX_VIFE,
    PendingRecords,
    RecordShape,
    Value,
    decode_records,
    encode_records,
    lvar_length,
    made_records,
    records_to_dicts,
    scan_records,
)
from ._telegram import decode_application, with_meter

__all__ = [
    "APPLICATION_ERRORS",
    "CI_NAMES",
    "FUNCTIONS",
    "MAX_DIFE",
    "MAX_VIFE",
    "MEDIUM_NAMES",
    "READINGS",
    "ControlField",
    "ControlFrame",
    "JsonValue",
    "MeterSlot",
    "MeterSource",
    "NeedData",
    "PendingRecords",
    "ProfilesOption",
    "RecordShape",
    "Value",
    "address_kind",
    "analysis_lines",
    "build_record",
    "decode_application",
    "decode_bcd",
    "decode_bcd_id",
    "decode_manufacturer",
    "decode_real32",
    "decode_records",
    "decode_type_f",
    "decode_type_g",
    "decode_type_i",
    "decode_type_j",
    "encode_bcd",
    "encode_bcd_id",
    "encode_manufacturer",
    "encode_records",
    "encode_type_f",
    "encode_type_g",
    "encode_type_i",
    "encode_type_j",
    "frame_length",
    "json_number",
    "json_value",
    "lazy_meter",
    "lazy_records",
    "lvar_length",
    "made_records",
    "medium_name",
    "meter_document",
    "meter_fields",
    "meter_profiles",
    "python_number",
    "python_value",
    "read",
    "record_dict",
    "record_value",
    "records_to_dicts",
    "scale",
    "scan_records",
    "starting_profile_path",
    "status_flags",
    "with_meter",
    "write_starting_profile",
]
