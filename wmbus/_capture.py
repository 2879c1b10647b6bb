"""Capture files in, ``(time, source, bytes)`` out: the formats radio users keep.

A capture is read line by line (text formats) or block by block (binary
receiver dumps); every telegram found becomes a :class:`Captured` (a named
tuple ``(time, source, data)``), every line that cannot be read a
:class:`CaptureProblem` naming its line number (or byte offset) and why. A bad
line never stops the reading: the problems are collected on
:attr:`Capture.problems` (and passed to ``on_problem`` when given).

Formats (``format=``):

* ``"hex"``: one hex telegram a line (``#`` and ``//`` comment lines skipped).
* ``"csv"``: ``time,hex`` lines; an optional header line ``time,hex``.
* ``"rtlwmbus"``: rtl-wmbus lines ``MODE;CRC_OK;3OF6_OK;TIMESTAMP;RSSI;LQI;ID;0xHEX``;
  a line whose CRC or 3-of-6 check failed is a problem, its bytes never flow on.
* ``"rtl433"``: rtl_433 JSON lines (``-F json``) of its Wireless-MBus decoder;
  lines of other decoders are skipped.
* ``"wmbusmeters"``: wmbusmeters logs and simulation files: the hex between
  ``telegram=|`` and ``|``; other log lines are skipped, not problems.
* ``"im871a"``, ``"amb8465"``: raw binary dumps of what the receiver sent;
  problems name the byte offset.
* ``"auto"`` (the default): chosen from the first bytes (see :func:`sniff_format`).

Times: ISO 8601 text (``2026-11-24 08:00:00``, ``...T08:00:00Z``, with an
offset or without) or Unix seconds; a time without an offset is taken as UTC.
Formats that carry no wall-clock time give ``time=None`` (the iM871A
timestamp is a counter, not a time).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Callable, Iterator
from typing import IO, NamedTuple, cast

from ._dongles import Amb8465Codec, Im871aCodec, Noise, RadioFrame, Rtl433Codec, clean_hex
from ._errors import WMBusError

__all__ = ["CAPTURE_FORMATS", "Capture", "CaptureError", "CaptureProblem", "Captured",
           "parse_time", "sniff_format"]

CAPTURE_FORMATS = ("hex", "csv", "rtlwmbus", "rtl433", "wmbusmeters", "im871a", "amb8465")
_BINARY = {"im871a": Im871aCodec, "amb8465": Amb8465Codec}
_BLOCK = 2048  # well below the codecs' 4 KiB buffer, which drops what overflows
_MAX_LINE = 8192  # characters: a wM-Bus frame is at most 255 bytes (510 hex digits)
_WMBUSMETERS = re.compile(r"telegram=\|([^|]*)\|")
_LOG_TIME = re.compile(r"^\[?(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?)")


class CaptureError(WMBusError):
    """A capture that cannot be read at all (unknown format, unreadable file)."""


class Captured(NamedTuple):
    """One telegram from a capture: when (None if the format has no time), where, the bytes.

    ``source`` is the capture's name and the line number (``capture.txt:12``) or,
    for binary dumps, the byte offset (``dump.bin@0x1a2``).
    """

    time: dt.datetime | None
    source: str
    data: bytes


class CaptureProblem(NamedTuple):
    """A line (or a span of a binary dump) that gave no telegram, and why.

    ``line`` is the 1-based line number (None for binary dumps), ``offset`` the
    byte offset in binary dumps (None for text), ``text`` at most 80 characters
    of the line (hex of the skipped bytes for binary dumps).
    """

    source: str
    line: int | None
    offset: int | None
    text: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else f"byte {self.offset}"
        return f"{self.source}: {where}: {self.reason}"


def parse_time(text: str) -> dt.datetime:
    """A timezone-aware time from ISO 8601 text or Unix seconds (no offset: UTC).

    >>> from wmbus._capture import parse_time
    >>> parse_time("2026-11-24 08:00:00").isoformat()
    '2026-11-24T08:00:00+00:00'
    >>> parse_time("1795507200").isoformat()
    '2026-11-24T08:00:00+00:00'
    """
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("the time is empty")
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        seconds = float(cleaned)
        if seconds > 253402300799:  # 9999-12-31
            raise ValueError(f"{cleaned[:20]} is not a time (Unix seconds out of range)")
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{text.strip()[:40]!r} is not an ISO 8601 time or Unix seconds"
                         ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.timezone.utc)


def sniff_format(head: bytes) -> str:
    """The capture format that the first bytes of a capture look like.

    0xA5 first: ``im871a``; 0xFF: ``amb8465``; ``{``: ``rtl433``; a line with
    ``telegram=|``: ``wmbusmeters``; ``;``-separated with ``0x`` hex last:
    ``rtlwmbus``; a comma: ``csv``; else ``hex``.
    """
    if head[:1] == b"\xa5":
        return "im871a"
    if head[:1] == b"\xff":
        return "amb8465"
    text = head.decode("utf-8", "replace")
    if "telegram=|" in text:
        return "wmbusmeters"
    lines = [line.strip() for line in text.splitlines() if line.strip()
             and not line.lstrip().startswith(("#", "//"))]
    first = lines[0] if lines else ""
    if first.startswith("{"):
        return "rtl433"
    if first.count(";") >= 7 and first.rsplit(";", 1)[-1].strip().lower().startswith("0x"):
        return "rtlwmbus"
    if "," in first:
        return "csv"
    return "hex"


class Capture:
    """The telegrams of one capture (a path, a binary file object, or bytes).

    Iterate it for :class:`Captured` items; afterwards :attr:`problems` lists
    the lines that gave none (the first ``max_problems``; :attr:`problem_count`
    counts them all). ``name`` is used in ``source`` (default: the file name).

    >>> import wmbus
    >>> capture = wmbus.Capture(b"# a comment\\n2e44931578563412330333637a2a0020\\nnot hex\\n",
    ...                         format="hex", name="demo.txt")
    >>> [item.source for item in capture]
    ['demo.txt:2']
    >>> [str(problem) for problem in capture.problems]
    ["demo.txt: line 3: not hex: 'not hex'"]
    """

    def __init__(self, source: str | os.PathLike[str] | bytes | IO[bytes], format: str = "auto",
                 *, name: str | None = None, max_problems: int = 1000,
                 on_problem: Callable[[CaptureProblem], None] | None = None) -> None:
        if format != "auto" and format not in CAPTURE_FORMATS:
            raise CaptureError(f"unknown capture format {format!r}: choose one of "
                               f"{', '.join(CAPTURE_FORMATS)} or auto")
        self._source = source
        self.format = format
        if name is None:
            name = "<bytes>" if isinstance(source, bytes) else (
                os.fspath(source) if isinstance(source, (str, os.PathLike))
                else str(getattr(source, "name", "<stream>")))
        self.name = name
        self.max_problems = max_problems
        self.on_problem = on_problem
        self.problems: list[CaptureProblem] = []
        self.problem_count = 0

    def _open(self) -> IO[bytes]:
        if isinstance(self._source, bytes):
            return io.BytesIO(self._source)
        if isinstance(self._source, (str, os.PathLike)):
            try:
                return open(self._source, "rb")
            except OSError as exc:
                raise CaptureError(f"{self.name}: cannot read: {exc.strerror or exc}"
                                   ) from None
        return self._source

    def _problem(self, line: int | None, offset: int | None, text: str, reason: str) -> None:
        problem = CaptureProblem(self.name, line, offset, text[:80], reason)
        self.problem_count += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(problem)
        if self.on_problem is not None:
            self.on_problem(problem)

    def __iter__(self) -> Iterator[Captured]:
        self.problems = []
        self.problem_count = 0
        stream = self._open()
        try:
            buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(
                cast(io.RawIOBase, stream))
            fmt = self.format
            if fmt == "auto":
                fmt = sniff_format(buffered.peek(4096)[:4096])
            if fmt in _BINARY:
                yield from self._binary(buffered, fmt)
            else:
                yield from self._text(buffered, fmt)
        finally:
            if isinstance(self._source, (bytes, str, os.PathLike)):
                stream.close()

    def _binary(self, stream: IO[bytes], fmt: str) -> Iterator[Captured]:
        codec = _BINARY[fmt]()
        fed = 0
        while True:
            block = stream.read(_BLOCK)
            if block:
                codec.receive_data(block)
                fed += len(block)
            while True:
                start = fed - codec.buffered
                item = codec.next_frame()
                if item is None:
                    break
                if isinstance(item, Noise):
                    self._problem(None, start, item.data[:40].hex(), item.reason)
                else:
                    yield Captured(None, f"{self.name}@0x{start:x}", item.data)
            if not block:
                rest = codec.buffered
                if rest:
                    self._problem(None, fed - rest, "", f"{rest} bytes of an incomplete "
                                  "frame at the end of the dump")
                return

    def _text(self, stream: IO[bytes], fmt: str) -> Iterator[Captured]:
        parse = _LINE_PARSERS[fmt]
        for number, raw in enumerate(stream, start=1):
            if len(raw) > _MAX_LINE * 4:
                self._problem(number, None, "", f"line longer than {_MAX_LINE} characters")
                continue
            line = raw.decode("utf-8", "replace").strip()
            if not line or line.startswith(("#", "//")):
                continue
            if len(line) > _MAX_LINE:
                self._problem(number, None, line, f"line longer than {_MAX_LINE} characters")
                continue
            try:
                found = parse(line, number == 1)
            except (ValueError, WMBusError) as exc:
                self._problem(number, None, line, str(exc) or "unreadable line")
                continue
            if found is not None:
                yield Captured(found[0], f"{self.name}:{number}", found[1])


_Found = tuple[dt.datetime | None, bytes] | None


def _hex_line(line: str, first: bool) -> _Found:
    return None, clean_hex(line)


def _csv_line(line: str, first: bool) -> _Found:
    cells = [cell.strip().strip('"') for cell in line.split(",")]
    if len(cells) != 2:
        raise ValueError(f"expected 2 columns (time,hex), found {len(cells)}")
    if first and cells[0].lower() == "time":
        return None
    return parse_time(cells[0]), clean_hex(cells[1])


def _rtlwmbus_line(line: str, first: bool) -> _Found:
    fields = line.split(";")
    if len(fields) < 8 or not fields[-1].strip().lower().startswith("0x"):
        raise ValueError("not an rtl-wmbus telegram line (MODE;CRC_OK;3OF6_OK;TIMESTAMP;"
                         "RSSI;LQI;ID;0xHEX)")
    if fields[1].strip() != "1" or fields[2].strip() != "1":
        raise ValueError("rtl-wmbus reports a failed CRC or 3-of-6 check: bytes dropped")
    stamp = fields[3].strip()
    return (parse_time(stamp) if stamp else None), clean_hex(fields[-1])


def _rtl433_line(line: str, first: bool) -> _Found:
    codec = Rtl433Codec()
    codec.receive_data(line.encode() + b"\n")
    item = codec.next_frame()
    if isinstance(item, Noise):
        if item.reason == "no Wireless-MBus data field":
            return None  # another rtl_433 decoder's line
        raise ValueError(item.reason)
    assert isinstance(item, RadioFrame)
    return (parse_time(item.timestamp) if item.timestamp else None), item.data


def _wmbusmeters_line(line: str, first: bool) -> _Found:
    found = _WMBUSMETERS.search(line)
    if found is None:
        if "telegram=" in line:
            raise ValueError("telegram= without the closing |")
        return None
    stamp = _LOG_TIME.match(line)
    return (parse_time(stamp.group(1)) if stamp else None), clean_hex(found.group(1))


_LINE_PARSERS: dict[str, Callable[[str, bool], _Found]] = {
    "hex": _hex_line, "csv": _csv_line, "rtlwmbus": _rtlwmbus_line,
    "rtl433": _rtl433_line, "wmbusmeters": _wmbusmeters_line,
}

