"""Readings -> object properties, as pure functions (no bacpypes3, no I/O).

A reading's quality flags become BACnet status flags and reliability: any flag
but ``estimated`` sets the fault flag and names a reliability; the present value
keeps the last good value when a reading carries none (BACnet has no "no value").
An Analog Input takes numbers (REAL), a Binary Input booleans (and the numbers 0 and
1), a CharacterString Value any value as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from profiles import Reading, UnitError, convert

from ._points import PointSpec
from ._units import unit_for

__all__ = ["RELIABILITY_BY_QUALITY", "ObjectState", "object_state"]

# Quality flag -> reliability, in order of precedence (the first flag present wins).
RELIABILITY_BY_QUALITY: tuple[tuple[str, str], ...] = (
    ("comm_failure", "communication-failure"),
    ("stale", "communication-failure"),
    ("invalid", "unreliable-other"),
    ("unverified", "unreliable-other"),
    ("out_of_range", "process-error"),
)
"""meterkit quality flag -> BACnet Reliability, first match wins; ``estimated`` is no fault."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectState:
    """What one reading makes of an object.

    ``present_value`` is a float (Analog Input), a bool (Binary Input: True is
    ``active``) or a text (CharacterString Value); None when the reading carries no
    usable value (the object keeps its last value). ``fault`` is the fault status flag;
    ``reliability`` the kebab-case BACnet Reliability.
    """

    time: datetime
    present_value: float | bool | str | None
    fault: bool
    reliability: str


def object_state(spec: PointSpec, reading: Reading) -> ObjectState:
    """Map ``reading`` onto the object of ``spec``.

    The value is converted from the reading's unit into the point's unit (exactly,
    :func:`profiles.convert`) and scaled to the BACnet unit; a value that cannot be
    (text, a unit of another dimension) leaves the present value alone and reports
    ``configuration-error``.

    >>> from datetime import datetime, timezone
    >>> from decimal import Decimal
    >>> from profiles import PointReading
    >>> from bacnet import PointSpec, object_state
    >>> spec = PointSpec(point="heat", object_type="analog-input", instance=1, unit="kWh")
    >>> reading = PointReading(point="heat", time=datetime(2026, 1, 1, tzinfo=timezone.utc),
    ...                        value=Decimal("1234500"), unit="Wh", quality=("stale",))
    >>> object_state(spec, reading)  # doctest: +ELLIPSIS
    ObjectState(time=..., present_value=1234.5, fault=True, reliability='communication-failure')
    """
    reliability = "no-fault-detected"
    for flag, meaning in RELIABILITY_BY_QUALITY:
        if flag in reading.quality:
            reliability = meaning
            break
    value = reading.value
    if value is None:
        return ObjectState(time=reading.time, present_value=None,
                           fault=reliability != "no-fault-detected", reliability=reliability)
    if spec.object_type == "characterstring-value":
        text = value if isinstance(value, str) else (
            str(value).lower() if isinstance(value, bool) else str(value))
        return ObjectState(time=reading.time, present_value=text,
                           fault=reliability != "no-fault-detected", reliability=reliability)
    if spec.object_type == "binary-input":
        if isinstance(value, bool) or (isinstance(value, (int, Decimal, float))
                                       and value in (0, 1)):
            return ObjectState(time=reading.time, present_value=bool(value),
                               fault=reliability != "no-fault-detected",
                               reliability=reliability)
        return ObjectState(time=reading.time, present_value=None, fault=True,
                           reliability="configuration-error")
    number: Decimal | float
    if isinstance(value, bool):
        number = Decimal(int(value))
    elif isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, float):
        number = value
    else:
        return ObjectState(time=reading.time, present_value=None, fault=True,
                           reliability="configuration-error")
    if reading.unit != spec.unit:
        try:
            exact = number if isinstance(number, Decimal) else Decimal(repr(number))
            number = convert(exact, reading.unit, spec.unit)
        except UnitError:
            return ObjectState(time=reading.time, present_value=None, fault=True,
                               reliability="configuration-error")
    scale = unit_for(spec.unit, spec.quantity).scale
    if scale != 1:
        number = (number if isinstance(number, Decimal) else Decimal(repr(number))) * scale
    return ObjectState(time=reading.time, present_value=float(number),
                       fault=reliability != "no-fault-detected", reliability=reliability)
