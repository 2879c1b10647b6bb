"""Receiver-dongle codecs (sans-IO): bytes from a receiver in, radio frames out.

Every codec has ``receive_data(bytes)``, ``next_frame()`` returning a
:class:`RadioFrame`, a :class:`Noise` (bytes it had to skip, with the reason)
or None (more data needed), and an ``encode(frame, ...)`` that writes what the
device would send, for tests and simulators. No serial port here: see
``wmbus._serial`` for the pyserial adapter.

* :class:`Im871aCodec`: IMST iM871A / iM170A HCI: ``A5 | ctrl+endpoint | msg id |
  length | payload | [timestamp(4)] [RSSI(1)] [CRC-16(2)]``, control bits 0x20
  timestamp, 0x40 RSSI, 0x80 CRC attached; radio-link endpoint 0x02, message
  0x03 (WMBUSMSG_IND). The payload starts with the C field; the length byte
  doubles as the frame's L field.
* :class:`Amb8465Codec`: Amber/Wuerth AMB8465 / AMB3665 command mode:
  ``FF | 03 | length | payload | [RSSI] | XOR checksum``; the payload starts
  with the C field.
* :class:`RtlWmbusCodec`: rtl-wmbus text lines
  ``MODE;CRC_OK;3OF6_OK;TIMESTAMP;RSSI;LQI;ID;0xHEX``.
* :class:`Rtl433Codec`: rtl_433 JSON lines (``-F json``) or CSV (``-F csv``)
  of its Wireless-MBus decoder: ``data`` holds the frame, or the data from the
  CI field on with ``C``, ``M``, ``id``, ``version``, ``type`` beside it.
* :class:`HexLineCodec`: one hex telegram per line (separators ``_ | # space``
  ignored; ``0x`` prefix allowed).

These codecs were checked against their own encoders and against published
rtl-wmbus/raw lines; the iM871A and AMB8465 layouts follow the vendors'
manuals and have not been run against the hardware here. Configuring a
dongle (link mode, RSSI output) is not supported yet: it must already
receive in the wanted mode.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Any, Protocol

import mbus
import mbus.records

from ._crc import crc16_x25
from ._errors import DongleError, EncodeError, WMBusError
from ._loading import load_json

__all__ = [
    "DONGLES",
    "Amb8465Codec",
    "DongleCodec",
    "HexLineCodec",
    "Im871aCodec",
    "Noise",
    "RadioFrame",
    "Rtl433Codec",
    "RtlWmbusCodec",
    "clean_hex",
    "crc16_x25",
]

MAX_BUFFER = 4096
_SEPARATORS = str.maketrans("", "", "_|# \t\r\n:")


@dataclass(frozen=True, slots=True, kw_only=True)
class RadioFrame:
    """One frame as a receiver delivered it (starting with L), with what it said about it."""

    data: bytes
    rssi: float | None = None
    link_mode: str | None = None
    timestamp: str | None = None
    crc_ok: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"data": self.data.hex(), "rssi": self.rssi, "link_mode": self.link_mode,
                "timestamp": self.timestamp, "crc_ok": self.crc_ok}


@dataclass(frozen=True, slots=True, kw_only=True)
class Noise:
    """Bytes a codec skipped, and why."""

    data: bytes
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"data": self.data.hex(), "reason": self.reason}


class DongleCodec(Protocol):
    """What the receiver needs from a dongle codec."""

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes read from the device."""

    def next_frame(self) -> RadioFrame | Noise | None:
        """The next frame or skipped noise; None when more bytes are needed."""


def clean_hex(text: str) -> bytes:
    """Bytes from hex text with separators (``_ | # : space``) and a ``0x`` prefix removed."""
    cleaned = text.strip()
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    cleaned = cleaned.translate(_SEPARATORS)
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError(f"not hex: {text.strip()[:40]!r}") from None


class _Binary:
    """Shared buffering for the binary codecs."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes read from the device (bounded: the oldest go as noise when full)."""
        self._buffer += data

    @property
    def buffered(self) -> int:
        """How many received bytes are not yet consumed (for byte offsets in dumps)."""
        return len(self._buffer)

    def _overflow(self) -> Noise | None:
        if len(self._buffer) > MAX_BUFFER:
            dropped = bytes(self._buffer[:-MAX_BUFFER])
            del self._buffer[:-MAX_BUFFER]
            return Noise(data=dropped, reason="receive buffer full")
        return None

    def _skip_to(self, start: int) -> Noise | None:
        """Drop bytes before the next start-of-frame byte."""
        index = self._buffer.find(bytes((start,)))
        if index == 0 or not self._buffer:
            return None
        if index < 0:
            index = len(self._buffer)
        dropped = bytes(self._buffer[:index])
        del self._buffer[:index]
        return Noise(data=dropped, reason=f"bytes before start-of-frame 0x{start:02x}")


class Im871aCodec(_Binary):
    """IMST iM871A / iM170A host controller interface (see the module docstring)."""

    SOF = 0xA5
    RADIOLINK = 0x02
    WMBUSMSG_IND = 0x03

    def next_frame(self) -> RadioFrame | Noise | None:
        """The next received wM-Bus frame, skipped noise, or None."""
        overflow = self._overflow()
        if overflow is not None:
            return overflow
        noise = self._skip_to(self.SOF)
        if noise is not None:
            return noise
        buf = self._buffer
        if len(buf) < 4:
            return None
        ctrl = buf[1] >> 4
        size = 4 + buf[3] + (4 if ctrl & 0x2 else 0) + (1 if ctrl & 0x4 else 0) + (
            2 if ctrl & 0x8 else 0)
        if len(buf) < size:
            return None
        packet = bytes(buf[:size])
        if ctrl & 0x8 and crc16_x25(packet[1:-2]) != int.from_bytes(packet[-2:], "little"):
            del buf[:1]
            return Noise(data=packet[:1], reason="HCI CRC mismatch: resynchronising")
        del buf[:size]
        endpoint, message = packet[1] & 0x0F, packet[2]
        if endpoint != self.RADIOLINK or message != self.WMBUSMSG_IND:
            return Noise(data=packet, reason=f"HCI message 0x{endpoint:x}/0x{message:02x} "
                                             "is not a received wM-Bus frame")
        payload = packet[4:4 + packet[3]]
        pos = 4 + packet[3]
        timestamp = None
        if ctrl & 0x2:
            timestamp = str(int.from_bytes(packet[pos:pos + 4], "little"))
            pos += 4
        rssi = None
        if ctrl & 0x4:
            # iM871A RSSI byte: dBm = -(RSSI) / 2 ... approximately; reported raw here
            rssi = float(packet[pos])
        return RadioFrame(data=bytes((len(payload),)) + payload, rssi=rssi,
                          timestamp=timestamp, crc_ok=True if ctrl & 0x8 else None)

    @classmethod
    def encode(cls, frame: bytes, *, rssi: int | None = None, timestamp: int | None = None,
               crc: bool = True) -> bytes:
        """The HCI bytes of a WMBUSMSG_IND carrying ``frame`` (which starts with L)."""
        if not frame or frame[0] != len(frame) - 1:
            raise EncodeError("frame must start with its L field (CRC-less frame)")
        ctrl = (0x2 if timestamp is not None else 0) | (0x4 if rssi is not None else 0) | (
            0x8 if crc else 0)
        body = bytes((ctrl << 4 | cls.RADIOLINK, cls.WMBUSMSG_IND, frame[0])) + frame[1:]
        if timestamp is not None:
            body += timestamp.to_bytes(4, "little")
        if rssi is not None:
            body += bytes((rssi & 0xFF,))
        if crc:
            body += crc16_x25(body).to_bytes(2, "little")
        return bytes((cls.SOF,)) + body


class Amb8465Codec(_Binary):
    """Amber / Wuerth AMB8465 and AMB3665 in command mode (see the module docstring).

    ``rssi`` says whether the module appends an RSSI byte (its RSSI_Enable setting).
    """

    SOF = 0xFF
    DATA_IND = 0x03

    def __init__(self, *, rssi: bool = True) -> None:
        super().__init__()
        self.rssi = rssi

    def next_frame(self) -> RadioFrame | Noise | None:
        """The next received wM-Bus frame, skipped noise, or None."""
        overflow = self._overflow()
        if overflow is not None:
            return overflow
        noise = self._skip_to(self.SOF)
        if noise is not None:
            return noise
        buf = self._buffer
        if len(buf) < 3:
            return None
        size = 3 + buf[2] + (1 if self.rssi and buf[1] == self.DATA_IND else 0) + 1
        if len(buf) < size:
            return None
        packet = bytes(buf[:size])
        checksum = 0
        for byte in packet[:-1]:
            checksum ^= byte
        if checksum != packet[-1]:
            del buf[:1]
            return Noise(data=packet[:1], reason="checksum mismatch: resynchronising")
        del buf[:size]
        if packet[1] != self.DATA_IND:
            return Noise(data=packet, reason=f"command 0x{packet[1]:02x} is not DATA_IND")
        payload = packet[3:3 + packet[2]]
        rssi = None
        if self.rssi:
            raw = packet[3 + packet[2]]
            rssi = float(raw - 256 if raw >= 128 else raw)  # two's complement, as sent
        return RadioFrame(data=bytes((len(payload),)) + payload, rssi=rssi, crc_ok=True)

    @classmethod
    def encode(cls, frame: bytes, *, rssi: int | None = -60) -> bytes:
        """The DATA_IND bytes carrying ``frame`` (which starts with L)."""
        if not frame or frame[0] != len(frame) - 1:
            raise EncodeError("frame must start with its L field (CRC-less frame)")
        body = bytes((cls.SOF, cls.DATA_IND, frame[0])) + frame[1:]
        if rssi is not None:
            body += bytes((rssi & 0xFF,))
        checksum = 0
        for byte in body:
            checksum ^= byte
        return body + bytes((checksum,))


class _Lines:
    """Shared line splitting for the text codecs."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def receive_data(self, data: bytes) -> None:
        """Buffer text read from the program or device."""
        self._buffer += data

    def _next_line(self) -> str | Noise | None:
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_BUFFER:
                    dropped = bytes(self._buffer)
                    self._buffer.clear()
                    return Noise(data=dropped, reason="line longer than the buffer")
                return None
            raw = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            line = raw.decode("utf-8", "replace").strip()
            if line:
                return line

    def flush(self) -> RadioFrame | Noise | None:
        """Treat buffered text as a last, unterminated line (call at end of input)."""
        if self._buffer:
            self._buffer += b"\n"
        return self.next_frame()

    def next_frame(self) -> RadioFrame | Noise | None:
        """The next frame, skipped line, or None."""
        line = self._next_line()
        if line is None or isinstance(line, Noise):
            return line
        try:
            return self._parse(line)
        except (ValueError, csv.Error, WMBusError, mbus.MBusError) as exc:
            return Noise(data=line.encode(), reason=str(exc) or "unreadable line")

    def _parse(self, line: str) -> RadioFrame | Noise:
        raise NotImplementedError


class RtlWmbusCodec(_Lines):
    """rtl-wmbus output lines (see the module docstring)."""

    def _parse(self, line: str) -> RadioFrame | Noise:
        fields = line.split(";")
        if len(fields) < 8 or not fields[-1].strip().lower().startswith("0x"):
            return Noise(data=line.encode(), reason="not an rtl-wmbus telegram line")
        crc_ok = fields[1].strip() == "1" and fields[2].strip() == "1"
        rssi = _number(fields[4].strip(), "RSSI")
        return RadioFrame(data=clean_hex(fields[-1]), rssi=rssi, link_mode=fields[0].strip(),
                          timestamp=fields[3].strip() or None, crc_ok=crc_ok)

    @staticmethod
    def encode(frame: bytes, *, link_mode: str = "T1", rssi: int = 97,
               timestamp: str = "2026-11-24 08:00:00.000", crc_ok: bool = True) -> bytes:
        """An rtl-wmbus line for ``frame``."""
        ident = mbus.records.decode_bcd_id(frame[4:8]) if len(frame) >= 8 else "00000000"
        ok = "1" if crc_ok else "0"
        return (f"{link_mode};{ok};{ok};{timestamp};{rssi};100;{ident};0x{frame.hex()}\n"
                ).encode()


class Rtl433Codec(_Lines):
    """rtl_433 Wireless-MBus output as JSON lines or CSV (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._columns: list[str] | None = None

    def _parse(self, line: str) -> RadioFrame | Noise:
        if line.startswith("{"):
            record: Any = load_json(line, source="rtl_433 JSON line", error=DongleError,
                                    max_depth=4)
            if not isinstance(record, dict):
                return Noise(data=line.encode(), reason="not a JSON object")
        else:
            cells = next(csv.reader(io.StringIO(line)))
            if self._columns is None or "data" in cells:
                self._columns = [cell.strip() for cell in cells]
                return Noise(data=line.encode(), reason="CSV header")
            record = dict(zip(self._columns, cells, strict=False))
        data = record.get("data")
        if not data:
            return Noise(data=line.encode(), reason="no Wireless-MBus data field")
        if not isinstance(data, str):
            raise DongleError("rtl_433 field data must be hex text", field="data")
        raw = clean_hex(data)
        if not (raw and raw[0] == len(raw) - 1) and record.get("M") and record.get("C"):
            raw = _with_link_header(record, raw)
        return RadioFrame(data=raw, rssi=_number(record.get("RSSI", record.get("rssi")), "RSSI"),
                          link_mode=_text(record.get("mode"), "mode"),
                          timestamp=_text(record.get("time"), "time"))

    @staticmethod
    def encode(frame: bytes, *, rssi: float = -20.5, csv_header: bool = False) -> bytes:
        """An rtl_433 JSON line (or CSV header + row) for ``frame``."""
        record = {"time": "2026-11-24 08:00:00", "model": "Wireless-MBus", "mode": "T",
                  "data": frame.hex(), "RSSI": rssi}
        if csv_header:
            return (",".join(record) + "\n" + ",".join(str(v) for v in record.values())
                    + "\n").encode()
        return (json.dumps(record) + "\n").encode()


def _number(value: Any, name: str) -> float | None:
    """A finite number from an rtl_433 field (a JSON number or its text), None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DongleError(f"rtl_433 field {name} must be a number", field=name)
    try:
        number = float(value)
    except ValueError:
        raise DongleError(f"rtl_433 field {name} is not a number", field=name) from None
    if not math.isfinite(number):
        raise DongleError(f"rtl_433 field {name} is out of range", field=name)
    return number


def _text(value: Any, name: str) -> str | None:
    """An rtl_433 text field, None when absent or empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise DongleError(f"rtl_433 field {name} must be text", field=name)
    return str(value)


def _byte_field(record: dict[str, Any], name: str, default: int | None = None) -> int:
    """A one-byte field (rtl_433 writes them as numbers or as text such as "0x44")."""
    value = record.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise DongleError(f"rtl_433 field {name} must be a byte (a number or its text)",
                          field=name)
    try:
        number = value if isinstance(value, int) else int(value[:8], 0)
    except ValueError:
        raise DongleError(f"rtl_433 field {name} is not a number", field=name) from None
    if not 0 <= number <= 255:
        raise DongleError(f"rtl_433 field {name} must be 0-255", field=name)
    return number


def _with_link_header(record: dict[str, Any], data: bytes) -> bytes:
    """Rebuild L C M A from rtl_433's decoded fields when ``data`` starts at the CI."""
    manufacturer, ident = record.get("M"), record.get("id")
    if not isinstance(manufacturer, str) or not isinstance(ident, (str, int)) \
            or isinstance(ident, bool):
        raise DongleError("rtl_433 fields M and id must be text", field="M")
    man = mbus.records.encode_manufacturer(manufacturer)
    address = mbus.records.encode_bcd_id(str(ident))
    c = _byte_field(record, "C")
    version = _byte_field(record, "version", 0)
    device_type = _byte_field(record, "type", 0)
    body = bytes((c, man & 0xFF, man >> 8)) + address + bytes((version, device_type)) + data
    if len(body) > 255:
        raise DongleError(f"rtl_433 frame of {len(body)} bytes does not fit an L field",
                          field="data")
    return bytes((len(body),)) + body


class HexLineCodec(_Lines):
    """One hex telegram per line."""

    def _parse(self, line: str) -> RadioFrame | Noise:
        if line.startswith(("#", "//")):
            return Noise(data=line.encode(), reason="comment")
        return RadioFrame(data=clean_hex(line))

    @staticmethod
    def encode(frame: bytes) -> bytes:
        """The hex line for ``frame``."""
        return (frame.hex().upper() + "\n").encode()


# CLI names -> codec classes.
DONGLES: dict[str, type[Im871aCodec] | type[Amb8465Codec] | type[RtlWmbusCodec]
              | type[Rtl433Codec] | type[HexLineCodec]] = {
    "im871a": Im871aCodec,
    "amb8465": Amb8465Codec,
    "rtlwmbus": RtlWmbusCodec,
    "rtl433": Rtl433Codec,
    "hex": HexLineCodec,
}
