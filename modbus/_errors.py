"""The typed errors of the ``modbus`` package: one root, split by fault."""

from __future__ import annotations

from typing import Any

from profiles import ProfileError

__all__ = [
    "CommunicationError",
    "DecodeError",
    "DeviceException",
    "EncodeError",
    "MapError",
    "MissingDependencyError",
    "ModbusError",
    "ProtocolError",
    "UrlError",
]

# Modbus application protocol V1.1b3, clause 7: the exception codes.
EXCEPTION_NAMES: dict[int, str] = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


class ModbusError(Exception):
    """Root of every error raised by ``modbus``.

    Attributes:
        message: what is wrong, in words a user can act on.
        field: the point, key or protocol field at fault, if known.
        offset: the register (or byte) offset where the fault was found, if known.
    """

    def __init__(self, message: str, *, field: str | None = None, offset: int | None = None):
        self.message = message
        self.field = field
        self.offset = offset
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = []
        if self.field is not None:
            where.append(self.field)
        if self.offset is not None:
            where.append(f"at offset {self.offset}")
        prefix = " ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its attributes: subclasses add keyword arguments of their own.
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type[ModbusError], state: dict[str, Any]) -> ModbusError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error._describe())
    return error


class MapError(ModbusError, ProfileError):
    """A register map is malformed: unknown type, overlapping registers, a bad key.

    Also a :class:`profiles.ProfileError` (as the errors of reading the map file are).

    Attributes:
        file: the map file, when the map came from one.
        table: the table at fault, e.g. ``registers[3]``.
        key: the key at fault, e.g. ``type``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        table: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.table = table
        self.key = key
        self.line = line
        self.field = ".".join(part for part in (table, key) if part) or None
        self.offset = None
        Exception.__init__(self, self._describe())

    def _describe(self) -> str:
        return ProfileError._describe(self)

    def __reduce__(self) -> tuple[object, ...]:
        return ModbusError.__reduce__(self)

    def located(self, *, file: str | None = None, table: str | None = None,
                key: str | None = None) -> MapError:
        """The same error, with the places it did not know yet filled in."""
        return MapError(self.message, file=self.file or file, table=self.table or table,
                        key=self.key or key, line=self.line)


class DecodeError(ModbusError):
    """Register contents that cannot be read as the map says (wrong count, bad value)."""


class EncodeError(ModbusError):
    """A value that cannot be written into a point's registers (type, range, resolution)."""


class ProtocolError(ModbusError):
    """A garbled answer: wrong length, wrong transaction or unit id, wrong function code."""


class DeviceException(ModbusError):
    """The device answered with a Modbus exception response.

    Attributes:
        code: the exception code (2 = illegal data address, 11 = gateway target failed...).
        function: the function code of the request.
        address: the first address of the request.
    """

    def __init__(self, *, code: int, function: int, address: int, unit_id: int) -> None:
        self.code = code
        self.function = function
        self.address = address
        self.unit_id = unit_id
        name = EXCEPTION_NAMES.get(code, "unknown exception")
        super().__init__(
            f"unit {unit_id} answered exception {code} ({name}) to function {function} "
            f"at address {address}",
            field="exception",
        )


class CommunicationError(ModbusError):
    """No usable answer: connection refused or lost, or no answer within the timeout."""


class MissingDependencyError(ModbusError):
    """pymodbus (``pip install 'meterkit[modbus]'``) or pyserial is not installed."""


class UrlError(ModbusError, ValueError):
    """A device URL that is not ``tcp://host:port``, ``rtu:///dev/...`` or a pyserial URL."""
