"""Analog inputs: standard signals scaled to engineering units, with fault detection.

The signal ranges are those of DIN IEC 60381-1 (0/4-20 mA) and -2 (0-10 V). Faults follow
NAMUR NE 43 for 4-20 mA: below 3.6 mA the loop is open (or the sensor failed), above
21 mA it is shorted or overranged; between 3.6 and 3.8 mA and between 20.5 and 21 mA the
value is still computed but flagged ``out_of_range``. The same margins, scaled, apply to
0-20 mA (no open-circuit detection is possible there: 0 mA is a valid value) and to
0-10 V. A faulty signal gives no value (``None``) and the quality flag ``invalid``.

Raw sources: a simulated one (values as a function of time, for tests and the demo) and a
Linux IIO ADC channel file. Reading a source is the driver's job; this module is pure.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ._site_file import ANALOG_SIGNALS, AnalogInput, IioSource, SimulatedSource

__all__ = ["SIGNAL_LIMITS", "read_iio", "scale_signal", "simulated_value"]

# signal -> (fault below, flagged below, flagged above, fault above), electrical units
SIGNAL_LIMITS: dict[str, tuple[Decimal | None, Decimal, Decimal, Decimal]] = {
    "4-20mA": (Decimal("3.6"), Decimal("3.8"), Decimal("20.5"), Decimal("21")),
    "0-20mA": (Decimal("-0.5"), Decimal("0"), Decimal("20.5"), Decimal("21")),
    "0-10V": (Decimal("-0.25"), Decimal("0"), Decimal("10.25"), Decimal("10.5")),
}

_PLACES = Decimal("0.001")


def scale_signal(analog: AnalogInput, raw: Decimal) -> tuple[Decimal | None, tuple[str, ...]]:
    """``(value, quality)`` of a raw electrical value (mA or V) on ``analog``'s signal.

    >>> from gateway._site_file import AnalogInput, SimulatedSource
    >>> level = AnalogInput(name="tank", field="level", signal="4-20mA", low=Decimal(0),
    ...     high=Decimal(100), unit="%", quantity="level", interval=60.0, missed_cycles=3,
    ...     source=SimulatedSource(values=(Decimal(12),), step=60.0))
    >>> scale_signal(level, Decimal("12"))
    (Decimal('50.000'), ())
    >>> scale_signal(level, Decimal("20.7"))
    (Decimal('104.375'), ('out_of_range',))
    >>> scale_signal(level, Decimal("1.2"))
    (None, ('invalid',))
    """
    low, high, _unit = ANALOG_SIGNALS[analog.signal]
    fault_below, flag_below, flag_above, fault_above = SIGNAL_LIMITS[analog.signal]
    if (fault_below is not None and raw < fault_below) or raw > fault_above:
        return None, ("invalid",)
    value = analog.low + (raw - low) * (analog.high - analog.low) / (high - low)
    quality: tuple[str, ...] = ("out_of_range",) if not flag_below <= raw <= flag_above else ()
    return value.quantize(_PLACES), quality


def simulated_value(source: SimulatedSource, time: float) -> Decimal:
    """The simulated raw value at ``time`` (epoch seconds): a function of the time only."""
    return source.values[int(time // source.step) % len(source.values)]


def read_iio(source: IioSource) -> Decimal:
    """Read an IIO channel file once: the raw count times ``scale``.

    Raises:
        OSError: the file cannot be read.
        ValueError: it does not hold an integer.
    """
    text = Path(source.path).read_text(encoding="ascii", errors="replace").strip()
    return Decimal(int(text)) * source.scale
