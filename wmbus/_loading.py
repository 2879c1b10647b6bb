"""Bounded reading of untrusted text and JSON, shared by every ``wmbus`` loader.

Key files, format-signature caches, saved receiver state and rtl_433 lines all
come from outside. ``json.loads`` alone lets a hostile document raise
``RecursionError`` (deep nesting), ``ValueError`` (an integer of more than
4300 digits), ``UnicodeDecodeError`` or make huge floats; here each of these
becomes the caller's typed error naming the source and the offset, and the
document's size, nesting depth and integer length are capped.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, NoReturn

from ._errors import WMBusError

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_INT_DIGITS", "decode_text", "load_json",
           "read_text"]

MAX_FILE_BYTES = 16 * 1024 * 1024  # a key file of 100 000 meters is about 6 MB
MAX_DEPTH = 16  # every wmbus document is a list of objects at most: 16 is generous
MAX_INT_DIGITS = 40  # enough for any 128-bit number

# Strings (skipped whole, escapes included) and the brackets outside them. An unterminated
# string runs to the end of the text: the pattern never fails after a quote, so it never
# backtracks (with a required closing quote, '"\\' repeated made it quadratic).
_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


class _Refused(Exception):
    """A number the JSON parser must not build (raised from its hooks)."""


def _fail(error: type[WMBusError], source: str, message: str) -> NoReturn:
    raise error(f"{source}: {message}")


def decode_text(raw: bytes, *, source: str, error: type[WMBusError]) -> str:
    """UTF-8 text (a BOM is dropped) from ``raw``, or ``error`` naming the bad byte's offset."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _fail(error, source, f"byte {exc.start} (0x{raw[exc.start]:02x}) is not UTF-8 text")


def read_text(path: str | os.PathLike[str], *, error: type[WMBusError],
              max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the file at ``path``, at most ``max_bytes`` long."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        _fail(error, name, f"cannot read: {exc.strerror or exc}")
    if len(raw) > max_bytes:
        _fail(error, name, f"larger than {max_bytes} bytes")
    return decode_text(raw, source=name, error=error)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(text.lstrip('-'))} digits (at most "
                       f"{MAX_INT_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:20]}... is out of range")
    return value


def _constant(text: str) -> float:
    raise _Refused(f"{text} is not a JSON number")


def _depth(text: str) -> int:
    depth = deepest = 0
    for match in _NESTING.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def load_json(text: str | bytes, *, source: str, error: type[WMBusError],
              max_chars: int = MAX_FILE_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON ``text`` within the limits; anything else raises ``error(message)``.

    The message names ``source`` and where the fault is (line, column, offset)
    but never quotes the document (key files are secret).
    """
    if isinstance(text, (bytes, bytearray)):
        text = decode_text(bytes(text), source=source, error=error)
    if len(text) > max_chars:
        _fail(error, source, f"longer than {max_chars} characters")
    # Counting brackets is only needed when there are enough of them to be too deep.
    if text.count("[") + text.count("{") > max_depth and _depth(text) > max_depth:
        _fail(error, source, f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        _fail(error, source, f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}, "
                             f"offset {exc.pos})")
    except _Refused as exc:
        _fail(error, source, str(exc))
    except RecursionError:  # pragma: no cover - the depth check comes first
        _fail(error, source, "nested too deep")
