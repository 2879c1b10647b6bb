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

This namespace holds what most programs need: decoding and building telegrams,
the framer, the errors, :class:`Master` and :class:`Slave`, and the bus drivers
:class:`Bus` and :class:`AsyncBus`. Below it, each a documented module:

- :mod:`mbus.records`: the record layer (shapes, readers, codings, header fields);
- :mod:`mbus.procedures`: the master's procedures, actions, outcomes and requests;
- :mod:`mbus.transports`: pyserial and asyncio ports, the TCP bridge;
- :mod:`mbus.sim`: simulated meters and segments, the TCP segment simulator.

``import mbus`` imports neither asyncio nor sockets; the transports do.
"""

import importlib as _importlib
import warnings as _warnings
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._bus import AsyncBus, AwaitablePort, Bus, Port
from ._cli_decode import DecodedLine, decode_many
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
from ._framer import NEED_DATA, Framer, FrameReceived, NoiseDiscarded
from ._frames import ACK, Ack, Frame, LongFrame, ShortFrame, decode_frame
from ._header import Header
from ._master import Master
from ._master_errors import (
    AddressError,
    BusError,
    CollisionError,
    NoAnswerError,
    NoMeterError,
    ProcedureError,
    TransportError,
)
from ._read import MeterReading
from ._record_encoder import build_record
from ._records import Record
from ._requests import SecondaryAddress
from ._search import SearchResult
from ._slave import (
    AddressChanged,
    ApplicationResetReceived,
    BaudRateChanged,
    DataReceived,
    Slave,
    SlaveEvent,
)
from ._telegram import ApplicationError, Telegram, build_telegram, decode

__all__ = [
    "ACK",
    "NEED_DATA",
    "Ack",
    "AddressChanged",
    "AddressError",
    "ApplicationError",
    "ApplicationResetReceived",
    "AsyncBus",
    "AwaitablePort",
    "BaudRateChanged",
    "Bus",
    "BusError",
    "ChecksumError",
    "CollisionError",
    "DataReceived",
    "DecodeError",
    "DecodedLine",
    "EncodeError",
    "EncryptedError",
    "Frame",
    "FrameError",
    "FrameReceived",
    "Framer",
    "Header",
    "LongFrame",
    "MBusError",
    "Master",
    "MeterReading",
    "NoAnswerError",
    "NoMeterError",
    "NoiseDiscarded",
    "Port",
    "ProcedureError",
    "Record",
    "RecordError",
    "SearchResult",
    "SecondaryAddress",
    "ShortFrame",
    "Slave",
    "SlaveEvent",
    "Telegram",
    "TransportError",
    "UnsupportedError",
    "build_record",
    "build_telegram",
    "decode",
    "decode_frame",
    "decode_many",
]

# Names that left this namespace for a lower-level module keep working until their
# users have moved: the first use of each warns (DeprecationWarning), then the name is
# bound here so that a hot loop (wmbus reaches mbus.scan_records per telegram) does not
# pay for this lookup again. They are not in __all__.
_MOVED = {
    **dict.fromkeys([
        "APPLICATION_ERRORS", "CI_NAMES", "FUNCTIONS", "MAX_DIFE", "MAX_VIFE", "MEDIUM_NAMES",
        "ControlField", "ControlFrame", "NeedData", "PendingRecords", "RecordShape", "Value",
        "address_kind", "decode_application", "decode_bcd", "decode_bcd_id",
        "decode_manufacturer", "decode_records", "decode_real32", "decode_type_f",
        "decode_type_g", "decode_type_i", "decode_type_j", "encode_bcd", "encode_bcd_id",
        "encode_manufacturer", "encode_records", "frame_length", "lazy_records", "lvar_length",
        "medium_name", "records_to_dicts", "scan_records", "status_flags"], "mbus.records"),
    **dict.fromkeys([
        "BAUD_RATES", "BROADCAST_ADDRESS", "COMMON_MANUFACTURERS", "NETWORK_ADDRESS",
        "AddressAssigned", "AnswerReceived", "AssignAddresses", "AssignState", "Assignment",
        "ChecksumMismatch", "CollisionDetected", "Exchange", "ExchangeState", "FoundMeter",
        "FoundPrimary", "MeterFound", "Outcome", "PrimaryScan", "Procedure",
        "ProcedureFinished", "Progress", "ReadAll", "ReadAllEntry", "ReadAllState",
        "ReadMeter", "ReadProgress", "ReadState", "Request", "ResponseTimedOut",
        "ScanProgress", "ScanState", "SearchProgress", "SearchState", "SecondarySearch",
        "SendBytes", "StateMachine", "Timing", "UnresolvedMask", "WaitForData",
        "answer_window", "application_reset", "deselect", "format_state_table",
        "merge_telegrams", "parse_meter", "req_ud1", "req_ud2", "run_procedure",
        "run_procedure_async", "select", "set_baud_rate", "set_primary_address", "snd_nke",
        "snd_ud"], "mbus.procedures"),
    **dict.fromkeys([
        "Segment", "SimulatedPort", "SimulatorServer", "collide", "even_parity", "load_meters",
        "random_meters", "slaves_from_json"], "mbus.sim"),
    **dict.fromkeys([
        "BUSY_MESSAGE", "AsyncPort", "Bridge", "SerialPort", "open_async_bus", "open_bus"],
        "mbus.transports"),
}

if _TYPE_CHECKING:  # the moved names keep their types while users still reach them here
    from .procedures import *  # noqa: F403
    from .records import *  # noqa: F403
    from .sim import *  # noqa: F403
    from .transports import *  # noqa: F403


def __getattr__(name: str) -> _Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module 'mbus' has no attribute {name!r}")
    _warnings.warn(f"mbus.{name} moved to {module}.{name}", DeprecationWarning, stacklevel=2)
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value
