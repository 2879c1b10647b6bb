"""modbus: Modbus TCP/RTU for metering, a thin adapter over pymodbus.

What meterkit adds to pymodbus: register maps as data (profile files, ``kind =
"modbus"``), a sans-IO codec from registers to exact values with units and back, request
planning (few multi-register reads), a data-type probe for undocumented devices, a poller
for many devices, and a server that publishes any readings in a freely assigned map.

Readings go in and out as :class:`profiles.PointReading` (the reading protocol: point,
time, value, unit, quantity, quality).

The codec, maps and planning need no pymodbus; the client, poller and server do
(``pip install 'meterkit[modbus]'``) and raise :class:`MissingDependencyError` without it.

>>> from modbus import RegisterPoint, decode_point
>>> energy = RegisterPoint(name="energy", table="input", address=0, type="uint32",
...                        scale=Decimal("0.01"), unit="kWh")
>>> decode_point(energy, [0x0001, 0xE240])
(Decimal('1234.56'), ())
"""

from ._client import DEVICE_STATES, DeviceRead, DeviceStatus, ModbusClient, read_device
from ._codec import (
    PointValue,
    Quality,
    bytes_to_registers,
    decode_point,
    encode_no_value,
    encode_point,
    registers_to_bytes,
    scale_exponent,
)
from ._cycle import ReadCycle, decode_blocks
from ._errors import (
    CommunicationError,
    DecodeError,
    DeviceException,
    EncodeError,
    MapError,
    MissingDependencyError,
    ModbusError,
    ProtocolError,
    UrlError,
)
from ._image import BAD_QUALITY_POLICIES, RegisterImage, WriteResult
from ._jsonl import reading_to_json
from ._load import load_map, parse_map, shipped_maps
from ._map import DATA_TYPES, TABLES, RegisterMap, RegisterPoint
from ._plan import FUNCTION_CODES, ReadRequest, plan_reads, split_request
from ._poller import Device, PollCycle, Poller
from ._probe import Interpretation, interpretations
from ._server import ModbusServer
from ._url import DeviceUrl, parse_url

__all__ = [
    "BAD_QUALITY_POLICIES",
    "DATA_TYPES",
    "DEVICE_STATES",
    "FUNCTION_CODES",
    "TABLES",
    "CommunicationError",
    "DecodeError",
    "Device",
    "DeviceException",
    "DeviceRead",
    "DeviceStatus",
    "DeviceUrl",
    "EncodeError",
    "Interpretation",
    "MapError",
    "MissingDependencyError",
    "ModbusClient",
    "ModbusError",
    "ModbusServer",
    "PointValue",
    "PollCycle",
    "Poller",
    "ProtocolError",
    "Quality",
    "ReadCycle",
    "ReadRequest",
    "RegisterImage",
    "RegisterMap",
    "RegisterPoint",
    "UrlError",
    "WriteResult",
    "bytes_to_registers",
    "decode_blocks",
    "decode_point",
    "encode_no_value",
    "encode_point",
    "interpretations",
    "load_map",
    "parse_map",
    "parse_url",
    "plan_reads",
    "read_device",
    "reading_to_json",
    "registers_to_bytes",
    "scale_exponent",
    "shipped_maps",
    "split_request",
]
