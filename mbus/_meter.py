"""Device profiles applied to decoded records: the ``meter`` part of a telegram.

``profiles`` knows no meterkit type; it reads record shapes through its
``RecordHead`` protocol (a :class:`RecordShape` has those attributes) and asks
for the value of record *i* only when a field uses it. ``wmbus`` uses the same
functions for wireless telegrams. ``to_dict()`` passes a telegram's values to
:meth:`profiles.MeterProfiles.document` as they are, while the telegram holds the
profiles (:attr:`MeterSlot.held`), making no :class:`MeterSource` per telegram.

The ``meter`` attribute is made when first read. Until then the telegram keeps
the :class:`profiles.MeterProfiles` to apply in its place, and ``to_dict()`` of a
meter without a profile writes its generic fields straight from the records'
JSON values. Speed trick, kept because it pays: making the ``meter`` part at
decode time cost 75 % on decrypt + decode + to_dict of the dev corpus
(``python -m benchmarks profiles``), far over the 20 % budget of issue 14.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import profiles
import profiles.transforms

from ._header import Header
from ._record_values import python_value
from ._records import RecordShape

__all__ = ["MeterSlot", "MeterSource", "ProfilesOption", "lazy_meter", "meter_document",
           "meter_fields", "meter_profiles", "record_value"]

_Class = TypeVar("_Class", bound=type)

ProfilesOption = profiles.MeterProfiles | bool
"""What ``profiles=`` takes: True (meterkit's shipped profiles), False (no ``meter`` part)
or a :class:`profiles.MeterProfiles` (for example ``profiles.load_meter_profiles(DIR)``)."""


def meter_profiles(option: ProfilesOption) -> profiles.MeterProfiles | None:
    """The profiles a ``profiles=`` option stands for (None: no ``meter`` part)."""
    if option is True:
        return profiles.shipped_meter_profiles()
    if option is False:
        return None
    if not isinstance(option, profiles.MeterProfiles):
        raise TypeError("profiles= takes True, False or a profiles.MeterProfiles, "
                        f"not {type(option).__name__}")
    return option


class MeterSource(NamedTuple):
    """What profiles read of a telegram: header values, records as pairs, payload, and
    the meter's key and link address for transforms that decrypt (``context``)."""

    header: Header | None
    records: Sequence[tuple[RecordShape, bytes]]
    ci: int | None
    payload: bytes = b""
    manufacturer: str | None = None
    meter_id: str | None = None
    context: profiles.transforms.TransformContext | None = None


def record_value(shape: RecordShape, data: bytes) -> object:
    """A record's Python value from its pair (:data:`profiles.RecordValue`)."""
    return python_value(shape, data)[0]


def _value_reader(records: Sequence[tuple[RecordShape, bytes]]) -> Callable[[int], object]:
    def value_of(index: int) -> object:
        return record_value(*records[index])

    return value_of


def _who(source: MeterSource) -> dict[str, Any]:
    header = source.header
    if header is None:
        return {"manufacturer": source.manufacturer, "ci": source.ci, "payload": source.payload}
    return {"manufacturer": source.manufacturer or header.manufacturer,
            "version": header.version, "device_type": header.medium, "ci": source.ci,
            "payload": source.payload}


def meter_fields(library: profiles.MeterProfiles, source: MeterSource) -> profiles.MeterFields:
    """The named fields of a telegram: its profile's, or generic ones."""
    heads = [shape for shape, _ in source.records]
    status = source.header.status if source.header is not None else None
    meter_id = source.meter_id or (source.header.id if source.header is not None else None)
    records = source.records
    return library.apply(heads, _value_reader(records), status=status, meter_id=meter_id,
                         data_of=lambda index: records[index][1], context=source.context,
                         telegram=source.payload.hex() or None, **_who(source))


def meter_document(library: profiles.MeterProfiles, source: MeterSource,
                   record_dicts: Sequence[dict[str, Any]]
                   ) -> dict[str, Any] | profiles.MeterFields:
    """The ``to_dict()`` form of the meter part without making it, from the records' JSON
    values (:meth:`profiles.MeterProfiles.document`); where the matched profile needs its
    fields made (formulas, status tables reading fields), the made
    :class:`profiles.MeterFields` instead."""
    header = source.header
    if header is None:
        written = library.document(source.records, record_dicts, record_value,
                                   source.manufacturer, None, None, source.ci, None,
                                   source.payload, source.context)
    else:
        written = library.document(source.records, record_dicts, record_value,
                                   source.manufacturer or header.manufacturer, header.version,
                                   header.medium, source.ci, header.status, source.payload,
                                   source.context)
    return meter_fields(library, source) if written is None else written


class _MeterAttribute:
    """The ``meter`` attribute of a telegram class: made from the profiles on first read."""

    def __init__(self, slot: Any, source: Callable[[Any], MeterSource]) -> None:
        self._get = slot.__get__
        self._set = slot.__set__
        self._slot = slot
        self._source = source

    def __get__(self, telegram: object | None, owner: type | None = None) -> Any:
        if telegram is None:
            return self._slot
        meter = self._get(telegram, owner)
        if isinstance(meter, profiles.MeterProfiles):
            meter = meter_fields(meter, self._source(telegram))
            self._set(telegram, meter)
        return meter

    def __set__(self, telegram: object, meter: Any) -> None:
        self._set(telegram, meter)

    def made_document(self, telegram: Any) -> dict[str, Any] | None:
        """:attr:`MeterSlot.made_document`."""
        meter = self.__get__(telegram)
        if meter is None:
            return None
        document: dict[str, Any] = meter.to_dict()
        return document


class MeterSlot(NamedTuple):
    """What :func:`lazy_meter` gives the module of a telegram class."""

    held: Callable[[Any], Any]
    """A telegram's ``meter`` slot as it is: the :class:`profiles.MeterProfiles` to apply
    until the meter part is made, then its :class:`profiles.MeterFields`; None: the
    telegram has no meter part. ``to_dict()`` writes the meter part with
    :meth:`profiles.MeterProfiles.document` while the slot holds the profiles."""
    made_document: Callable[[Any], dict[str, Any] | None]
    """The ``to_dict()`` form of a telegram's meter part from its fields, made (and kept
    as the telegram's ``meter``) where the slot still holds the profiles; None where it
    has no meter part. For ``to_dict()`` where :meth:`profiles.MeterProfiles.document`
    gave None (a formula failed: making the fields raises the error naming the meter)."""


def lazy_meter(cls: _Class, source: Callable[[Any], MeterSource]) -> MeterSlot:
    """Let the ``meter`` field of ``cls`` (a dataclass with slots) hold the
    :class:`profiles.MeterProfiles` to apply until it is first read.

    ``source`` describes a telegram of ``cls`` for the profiles. The module of ``cls``
    writes a telegram's meter part in ``to_dict()`` with
    :meth:`profiles.MeterProfiles.document` while :attr:`MeterSlot.held` gives the
    profiles (passing the telegram's values as they are), and with
    :attr:`MeterSlot.made_document` otherwise.
    """
    slot = cls.__dict__["meter"]
    attribute = _MeterAttribute(slot, source)
    type.__setattr__(cls, "meter", attribute)
    return MeterSlot(slot.__get__, attribute.made_document)
