"""bacpypes3 values as plain JSON data (for the client's results and the command line)."""

from __future__ import annotations

from typing import Any

from ._stack import from_bacnet_datetime

from bacpypes3.apdu import ErrorRejectAbortNack  # isort: skip
from bacpypes3.basetypes import DateTime, ErrorType
from bacpypes3.constructeddata import Any as AnyValue
from bacpypes3.constructeddata import Choice, Sequence
from bacpypes3.primitivedata import (
    Atomic,
    BitString,
    Date,
    Enumerated,
    ObjectIdentifier,
    OctetString,
    Time,
)

__all__ = ["object_text", "plain"]

_MAX_DEPTH = 8


def object_text(object_id: Any) -> str:
    """``"analog-input,1"`` for an ObjectIdentifier."""
    return f"{object_id[0]},{object_id[1]}"


def plain(value: Any, depth: int = 0) -> Any:
    """A bacpypes3 value as JSON data: numbers, text, lists, dicts; enumerations by name,
    bit strings as lists of 0/1, errors as ``{"error": "class: code"}``."""
    if depth > _MAX_DEPTH:
        return str(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, ObjectIdentifier):
        return object_text(value)
    if isinstance(value, Enumerated):
        return str(value)
    if isinstance(value, BitString):
        return [int(bit) for bit in value]
    if isinstance(value, OctetString):
        return bytes(value).hex()
    if isinstance(value, (Date, Time)):
        return list(value)
    if isinstance(value, DateTime):
        when = from_bacnet_datetime(value)
        return when.isoformat() if when else [list(value.date), list(value.time)]
    if isinstance(value, ErrorType):
        return {"error": f"{value.errorClass}: {value.errorCode}"}
    if isinstance(value, ErrorRejectAbortNack):
        return {"error": str(value)}
    # bacpypes3's Real, Unsigned, CharacterString... as the plain types they extend
    # (readings made of them would not be plain, picklable data)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(item, depth + 1) for item in value]
    if isinstance(value, Atomic):
        return str(value)
    if isinstance(value, AnyValue):
        return "(any)"
    if isinstance(value, (Sequence, Choice)):
        fields = {}
        for name in getattr(value, "_order", ()):
            item = getattr(value, name, None)
            if item is not None:
                fields[name] = plain(item, depth + 1)
        return fields
    return str(value)
