"""Telegrams: a link-layer frame and the application layer it carries.

:func:`decode` takes the bytes of one frame and dispatches on the CI field by
table lookup to the application-layer reader for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, cast

from profiles import MeterFields, MeterProfiles

from ._errors import EncodeError, EncryptedError, RecordError, UnsupportedError
from ._fixed import decode_fixed
from ._frames import Frame, LongFrame, decode_frame
from ._header import APPLICATION_ERRORS, CI_NAMES, Header
from ._lazy_records import lazy_records
from ._meter import MeterSource, ProfilesOption, lazy_meter, meter_profiles, record_value
from ._records import (
    Record,
    decode_records,
    encode_records,
    records_to_dicts,
    scan_records,
)

__all__ = [
    "ApplicationError",
    "Telegram",
    "build_telegram",
    "decode",
    "decode_application",
]

_DATA_OFFSET = 7  # 68 L L 68 C A CI: user data starts here in a long frame
# Security modes with a cipher, EN 13757-7:2018 Table 18 (DES 2/3, AES 5/7/8/9/10, TLS 13).
_SECURITY_MODES = frozenset({2, 3, 5, 7, 8, 9, 10, 13})


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationError:
    """A slave's application error (CI 0x70), EN 13757-3:2018 Table 19."""

    code: int | None
    extra: bytes = b""

    @property
    def message(self) -> str:
        """The meaning of the code."""
        if self.code is None:
            return "unspecified error (no error code sent)"
        return APPLICATION_ERRORS.get(self.code) or f"reserved error code 0x{self.code:02x}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.extra:
            out["data"] = self.extra.hex()
        return out


@dataclass(frozen=True, slots=True, init=False)
class Telegram:
    """One decoded frame with its application layer.

    ``header`` is None where the CI field has none (or the frame has no CI);
    ``records`` are in frame order, manufacturer data included; ``error`` is set
    for CI 0x70, ``alarm`` for CI 0x71; ``payload`` keeps application data that
    is not records (the subcode of an application reset, a selection's address).
    ``meter`` holds the named fields of a meter's response (its device profile's,
    or generic names; see the "Device profiles" guide), None where there is no
    response or profiles were turned off; it takes no part in comparisons, being
    made from the records.
    """

    frame: Frame
    header: Header | None = None
    records: tuple[Record, ...] = ()
    error: ApplicationError | None = None
    alarm: int | None = None
    payload: bytes = b""
    meter: MeterFields | None = field(default=None, compare=False)

    def __init__(self, frame: Frame, header: Header | None = None,
                 records: tuple[Record, ...] = (), error: ApplicationError | None = None,
                 alarm: int | None = None, payload: bytes = b"",
                 meter: MeterFields | None = None) -> None:
        # Written out instead of the generated frozen __init__: each field set through its
        # slot's own setter, and called positionally by the decoders, a telegram costs 6.7k
        # instead of 16.2k instructions to make (callgrind).
        _set_frame(self, frame)
        _set_header(self, header)
        _set_records(self, records)
        _set_error(self, error)
        _set_alarm(self, alarm)
        _set_payload(self, payload)
        _set_meter(self, meter)

    @property
    def ci(self) -> int | None:
        """The CI field, or None for E5 and short frames."""
        return self.frame.ci if isinstance(self.frame, LongFrame) else None

    @property
    def more_records_follow(self) -> bool:
        """True when the last record is DIF 0x1F: the slave has another telegram."""
        return bool(self.records) and self.records[-1].function == "more_records_follow"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form: ``frame``, ``header``, ``records`` (or ``error``, ``alarm``)."""
        out: dict[str, Any] = {"frame": self.frame.to_dict()}
        if self.error is not None:
            out["error"] = self.error.to_dict()
            return out
        if self.alarm is not None:
            out["alarm"] = self.alarm
        if self.header is not None:
            out["header"] = self.header.to_dict()
        if isinstance(self.frame, LongFrame):
            out["records"] = records_to_dicts(_stored_records(self))
        if self.payload:
            out["payload"] = self.payload.hex()
        meter = _meter_document(self, out.get("records", ()))
        if meter is not None:
            out["meter"] = meter
        return out

    def encode(self) -> bytes:
        """The wire bytes of the frame."""
        return self.frame.encode()


# The slots' own setters (Telegram.__init__), taken before lazy_records and lazy_meter put
# their attributes in front of the records and meter slots.
(_set_frame, _set_header, _set_records, _set_error, _set_alarm, _set_payload,
 _set_meter) = [Telegram.__dict__[item.name].__set__ for item in fields(Telegram)]

_Reader = Callable[[LongFrame, "MeterProfiles | None"], Telegram]


def _pending_meter(library: MeterProfiles | None) -> MeterFields | None:
    """What a response's ``meter`` field holds until first read: the profiles to apply."""
    return cast(MeterFields | None, library)  # made into MeterFields by lazy_meter


def _variable(ci: int) -> _Reader:
    header_kind = {0x72: "long", 0x76: "long", 0x7A: "short", 0x78: "none"}[ci]
    msb_first = ci == 0x76

    def read(frame: LongFrame, library: MeterProfiles | None) -> Telegram:
        data = frame.data
        if header_kind == "long":
            header: Header | None = Header.decode_long(data, 0, msb_first)
            start = 12
        elif header_kind == "short":
            header, start = Header.decode_short(data, 0), 4
        else:
            header, start = None, 0
        if header is not None and header.signature:
            _refuse_ciphertext(header.signature, data, start)
        # PRM bit of the C field (ControlField.from_master, without making a ControlField);
        # the sender is the long header's ID, manufacturer, version and medium.
        records = scan_records(data, start, from_master=frame.c & 0x40 != 0,
                               msb_first=msb_first, base_offset=_DATA_OFFSET,
                               sender=data[:8] if header_kind == "long" else None)
        # The telegram keeps the pairs; they become Records when first read (lazy_records).
        return Telegram(frame, header, cast(tuple[Record, ...], records), None, None, b"",
                        _pending_meter(library))

    return read


def _refuse_ciphertext(configuration: int, data: bytes, start: int) -> None:
    """Raise EncryptedError when the configuration field announces encrypted data.

    The signature field of a long or short header is the configuration field
    (EN 13757-7:2018 7.5.8): bits 8-12 are the security mode, bits 4-7 the number of
    encrypted blocks. Data captured already decrypted starts with 2F 2F and is read.
    Older wired meters fill this field with other values ("signature"): only the
    security modes that EN 13757-7 defines count; any other value is read as a
    legacy signature.
    """
    mode = (configuration >> 8) & 0x1F
    if mode not in _SECURITY_MODES or data[start:start + 2] == b"\x2f\x2f":
        return
    blocks = (configuration >> 4) & 0x0F
    raise EncryptedError(
        f"application data is encrypted (security mode {mode}, {blocks} blocks): "
        "decrypt it with the meter's key, e.g. wmbus.decode(data, key=...)",
        mode=mode, blocks=blocks, offset=_DATA_OFFSET + start,
        data=data[start:start + 16 * blocks])


# Records are made into Record objects when first read (to_dict reads the pairs).
_stored_records = lazy_records(Telegram)

def _read_fixed(frame: LongFrame, library: MeterProfiles | None) -> Telegram:
    header, records = decode_fixed(frame.data, _DATA_OFFSET, frame.ci == 0x77)
    return Telegram(frame=frame, header=header, records=records, meter=_pending_meter(library))


def _read_error(frame: LongFrame, _: MeterProfiles | None) -> Telegram:
    code = frame.data[0] if frame.data else None
    return Telegram(frame=frame, error=ApplicationError(code=code, extra=frame.data[1:]))


def _read_alarm(frame: LongFrame, _: MeterProfiles | None) -> Telegram:
    if not frame.data:
        raise RecordError("alarm telegram without alarm status byte",
                          offset=_DATA_OFFSET, field="alarm")
    return Telegram(frame=frame, alarm=int.from_bytes(frame.data, "little"))


def _read_master_records(frame: LongFrame, _: MeterProfiles | None) -> Telegram:
    records = decode_records(frame.data, 0, from_master=True, base_offset=_DATA_OFFSET)
    return Telegram(frame=frame, records=records)


def _read_payload(frame: LongFrame, _: MeterProfiles | None) -> Telegram:
    return Telegram(frame=frame, payload=frame.data)


def _read_selection(frame: LongFrame, _: MeterProfiles | None) -> Telegram:
    # Secondary address ID(4) MAN(2) VER(1) MED(1), optionally followed by records
    # (enhanced selection, e.g. a fabrication number), EN 13757-3:2018 11.5.
    data = frame.data
    if len(data) < 8:
        raise RecordError(f"selection needs an 8-byte secondary address, got {len(data)}",
                          offset=_DATA_OFFSET, field="selection", data=data)
    header = Header(id=data[3::-1].hex().upper(),
                    manufacturer=_manufacturer_or_wildcard(data[4] | data[5] << 8),
                    version=data[6], medium=data[7])
    records = decode_records(data, 8, from_master=True, base_offset=_DATA_OFFSET)
    return Telegram(frame=frame, header=header, records=records)


def _manufacturer_or_wildcard(code: int) -> str:
    from ._header import decode_manufacturer

    return "***" if code == 0xFFFF else decode_manufacturer(code)


# A meter's response (0x72, 0x76, 0x7A, 0x78, 0x73, 0x77) gets its meter part from the
# profiles passed to the reader; the other readers leave them.
_READERS: dict[int, _Reader] = {
    0x72: _variable(0x72), 0x76: _variable(0x76), 0x7A: _variable(0x7A),
    0x78: _variable(0x78), 0x73: _read_fixed, 0x77: _read_fixed, 0x70: _read_error,
    0x71: _read_alarm, 0x51: _read_master_records, 0x50: _read_payload,
    0x52: _read_selection, **{ci: _read_payload for ci in range(0xB8, 0xC0)},
}


def decode_application(frame: LongFrame, *, profiles: ProfilesOption = False) -> Telegram:
    """Decode the application layer of an already decoded long or control frame.

    A meter's response gets its ``meter`` part from ``profiles`` as in :func:`decode`
    (none by default).
    """
    reader = _READERS.get(frame.ci)
    if reader is None:
        name = CI_NAMES.get(frame.ci, "unknown")
        raise UnsupportedError(f"not supported yet: CI 0x{frame.ci:02x} ({name})",
                               offset=6, field="CI", data=bytes((frame.ci,)))
    return reader(frame, meter_profiles(profiles))


def decode(data: bytes | bytearray, *, profiles: ProfilesOption = True) -> Telegram:
    """Decode the bytes of one M-Bus frame (E5, short, control or long) to a :class:`Telegram`.

    >>> telegram = mbus.decode(bytes.fromhex("680303680801707916"))
    >>> telegram.error.message
    'unspecified error (no error code sent)'

    A meter's response gets its ``meter`` part from ``profiles``: True (the
    default) for meterkit's shipped profiles, a :class:`profiles.MeterProfiles`
    for others, False for none. Raises a subclass of :class:`mbus.DecodeError`
    naming the field and byte offset.
    """
    frame = decode_frame(data)
    if isinstance(frame, LongFrame):
        return decode_application(frame, profiles=profiles)
    return Telegram(frame=frame)


# Where the records start in a response, by CI (for a profile's payload prefix).
_RESPONSE_STARTS = {0x72: 12, 0x76: 12, 0x7A: 4, 0x78: 0, 0x73: 12, 0x77: 12}


def with_meter(telegram: Telegram, library: MeterProfiles | None) -> Telegram:
    """A telegram equal to ``telegram`` with its ``meter`` part from ``library`` (made when
    first read); ``telegram`` itself for None, or for a frame that is no meter's response."""
    frame = telegram.frame
    if library is None or not isinstance(frame, LongFrame) or frame.ci not in _RESPONSE_STARTS:
        return telegram
    # Not dataclasses.replace(): it would read ``records`` and so make the Records.
    return Telegram(frame=frame, header=telegram.header,
                    records=cast(tuple[Record, ...], _stored_records(telegram)),
                    error=telegram.error, alarm=telegram.alarm, payload=telegram.payload,
                    meter=_pending_meter(library))


def _meter_source(telegram: Telegram) -> MeterSource:
    frame = telegram.frame
    assert isinstance(frame, LongFrame)
    return MeterSource(telegram.header, _stored_records(telegram), frame.ci,
                       frame.data[_RESPONSE_STARTS[frame.ci]:])


def _meter_document(telegram: Telegram, record_dicts: Sequence[dict[str, Any]]
                    ) -> dict[str, Any] | None:
    """The ``to_dict()`` form of the response's meter part (None: it has none): written by
    the profiles from its records' dicts while the response holds them (the meter part is
    made when first read), else from the made fields."""
    library = _held_meter(telegram)
    if library is None:
        return None
    if isinstance(library, MeterProfiles):
        frame = telegram.frame
        assert isinstance(frame, LongFrame)
        header = telegram.header
        ci = frame.ci
        records = _stored_records(telegram)
        structure = getattr(records, "structure", None)  # see PendingRecords
        if header is None:
            written = library.document(records, record_dicts, record_value, None, None, None,
                                       ci, None, frame.data[_RESPONSE_STARTS[ci]:], None,
                                       structure)
        else:
            written = library.document(records, record_dicts, record_value,
                                       header.manufacturer, header.version, header.medium,
                                       ci, header.status, frame.data[_RESPONSE_STARTS[ci]:],
                                       None, structure)
        if written is not None:
            return written
    return _made_meter_document(telegram)


_held_meter, _made_meter_document = lazy_meter(Telegram, _meter_source)


def build_telegram(
    *,
    address: int,
    records: Iterable[Record] = (),
    header: Header | None = None,
    ci: int = 0x72,
    c: int = 0x08,
    manufacturer_data: bytes | None = None,
    more_records_follow: bool = False,
) -> Telegram:
    """Build a variable-data telegram (RSP_UD by default, or SND_UD with ``c=0x53``, CI 0x51).

    ``ci`` 0x72 needs a long ``header``, 0x7A a short one, 0x78 and 0x51 none.
    ``manufacturer_data`` is appended after DIF 0x0F (or 0x1F when
    ``more_records_follow``). The result decodes back to an equal telegram.
    """
    records = tuple(records)
    if ci in (0x72, 0x76):
        if header is None:
            raise EncodeError(f"CI 0x{ci:02x} needs a long header")
        head = header.encode_long()
    elif ci == 0x7A:
        if header is None:
            raise EncodeError("CI 0x7a needs a short header")
        head = header.encode_short()
    elif ci in (0x78, 0x51):
        head = b""
    else:
        raise EncodeError(f"build_telegram writes CI 0x72, 0x7a, 0x78 or 0x51, not 0x{ci:02x}")
    body = head + encode_records(records)
    if more_records_follow or manufacturer_data is not None:
        body += b"\x1f" if more_records_follow else b"\x0f"
        body += manufacturer_data or b""
    telegram = decode(LongFrame(c=c, a=address, ci=ci, data=body).encode())
    return telegram


