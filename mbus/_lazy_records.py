"""Records made when they are first read.

Decoding a telegram finds each record's shape and data; making a
:class:`~mbus.Record` object of each pair is wasted when only ``to_dict()``
is wanted (a gateway's JSON path). So a telegram keeps the pairs as the scan
found them (a :class:`PendingRecords`, an immutable tuple) and turns them
into a tuple of Records the first time its ``records`` attribute is read;
``to_dict()`` reads the pairs directly. Equality, hashing, ``repr``, pickling
and ``dataclasses.replace`` read the attribute, so they see Records.

Speed trick, kept because it pays: making the Records at decode time costs
18 % end to end on ``mbus.decode(frame).to_dict()`` of the 76 libmbus frames
(30.6 against 36.0 us per telegram, process time, same run). With the ``meter``
part on (the default since), 13 % more instructions per telegram on mbus (422.9k
against 373.7k) and 6 % on wmbus's dev corpus (599.1k against 565.7k): callgrind,
warm, the loops of ``python -m benchmarks.instructions``, December 2026.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ._records import PendingRecords, RecordShape, made_records

__all__ = ["lazy_records"]

_T = TypeVar("_T", bound=type)


class _RecordsAttribute:
    """The ``records`` attribute of a telegram class: Records made on first read."""

    def __init__(self, slot: Any) -> None:
        self._get = slot.__get__
        self._set = slot.__set__
        self._slot = slot

    def __get__(self, telegram: object | None, owner: type | None = None) -> Any:
        if telegram is None:
            return self._slot  # on the class: the slot itself (its __set__ sets it as is)
        records = self._get(telegram, owner)
        if type(records) is PendingRecords:
            records = made_records(records)
            self._set(telegram, records)
        return records

    def __set__(self, telegram: object, records: Any) -> None:
        self._set(telegram, records)


def lazy_records(cls: _T) -> Callable[[Any], Sequence[tuple[RecordShape, bytes]]]:
    """Let the ``records`` field of ``cls`` (a dataclass with slots) hold PendingRecords.

    Returns a function that gives a telegram's records as stored, pending pairs
    or Records (both iterate as ``(shape, data)``), for ``to_dict()`` to use
    without making Records.
    """
    slot = cls.__dict__["records"]
    attribute = _RecordsAttribute(slot)
    type.__setattr__(cls, "records", attribute)
    stored: Callable[[Any], Sequence[tuple[RecordShape, bytes]]] = slot.__get__
    return stored
