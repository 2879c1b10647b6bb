"""Channel configuration and the conversion of seconds to integer nanoseconds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from fractions import Fraction

from ._errors import ConfigError, S0Error
from ._parsing import brief

__all__ = ["ChannelConfig", "rate_unit", "to_ns"]

_NS_PER_S = 1_000_000_000
# Times beyond about 31,700 years are nonsense for a pulse input; refusing them also keeps the
# cost of converting a huge Decimal or Fraction bounded.
_MAX_ABS_SECONDS = 10**12
_FLOAT_MAX_ABS = float(_MAX_ABS_SECONDS)
_NS_CONTEXT = Context(prec=80, rounding=ROUND_HALF_EVEN)

_RATE_UNITS = {"Wh": "W", "kWh": "kW", "MWh": "MW", "GWh": "GW", "varh": "var", "kvarh": "kvar"}


def rate_unit(unit: str) -> str:
    """The unit of a rate of ``unit`` per hour: ``kWh`` -> ``kW``, ``m3`` -> ``m3/h``."""
    return _RATE_UNITS.get(unit, f"{unit}/h")


def to_ns(value: object, field: str, error: type[S0Error] = ConfigError) -> int:
    """Seconds (int, float, Decimal or Fraction) as integer nanoseconds, rounded half-even.

    Integer nanoseconds make the threshold comparisons exact: an edge 0.030 s after another
    has lasted exactly ``min_on = 0.030``. Floats are taken at their shortest decimal value
    only when they round-trip, so pass Decimal (or str to the CLI) when exactness matters.

    Raises:
        error: (``ConfigError`` by default) when ``value`` is not a finite number of seconds
            within +-10**12 s.
    """
    if type(value) is float:
        if not -_FLOAT_MAX_ABS <= value <= _FLOAT_MAX_ABS:  # also catches NaN
            raise error(
                f"{_show(value)} is not a finite number of seconds within 1e12 s", field=field
            )
        return round(value * 1e9)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, Fraction)):
        raise error(f"{_show(value)} is not a number of seconds", field=field)
    if isinstance(value, int):
        if -_MAX_ABS_SECONDS <= value <= _MAX_ABS_SECONDS:
            return value * _NS_PER_S
        raise error(f"{_show(value)} s is out of range (more than 1e12 s)", field=field)
    if isinstance(value, Decimal) and not value.is_finite():
        raise error(f"{_show(value)} is not a finite number of seconds", field=field)
    if isinstance(value, float) and not math.isfinite(value):
        raise error(f"{_show(value)} is not a finite number of seconds", field=field)
    if not -_MAX_ABS_SECONDS <= value <= _MAX_ABS_SECONDS:
        raise error(f"{_show(value)} s is out of range (more than 1e12 s)", field=field)
    if isinstance(value, Decimal):
        # exact: scaleb only moves the exponent; the context is wide enough for 1e21 ns
        return int(value.scaleb(9, _NS_CONTEXT).to_integral_value(context=_NS_CONTEXT))
    return round(Fraction(value) * _NS_PER_S)


def _show(value: object) -> str:
    return brief(value)


def _decimal(value: object, field: str, *, positive: bool, optional: bool = False) -> Decimal:
    if isinstance(value, bool):
        raise ConfigError(f"{_show(value)} is not a number", field=field)
    try:
        if isinstance(value, float):
            number = Decimal(repr(value))  # the shortest decimal that the user wrote
        elif isinstance(value, (Decimal, int, str)):
            number = Decimal(value.strip() if isinstance(value, str) else value)
        else:
            raise ConfigError(
                f"{_show(value)} is not a number (use Decimal, int or str)", field=field
            )
    except InvalidOperation:
        raise ConfigError(f"{_show(value)} is not a decimal number", field=field) from None
    if not number.is_finite():
        raise ConfigError(f"{_show(value)} is not a finite number", field=field)
    if positive and number <= 0:
        raise ConfigError(f"{_show(value)} must be greater than zero", field=field)
    if abs(number.adjusted()) > 30:
        raise ConfigError(f"{_show(value)} is out of range (magnitude beyond 1e30)", field=field)
    return number


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelConfig:
    """How one S0 input is filtered and scaled.

    Args:
        imp_per_unit: the meter's impulse constant, pulses per ``unit`` (imp/kWh, imp/m3, ...).
            Decimal, int or str (a float is taken at its shortest decimal spelling).
        unit: the unit of the total (``kWh``, ``m3``, ...); power/flow is in this unit per
            hour (``kW``, ``m3/h``).
        offset: added to the counted energy so that the total matches the meter's register
            (>= 0, and below ``rollover`` if that is set).
        debounce: seconds a level must be stable before it counts (EN 62053-31 contacts bounce).
        min_on: shortest high phase, in seconds, that is a pulse (the standard's pulse is
            at least 30 ms long).
        min_off: shortest low phase, in seconds, before a pulse.
        power_timeout: seconds without a pulse after which power/flow is zero.
        rollover: the register's modulus in ``unit`` (e.g. ``100000`` for a 5-digit kWh
            register); the total wraps to zero there. ``None``: no roll-over.
        decimals: decimal places of the total (rounded down, as a register shows completed
            increments). ``None``: the resolution of one pulse (``1/imp_per_unit``) and of
            ``offset``; 9 places when ``1/imp_per_unit`` has no finite decimal expansion.
        initial_level: the level of the input before the first edge (0: idle). A high phase
            whose start was not observed is rejected with ``START_UNKNOWN``.

    All values are checked when the configuration is built; a bad one raises ``ConfigError``
    naming the field. Durations keep the type given; Decimal-valued fields become Decimal.
    """

    imp_per_unit: Decimal | int | str | float
    unit: str = "kWh"
    offset: Decimal | int | str | float = Decimal(0)
    debounce: float | int | Decimal | Fraction = 0.010
    min_on: float | int | Decimal | Fraction = 0.030
    min_off: float | int | Decimal | Fraction = 0.030
    power_timeout: float | int | Decimal | Fraction = 300.0
    rollover: Decimal | int | str | float | None = None
    decimals: int | None = None
    initial_level: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "imp_per_unit", _decimal(self.imp_per_unit, "imp_per_unit", positive=True)
        )
        offset = _decimal(self.offset, "offset", positive=False)
        if offset < 0:
            raise ConfigError(f"{_show(self.offset)} must not be negative", field="offset")
        object.__setattr__(self, "offset", offset)
        if self.rollover is not None:
            rollover = _decimal(self.rollover, "rollover", positive=True)
            if offset >= rollover:
                raise ConfigError(
                    f"{_show(self.offset)} must be below the roll-over value {rollover}",
                    field="offset",
                )
            object.__setattr__(self, "rollover", rollover)
        if not isinstance(self.unit, str) or not self.unit or not self.unit.isprintable():
            raise ConfigError(f"{_show(self.unit)} is not a unit name", field="unit")
        for name in ("debounce", "min_on", "min_off"):
            if to_ns(getattr(self, name), name) < 0:
                raise ConfigError(f"{_show(getattr(self, name))} must not be negative", field=name)
        if to_ns(self.power_timeout, "power_timeout") <= 0:
            raise ConfigError(
                f"{_show(self.power_timeout)} must be greater than zero", field="power_timeout"
            )
        if self.decimals is not None and (
            isinstance(self.decimals, bool)
            or not isinstance(self.decimals, int)
            or not 0 <= self.decimals <= 30
        ):
            raise ConfigError(f"{_show(self.decimals)} is not 0..30", field="decimals")
        if type(self.initial_level) is not int or self.initial_level not in (0, 1):
            raise ConfigError(f"{_show(self.initial_level)} is not 0 or 1", field="initial_level")

    @property
    def power_unit(self) -> str:
        """The unit of power/flow: ``unit`` per hour (``kW`` for ``kWh``, ``m3/h`` for ``m3``)."""
        return rate_unit(self.unit)

    def to_dict(self) -> dict[str, object]:
        """The configuration as JSON-compatible values (numbers as decimal strings)."""
        return {
            "imp_per_unit": str(self.imp_per_unit),
            "unit": self.unit,
            "offset": str(self.offset),
            "debounce": _seconds_text(self.debounce),
            "min_on": _seconds_text(self.min_on),
            "min_off": _seconds_text(self.min_off),
            "power_timeout": _seconds_text(self.power_timeout),
            "rollover": None if self.rollover is None else str(self.rollover),
            "decimals": self.decimals,
            "initial_level": self.initial_level,
        }


def _seconds_text(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Fraction):
        # exact to the nanosecond, which is all the counter uses
        return str(Decimal(to_ns(value, "seconds")).scaleb(-9).normalize())
    return str(value)
