"""The typed errors of the ``mbus`` package: one root, split by fault."""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = [
    "ChecksumError",
    "DecodeError",
    "EncodeError",
    "EncryptedError",
    "FrameError",
    "MBusError",
    "RecordError",
    "UnsupportedError",
]


_Error = TypeVar("_Error", bound="DecodeError")


class MBusError(Exception):
    """Root of every error raised by ``mbus``."""


class DecodeError(MBusError):
    """Bytes that cannot be decoded.

    Attributes:
        message: what is wrong, in words a user can act on.
        offset: byte offset in the decoded buffer where the fault was found, if known.
        field: the name of the field at fault (``"L"``, ``"checksum"``, ``"DIFE"``, ...).
        data: the offending bytes (may be empty).
    """

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        field: str | None = None,
        data: bytes = b"",
    ) -> None:
        self.message = message
        self.offset = offset
        self.field = field
        self.data = bytes(data)
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = []
        if self.field is not None:
            where.append(self.field)
        if self.offset is not None:
            where.append(f"at byte {self.offset}")
        prefix = " ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def moved(self: _Error, by: int, note: str = "") -> _Error:
        """The same error, for a buffer that starts ``by`` bytes into a larger one.

        Every attribute is kept (a subclass's own ones too, such as
        ``EncryptedError.mode``); ``offset`` is shifted and ``note``, if given, is
        appended to the message.
        """
        state = dict(self.__dict__)
        if self.offset is not None:
            state["offset"] = self.offset + by
        if note:
            state["message"] = f"{self.message} ({note})"
        return _rebuild(type(self), state)

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its attributes, not through __init__: subclasses add keyword
        # arguments of their own, which a generic call would have to know.
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type[_Error], state: dict[str, Any]) -> _Error:
    """An error of class ``cls`` with these attributes, as pickle restores plain objects."""
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error._describe())
    return error


class FrameError(DecodeError):
    """A link-layer frame (EN 13757-2 / FT1.2) is malformed: start, length or stop byte."""


class ChecksumError(FrameError):
    """The checksum of a frame does not match its contents."""


class RecordError(DecodeError):
    """The application layer (header or data records) is malformed or truncated.

    Raised by the record decoder (``decode_records``, ``scan_records``), it also says
    how far decoding got, so that a caller can keep what came before the fault:

    Attributes:
        records_before: the records decoded before the broken one (``mbus.Record``).
        record_offset: where the broken record starts, as an index into the data.
    """

    records_before: tuple[Any, ...] = ()
    record_offset: int | None = None


class UnsupportedError(DecodeError):
    """The bytes are well-formed but use a feature this version does not decode yet."""


class EncryptedError(UnsupportedError):
    """The application data is encrypted (security mode in the configuration field).

    ``mode`` is the security mode, ``blocks`` the number of encrypted 16-byte blocks;
    decrypting needs the meter's key (see the ``wmbus`` package, which also reads
    wired frames).
    """

    def __init__(self, message: str, *, mode: int, blocks: int, offset: int | None = None,
                 field: str | None = "configuration", data: bytes = b"") -> None:
        self.mode = mode
        self.blocks = blocks
        super().__init__(message, offset=offset, field=field, data=data)


class EncodeError(MBusError):
    """Objects given to an encoder cannot be represented in the requested coding."""
