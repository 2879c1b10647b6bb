"""One telegram in, a :class:`Telegram` out: link, ELL, AFL, TPL, security, records.

The layers are read in frame order, each by table lookup on its CI field:
ELL (0x8C-0x8F), then AFL (0x90), then the TPL (0x72, 0x7A, 0x78, compact and
format frames, 0x8A/0x8B). Encrypted parts are decrypted and *checked* before
anything reaches the record decoder (``mbus.records.decode_records``): the ELL payload
CRC, the AFL MAC (mode 7) and the ``2F2F`` that starts every OMS plaintext.

When a key is known for the meter, authenticity is enforced: a payload in clear
where the configuration word or the ELL says encrypted is refused
(:class:`UnexpectedPlaintextError`), as is a mode 7 telegram whose MAC is wrong
or missing (:class:`AuthenticationError`). Captures decrypted earlier by another
tool are read in the explicit already-decrypted mode; they, and clear payloads
of meters without a key, decode with ``decrypted_by == "input"`` and
``verified == False``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import mbus
import mbus.records
from profiles import MeterFields, MeterProfiles
from profiles.transforms import TransformContext, keyed_context

from ._afl import AuthenticationLayer, parse_afl
from ._compact import SignatureCache, expand_compact, split_headers
from ._crc import crc16_en13757
from ._diehl import LFSR_DEFAULT_KEYS, OMS_DEFAULT_KEY, PRIOS_CHECK, is_diehl, lfsr_descramble
from ._ell import ELL_LENGTHS, ExtendedLinkLayer, parse_ell
from ._errors import (
    AuthenticationError,
    CRCError,
    DecodeError,
    DecryptionError,
    KeyMissingError,
    LinkError,
    UnexpectedPlaintextError,
    UnsupportedError,
    WMBusError,
)
from ._keys import KeyStore
from ._link import LinkLayer, parse_link
from ._security import (
    KDF_ENC_FROM_METER,
    KDF_MAC_FROM_METER,
    ZERO_DES_IV,
    ZERO_IV,
    aes_cbc_decrypt,
    aes_cmac,
    aes_ctr,
    derive_key,
    des_cbc_decrypt,
    macs_equal,
    mode3_iv,
    mode5_iv,
)
from ._tpl import (
    COMPACT_CIS,
    FORMAT_CIS,
    HEADER_KINDS,
    MODE_NAMES,
    NO_APL_CIS,
    TransportLayer,
    parse_tpl,
)

__all__ = ["CompactInfo", "Decoder", "Security", "Telegram", "decode", "split_headers"]

_log = logging.getLogger(__name__)

_CLEAR = b"\x2f\x2f"
_MIN_MAC = 8  # bytes: the AES-CMAC truncation OMS mode 7 uses; shorter ones are refused
_DES_MODES = frozenset((2, 3))
_CC_IV_MASK = 0xFF & ~0x12  # CC bits H (0x10) and R (0x02) are zero in the ELL IV
_MANUFACTURER_CIS = frozenset(range(0xA0, 0xB8))
_PRIOS_CIS = frozenset(range(0xA0, 0xA8))  # Diehl IZAR PRIOS
# Diehl "real data" (CI 0x7A): this configuration-word bit set, its high byte is a checksum.
_REAL_DATA_FLAG = 0x1000
# Wired-only application layers that mbus decodes itself (errors, alarms, fixed data, ...).
_WIRED_ONLY = frozenset((0x70, 0x71, 0x73, 0x76, 0x77, 0x50, 0x51, 0x52,
                         *range(0xB8, 0xC0)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Security:
    """How the telegram was protected and what was done about it.

    ``mode`` is the TPL security mode (0 when none); ``ell_encryption`` the
    ELL's (``"aes_ctr"`` or None). ``decrypted_by`` is ``"key"`` when this
    decoder decrypted it, ``"input"`` when it arrived already decrypted with
    the security bits still set, None when nothing was encrypted. ``mac_ok``
    is the AFL MAC check (None when there is no MAC or it could not be checked).
    ``verified`` is True only when every protected part was checked with the
    meter's key (decrypted to ``2F2F``, MAC matched, ELL payload CRC matched)
    and no application data arrived unprotected beside it; a telegram sent
    without security, or decrypted by the input, is never verified.
    ``key_source`` is ``"default"`` when no key was given for a Diehl meter and
    its manufacturer's publicly known default key decrypted it (then
    ``key_for`` is None and ``verified`` False: everyone knows that key).
    ``scrambling`` names a manufacturer's scrambling that was undone
    (``"diehl_prios"``: Diehl's LFSR, checked by one byte, never verified).
    ``encrypted_blocks`` counts 16-byte blocks (AES), or for the DES modes 2 and 3
    the 8-byte blocks decrypted.
    """

    mode: int = 0
    encrypted_blocks: int = 0
    ell_encryption: str | None = None
    decrypted_by: str | None = None
    mac_ok: bool | None = None
    key_for: str | None = None
    verified: bool = False
    key_source: str | None = None
    scrambling: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (never the key itself)."""
        # Security objects repeat (_security shares them): their dicts are built once.
        memo = _SECURITY_DICTS.get(id(self))
        if memo is not None and memo[0] is self:
            return memo[1].copy()
        out: dict[str, Any] = {"mode": self.mode, "encrypted_blocks": self.encrypted_blocks,
                               "decrypted_by": self.decrypted_by, "mac_ok": self.mac_ok,
                               "verified": self.verified}
        if self.ell_encryption is not None:
            out["ell_encryption"] = self.ell_encryption
        if self.key_for is not None:
            out["key_for"] = self.key_for
        if self.key_source is not None:
            out["key_source"] = self.key_source
        if self.scrambling is not None:
            out["scrambling"] = self.scrambling
        if len(_SECURITY_DICTS) >= 4096:
            _SECURITY_DICTS.clear()
        # The memo holds the object itself, so its id cannot be reused while the entry lives.
        _SECURITY_DICTS[id(self)] = (self, out)
        return out.copy()


_SECURITY_DICTS: dict[int, tuple[Security, dict[str, Any]]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class CompactInfo:
    """A compact or format frame's format signature and full-frame CRC."""

    kind: str
    signature: int
    data_crc: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        out: dict[str, Any] = {"kind": self.kind, "signature": f"0x{self.signature:04x}"}
        if self.data_crc is not None:
            out["data_crc"] = f"0x{self.data_crc:04x}"
        return out


_records_to_dicts = mbus.records.records_to_dicts


@dataclass(frozen=True, slots=True, init=False)
class Telegram:
    """One decoded wireless (or wired) M-Bus telegram.

    ``header`` is the application header as in ``mbus`` (for short and no TPL
    headers the meter's identity is filled in from the link layer); ``records``
    are ``mbus.Record`` objects. ``payload`` holds the (decrypted) application
    bytes after the TPL header, or the data of a manufacturer-specific CI.
    When a record is broken (truncated, reserved DIF), the records before it are
    kept, ``record_error`` says what broke and ``undecoded`` holds the rest.
    ``meter`` holds the named fields (the meter's device profile's, or generic
    names; see the "Device profiles" guide), None when profiles were turned off;
    it takes no part in comparisons, being made from the records. ``transform_context``
    is, for a meter sending a manufacturer-specific CI whose key the decoder knew, what
    the profile transforms that need the key (Apator NA-1's decryption) made of the
    payload at decode time (:func:`profiles.transforms.keyed_context`); the key itself
    is not kept on the telegram (nor in its pickles).
    """

    link: LinkLayer
    ci: int
    security: Security
    ell: ExtendedLinkLayer | None = None
    afl: AuthenticationLayer | None = None
    tpl: TransportLayer | None = None
    header: mbus.Header | None = None
    records: tuple[mbus.Record, ...] = ()
    compact: CompactInfo | None = None
    payload: bytes = b""
    error: mbus.ApplicationError | None = None
    alarm: int | None = None
    record_error: str | None = None
    undecoded: bytes = b""
    meter: MeterFields | None = field(default=None, compare=False)
    transform_context: TransformContext | None = field(default=None, compare=False,
                                                       repr=False)

    def __init__(self, link: LinkLayer, ci: int, security: Security,
                 ell: ExtendedLinkLayer | None = None, afl: AuthenticationLayer | None = None,
                 tpl: TransportLayer | None = None, header: mbus.Header | None = None,
                 records: tuple[mbus.Record, ...] = (), compact: CompactInfo | None = None,
                 payload: bytes = b"", error: mbus.ApplicationError | None = None,
                 alarm: int | None = None, record_error: str | None = None,
                 undecoded: bytes = b"", meter: MeterFields | None = None,
                 transform_context: TransformContext | None = None) -> None:
        # Written out instead of the generated frozen __init__: each field set through its
        # slot's own setter, and called positionally by the decoder, a telegram costs 13k
        # instead of 36k instructions to make (callgrind), ~10 % of decode + to_dict
        # without the meter part.
        _set_link(self, link)
        _set_ci(self, ci)
        _set_security(self, security)
        _set_ell(self, ell)
        _set_afl(self, afl)
        _set_tpl(self, tpl)
        _set_header(self, header)
        _set_records(self, records)
        _set_compact(self, compact)
        _set_payload(self, payload)
        _set_error(self, error)
        _set_alarm(self, alarm)
        _set_record_error(self, record_error)
        _set_undecoded(self, undecoded)
        _set_meter(self, meter)
        _set_transform_context(self, transform_context)

    @property
    def id(self) -> str | None:
        """The meter's identification number (long TPL header first, then link layer)."""
        return self.header.id if self.header is not None and self.header.id else self.link.id

    @property
    def manufacturer(self) -> str | None:
        """The meter's manufacturer code."""
        if self.header is not None and self.header.manufacturer:
            return self.header.manufacturer
        return self.link.manufacturer

    @property
    def more_records_follow(self) -> bool:
        """True when the last record is DIF 0x1F."""
        return bool(self.records) and self.records[-1].function == "more_records_follow"

    def to_dict(self) -> dict[str, Any]:
        """``link``, ``security``, ``header`` and ``records`` (as ``mbus``), and the layers."""
        out: dict[str, Any] = {"link": self.link.to_dict()}
        if self.ell is not None:
            out["ell"] = self.ell.to_dict()
        if self.afl is not None:
            out["afl"] = self.afl.to_dict()
        if self.tpl is not None:
            out["tpl"] = self.tpl.to_dict()
        out["ci"] = self.ci
        out["security"] = self.security.to_dict()
        if self.compact is not None:
            out["compact"] = self.compact.to_dict()
        if self.error is not None:
            out["error"] = self.error.to_dict()
        if self.alarm is not None:
            out["alarm"] = self.alarm
        if self.header is not None:
            out["header"] = self.header.to_dict()
        records = _stored_records(self)
        out["records"] = _records_to_dicts(records)
        if self.record_error is not None:
            out["record_error"] = self.record_error
            out["undecoded"] = self.undecoded.hex()
        if self.ci in _MANUFACTURER_CIS or (self.payload and not records
                                            and self.ci not in NO_APL_CIS):
            out["payload"] = self.payload.hex()
        meter = _meter_document(self, records, out["records"])
        if meter is not None:
            out["meter"] = meter
        return out


# The slots' own setters (Telegram.__init__), taken before lazy_records and lazy_meter put
# their attributes in front of the records and meter slots.
(_set_link, _set_ci, _set_security, _set_ell, _set_afl, _set_tpl, _set_header, _set_records,
 _set_compact, _set_payload, _set_error, _set_alarm, _set_record_error, _set_undecoded,
 _set_meter, _set_transform_context) = [Telegram.__dict__[item.name].__set__
                                        for item in dataclasses.fields(Telegram)]
# Records are made into Record objects when first read (to_dict reads the pairs).
_stored_records = mbus.records.lazy_records(Telegram)


def _meter_source(telegram: Telegram) -> mbus.records.MeterSource:
    return mbus.records.MeterSource(telegram.header, _stored_records(telegram), telegram.ci,
                                    telegram.payload, telegram.manufacturer, telegram.id,
                                    telegram.transform_context)


def _meter_document(telegram: Telegram, records: Sequence[tuple[mbus.records.RecordShape, bytes]],
                    record_dicts: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The ``to_dict()`` form of the telegram's meter part (None: it has none): written
    by the profiles from its records' dicts while the telegram holds them (the meter part
    is made when first read), else from the made fields."""
    library = _held_meter(telegram)
    if library is None:
        return None
    if isinstance(library, MeterProfiles):
        header = telegram.header
        structure = getattr(records, "structure", None)  # see mbus.records.PendingRecords
        if header is None:
            written = library.document(records, record_dicts, _record_value,
                                       telegram.link.manufacturer, None, None, telegram.ci,
                                       None, telegram.payload, telegram.transform_context,
                                       structure)
        else:
            written = library.document(records, record_dicts, _record_value,
                                       header.manufacturer or telegram.link.manufacturer,
                                       header.version, header.medium, telegram.ci,
                                       header.status, telegram.payload,
                                       telegram.transform_context, structure)
        if written is not None:
            return written
    return _made_meter_document(telegram)


_record_value = mbus.records.record_value
_held_meter, _made_meter_document = mbus.records.lazy_meter(Telegram, _meter_source)


def _pending_meter(library: MeterProfiles | None) -> MeterFields | None:
    """What ``meter`` holds until first read: the profiles to apply (mbus.records.lazy_meter)."""
    return cast(MeterFields | None, library)


class Decoder:
    """Decodes telegrams and remembers what later ones need.

    ``keys`` is a :class:`KeyStore`, a mapping ``{"12345678": "hex key", ...}``
    or the path of a key file. ``signatures`` pre-seeds the format-signature
    cache (a :class:`SignatureCache` or its JSON-able mapping); full frames add
    to it, so a compact frame decodes once its meter's full frame was seen.

    ``already_decrypted=True`` is for captures that another tool decrypted
    (wmbusmeters logs, decrypting dongles, test corpora that store plaintext
    with the security bits still set): a payload in clear under security bits
    then decodes, marked ``decrypted_by="input"`` and ``verified=False``,
    instead of being refused as :class:`UnexpectedPlaintextError` when a key
    is known. Payloads still encrypted are decrypted and checked as always.

    ``profiles`` names the meters' values (each telegram's ``meter``): True (the
    default) for meterkit's shipped profiles, a :class:`profiles.MeterProfiles`
    (for example ``profiles.load_meter_profiles(DIR)``) for others, False for none.
    """

    def __init__(
        self,
        keys: KeyStore | Mapping[str, bytes | str] | str | os.PathLike[str] | None = None,
        *,
        signatures: SignatureCache | Mapping[int | str, Any] | None = None,
        already_decrypted: bool = False,
        profiles: mbus.records.ProfilesOption = True,
    ) -> None:
        self.profiles = mbus.records.meter_profiles(profiles)
        self.keys = KeyStore.coerce(keys)
        if isinstance(signatures, SignatureCache):
            self.signatures = signatures
        else:
            self.signatures = SignatureCache(signatures)
        self.already_decrypted = already_decrypted

    def __repr__(self) -> str:
        mode = ", already_decrypted=True" if self.already_decrypted else ""
        return f"Decoder(keys={self.keys!r}, signatures={self.signatures!r}{mode})"

    def decode(self, data: bytes, key: bytes | None = None, *,
               received: dt.date | None = None) -> Telegram:
        """Decode one telegram (wireless frame A, B or CRC-less; or a wired long frame).

        ``key`` (16 bytes; 8 for a DES meter) overrides the key store for this
        telegram. ``received`` is the day the telegram was received: security
        mode 3 (DES with an IV made from the meter's date) needs it. Raises a
        :class:`wmbus.DecodeError` subclass naming the field and what was
        tried (errors of the record decoder come as ``wmbus.DecodeError`` or
        ``wmbus.UnsupportedError`` too, which are also ``mbus.DecodeError``).
        """
        if key is not None and len(key) not in (8, 16):
            raise KeyMissingError(f"an AES-128 key has 16 bytes (a DES key 8), got {len(key)}",
                                  field="key")
        link, apl = parse_link(data)
        try:
            telegram = _Run(self, link, apl, key, received).decode()
        except WMBusError:
            raise
        except mbus.MBusError as exc:  # from the shared application layer
            raise _as_wmbus_error(exc) from exc
        return telegram


def _as_wmbus_error(exc: mbus.MBusError) -> DecodeError:
    """The same fault as ``wmbus``'s own error (same message, offset, field and data)."""
    if isinstance(exc, mbus.DecodeError):
        kind = UnsupportedError if isinstance(exc, mbus.UnsupportedError) else DecodeError
        return kind(exc.message, offset=exc.offset, field=exc.field, data=exc.data)
    return DecodeError(str(exc))


class _Run:
    """The state of one decode: the layers found so far."""

    __slots__ = ("afl", "already_decrypted", "apl", "base", "checked", "decoder",
                 "decrypted_by", "ell", "ell_encryption", "key", "key_for", "key_source",
                 "link", "received", "scrambling", "unchecked")

    def __init__(self, decoder: Decoder, link: LinkLayer, apl: bytes, key: bytes | None,
                 received: dt.date | None = None):
        self.decoder = decoder
        self.received = received
        self.link = link
        self.apl = apl
        self.key = key
        self.base = 6 if link.format == "wired" else 10
        self.ell: ExtendedLinkLayer | None = None
        self.afl: AuthenticationLayer | None = None
        self.ell_encryption: str | None = None
        self.decrypted_by: str | None = None
        self.key_for: str | None = None
        self.key_source: str | None = None
        self.scrambling: str | None = None
        self.already_decrypted = decoder.already_decrypted
        self.checked = False  # a protected part was checked with the key
        self.unchecked = False  # a part that says it is protected was taken as it came

    def _verified(self) -> bool:
        return self.checked and not self.unchecked

    def _plaintext_refused(self, what: str, field: str, offset: int,
                           key_for: str | None) -> UnexpectedPlaintextError:
        says = "the ELL session number" if field.startswith("ELL") else \
            "the configuration word"
        return UnexpectedPlaintextError(
            f"{what} is in clear although {says} says encrypted, and a key is known for "
            f"{key_for or 'the meter'}: refused as possibly forged. If this input was "
            "decrypted earlier (a wmbusmeters log, a decrypting dongle), read it in the "
            "already-decrypted mode: wmbus.Decoder(..., already_decrypted=True) or "
            "wmbus decode --already-decrypted", field=field, offset=offset)

    def _refuse_unprotected(self, tpl: TransportLayer, pos: int, start: int) -> None:
        """Data sent without any security by a meter whose key is known: a downgrade."""
        wired_short = self.link.format == "wired" and tpl.kind != "long"
        candidates = [] if wired_short else self._candidates(tpl, pos)
        key, key_for = self._find_key(candidates, needs=None)
        if key is None:
            return
        raise UnexpectedPlaintextError(
            f"the payload is in clear and asks for no security (mode 0, no ELL encryption), "
            f"but a key is known for {key_for or 'the meter'}: refused as possibly forged (a "
            "meter with a key sends its data encrypted). If this input was decrypted earlier "
            "(a tool that also cleared the security bits), read it in the already-decrypted "
            "mode: wmbus.Decoder(..., already_decrypted=True) or wmbus decode "
            "--already-decrypted", field="TPL.CW", offset=self.base + start - 2)

    def _taken_as_input(self) -> None:
        """A part that says it is encrypted arrived in clear and is accepted unverified."""
        self.decrypted_by = self.decrypted_by or "input"
        self.unchecked = True

    # --- keys ----------------------------------------------------------------------------------

    def _find_key(self, candidates: list[tuple[str | None, str | None]], *,
                  needs: str | None = "AES-128") -> tuple[bytes | None, str | None]:
        """The meter's key and the ID it was found for.

        ``needs`` names the cipher the caller will use: an 8-byte (DES) key where an
        AES-128 key is needed is refused, naming the meter. ``needs=None`` asks only
        whether a key is known.
        """
        found: bytes | None = None
        key_for: str | None = None
        if self.key is not None:
            found, key_for = self.key, candidates[0][1] if candidates else None
        else:
            for manufacturer, ident in candidates:
                found = self.decoder.keys.lookup(ident, manufacturer)
                if found is not None:
                    key_for = ident
                    break
        if found is not None and needs == "AES-128" and len(found) != 16:
            raise KeyMissingError(
                f"the key for {key_for or 'the meter'} has {len(found)} bytes (a DES key), but "
                "this telegram needs a 16-byte AES-128 key", field="key")
        return found, key_for

    @staticmethod
    def _described(candidates: list[tuple[str | None, str | None]]) -> str:
        names = [f"{m} {i}" if m else str(i) for m, i in candidates if i is not None]
        return " or ".join(dict.fromkeys(names)) or "an unknown meter"

    # --- layers --------------------------------------------------------------------------------

    def decode(self) -> Telegram:
        apl = self.apl
        if not apl:
            raise LinkError("frame has no CI field", field="CI", offset=self.base)
        pos = 0
        wireless = self.link.format != "wired"
        if wireless and apl[0] in ELL_LENGTHS:
            pos = self._read_ell()
            apl = self.apl
        if wireless and pos < len(apl) and apl[pos] == 0x90:
            self.afl, pos = parse_afl(apl, pos, self.base)
        if pos >= len(apl):  # link-layer-only message (an acknowledgement, ...)
            return self._telegram(ci=0x90 if self.afl is not None else apl[0])
        ci = apl[pos]
        if ci in HEADER_KINDS and (wireless or ci != 0x73):
            return self._read_tpl(pos, wireless)
        if wireless and ci in _PRIOS_CIS and is_diehl(self.link.manufacturer):
            return self._prios(ci, pos)
        if ci in _MANUFACTURER_CIS:
            # Profile transforms that decrypt such a payload do it now, where the key is
            # known; the telegram keeps their output, not the key.
            payload = apl[pos + 1:]
            key, _ = self._find_key([(self.link.manufacturer, self.link.id)], needs=None)
            context = None if key is None else keyed_context(payload, key,
                                                             self.link.raw_address)
            return self._telegram(ci=ci, payload=payload, transform_context=context)
        if self.link.format == "wired" and ci in _WIRED_ONLY:
            frame = mbus.LongFrame(c=self.link.c, a=self.link.address or 0, ci=ci,
                                   data=apl[pos + 1:])
            wired = mbus.records.decode_application(frame)
            return self._telegram(ci=ci, header=wired.header, records=wired.records,
                                  payload=wired.payload, error=wired.error, alarm=wired.alarm)
        name = mbus.records.CI_NAMES.get(ci, "unknown")
        raise UnsupportedError(f"not supported yet: CI 0x{ci:02x} ({name})", field="CI",
                               offset=self.base + pos, data=bytes((ci,)))

    def _prios(self, ci: int, pos: int) -> Telegram:
        """Diehl IZAR PRIOS (CI 0xA0-0xA7): LFSR-scrambled after CI and 4 clear bytes.

        Descrambled with the meter's key (its first 8 bytes) when one is known, else
        with each of Diehl's two well-known keys; the first descrambled byte must be
        0x4B. The result is kept as ``payload`` (a manufacturer layout, no records).
        """
        apl = self.apl
        if len(apl) - pos < 6:
            raise DecodeError("IZAR PRIOS frame needs 4 bytes after its CI and scrambled data",
                              field="PRIOS", offset=self.base + pos, data=apl[pos:])
        header = self.link.raw_address + apl[pos:pos + 5]
        candidates = [(self.link.manufacturer, self.link.id)]
        key, key_for = self._find_key(candidates)
        keys = [key] if key is not None else list(LFSR_DEFAULT_KEYS)
        for candidate in keys:
            plain = lfsr_descramble(candidate, header, apl[pos + 5:])
            if plain[0] == PRIOS_CHECK:
                security = _security(0, 0, None, "key", None, key_for, False,
                                     None if key is not None else "default", "diehl_prios")
                return self._telegram(ci=ci, payload=apl[pos + 1:pos + 5] + plain,
                                      security=security)
        tried = (f"the key for {key_for or 'the meter'}" if key is not None else
                 "Diehl's default keys " + " and ".join(k.hex() for k in LFSR_DEFAULT_KEYS))
        raise DecryptionError(
            f"IZAR PRIOS payload of {self._described(candidates)}: descrambled with {tried}, "
            f"but the check byte is not 0x{PRIOS_CHECK:02x}: the meter uses another key "
            "(give it with --key or a key file)", field="PRIOS", offset=self.base + pos + 5,
            data=apl[pos + 5:pos + 6])

    def _real_data(self, tpl: TransportLayer, pos: int, start: int, body: bytes) -> bytes:
        """A Diehl "real data" frame: the configuration word's high byte is a checksum.

        The sum of the payload bytes, masked with 0xEF, must equal the high byte masked
        the same way, either in clear or after the Diehl LFSR with the meter's key (or,
        with none known, each of Diehl's two well-known keys). A 7-bit sum passes one
        wrong key in 128, so a candidate whose records also decode to the end is taken
        first. Nothing here is verified.
        """
        assert tpl.config is not None
        expected = (tpl.config.raw >> 8) & 0xEF
        candidates = self._candidates(tpl, pos)
        key, key_for = self._find_key(candidates)
        keys = [key] if key is not None else list(LFSR_DEFAULT_KEYS)
        header = self.link.raw_address + self.apl[start - 5:start]
        tries: list[tuple[bytes | None, bytes]] = [(None, body)]
        tries += [(k, lfsr_descramble(k, header, body)) for k in keys]
        passing = [(k, plain) for k, plain in tries if sum(plain) & 0xEF == expected]
        chosen = next(((k, plain) for k, plain in passing if _clean_records(plain)),
                      passing[0] if passing else None)
        if chosen is None:
            tried = (f"the key for {key_for or 'the meter'}" if key is not None else
                     "Diehl's default keys " + " and ".join(k.hex() for k in LFSR_DEFAULT_KEYS))
            raise DecryptionError(
                f"Diehl real-data frame of {self._described(candidates)}: the checksum "
                f"0x{expected:02x} (configuration word high byte & 0xEF) matches neither the "
                f"payload in clear nor the payload descrambled with {tried}: a corrupted "
                "frame, or the meter uses another key", field="TPL.CW",
                offset=self.base + start - 1, data=self.apl[start - 1:start])
        used, plain = chosen
        if used is None:
            if key is not None and not self.already_decrypted:
                raise self._plaintext_refused("the Diehl real-data payload", "TPL.CW",
                                              self.base + start - 2, key_for)
            self.unchecked = True
            return plain
        self.decrypted_by = "key"
        self.key_for = key_for
        self.key_source = None if key is not None else "default"
        self.scrambling = "diehl_real_data"
        self.unchecked = True  # a 7-bit sum authenticates nothing
        return plain

    def _read_ell(self) -> int:
        ell, pos = parse_ell(self.apl, 0, self.base)
        self.ell = ell
        if ell.session_number is None:
            return pos
        if ell.encryption == 0:
            computed = crc16_en13757(self.apl, pos)
            if computed != ell.payload_crc:
                raise CRCError(f"ELL payload CRC 0x{ell.payload_crc:04x} does not match the "
                               f"payload (0x{computed:04x})", field="ELL.PayloadCRC",
                               offset=self.base + pos - 2)
            return pos
        if ell.encryption != 1:
            raise UnsupportedError(f"not supported yet: ELL encryption {ell.encryption}",
                                   field="ELL.SN", offset=self.base + pos - 6)
        self.ell_encryption = "aes_ctr"
        crc_at = pos - 2
        in_clear = crc16_en13757(self.apl, pos) == ell.payload_crc
        candidates = [(self.link.manufacturer, self.link.id)]
        key, key_for = self._find_key(candidates)
        if key is None:
            if in_clear:
                self._taken_as_input()
                return pos
            raise KeyMissingError(
                f"ELL payload of {self._described(candidates)} is AES-CTR encrypted (its "
                "payload CRC does not check in clear) and no key was given or found in the "
                "key store", field="ELL", offset=self.base + crc_at)
        sn = self.apl[crc_at - 4:crc_at]
        # Repeaters change the hop count and repeated-access bits: the IV leaves them out.
        iv = self.link.raw_address + bytes((ell.cc & _CC_IV_MASK,)) + sn + b"\x00\x00\x00"
        plain = aes_ctr(key, iv, self.apl[crc_at:])
        crc = int.from_bytes(plain[:2], "little")
        if crc16_en13757(plain, 2) != crc:
            if in_clear:
                if self.already_decrypted:
                    self._taken_as_input()
                    return pos
                raise self._plaintext_refused(
                    "the ELL payload (its payload CRC checks without decryption)",
                    "ELL.SN", self.base + crc_at - 4, key_for)
            raise DecryptionError(
                f"decrypted the ELL with the key for {key_for or 'the meter'} but the payload "
                f"CRC does not match (0x{crc:04x} received, "
                f"0x{crc16_en13757(plain, 2):04x} computed): wrong key?",
                field="ELL.PayloadCRC", offset=self.base + crc_at)
        self.apl = self.apl[:crc_at] + plain
        self.ell = dataclasses.replace(ell, payload_crc=crc)
        self.decrypted_by = "key"
        self.key_for = key_for
        self.checked = True
        return pos

    def _read_tpl(self, pos: int, wireless: bool) -> Telegram:
        apl = self.apl
        link = self.link
        tpl, start = parse_tpl(apl, pos, self.base, link if wireless else None)
        ci = tpl.ci
        header = tpl.header
        config = tpl.config
        if config is None:
            mode = blocks = 0
            if header is None and wireless:
                header = mbus.Header(link.id, link.manufacturer, link.version,
                                     link.device_type,
                                     None if self.ell is None else self.ell.access_number)
        else:
            mode = config.mode
            blocks = config.encrypted_blocks
        body = apl[start:]
        mac_ok: bool | None = None
        if (ci == 0x7A and config is not None and config.raw & _REAL_DATA_FLAG and wireless
                and is_diehl(link.manufacturer)):
            body = self._real_data(tpl, pos, start, body)
            mode = blocks = 0
        elif ci in NO_APL_CIS:
            body = b""
        elif mode == 0:
            if (not self.checked and not self.already_decrypted
                    and (self.key is not None or len(self.decoder.keys)) and body.strip(b"\x2f")):
                self._refuse_unprotected(tpl, pos, start)
        elif mode == 5:
            body = self._mode5(tpl, pos, start, blocks)
        elif mode == 7:
            body, mac_ok = self._mode7(tpl, pos, start, blocks)
        elif mode in _DES_MODES:
            body, blocks = self._des(tpl, pos, start, mode)
        elif mode in MODE_NAMES:
            raise UnsupportedError(f"not supported yet: mode {mode} ({MODE_NAMES[mode]})",
                                   field="TPL.CW", offset=self.base + start - 2,
                                   data=_config_bytes(tpl))
        else:
            self._reserved_mode(tpl, pos, start, mode, body)
        security = _security(mode, blocks if mode else 0, self.ell_encryption,
                             self.decrypted_by, mac_ok, self.key_for, self._verified(),
                             self.key_source, self.scrambling)
        base = self.base + start
        cache = self.decoder.signatures
        compact: CompactInfo | None = None
        if ci in COMPACT_CIS:
            # An encrypted compact frame starts with the 2F2F its decryption was checked by
            # (kept when a tool decrypted it earlier). A signature 0x2F2F is not read as
            # such: the next bytes are then taken as the signature, and its full-frame CRC
            # still checks the rebuilt records.
            at = 2 if body.startswith(_CLEAR) else 0
            block = expand_compact(cache, body, at, base)
            compact = CompactInfo(kind="compact",
                                  signature=int.from_bytes(body[at:at + 2], "little"),
                                  data_crc=int.from_bytes(body[at + 2:at + 4], "little"))
            records: Sequence[tuple[mbus.records.RecordShape, bytes]] = \
                mbus.records.scan_records(block)
        elif ci in FORMAT_CIS:
            compact = self._learn_format(body, base)
            records = ()
        else:
            try:
                records = mbus.records.scan_records(
                    body, 0, base_offset=base, from_master=not wireless and bool(link.c & 0x40),
                    sender=link.raw_address or None)
            except mbus.RecordError as exc:
                records = exc.records_before
                rest = body[exc.record_offset or 0:]
                record_error = (f"{exc}; {len(records)} records decoded before it, "
                                f"{len(rest)} bytes left undecoded")
                _log.debug("records of %s cut short: %s", link.id, record_error)
                return self._telegram(ci=ci, tpl=tpl, header=header, records=records,
                                      payload=body, security=security,
                                      record_error=record_error, undecoded=rest)
            cache.learn(records, link.raw_address)
        # The pairs stand for the Records (lazy_records) and the profiles for the meter part
        # until first read (lazy_meter): hence the two ignores (no cast() calls on this path).
        return Telegram(link, ci, security, self.ell, self.afl, tpl, header,
                        records, compact, body, None, None, None,  # type: ignore[arg-type]
                        b"", self.decoder.profiles)  # type: ignore[arg-type]

    def _reserved_mode(self, tpl: TransportLayer, pos: int, start: int, mode: int,
                       body: bytes) -> None:
        """A reserved or manufacturer-specific mode: its payload is taken in clear or refused.

        With no key known, the payload decodes only when it is valid records in clear
        (it starts with 2F2F, or its records decode to the end), marked unverified. With
        a key known, it is refused: a clear payload then looks like a forgery, and how
        the meter encrypted it is not known here.
        """
        offset = self.base + start - 2
        clear = body.startswith(_CLEAR) or _clean_records(body)
        key, key_for = self._find_key(self._candidates(tpl, pos), needs=None)
        if key is not None and not self.already_decrypted:
            if clear:
                raise self._plaintext_refused(
                    f"the payload under reserved security mode {mode}", "TPL.CW", offset,
                    key_for)
            raise UnsupportedError(
                f"not supported yet: mode {mode} (reserved or manufacturer-specific) with a "
                f"key known for {key_for or 'the meter'}: how this mode encrypts is not "
                "known here, and its payload is not records in clear",
                field="TPL.CW", offset=offset, data=_config_bytes(tpl))
        if not clear:
            raise UnsupportedError(
                f"not supported yet: mode {mode} (reserved or manufacturer-specific): its "
                "payload is not valid records in clear (no 2F2F, and the records do not "
                "decode to the end), so it is taken as encrypted in a way not known here",
                field="TPL.CW", offset=offset, data=_config_bytes(tpl))
        self._taken_as_input()

    def _learn_format(self, body: bytes, base: int) -> CompactInfo:
        if len(body) < 3:
            raise DecodeError("format frame needs a length and a format signature",
                              field="format", offset=base, data=body)
        size = body[0]
        signature = int.from_bytes(body[1:3], "little")
        headers = split_headers(body[3:3 + size])
        try:
            self.decoder.signatures.add(headers, signature=signature)
        except Exception as exc:  # a bad format frame is the sender's fault: report it
            raise DecodeError(f"format frame: {exc}", field="format", offset=base) from None
        return CompactInfo(kind="format", signature=signature)

    def _tpl_identity(self, tpl: TransportLayer, pos: int) -> tuple[bytes, str | None,
                                                                    str | None]:
        """M+A bytes, ID and manufacturer that identify the meter for the TPL security."""
        if tpl.kind == "long" and tpl.header is not None:
            raw = self.apl[pos + 1:pos + 9]
            return raw[4:6] + raw[0:4] + raw[6:8], tpl.header.id, tpl.header.manufacturer
        if not self.link.raw_address:
            raise DecodeError("an encrypted short-header telegram in a wired frame has no "
                              "meter address for its IV", field="TPL", offset=self.base + pos)
        return self.link.raw_address, self.link.id, self.link.manufacturer

    def _candidates(self, tpl: TransportLayer, pos: int) -> list[tuple[str | None, str | None]]:
        _, ident, manufacturer = self._tpl_identity(tpl, pos)
        out = [(manufacturer, ident)]
        if self.link.id is not None and self.link.id != ident:
            out.append((self.link.manufacturer, self.link.id))
        return out

    def _encrypted_part(self, start: int, blocks: int) -> tuple[bytes, bytes]:
        body = self.apl[start:]
        size = 16 * blocks
        if size > len(body):
            raise DecodeError(
                f"configuration word announces {blocks} encrypted blocks ({size} bytes) but "
                f"only {len(body)} bytes follow", field="TPL.CW", offset=self.base + start - 2)
        return body[:size], body[size:]

    def _mode5(self, tpl: TransportLayer, pos: int, start: int, blocks: int) -> bytes:
        secret, clear = self._encrypted_part(start, blocks)
        candidates = self._candidates(tpl, pos)
        key, key_for = self._find_key(candidates)
        if not secret:
            if key is not None and clear.strip(b"\x2f") and not self.already_decrypted:
                raise self._plaintext_refused(
                    "the mode 5 payload (the configuration word announces 0 encrypted "
                    "blocks)", "TPL.CW", self.base + start - 2, key_for)
            self.unchecked = self.unchecked or bool(clear.strip(b"\x2f"))
            return clear
        address, _, manufacturer = self._tpl_identity(tpl, pos)
        access = self.apl[pos + 9] if tpl.kind == "long" else self.apl[pos + 1]
        if key is None:
            if secret.startswith(_CLEAR):
                self._taken_as_input()
                return secret + clear
            if not is_diehl(manufacturer):
                raise KeyMissingError(
                    f"mode 5 payload ({blocks} encrypted blocks) of "
                    f"{self._described(candidates)} does not start with 2F2F, so it is still "
                    "encrypted, and no key was given or found in the key store",
                    field="TPL", offset=self.base + start)
            return self._diehl_default(secret, clear, address, access, candidates, start)
        plain = aes_cbc_decrypt(key, mode5_iv(address[0:2], address[2:8], access), secret)
        if plain.startswith(_CLEAR):
            self.decrypted_by = "key"
            self.key_for = key_for
            self.checked = True
            # Mode 5 has no MAC: records sent in clear after the encrypted blocks are not
            # protected by anything.
            self.unchecked = self.unchecked or bool(clear.strip(b"\x2f"))
            return plain + clear
        if secret.startswith(_CLEAR):
            if self.already_decrypted:
                self._taken_as_input()
                return secret + clear
            raise self._plaintext_refused(
                f"the mode 5 payload ({blocks} encrypted blocks, starting with 2F2F)",
                "TPL.CW", self.base + start - 2, key_for)
        source = "TPL" if tpl.kind == "long" else "link"
        raise DecryptionError(
            f"decrypted with the key for {key_for or 'the meter'} but the plaintext does not "
            f"start with 2F2F: wrong key? (mode 5, IV from the {source} address "
            f"{address.hex()} and access number {access})",
            field="TPL", offset=self.base + start, data=plain[:2])

    def _des(self, tpl: TransportLayer, pos: int, start: int, mode: int) -> tuple[bytes, int]:
        """Security modes 2 and 3: single DES-CBC over the payload's whole 8-byte blocks.

        Mode 2 uses a zero IV; mode 3 the IV ID | M | date (type G) of the meter (the
        long TPL header's, else the link layer's) on the day received. The plaintext
        must start with 2F2F, as in mode 5. Bytes after the last whole block are taken
        in clear. Returns the payload and the number of 8-byte blocks decrypted.

        Mode 3 is never verified: the IV's date only changes plaintext bytes 6 and 7
        (CBC XORs the IV onto the first block only), so 2F2F confirms the key but not
        the day. For the same reason no neighbouring days are tried: every one of them
        would pass, each with other bytes 6 and 7.
        """
        body = self.apl[start:]
        size = len(body) - len(body) % 8
        secret, clear = body[:size], body[size:]
        offset = self.base + start
        candidates = self._candidates(tpl, pos)
        key, key_for = self._find_key(candidates, needs="DES")
        if key is None:
            if body.startswith(_CLEAR):
                self._taken_as_input()
                return body, 0
            raise KeyMissingError(
                f"mode {mode} (DES) payload of {self._described(candidates)} does not start "
                "with 2F2F, so it is still encrypted, and no key was given or found in the "
                "key store", field="TPL", offset=offset)
        if not secret:
            raise DecodeError(f"mode {mode} (DES-CBC) needs at least one 8-byte block, "
                              f"{len(body)} bytes follow the TPL header", field="TPL",
                              offset=offset, data=body)
        des_key = key[:8]  # a 16-byte key file entry holds the DES key in its first 8 bytes
        address, _, _ = self._tpl_identity(tpl, pos)
        if mode == 2:
            iv = ZERO_DES_IV
            tried = "a zero IV"
        else:
            if self.received is None:
                raise DecodeError(
                    f"mode 3 (DES-CBC with an IV from the meter's date) of "
                    f"{self._described(candidates)}: the IV needs the day the telegram was "
                    "received; pass received=datetime.date(...) to Decoder.decode (the wmbus "
                    "decode command passes today, or --received-date)", field="TPL.CW",
                    offset=offset - 2, data=_config_bytes(tpl))
            try:
                iv = mode3_iv(address[2:6], address[0:2], self.received)
            except OverflowError as exc:
                raise DecodeError(f"mode 3 IV: {exc}", field="TPL.CW",
                                  offset=offset - 2) from None
            tried = (f"the IV of ID {address[2:6][::-1].hex()}, manufacturer "
                     f"{address[0:2].hex()} and the day {self.received}")
        plain = des_cbc_decrypt(des_key, iv, secret)
        if plain.startswith(_CLEAR):
            self.decrypted_by = "key"
            self.key_for = key_for
            self.checked = True
            # No MAC: bytes after the last whole block are protected by nothing, and in
            # mode 3 the day of the IV cannot be checked (see above).
            self.unchecked = self.unchecked or mode == 3 or bool(clear.strip(b"\x2f"))
            return plain + clear, size // 8
        if body.startswith(_CLEAR):
            if self.already_decrypted:
                self._taken_as_input()
                return body, 0
            raise self._plaintext_refused(f"the mode {mode} (DES) payload", "TPL.CW",
                                          offset - 2, key_for)
        raise DecryptionError(
            f"decrypted with the DES key for {key_for or 'the meter'} (mode {mode}, {tried}) "
            "but the plaintext does not start with 2F2F: wrong key?", field="TPL",
            offset=offset, data=plain[:2])

    def _diehl_default(self, secret: bytes, clear: bytes, address: bytes, access: int,
                       candidates: list[tuple[str | None, str | None]], start: int) -> bytes:
        """Mode 5 of a Diehl meter with no key given: its manufacturer's default key."""
        plain = aes_cbc_decrypt(OMS_DEFAULT_KEY, mode5_iv(address[0:2], address[2:8], access),
                                secret)
        if not plain.startswith(_CLEAR):
            raise DecryptionError(
                f"mode 5 payload of {self._described(candidates)} is encrypted and no key was "
                "given or found in the key store; tried the Diehl OMS default key, but the "
                "plaintext does not start with 2F2F: the meter has its own key (give it with "
                f"--key or a key file; IV from the address {address.hex()} and access number "
                f"{access})", field="TPL", offset=self.base + start, data=plain[:2])
        self.decrypted_by = "key"
        self.key_source = "default"
        self.unchecked = True  # a key everyone knows authenticates nothing
        return plain + clear

    def _mode7(self, tpl: TransportLayer, pos: int, start: int,
               blocks: int) -> tuple[bytes, bool | None]:
        secret, clear = self._encrypted_part(start, blocks)
        config = tpl.config
        assert config is not None
        if config.kdf not in (None, 1):
            raise UnsupportedError(f"not supported yet: mode 7 with KDF selection {config.kdf}",
                                   field="TPL.CFE", offset=self.base + start - 1)
        afl = self.afl
        candidates = self._candidates(tpl, pos)
        key, key_for = self._find_key(candidates)
        in_clear = secret.startswith(_CLEAR)
        if key is None:
            if in_clear or not secret:
                if secret:
                    self._taken_as_input()
                return secret + clear, None
            raise KeyMissingError(
                f"mode 7 payload ({blocks} encrypted blocks) of {self._described(candidates)} "
                "does not start with 2F2F, so it is still encrypted, and no key was given or "
                "found in the key store", field="TPL", offset=self.base + start)
        if afl is None or afl.message_counter is None or afl.mac is None:
            if in_clear and self.already_decrypted:
                self._taken_as_input()
                return secret + clear, None
            missing = "a message counter" if afl is None or afl.message_counter is None \
                else "a MAC"
            received = "no AFL" if afl is None else f"an AFL without {missing}"
            if in_clear:
                raise self._plaintext_refused(
                    f"the mode 7 payload (and it came with {received})", "TPL.CW",
                    self.base + start - 2, key_for)
            raise AuthenticationError(
                f"mode 7 telegram of {self._described(candidates)}: expected an AFL with a "
                f"message counter and an AES-CMAC, received {received}",
                field="AFL", offset=self.base)
        if len(afl.mac) < _MIN_MAC:
            raise AuthenticationError(
                f"mode 7 telegram of {self._described(candidates)}: expected an AFL MAC of at "
                f"least {_MIN_MAC} bytes, received {len(afl.mac)} bytes ({afl.mac.hex()})",
                field="AFL.MAC", offset=self.base, data=afl.mac)
        counter = afl.message_counter.to_bytes(4, "little")
        ids = [self._id_bytes(tpl, pos)]
        if self.link.raw_address and self.link.raw_address[2:6] != ids[0]:
            ids.append(self.link.raw_address[2:6])
        covered = afl.authenticated + self.apl[pos:]
        for meter_id in ids:
            kmac = derive_key(key, KDF_MAC_FROM_METER, counter, meter_id)
            if macs_equal(aes_cmac(kmac, covered)[:len(afl.mac)], afl.mac):
                kenc = derive_key(key, KDF_ENC_FROM_METER, counter, meter_id)
                plain = aes_cbc_decrypt(kenc, ZERO_IV, secret)
                if not plain.startswith(_CLEAR) and secret:
                    raise DecryptionError(
                        f"the MAC checks with the key for {key_for or 'the meter'} but the "
                        "plaintext does not start with 2F2F", field="TPL",
                        offset=self.base + start, data=plain[:2])
                self.decrypted_by = "key" if secret else self.decrypted_by
                self.key_for = key_for
                self.checked = True
                return plain + clear, True
        if in_clear:
            if self.already_decrypted:  # the MAC covered the ciphertext, which is gone
                self._taken_as_input()
                return secret + clear, None
            raise self._plaintext_refused(
                f"the mode 7 payload ({blocks} encrypted blocks, starting with 2F2F, and "
                "its AFL MAC does not match)", "TPL.CW", self.base + start - 2, key_for)
        raise AuthenticationError(
            f"the AFL MAC does not match: expected an {len(afl.mac)}-byte AES-CMAC made with "
            f"the key for {key_for or 'the meter'} and message counter {afl.message_counter}, "
            f"received {afl.mac.hex()}: wrong key, or a tampered telegram",
            field="AFL.MAC", offset=self.base, data=afl.mac)

    def _id_bytes(self, tpl: TransportLayer, pos: int) -> bytes:
        if tpl.kind == "long":
            return self.apl[pos + 1:pos + 5]
        return self.link.raw_address[2:6]

    def _telegram(self, *, ci: int, **fields: Any) -> Telegram:
        if "security" not in fields:
            fields["security"] = _security(0, 0, self.ell_encryption, self.decrypted_by, None,
                                           self.key_for, self._verified(), None, None)
        if "header" not in fields and self.link.id is not None:
            fields["header"] = mbus.Header(
                id=self.link.id, manufacturer=self.link.manufacturer,
                version=self.link.version, medium=self.link.device_type,
                access_number=self.ell.access_number if self.ell is not None else None)
        if fields.get("error") is None:
            fields["meter"] = _pending_meter(self.decoder.profiles)
        return Telegram(link=self.link, ci=ci, ell=self.ell, afl=self.afl, **fields)


def _config_bytes(tpl: TransportLayer) -> bytes:
    return (tpl.config.raw if tpl.config else 0).to_bytes(2, "little")


def _clean_records(body: bytes) -> bool:
    """True when ``body`` holds at least one record and decodes to its end without error."""
    if not body.strip(b"\x2f"):
        return False
    try:
        mbus.records.scan_records(body)
    except mbus.MBusError:
        return False
    return True


_SECURITY_CACHE: dict[tuple[Any, ...], Security] = {}


def _security(*fields: Any) -> Security:
    """A shared Security for these fields (they repeat; the objects are immutable)."""
    found = _SECURITY_CACHE.get(fields)
    if found is None:
        if len(_SECURITY_CACHE) > 4096:
            _SECURITY_CACHE.clear()
        (mode, blocks, ell_encryption, decrypted_by, mac_ok, key_for, verified, source,
         scrambling) = fields
        found = _SECURITY_CACHE[fields] = Security(
            mode=mode, encrypted_blocks=blocks, ell_encryption=ell_encryption,
            decrypted_by=decrypted_by, mac_ok=mac_ok, key_for=key_for, verified=verified,
            key_source=source, scrambling=scrambling)
    return found


def decode(data: bytes, key: bytes | None = None, *, already_decrypted: bool = False,
           received: dt.date | None = None,
           profiles: mbus.records.ProfilesOption = True) -> Telegram:
    """Decode one telegram without remembering anything (see :class:`Decoder`).

    >>> import wmbus
    >>> t = wmbus.decode(bytes.fromhex(
    ...     "2E4493157856341233037A2A0000002F2F0C1427048502046D32371F1502FD1700002F2F"
    ...     "2F2F2F2F2F2F2F2F2F2F2F"))
    >>> t.id, t.manufacturer, [(r.quantity, r.value, r.unit) for r in t.records][0]
    ('12345678', 'ELS', ('volume', Decimal('28504.27'), 'm3'))
    """
    return Decoder(already_decrypted=already_decrypted, profiles=profiles).decode(
        data, key, received=received)
