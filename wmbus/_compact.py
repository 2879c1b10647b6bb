"""Compact frames (EN 13757-3:2018 Annex G): format signatures and their cache.

A full frame's record headers (DIF/DIFE/VIF/VIFE bytes, concatenated) have a
*format signature*, their EN 13757 CRC-16. A compact frame (CI 0x79, or 0x7B
and 0x73 with a TPL header) carries only: signature(2) | full-frame CRC(2) |
the records' data bytes. The full-frame CRC is the CRC-16 of the record block
as the full frame would have carried it (headers and data interleaved).

:class:`SignatureCache` learns signatures from full frames (and format frames,
CI 0x69-0x6B), can be pre-seeded from a mapping or a JSON file and saved.
Lookups fall back to the built-in formats of :mod:`wmbus._known_formats`.
"""

from __future__ import annotations

import json
import operator
import os
from collections.abc import Iterable, Mapping, Sequence

import mbus
import mbus.records

from ._crc import crc16_en13757
from ._errors import CRCError, DecodeError, UnknownSignatureError, WMBusError
from ._known_formats import KNOWN_FORMATS
from ._loading import load_json, read_text

__all__ = ["SignatureCache", "expand_compact", "format_signature", "known_format", "split_headers"]

_SKIPPED = ("manufacturer_specific", "more_records_follow")
_first = operator.itemgetter(0)  # the shape of a (shape, data) pair


def format_signature(headers: Iterable[bytes]) -> int:
    """The format signature of a sequence of record headers (DIF to last VIFE)."""
    return crc16_en13757(b"".join(headers))


def _length(header: bytes) -> int | None:
    """Data length of a record header (None for LVAR, where the first data byte tells)."""
    record = mbus.records.decode_records(header + bytes(8), max_records=1)
    return record[0].shape.length if record else 0


_Shape = tuple[tuple[bytes, int | None], ...]
_KNOWN_SHAPES: dict[int, _Shape] = {}


def _shape_of(headers: Sequence[bytes]) -> _Shape:
    return tuple((bytes(h), _length(bytes(h))) for h in headers)


def known_format(signature: int) -> tuple[str, tuple[bytes, ...]] | None:
    """The built-in format of ``signature``: (the meters that send it, record headers)."""
    entry = KNOWN_FORMATS.get(signature)
    if entry is None:
        return None
    meters, block = entry
    return meters, tuple(split_headers(bytes.fromhex(block)))


def _known_shape(signature: int) -> _Shape | None:
    shape = _KNOWN_SHAPES.get(signature)
    if shape is None:
        known = known_format(signature)
        if known is None:
            return None
        headers = known[1]
        if format_signature(headers) != signature:  # a typo in the table never decodes
            raise WMBusError(f"built-in format 0x{signature:04x} ({known[0]}): its record "
                             f"headers give signature 0x{format_signature(headers):04x}")
        shape = _KNOWN_SHAPES[signature] = _shape_of(headers)
    return shape


class SignatureCache:
    """Format signature -> record headers, learned from full frames.

    ``initial`` pre-seeds it: a mapping of signature (int, or hex text such as
    ``"0xd7c4"``) to record headers (bytes, or hex text). ``max_entries`` bounds
    its size (the oldest entries go first). Lookups (``in``, :meth:`shape`,
    :meth:`headers`) see the learned formats first, then, unless
    ``known_formats=False``, the built-in formats (Kamstrup Multical 21, flowIQ,
    Multical 302/303/402/403/602/603, OMNIPOWER, pressure sensor; Engelmann FAW);
    ``len``, :meth:`to_dict` and :meth:`save` cover the learned and pre-seeded ones only.
    """

    def __init__(self, initial: Mapping[int | str, Sequence[bytes | str]] | None = None, *,
                 max_entries: int = 65536, known_formats: bool = True) -> None:
        self.known_formats = known_formats
        self._entries: dict[int, tuple[tuple[bytes, int | None], ...]] = {}
        # The latest full frame per sender, its signature not computed yet: the CRC is only
        # worth its cost when a compact frame (or a save) asks for it.
        self._latest: dict[bytes, Sequence[tuple[mbus.records.RecordShape, bytes]]] = {}
        # The record shapes and signature per sender when its format was last stored: a
        # sender that keeps its format (the usual case) is not hashed again at the next
        # resolve (that repeated work was 4 % of the instructions of the wmbus benchmark).
        self._resolved: dict[bytes, tuple[list[mbus.records.RecordShape], int]] = {}
        self.max_entries = max_entries
        for signature, headers in (initial or {}).items():
            self.add([bytes.fromhex(h) if isinstance(h, str) else bytes(h) for h in headers],
                     signature=int(signature, 16) if isinstance(signature, str) else signature)

    def _resolve(self) -> None:
        latest, self._latest = self._latest, {}
        resolved, entries = self._resolved, self._entries
        for source, records in latest.items():
            shapes = list(map(_first, records))
            before = resolved.get(source)
            if before is not None and before[0] == shapes and before[1] in entries:
                continue  # the sender kept its format, which is stored
            kept = [shape for shape in shapes if shape.function not in _SKIPPED]
            if not kept:
                continue
            signature = format_signature(tuple(shape.header for shape in kept))
            if len(resolved) >= self.max_entries:
                resolved.clear()
            resolved[source] = (shapes, signature)
            if signature not in entries:
                self._store(signature, tuple((shape.header, shape.length) for shape in kept))

    def _store(self, signature: int, shape: tuple[tuple[bytes, int | None], ...]) -> None:
        if signature not in self._entries and len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[signature] = shape

    def __len__(self) -> int:
        self._resolve()
        return len(self._entries)

    def __contains__(self, signature: object) -> bool:
        return isinstance(signature, int) and self.shape(signature) is not None

    def __repr__(self) -> str:
        return f"SignatureCache({len(self)} signatures)"

    def add(self, headers: Sequence[bytes], *, signature: int | None = None) -> int:
        """Remember ``headers``; return their signature (checked when ``signature`` is given)."""
        computed = format_signature(headers)
        if signature is not None and signature != computed:
            raise WMBusError(f"format signature 0x{signature:04x} does not match its record "
                             f"headers (they give 0x{computed:04x})")
        try:
            shape = _shape_of(headers)
        except mbus.MBusError as exc:
            raise WMBusError(f"record headers of signature 0x{computed:04x} do not decode: "
                             f"{exc}") from None
        self._store(computed, shape)
        return computed

    def learn(self, records: Sequence[tuple[mbus.records.RecordShape, bytes]],
              source: bytes = b"") -> None:
        """Remember the format of a full frame's records from ``source`` (the sender's address).

        Only the latest full frame of each sender is kept until a compact frame (or a
        save) needs the signatures: then their CRCs are computed, once.
        """
        latest = self._latest
        if source not in latest and len(latest) >= self.max_entries:
            self._resolve()
        latest[source] = records

    def headers(self, signature: int) -> tuple[bytes, ...] | None:
        """The record headers of a known signature, or None."""
        entry = self.shape(signature)
        return None if entry is None else tuple(h for h, _ in entry)

    def shape(self, signature: int) -> tuple[tuple[bytes, int | None], ...] | None:
        """(header, data length or None for LVAR) per record of a known signature."""
        entry = self._entries.get(signature)
        if entry is None and self._latest:
            self._resolve()
            entry = self._entries.get(signature)
        if entry is None and self.known_formats:
            entry = _known_shape(signature)
        return entry

    def to_dict(self) -> dict[str, list[str]]:
        """JSON-able form: ``{"0xd7c4": ["0406", "04ff07", ...]}``."""
        self._resolve()
        return {f"0x{sig:04x}": [h.hex() for h, _ in entry]
                for sig, entry in self._entries.items()}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the cache to a JSON file (see :meth:`load`)."""
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"format_signatures": self.to_dict()}, handle, indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SignatureCache:
        """Read a cache written by :meth:`save`."""
        name = os.fspath(path)
        document = load_json(read_text(name, error=WMBusError), source=name, error=WMBusError)
        entries = document.get("format_signatures") if isinstance(document, dict) else None
        if not isinstance(entries, dict) or not all(
                isinstance(headers, list) and all(isinstance(h, str) for h in headers)
                for headers in entries.values()):
            raise WMBusError(f"{name}: expected {{\"format_signatures\": {{\"0xd7c4\": "
                             "[\"0406\", ...], ...}}")
        try:
            return cls(entries)
        except ValueError as exc:  # a signature or a header that is not hex
            raise WMBusError(f"{name}: {exc}") from None


def split_headers(block: bytes) -> list[bytes]:
    """Split concatenated record headers (DIF DIFE* VIF VIFE*) as a format frame carries them."""
    headers: list[bytes] = []
    i = 0
    while i < len(block):
        start = i
        if block[i] == 0x2F:
            i += 1
            continue
        while i < len(block) and block[i] & 0x80 and i - start < 11:
            i += 1
        i += 1  # last DIF/DIFE
        if i >= len(block):
            raise DecodeError("format frame ends inside a record header", field="format",
                              offset=start, data=block[start:])
        first_vif = i
        while i < len(block) and block[i] & 0x80 and i - first_vif < 11:
            i += 1
        i += 1
        if i > len(block):
            raise DecodeError("format frame ends inside a VIF chain", field="format",
                              offset=start, data=block[start:])
        headers.append(bytes(block[start:i]))
    return headers


def expand_compact(cache: SignatureCache, payload: bytes, pos: int, base: int = 0) -> bytes:
    """Rebuild the full record block of the compact frame payload at ``payload[pos:]``."""
    if len(payload) - pos < 4:
        raise DecodeError("compact frame needs a format signature and a full-frame CRC",
                          field="compact", offset=base + pos, data=payload[pos:])
    signature = int.from_bytes(payload[pos:pos + 2], "little")
    data_crc = int.from_bytes(payload[pos + 2:pos + 4], "little")
    shape = cache.shape(signature)
    if shape is None:
        raise UnknownSignatureError(
            f"format signature 0x{signature:04x} unknown: a full frame from this meter is "
            f"needed first (the signature is neither among the {len(KNOWN_FORMATS)} built-in "
            "Kamstrup and Engelmann formats nor learned yet: feed a full frame of this meter "
            "to the same Decoder, or pre-seed wmbus.SignatureCache / --signatures FILE with "
            f"the record headers whose signature is 0x{signature:04x})", field="format_signature",
            offset=base + pos, data=payload[pos:pos + 2])
    out = bytearray()
    i = pos + 4
    for header, length in shape:
        if length is None:
            if i >= len(payload):
                break
            length = 1 + (mbus.records.lvar_length(payload[i]) or 0)
        if i + length > len(payload):
            raise DecodeError(f"compact frame data ends inside the record with header "
                              f"{header.hex()}", field="compact", offset=base + i,
                              data=payload[i:])
        out += header
        out += payload[i:i + length]
        i += length
    if i < len(payload) and any(b != 0x2F for b in payload[i:]):
        raise DecodeError(f"{len(payload) - i} bytes after the last record of signature "
                          f"0x{signature:04x}", field="compact", offset=base + i,
                          data=payload[i:])
    block = bytes(out)
    if crc16_en13757(block) != data_crc:
        raise CRCError(f"full-frame CRC 0x{data_crc:04x} of the compact frame does not match "
                       f"the rebuilt records (0x{crc16_en13757(block):04x}): the meter's "
                       "format changed?", field="compact.crc", offset=base + pos + 2,
                       data=payload[pos + 2:pos + 4])
    return block
