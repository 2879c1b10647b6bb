"""A reading as plain JSON data (``meterkit history --json``, the web page)."""

from __future__ import annotations

import math
from datetime import timezone
from decimal import Decimal
from typing import Any

from profiles import Reading

__all__ = ["reading_to_dict"]

_VALUE_TYPES = {Decimal: "decimal", int: "int", float: "float", str: "str", bool: "bool",
                type(None): "none"}


def reading_to_dict(reading: Reading) -> dict[str, Any]:
    """``point``, ``time`` (ISO 8601 UTC with ``Z``), ``value``, ``value_type``, ``unit``,
    ``quantity``, ``quality`` (a list) of a reading, for :func:`json.dumps`.

    A Decimal value becomes its exact text (``value_type`` ``"decimal"``), a float that
    is not finite its text (``"nan"``, ``"inf"``), so the JSON stays standard.
    """
    value = reading.value
    value_type = _VALUE_TYPES.get(type(value), type(value).__name__)
    if isinstance(value, Decimal) or (isinstance(value, float) and not math.isfinite(value)):
        value = str(value)
    time = reading.time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return {"point": reading.point, "time": time, "value": value, "value_type": value_type,
            "unit": reading.unit, "quantity": reading.quantity,
            "quality": list(reading.quality)}
