"""Readings as JSON lines that ``exporters`` reads (its reading objects: ``meter_id``,
``quantity``, ``value``, ``value_type``, ``unit``, ``timestamp``, ``status``, ``metadata``).

A reading without a value (the device said "no value", or the read failed) becomes an
error object (``{"error": ...}``), which ``exporters`` reports on stderr and skips.
"""

from __future__ import annotations

from datetime import timezone
from decimal import Decimal
from typing import Any

from profiles import Reading

__all__ = ["reading_to_json"]


def _value(value: object) -> tuple[object, str]:
    if isinstance(value, bool):
        return int(value), "integer"
    if isinstance(value, Decimal):
        return format(value, "f"), "decimal"
    if isinstance(value, int):
        return value, "integer"
    if isinstance(value, float):
        return value, "float"
    return str(value), "string"


def reading_to_json(reading: Reading, *, meter_id: str, **metadata: str) -> dict[str, Any]:
    """One reading as a JSON object for ``exporters`` (or an error object when it has no
    value). ``meter_id`` names the device; ``metadata`` is added to the object's metadata
    (``point`` is always there).

    >>> from datetime import datetime, timezone
    >>> from profiles import PointReading
    >>> r = PointReading(point="energy_import", time=datetime(2026, 12, 3, tzinfo=timezone.utc),
    ...                  value=Decimal("1234.5"), unit="kWh", quantity="energy")
    >>> reading_to_json(r, meter_id="tcp://192.0.2.7:502/1")["value"]
    '1234.5'
    """
    if reading.value is None:
        flags = ", ".join(reading.quality) or "none"
        return {"error": f"{meter_id} {reading.point}: no value (quality {flags})",
                "device": meter_id, "point": reading.point,
                "quality": list(reading.quality)}
    value, value_type = _value(reading.value)
    when = reading.time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return {
        "meter_id": meter_id,
        "quantity": reading.quantity or reading.point,
        "value": value,
        "value_type": value_type,
        "unit": reading.unit,
        "timestamp": when,
        "status": list(reading.quality),
        "metadata": {"point": reading.point, **metadata},
    }
