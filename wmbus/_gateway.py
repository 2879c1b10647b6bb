"""Wireless-to-wired gateway: radio meters presented as wired M-Bus slaves.

Each wireless meter heard gets a virtual wired slave (``mbus.Slave``) with the
meter's secondary address (ID, manufacturer, version, medium) and a primary
address 1-63 on a virtual segment (63 meters per segment, the 64th meter opens
the next segment). The slave answers REQ_UD2 with the meter's latest records
as an RSP_UD long frame (CI 0x72), split into several telegrams (DIF 0x1F)
when they do not fit one frame. Sans-IO: feed a segment the master's bytes,
get the bytes the virtual slaves answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mbus
import mbus.records

from ._decoder import Telegram
from ._errors import EncodeError

__all__ = ["GatewayMeter", "WirelessGateway"]

METERS_PER_SEGMENT = 63
_PAGE_BUDGET = 252 - 12 - 1 - 3  # long frame data: header (12), DIF 0x1F, CI/C/A margin
_SPECIAL = ("manufacturer_specific", "more_records_follow")


@dataclass(slots=True, kw_only=True)
class GatewayMeter:
    """One wireless meter as the gateway presents it."""

    key: str
    segment: int
    primary: int
    slave: mbus.Slave
    telegram: Telegram
    updates: int = 1


def _pages(records: Sequence[mbus.Record]) -> list[list[mbus.Record]]:
    pages: list[list[mbus.Record]] = [[]]
    size = 0
    for record in records:
        if record.function in _SPECIAL:
            continue
        length = len(record.shape.header) + len(record.data)
        if length > _PAGE_BUDGET:
            continue  # cannot be carried by any wired frame
        if size + length > _PAGE_BUDGET and pages[-1]:
            pages.append([])
            size = 0
        pages[-1].append(record)
        size += length
    return pages


def _secondary(telegram: Telegram) -> mbus.SecondaryAddress:
    header = telegram.header
    ident = telegram.id
    manufacturer = telegram.manufacturer
    if ident is None or manufacturer is None:
        raise EncodeError("the telegram carries no meter identity (ID and manufacturer)")
    version = header.version if header is not None and header.version is not None else (
        telegram.link.version or 0)
    medium = header.medium if header is not None and header.medium is not None else (
        telegram.link.device_type or 0)
    return mbus.SecondaryAddress(
        id=ident, manufacturer=mbus.records.encode_manufacturer(manufacturer), version=version,
        medium=medium)


class WirelessGateway:
    """The latest telegram of each wireless meter, answered on virtual wired segments."""

    def __init__(self, *, meters_per_segment: int = METERS_PER_SEGMENT,
                 max_segments: int = 16) -> None:
        if not 1 <= meters_per_segment <= 250:
            raise EncodeError("a segment has 1-250 primary addresses")
        self.meters_per_segment = meters_per_segment
        self.max_segments = max_segments
        self.meters: dict[str, GatewayMeter] = {}
        self._segments: list[list[GatewayMeter]] = []

    def update(self, telegram: Telegram) -> GatewayMeter:
        """Store ``telegram`` as its meter's latest; the first one assigns a slave."""
        secondary = _secondary(telegram)
        key = f"{telegram.manufacturer}.{telegram.id}.{secondary.version}.{secondary.medium}"
        header = telegram.header
        meter = self.meters.get(key)
        if meter is None:
            if not self._segments or len(self._segments[-1]) >= self.meters_per_segment:
                if len(self._segments) >= self.max_segments:
                    raise EncodeError(f"all {self.max_segments} virtual segments are full")
                self._segments.append([])
            segment = len(self._segments) - 1
            primary = len(self._segments[-1]) + 1
            slave = mbus.Slave(secondary, _pages(telegram.records), primary=primary)
            meter = GatewayMeter(key=key, segment=segment, primary=primary, slave=slave,
                                 telegram=telegram)
            self._segments[-1].append(meter)
            self.meters[key] = meter
        else:
            meter.slave.set_pages(_pages(telegram.records))
            meter.telegram = telegram
            meter.updates += 1
        if header is not None:
            meter.slave.status = header.status or 0
            meter.slave.access_number = (header.access_number or 0) & 0xFF
        return meter

    @property
    def segment_count(self) -> int:
        """Number of virtual segments in use."""
        return len(self._segments)

    def segment(self, index: int) -> list[GatewayMeter]:
        """The meters on a virtual segment, by primary address."""
        return list(self._segments[index])

    def rsp_ud(self, key: str) -> bytes:
        """The RSP_UD long frame (first telegram) the meter's virtual slave sends."""
        meter = self.meters[key]
        records = _pages(meter.telegram.records)
        telegram = mbus.build_telegram(address=meter.primary, records=records[0],
                                       header=meter.slave.header(), ci=0x72,
                                       more_records_follow=len(records) > 1)
        return telegram.encode()

    def idle(self) -> None:
        """The bus line was idle: every virtual slave drops a partial frame."""
        for meters in self._segments:
            for meter in meters:
                meter.slave.reset_link()

    def receive_data(self, data: bytes, segment: int = 0) -> bytes:
        """The master's bytes on virtual ``segment`` in; what its slaves answer out.

        Several answers at once (a broadcast, a wildcard selection) are combined
        the way a wired bus does: bitwise AND.
        """
        if not 0 <= segment < len(self._segments):
            return b""
        answers = [meter.slave.receive_data(data) for meter in self._segments[segment]]
        present = [answer for answer in answers if answer]
        if len(present) <= 1:
            return present[0] if present else b""
        out = bytearray(max(len(answer) for answer in present))
        for index in range(len(out)):
            value = 0xFF
            for answer in present:
                if index < len(answer):
                    value &= answer[index]
            out[index] = value
        return bytes(out)
