"""Analog inputs: standard signals scaled to engineering units, with fault detection.

The signal ranges are those of DIN IEC 60381-1 (0/4-20 mA) and -2 (0-10 V). Faults follow
NAMUR NE 43 for 4-20 mA: below 3.6 mA the loop is open (or the sensor failed), above
21 mA it is shorted or overranged; between 3.6 and 3.8 mA and between 20.5 and 21 mA the
value is still computed but flagged ``out_of_range``. The same margins, scaled, apply to
0-20 mA (no open-circuit detection is possible there: 0 mA is a valid value) and to
0-10 V. A faulty signal gives no value (``None``) and the quality flag ``invalid``.

Raw sources: a simulated one (values as a function of time, for tests and the demo), a
Linux IIO ADC channel file and a Modbus I/O module register. Reading a source is the
driver's job (:mod:`gateway._analog_driver`); the conversions here are pure, except
:func:`read_iio`, which reads the channel's sysfs files.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from ._site_file import (
    ANALOG_SIGNALS,
    AnalogInput,
    IioSource,
    ModbusRegisterSource,
    SimulatedSource,
)

__all__ = ["SIGNAL_LIMITS", "read_iio", "register_signal", "scale_signal", "simulated_value"]

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


def _iio_attribute(raw_path: Path, attribute: str) -> Path | None:
    """The channel's own ``<channel>_<attribute>`` file, else the shared one of its type
    (``in_voltage_scale`` for ``in_voltage0_raw``), else ``None``."""
    channel = raw_path.name.removesuffix("_raw")
    own = raw_path.with_name(f"{channel}_{attribute}")
    if own.is_file():
        return own
    shared = raw_path.with_name(f"{re.sub(r'[0-9]+(-[a-z]+[0-9]+)?$', '', channel)}_{attribute}")
    return shared if shared.is_file() else None


def _read_number(path: Path) -> Decimal:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        number = Decimal(text)
    except ArithmeticError:
        raise ValueError(f"{path}: {text[:40]!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{path}: {text[:40]!r} is not a finite number")
    return number


def read_iio(source: IioSource, signal: str) -> Decimal:
    """Read an IIO channel once: the signal in mA or V (see :class:`IioSource`).

    With the source's ``scale``: the raw count times it. Otherwise the sysfs convention
    (Documentation/ABI/testing/sysfs-bus-iio): ``(raw + offset) * scale`` is in mV, from
    the ``_offset`` (default 0) and ``_scale`` files beside the ``_raw`` file; a voltage
    signal is that in V, a current signal that divided by the shunt in ohms (mA).

    Raises:
        OSError: a file cannot be read (or the ``_scale`` file is missing).
        ValueError: a file does not hold a number (the raw count: an integer).
    """
    raw = _read_number(source.path)
    if raw != raw.to_integral_value():
        raise ValueError(f"{source.path}: {raw} is not a raw count")
    if source.scale is not None:
        return raw * source.scale
    scale_file = _iio_attribute(source.path, "scale")
    if scale_file is None:
        raise FileNotFoundError(f"{source.path}: no _scale file beside it (give scale = "
                                "... in the site file)")
    offset_file = _iio_attribute(source.path, "offset")
    offset = _read_number(offset_file) if offset_file is not None else Decimal(0)
    millivolts = (raw + offset) * _read_number(scale_file)
    if ANALOG_SIGNALS[signal][2] == "V":
        return millivolts / 1000
    assert source.shunt_ohm is not None  # the site file requires it for current signals
    return millivolts / source.shunt_ohm


def register_signal(source: ModbusRegisterSource, signal: str,
                    value: Decimal | int | float) -> Decimal | None:
    """The signal (mA or V) of a decoded register value; ``None`` for a NaN or infinity.

    Without ``raw_range`` the decoded (and codec-scaled) value is the signal; with it,
    counts map linearly from ``raw_range`` onto the signal's range.

    >>> from modbus import RegisterPoint
    >>> module = ModbusRegisterSource(url="tcp://127.0.0.1:502", unit_id=1, timeout=1.0,
    ...     point=RegisterPoint(name="raw", table="input", address=0, type="int16"),
    ...     raw_range=(Decimal(0), Decimal(27648)))
    >>> register_signal(module, "4-20mA", 13824)
    Decimal('12')
    >>> register_signal(module, "4-20mA", -4864)  # a Siemens-style underflow: open loop
    Decimal('1.185185185185185185185185185')
    """
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return None
    if source.raw_range is None:
        return number
    raw_low, raw_high = source.raw_range
    low, high, _unit = ANALOG_SIGNALS[signal]
    return low + (number - raw_low) * (high - low) / (raw_high - raw_low)
