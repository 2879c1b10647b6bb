"""The record layer below :func:`mbus.decode`: what ``wmbus`` and device profiles build on.

Record shapes and the record decoder/encoder (:func:`scan_records`,
:func:`decode_records`, :func:`encode_records`, :func:`records_to_dicts`,
:func:`lazy_records`), the data codings (BCD, REAL32, date/time types F, G,
I, J), the fixed fields of the header (manufacturer code, BCD ID, medium) and
the link-layer helpers (:class:`ControlField`, :func:`frame_length`).

>>> from mbus.records import scan_records, records_to_dicts
>>> pairs = scan_records(bytes.fromhex("04142cdb0000"))
>>> [(shape.quantity, data.hex()) for shape, data in pairs]
[('volume', '2cdb0000')]
>>> records_to_dicts(pairs)[0]["value"]
561.08
"""

from ._codings import (
    decode_bcd,
    decode_real32,
    decode_type_f,
    decode_type_g,
    decode_type_i,
    decode_type_j,
    encode_bcd,
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
from ._records import (
    FUNCTIONS,
    MAX_DIFE,
    MAX_VIFE,
    PendingRecords,
    RecordShape,
    Value,
    build_record,
    decode_records,
    encode_records,
    lvar_length,
    records_to_dicts,
    scan_records,
)
from ._telegram import decode_application

__all__ = [
    "APPLICATION_ERRORS",
    "CI_NAMES",
    "FUNCTIONS",
    "MAX_DIFE",
    "MAX_VIFE",
    "MEDIUM_NAMES",
    "ControlField",
    "ControlFrame",
    "NeedData",
    "PendingRecords",
    "RecordShape",
    "Value",
    "address_kind",
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
    "frame_length",
    "lazy_records",
    "lvar_length",
    "medium_name",
    "records_to_dicts",
    "scan_records",
    "status_flags",
]
