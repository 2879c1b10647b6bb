"""Device profiles applied to decoded records: the ``meter`` part of a telegram.

``profiles`` knows no meterkit type; it reads record shapes through its
``RecordHead`` protocol (a :class:`RecordShape` has those attributes) and asks
for the value of record *i* only when a field uses it. ``wmbus`` uses the same
function for wireless telegrams.
"""

from __future__ import annotations

from collections.abc import Sequence

import profiles

from ._header import Header
from ._record_values import python_value
from ._records import RecordShape

__all__ = ["ProfilesOption", "meter_fields", "meter_profiles"]

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


def meter_fields(library: profiles.MeterProfiles, header: Header | None,
                 records: Sequence[tuple[RecordShape, bytes]], *, ci: int | None,
                 payload: bytes = b"", manufacturer: str | None = None,
                 meter_id: str | None = None) -> profiles.MeterFields:
    """The named fields of a telegram's records (``records`` as ``(shape, data)`` pairs).

    ``manufacturer`` and ``meter_id`` default to the header's; ``payload`` is the
    application data after the header (for a profile's ``prefix``).
    """
    def value_of(index: int) -> object:
        shape, data = records[index]
        return python_value(shape, data)[0]

    heads = [shape for shape, _ in records]
    if header is None:
        return library.apply(heads, value_of, manufacturer=manufacturer, ci=ci,
                             payload=payload, meter_id=meter_id)
    return library.apply(heads, value_of, manufacturer=manufacturer or header.manufacturer,
                         version=header.version, device_type=header.medium, ci=ci,
                         status=header.status, payload=payload,
                         meter_id=meter_id or header.id)
