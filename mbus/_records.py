"""Scanning data records: split application data into records, with a cache of shapes.

Real telegrams repeat the same few record headers, so the scanner keeps the
:class:`RecordShape` of each header it has seen (the shape cache) and a record
mostly costs a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any, NamedTuple

from ._errors import RecordError, UnsupportedError
from ._record_shapes import (
    FUNCTIONS,
    MAX_DIFE,
    MAX_VIFE,
    Record,
    RecordShape,
    Value,
    build_shape,
    lvar_length,
    special_shape,
)
from ._record_values import records_to_dicts

__all__ = [
    "FUNCTIONS",
    "MAX_DIFE",
    "MAX_VIFE",
    "PendingRecords",
    "Record",
    "RecordShape",
    "Value",
    "decode_records",
    "encode_records",
    "lvar_length",
    "made_records",
    "records_to_dicts",
    "scan_records",
]

_CACHE_LIMIT = 4096
_SPECIAL = {dif: special_shape(dif) for dif in (0x0F, 0x1F, 0x7F)}
# DIFs without extension bit that are not special (low nibble 0xF): DIF and VIF may be all.
_PLAIN_DIF = tuple(dif < 0x80 and dif & 0x0F != 0x0F for dif in range(256))
_CACHES: dict[tuple[bool, bool], dict[bytes, RecordShape]] = {
    (master, msb): {} for master in (False, True) for msb in (False, True)
}
# Two-byte headers (DIF and VIF only) keyed by DIF << 8 | VIF; at most 32768 entries.
_SHORT_CACHES: dict[tuple[bool, bool], dict[int, RecordShape]] = {
    (master, msb): {} for master in (False, True) for msb in (False, True)
}


class PendingRecords(tuple[tuple[RecordShape, bytes], ...]):
    """Records as ``(shape, data)`` pairs in frame order, not yet made into Records.

    :func:`scan_records` returns them; a telegram stores them and makes
    :class:`Record` objects only when its ``records`` are first read.
    ``structure``: where the scan knows where the records lie (a layout learnt from
    this telegram or an earlier one), the tuple of their shapes that every telegram of
    that layout shares (its identity stands for the sequence of shapes:
    :meth:`profiles.MeterProfiles.document`); else None.
    """

    structure: tuple[RecordShape, ...] | None = None


def decode_records(
    data: bytes,
    offset: int = 0,
    end: int | None = None,
    *,
    from_master: bool = False,
    msb_first: bool = False,
    base_offset: int = 0,
    max_records: int | None = None,
) -> tuple[Record, ...]:
    """Decode the data records in ``data[offset:end]``.

    ``from_master`` selects how VIFE codes 0x00-0x1F read (object actions from a
    master, record errors from a slave). ``msb_first`` reads multi-byte values
    most significant byte first (CI 0x76/0x77, "mode 2"). ``base_offset`` is added
    to byte offsets in error messages (the position of ``data`` in the frame).
    ``max_records`` stops after that many records.

    Raises :class:`RecordError` naming the field and byte offset when a record is
    cut off or breaks the DIFE/VIFE limits.
    """
    return made_records(scan_records(data, offset, end, from_master=from_master,
                                     msb_first=msb_first, base_offset=base_offset,
                                     max_records=max_records))


def made_records(pairs: Iterable[tuple[RecordShape, bytes]]) -> tuple[Record, ...]:
    """``(shape, data)`` pairs made into a tuple of :class:`Record` objects."""
    return tuple([Record(shape, data) for shape, data in pairs])


class _Layout(NamedTuple):
    """Where a telegram's records lie: the bytes the scan read, and the records' data."""

    read: Callable[[bytes], Any]  # every byte the scan read: DIF to VIFE, text, LVAR, fillers
    expected: Any  # what ``read`` gave on the telegram the layout was learnt from
    bodies: Callable[[bytes], tuple[bytes, ...]]  # the records' data, in order
    shapes: tuple[RecordShape, ...]


# Speed: the layouts of the telegrams seen twice (a meter sends the same record headers in
# every telegram; only the data changes). The scan reads nothing but the header bytes (DIF,
# DIFE, VIF, VIFE, a plain-text unit), the LVAR bytes and the 0x2F fillers, so a telegram
# whose bytes there equal a layout's (checked in one C call) scans to the layout's shapes
# with its own data: no per-record Python loop. Keyed by the sender (where the caller
# names it), where the records lie, the first byte and the options; the last few layouts
# per key, newest first. A layout is learnt on the second sight of its key, so that first
# sights (cold) pay little.
# Measured (callgrind, instructions per telegram, warm, the loops of
# python -m benchmarks.instructions): see the commit message and NOTES-speed.md.
_LAYOUTS: dict[tuple[bytes | None, int, int, int, bool, bool], tuple[_Layout, ...]] = {}
_LAYOUTS_LIMIT = 4096
_LAYOUTS_PER_KEY = 4


def _learn_layout(data: bytes, offset: int, end: int, records: PendingRecords) -> _Layout:
    """The layout of ``records``, as the scan found them in ``data[offset:end]``."""
    positions: list[int] = []
    slices: list[slice] = []
    i = offset
    for shape, body in records:
        while data[i] == 0x2F:  # idle fillers before the record
            positions.append(i)
            i += 1
        start = i + len(shape.header)
        positions.extend(range(i, start))
        if shape.coding == "lvar":
            positions.append(start)  # the LVAR byte: it sets the length
        i = start + len(body)
        slices.append(slice(start, i))
    positions.extend(range(i, end))  # fillers after the last record
    # itemgetter gives a tuple only for two or more items: pad with empty slices (zip stops
    # at the last shape).
    slices += [slice(0, 0)] * max(0, 2 - len(slices))
    read = itemgetter(*positions)
    return _Layout(read, read(data), itemgetter(*slices), tuple(shape for shape, _ in records))


def scan_records(
    data: bytes,
    offset: int = 0,
    end: int | None = None,
    *,
    from_master: bool = False,
    msb_first: bool = False,
    base_offset: int = 0,
    max_records: int | None = None,
    sender: bytes | None = None,
) -> PendingRecords:
    """:func:`decode_records` without making :class:`Record` objects: ``(shape, data)`` pairs.

    For decoders that keep the records in a telegram made with :func:`lazy_records`.
    ``sender`` names the meter that sent the records (for example its address bytes),
    where the caller knows it: a meter sends the same record headers again and again,
    and the scan keeps the last few layouts per sender (see ``_LAYOUTS``).
    """
    end = len(data) if end is None else min(end, len(data))
    if max_records is not None or offset >= end or type(data) is not bytes:
        return _scan(data, offset, end, from_master, msb_first, base_offset, max_records)
    key = (sender, offset, end, data[offset], from_master, msb_first)
    layouts = _LAYOUTS.get(key)
    if layouts:
        for layout in layouts:
            if layout.read(data) == layout.expected:
                found = PendingRecords(zip(layout.shapes, layout.bodies(data), strict=False))
                found.structure = layout.shapes
                return found
    records = _scan(data, offset, end, from_master, msb_first, base_offset, None)
    if layouts is None:  # first sight of the key: remember it, learn nothing yet
        if len(_LAYOUTS) >= _LAYOUTS_LIMIT:
            _LAYOUTS.clear()
        _LAYOUTS[key] = ()
    else:
        learnt = _learn_layout(data, offset, end, records)
        _LAYOUTS[key] = (learnt, *layouts[:_LAYOUTS_PER_KEY - 1])
        records.structure = learnt.shapes  # the telegram it was learnt from has it too
    return records


def _scan(data: bytes, offset: int, end: int, from_master: bool, msb_first: bool,
          base_offset: int, max_records: int | None) -> PendingRecords:
    """The scan itself (see :func:`scan_records`); ``end`` is at most ``len(data)``."""
    # A 0xFF byte after the end: the fast path reads the byte after a DIF without a
    # bounds check (0xFF is no plain VIF, so the general path, which checks, takes over).
    data = bytes(data[:end]) + b"\xff"
    cache = _CACHES[(from_master, msb_first)]
    short_cache = _SHORT_CACHES[(from_master, msb_first)]
    short_get = short_cache.get
    plain_dif = _PLAIN_DIF
    records: list[tuple[RecordShape, bytes]] = []
    append = records.append
    i = record_start = offset
    try:
        while i < end:
            dif = data[i]
            record_start = i
            if plain_dif[dif] and (vif := data[i + 1]) < 0x7C:
                # Common case: one DIF, one VIF, no extensions and no plain-text unit; the
                # shape is looked up by an int key, which needs no bytes object.
                shape = short_get(dif << 8 | vif)
                if shape is None:
                    shape = build_shape(data[i:i + 2], 1, 2, from_master, msb_first)
                    short_cache[dif << 8 | vif] = shape
                i += 2
            elif dif & 0x0F == 0x0F:
                if dif == 0x2F:  # idle filler
                    i += 1
                    continue
                if dif in (0x0F, 0x1F):
                    append((_SPECIAL[dif], data[i + 1:end]))
                    break
                if dif == 0x7F and from_master:
                    append((_SPECIAL[dif], b""))
                    i += 1
                    continue
                raise RecordError(f"DIF 0x{dif:02x} is reserved", offset=base_offset + i,
                                  field="DIF", data=bytes((dif,)))
            else:
                i += 1
                if dif & 0x80:
                    count = 0
                    while True:
                        if i >= end:
                            raise RecordError("record ends inside its DIFE chain",
                                              offset=base_offset + i, field="DIFE")
                        count += 1
                        if count > MAX_DIFE:
                            raise RecordError(f"more than {MAX_DIFE} DIFE",
                                              offset=base_offset + i, field="DIFE",
                                              data=bytes(data[record_start:i + 1]))
                        more = data[i] & 0x80
                        i += 1
                        if not more:
                            break
                dib_length = i - record_start
                if i >= end:
                    raise RecordError("record ends before its VIF", offset=base_offset + i,
                                      field="VIF")
                vif = data[i]
                i += 1
                text_end = i
                if vif & 0x7F == 0x7C:  # plain-text unit: length byte and characters follow the VIF
                    if i >= end:
                        raise RecordError("record ends before the length of its plain-text VIF",
                                          offset=base_offset + i, field="VIF")
                    text_end = i + 1 + data[i]
                    if text_end > end:
                        raise RecordError(
                            f"plain-text VIF of {data[i]} characters runs past the data",
                            offset=base_offset + i, field="VIF", data=bytes(data[i:i + 1]))
                    i = text_end
                if vif & 0x80:
                    count = 0
                    while True:
                        if i >= end:
                            raise RecordError("record ends inside its VIFE chain",
                                              offset=base_offset + i, field="VIFE")
                        count += 1
                        if count > MAX_VIFE:
                            raise RecordError(f"more than {MAX_VIFE} VIFE",
                                              offset=base_offset + i, field="VIFE",
                                              data=bytes(data[record_start:i + 1]))
                        more = data[i] & 0x80
                        i += 1
                        if not more:
                            break
                header = data[record_start:i]
                shape = cache.get(header)
                if shape is None:
                    if len(cache) >= _CACHE_LIMIT:
                        cache.clear()
                    shape = build_shape(header, dib_length, text_end - record_start, from_master,
                                         msb_first)
                    cache[header] = shape
            length = shape.length
            if length is None:  # LVAR
                if i >= end:
                    raise RecordError("record ends before its LVAR byte",
                                      offset=base_offset + i, field="LVAR")
                body = lvar_length(data[i])
                if body is None:
                    raise UnsupportedError(f"LVAR 0x{data[i]:02x} is reserved",
                                           offset=base_offset + i, field="LVAR",
                                           data=bytes(data[i:i + 1]))
                length = body + 1
            stop = i + length
            if stop > end:
                raise RecordError(
                    f"data of {length} bytes runs past the end ({end - i} left)",
                    offset=base_offset + i, field="data", data=data[i:end],
                )
            append((shape, data[i:stop]))
            i = stop
            if max_records is not None and len(records) >= max_records:
                break
    except RecordError as exc:
        exc.records_before = made_records(records)
        exc.record_offset = record_start
        raise
    return PendingRecords(records)


def encode_records(records: Iterable[Record]) -> bytes:
    """The bytes of a sequence of records."""
    return b"".join(record.shape.header + record.data for record in records)
