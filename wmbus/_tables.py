"""A capture decoded into a table of readings (``mbus.tables.ReadingTable``), for notebooks."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import mbus
import mbus.tables
from mbus.records import ProfilesOption

from ._capture import Capture, Captured
from ._compact import SignatureCache
from ._decoder import Decoder
from ._errors import WMBusError
from ._keys import KeyStore

__all__ = ["decode_capture"]


def decode_capture(
    capture: Capture | Iterable[Captured],
    keys: KeyStore | Mapping[str, bytes | str] | str | os.PathLike[str] | None = None,
    *,
    already_decrypted: bool = False,
    signatures: SignatureCache | Mapping[int | str, Any] | None = None,
    profiles: ProfilesOption = True,
) -> mbus.tables.ReadingTable:
    """Decode every telegram of ``capture`` into one :class:`mbus.tables.ReadingTable`.

    Telegrams are decoded in order with one :class:`Decoder` (so compact frames
    find the formats of earlier full frames). A telegram that does not decode
    (wrong key, bad CRC, forged) gives no rows: ``problems`` names its source
    and the error; the capture's unreadable lines are there too. ``profiles`` (as
    :class:`Decoder` takes it: True for meterkit's shipped profiles, a
    ``profiles.MeterProfiles``, or False) names the rows: one per named field, or,
    with False, one per record (see :func:`mbus.tables.telegram_rows`).

    >>> import wmbus
    >>> capture = wmbus.Capture(
    ...     b"2026-11-24 08:00:00,2E4493157856341233037A2A0000002F2F0C1427048502046D32371F15"
    ...     b"02FD1700002F2F2F2F2F2F2F2F2F2F2F2F2F\\n2026-11-24 09:00:00,2E4493157856\\n",
    ...     format="csv", name="cap.csv")
    >>> table = wmbus.decode_capture(capture)
    >>> [(r.meter_id, r.name, r.value, r.unit) for r in table][0]
    ('12345678', 'volume_m3', Decimal('28504.27'), 'm3')
    >>> table.problems  # doctest: +ELLIPSIS
    ['cap.csv:2: L at byte 0: a wireless M-Bus frame needs at least 11 bytes ... (LinkError)']
    """
    decoder = Decoder(keys, signatures=signatures, already_decrypted=already_decrypted,
                      profiles=profiles)
    table = mbus.tables.ReadingTable()
    for time, source, data in capture:
        try:
            telegram = decoder.decode(data)
        except (WMBusError, mbus.MBusError) as exc:
            table.problems.append(f"{source}: {exc} ({type(exc).__name__})")
            continue
        table.extend(mbus.tables.telegram_rows(telegram, time=time, source=source))
    if isinstance(capture, Capture):
        table.problems[:0] = [str(problem) for problem in capture.problems]
    return table
