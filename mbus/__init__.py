"""mbus: wired M-Bus (EN 13757-2 link layer, EN 13757-3 application layer), sans-IO.

Decode a captured telegram::

    >>> import mbus
    >>> telegram = mbus.decode(bytes.fromhex(
    ...     "68 1b 1b 68 08 01 72 78 56 34 12 2d 2c 08 04 05 00 00 00"
    ...     " 04 06 e7 91 00 00 04 14 2c db 00 00 9a 16".replace(" ", "")))
    >>> telegram.header.id, telegram.header.manufacturer, telegram.header.medium_name
    ('12345678', 'KAM', 'heat')
    >>> [(r.quantity, r.value, r.unit) for r in telegram.records]
    [('energy', 37351000, 'Wh'), ('volume', Decimal('561.08'), 'm3')]
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
from ._errors import (
    ChecksumError,
    DecodeError,
    EncodeError,
    EncryptedError,
    FrameError,
    MBusError,
    RecordError,
    UnsupportedError,
)
from ._framer import NEED_DATA, Framer, FrameReceived, NeedData, NoiseDiscarded
from ._frames import (
    ACK,
    Ack,
    ControlField,
    ControlFrame,
    Frame,
    LongFrame,
    ShortFrame,
    address_kind,
    decode_frame,
    frame_length,
)
from ._header import (
    APPLICATION_ERRORS,
    CI_NAMES,
    MEDIUM_NAMES,
    Header,
    decode_bcd_id,
    decode_manufacturer,
    encode_bcd_id,
    encode_manufacturer,
    medium_name,
    status_flags,
)
from ._records import (
    FUNCTIONS,
    MAX_DIFE,
    MAX_VIFE,
    Record,
    RecordShape,
    Value,
    build_record,
    decode_records,
    encode_records,
    lvar_length,
)
from ._telegram import ApplicationError, Telegram, build_telegram, decode, decode_application

# --- master, slave, transports ---
# isort: split
from ._master_errors import (
    AddressError,
    BusError,
    CollisionError,
    NoAnswerError,
    NoMeterError,
    ProcedureError,
    TransportError,
)
from ._requests import (
    BAUD_RATES,
    BROADCAST_ADDRESS,
    NETWORK_ADDRESS,
    Request,
    SecondaryAddress,
    application_reset,
    deselect,
    req_ud1,
    req_ud2,
    select,
    set_baud_rate,
    set_primary_address,
    snd_nke,
    snd_ud,
)
from ._slave import (
    AddressChanged,
    ApplicationResetReceived,
    BaudRateChanged,
    DataReceived,
    Slave,
    SlaveEvent,
)

__all__ = [
    "ACK",
    "APPLICATION_ERRORS",
    "BAUD_RATES",
    "BROADCAST_ADDRESS",
    "CI_NAMES",
    "FUNCTIONS",
    "MAX_DIFE",
    "MAX_VIFE",
    "MEDIUM_NAMES",
    "NEED_DATA",
    "NETWORK_ADDRESS",
    "Ack",
    "AddressChanged",
    "AddressError",
    "ApplicationError",
    "ApplicationResetReceived",
    "BaudRateChanged",
    "BusError",
    "ChecksumError",
    "CollisionError",
    "ControlField",
    "ControlFrame",
    "DataReceived",
    "DecodeError",
    "EncodeError",
    "EncryptedError",
    "Frame",
    "FrameError",
    "FrameReceived",
    "Framer",
    "Header",
    "LongFrame",
    "MBusError",
    "NeedData",
    "NoAnswerError",
    "NoMeterError",
    "NoiseDiscarded",
    "ProcedureError",
    "Record",
    "RecordError",
    "RecordShape",
    "Request",
    "SecondaryAddress",
    "ShortFrame",
    "Slave",
    "SlaveEvent",
    "Telegram",
    "TransportError",
    "UnsupportedError",
    "Value",
    "address_kind",
    "application_reset",
    "build_record",
    "build_telegram",
    "decode",
    "decode_application",
    "decode_bcd",
    "decode_bcd_id",
    "decode_frame",
    "decode_manufacturer",
    "decode_real32",
    "decode_records",
    "decode_type_f",
    "decode_type_g",
    "decode_type_i",
    "decode_type_j",
    "deselect",
    "encode_bcd",
    "encode_bcd_id",
    "encode_manufacturer",
    "encode_records",
    "frame_length",
    "lvar_length",
    "medium_name",
    "req_ud1",
    "req_ud2",
    "select",
    "set_baud_rate",
    "set_primary_address",
    "snd_nke",
    "snd_ud",
    "status_flags",
]
