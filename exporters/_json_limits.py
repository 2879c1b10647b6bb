"""JSON input with limits: the one loader every ``exporters`` reader uses.

Python's :mod:`json` trusts its input: it recurses once per nesting level (``RecursionError``
deep inside), turns an integer of 4301+ digits into ``ValueError``, accepts ``NaN`` and
``Infinity``, and a caller that slices the rest of a buffer after each value pays quadratic
time on long lines. Every reader of ``exporters`` (telegram documents and readings on stdin,
the CSV ``metadata`` column, XML ``json`` alarm fields, the spool's journal) goes through
this module instead, so each of those faults is handled once:

- at most :attr:`JsonLimits.max_chars` characters per JSON value;
- at most :attr:`JsonLimits.max_depth` nested arrays/objects;
- integers of at most :attr:`JsonLimits.max_int_digits` digits;
- no ``NaN``/``Infinity``; numbers with a fraction as :class:`~decimal.Decimal` (exact)
  or as finite ``float``, as the caller chooses;
- bytes must be UTF-8 (a leading byte order mark is skipped);
- a stream is read in one pass: each character is parsed a bounded number of times.

Every fault raises :class:`JsonFormatError` with the line and the byte offset (counted in
UTF-8 bytes from the start of the input) where it was found.
"""

from __future__ import annotations

import codecs
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from ._errors import DocumentError

__all__ = [
    "DEFAULT_JSON_LIMITS",
    "JsonFormatError",
    "JsonLimits",
    "iter_json_stream",
    "load_json",
]


class JsonFormatError(DocumentError):
    """JSON text that is malformed, not UTF-8, or beyond a :class:`JsonLimits` bound.

    Attributes:
        offset: the byte offset (UTF-8, from the start of the input) of the fault, or of
            the start of the JSON value that breaks a limit; ``None`` if unknown.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        line: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.offset = offset
        super().__init__(message, field=field, line=line)

    def _describe(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.offset is not None:
            where.append(f"byte offset {self.offset}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonLimits:
    """Bounds for one JSON value.

    Attributes:
        max_chars: characters of one value (a stream may hold any number of values).
        max_depth: nested arrays and objects (``[[1]]`` has depth 2).
        max_int_digits: digits of an integer (Python refuses text of 4301+ digits).
        exact_numbers: numbers with a fraction or exponent become
            :class:`~decimal.Decimal` (exact); ``False`` gives ``float`` (refused if not
            finite, e.g. ``1e999``).
    """

    max_chars: int = 16 << 20
    max_depth: int = 64
    max_int_digits: int = 4000
    exact_numbers: bool = True


DEFAULT_JSON_LIMITS = JsonLimits()
"""The limits used when none are given: 16 MiB, depth 64, 4000 digits, exact numbers."""


class _LimitExceeded(Exception):
    """Raised from inside the decoder's callbacks; turned into JsonFormatError."""


def _refuse_constant(name: str) -> Any:
    raise _LimitExceeded(f"{name} is not a JSON number")


@functools.lru_cache(maxsize=8)
def _decoder(limits: JsonLimits) -> json.JSONDecoder:
    max_digits = limits.max_int_digits

    def parse_int(text: str) -> int:
        if len(text) - (text[0] == "-") > max_digits:
            raise _LimitExceeded(f"an integer of more than {max_digits} digits")
        return int(text)

    def parse_finite_float(text: str) -> float:
        number = float(text)
        if number in (float("inf"), float("-inf")):
            raise _LimitExceeded(f"a number beyond the float range: {text[:40]}")
        return number

    def parse_decimal(text: str) -> Decimal:
        # An integer part longer than max_digits is refused like an integer would be;
        # the exponent is bounded where a value is used (Reading), not here.
        try:
            return Decimal(text)
        except InvalidOperation:  # an exponent of more digits than a Decimal can hold
            raise _LimitExceeded(f"a number beyond the decimal range: {text[:40]}") from None

    return json.JSONDecoder(
        parse_int=parse_int,
        parse_float=parse_decimal if limits.exact_numbers else parse_finite_float,
        parse_constant=_refuse_constant,
    )


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _too_deep(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def _check_depth(value: Any, text: str, start: int, end: int, limits: JsonLimits) -> bool:
    """True when ``value`` (parsed from ``text[start:end]``) nests too deep."""
    if not isinstance(value, (dict, list)):
        return False
    # Cheap filter first: a value cannot nest deeper than its count of brackets.
    if text.count("[", start, end) + text.count("{", start, end) <= limits.max_depth:
        return False
    return _too_deep(value, limits.max_depth)


def _decode_bytes(data: bytes, field: str | None) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonFormatError(
            f"not UTF-8: byte {data[exc.start : exc.start + 1].hex()}",
            field=field,
            line=data.count(b"\n", 0, exc.start) + 1,
            offset=exc.start,
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def load_json(
    data: str | bytes, *, limits: JsonLimits = DEFAULT_JSON_LIMITS, field: str | None = None
) -> Any:
    """Parse one JSON value (white space around it allowed) within ``limits``.

    Args:
        data: the text, or UTF-8 bytes.
        limits: the bounds to apply.
        field: what the text is (``"metadata"``, a file name, ...), named in errors.

    Raises:
        JsonFormatError: malformed JSON, not UTF-8, or a limit exceeded (with line and
            byte offset).

    >>> load_json('{"value": 1.50, "n": 7}')
    {'value': Decimal('1.50'), 'n': 7}
    >>> load_json("[" * 100 + "]" * 100)
    Traceback (most recent call last):
    exporters._json_limits.JsonFormatError: line 1, byte offset 0: JSON nested deeper than 64
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if len(raw) > 4 * limits.max_chars:
            raise JsonFormatError(
                f"a JSON value longer than {limits.max_chars} characters", field=field, offset=0
            )
        text = _decode_bytes(raw, field)
    else:
        text = data
    if len(text) > limits.max_chars:
        raise JsonFormatError(
            f"a JSON value longer than {limits.max_chars} characters", field=field, offset=0
        )
    start = _WHITESPACE.match(text).end()  # type: ignore[union-attr]
    value, end = _parse(text, start, limits, field=field, line=1, offset=0)
    rest = _WHITESPACE.match(text, end).end()  # type: ignore[union-attr]
    if rest != len(text):
        raise _error_at(text, rest, "extra data after the JSON value", field, line=1, offset=0)
    return value


def _error_at(
    text: str, position: int, message: str, field: str | None, *, line: int, offset: int
) -> JsonFormatError:
    """An error at ``text[position]``; ``line``/``offset`` are those of ``text[0]``."""
    return JsonFormatError(
        message,
        field=field,
        line=line + text.count("\n", 0, position),
        offset=offset + _utf8_len(text[:position]),
    )


def _parse(
    text: str, start: int, limits: JsonLimits, *, field: str | None, line: int, offset: int
) -> tuple[Any, int]:
    """Decode the value at ``text[start]``; ``line``/``offset`` are those of ``text[0]``."""
    try:
        value, end = _decoder(limits).raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise _error_at(text, exc.pos, f"not JSON: {exc.msg}", field, line=line,
                        offset=offset) from None  # fmt: skip
    except RecursionError:
        raise _error_at(text, start, f"JSON nested deeper than {limits.max_depth}", field,
                        line=line, offset=offset) from None  # fmt: skip
    except _LimitExceeded as exc:
        raise _error_at(text, start, f"in the JSON value starting here: {exc}", field,
                        line=line, offset=offset) from None  # fmt: skip
    if _check_depth(value, text, start, end, limits):
        raise _error_at(text, start, f"JSON nested deeper than {limits.max_depth}", field,
                        line=line, offset=offset)  # fmt: skip
    return value, end


_CHUNK = 1 << 16


class _Source:
    """Text from a text or binary stream in pieces of at most :data:`_CHUNK` characters.

    Binary input is decoded as UTF-8 incrementally (a character split between two reads is
    kept whole); a leading byte order mark is dropped.
    """

    def __init__(self, stream: IO[Any], field: str | None) -> None:
        self.stream = stream
        self.field = field
        self.utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self.bytes_read = 0
        self.first = True
        self.eof = False

    def read_line(self) -> str:
        """The next line (or the next piece of a long line); ``""`` at end of input."""
        while not self.eof:
            try:
                piece = self.stream.readline(_CHUNK)
            except UnicodeDecodeError as exc:
                # A text stream that cannot decode its bytes (binary ones are decoded here).
                raise JsonFormatError(
                    f"the stream cannot decode its bytes as {exc.encoding}: {exc.reason}",
                    field=self.field,
                ) from None
            if isinstance(piece, str):
                text = piece
                if not piece:
                    self.eof = True
            else:
                pending = len(self.utf8.getstate()[0])
                try:
                    text = self.utf8.decode(piece, final=not piece)
                except UnicodeDecodeError as exc:
                    raise JsonFormatError(
                        f"not UTF-8: byte {exc.object[exc.start : exc.start + 1].hex()}",
                        field=self.field,
                        offset=self.bytes_read - pending + exc.start,
                    ) from None
                self.bytes_read += len(piece)
                if not piece:
                    self.eof = True
            if self.first and text:
                self.first = False
                if text.startswith("\ufeff"):
                    text = text[1:]
            if text:
                return text
        return ""

    def read_at_least(self, size: int) -> str:
        parts = []
        got = 0
        while got < size:
            text = self.read_line()
            if not text:
                break
            parts.append(text)
            got += len(text)
        return "".join(parts)


def iter_json_stream(
    stream: IO[Any], *, limits: JsonLimits = DEFAULT_JSON_LIMITS, field: str | None = None
) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(line, offset, value)`` for each JSON value in a text or binary stream.

    Values may come one per line (JSON lines), several on one line, or pretty-printed over
    several lines, separated by white space. ``line`` (1-based) and ``offset`` (UTF-8
    bytes from the start) say where each value starts. Binary streams must hold UTF-8.
    The input is read once; the work per character is bounded, so time is linear in the
    input size however the values are laid out.

    Raises:
        JsonFormatError: malformed JSON, bytes that are not UTF-8, or a limit exceeded.
    """
    source = _Source(stream, field)
    reader = _Buffer()
    while True:
        reader.skip_whitespace()
        if reader.pos == len(reader.text):
            more = source.read_line()
            if not more:
                return
            reader.refill(more, source.eof)
            continue
        try:
            value, end = _parse(reader.text, reader.pos, limits, field=field,
                                line=reader.text_line, offset=reader.text_offset)  # fmt: skip
        except JsonFormatError as exc:
            if source.eof or not reader.may_be_cut(exc):
                raise
            end = -1
        else:
            if not source.eof and reader.number_may_go_on(value, end):
                end = -1  # "12" may continue as "12.5": read on before deciding
        if end >= 0:
            yield reader.line, reader.offset, value
            reader.advance(end)
            continue
        # The value goes on past what was read: read at least as much again (so a long
        # value is parsed O(log n) times, linear in total), dropping what was consumed.
        pending = len(reader.text) - reader.pos
        if pending > limits.max_chars:
            raise JsonFormatError(
                f"a JSON value longer than {limits.max_chars} characters",
                field=field, line=reader.line, offset=reader.offset,
            )  # fmt: skip
        reader.refill(source.read_at_least(max(pending, _CHUNK)), source.eof)


class _Buffer:
    """Text read but not yet consumed, with the line and byte offset of each position.

    Every position is tracked incrementally (no counting from the start of the buffer per
    value), which keeps many values on one long line linear.
    """

    def __init__(self) -> None:
        self.text = ""
        self.pos = 0  # the next character to consume
        self.line = 1  # line of text[pos]
        self.offset = 0  # UTF-8 byte offset of text[pos]
        self.text_line = 1  # line of text[0]
        self.text_offset = 0  # UTF-8 byte offset of text[0]
        self.ascii = True
        # Where a value might be cut by the end of what was read: the last line when it
        # has no newline yet (JSON strings cannot span lines), else nowhere.
        self.cut_from = 0

    def refill(self, more: str, eof: bool) -> None:
        """Drop the consumed text and append ``more``."""
        self.text = self.text[self.pos :] + more
        self.pos = 0
        self.text_line = self.line
        self.text_offset = self.offset
        self.ascii = self.text.isascii()
        if eof or self.text.endswith("\n"):
            self.cut_from = len(self.text)
        else:
            self.cut_from = self.text.rfind("\n") + 1

    def advance(self, end: int) -> None:
        text, pos = self.text, self.pos
        self.line += text.count("\n", pos, end)
        self.offset += end - pos if self.ascii else _utf8_len(text[pos:end])
        self.pos = end

    def skip_whitespace(self) -> None:
        self.advance(_WHITESPACE.match(self.text, self.pos).end())  # type: ignore[union-attr]

    def may_be_cut(self, exc: JsonFormatError) -> bool:
        """Whether a parse error may come from the end of the text read so far."""
        if exc.offset is None or exc.message.startswith(("in the JSON value", "JSON nested")):
            return False
        tail = min(self.cut_from, len(self.text.rstrip(" \t\r\n")))
        return exc.offset >= self.text_offset + _utf8_len(self.text[:tail])

    def number_may_go_on(self, value: Any, end: int) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            return False
        return end == len(self.text) or (end >= self.cut_from and self.text[end] not in " \t\r\n")
