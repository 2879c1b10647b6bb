"""Derived values: formulas over points, operating hours, switching cycles, consumption.

Sans-IO: :meth:`DerivedEngine.process` takes a batch of readings and returns the derived
readings it causes, each derived point at most once per batch (a formula whose two inputs
arrive in one batch is computed once, with both new values). Derived values may read
other derived values; the site file ordered them so that each comes after its sources
(cycles were refused when the file was loaded).

- ``formula``: ``profiles.parse_expression`` over named inputs, each converted to its
  declared unit first (``profiles.convert``); computed when an input changed and every
  input has a value. A failed evaluation (division by zero) gives no value and ``invalid``.
- ``operating_hours``: hours during which the input was above ``threshold`` (``true`` for a
  binary input), integrated between samples: the state holding since the previous sample.
- ``switching_cycles``: the number of rises of the input above ``threshold``.
- ``consumption``: the difference of a counter between two successive readings; a
  decrease (meter exchange, roll-over) gives no value and ``invalid``.

Quality: the union of the inputs' flags. The state (latest inputs, accumulators) is plain
JSON data (:meth:`DerivedEngine.save`) so that a restarted gateway continues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import profiles
from profiles import PointReading

from ._errors import StateFileError
from ._site_file import DerivedValue

__all__ = ["DerivedEngine", "numeric"]

_HOURS = Decimal("0.0001")


def numeric(value: object) -> Decimal | None:
    """A reading's value as a Decimal (booleans as 0/1), or None when it is no number."""
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        number = Decimal(repr(value))
        return number if number.is_finite() else None
    return None


def _merge(qualities: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    out: list[str] = []
    for quality in qualities:
        out.extend(flag for flag in quality if flag not in out)
    return tuple(out)


class DerivedEngine:
    """Computes the derived values of a site from the readings it is given."""

    def __init__(self, values: Sequence[DerivedValue],
                 state: Mapping[str, Any] | None = None) -> None:
        self.values = tuple(values)
        self._sources = {item.point for value in self.values for item in value.inputs.values()}
        # latest input per point: (value, unit, quality)
        self._latest: dict[str, tuple[Decimal, str, tuple[str, ...]]] = {}
        # per derived point: accumulator state (see the kinds)
        self._acc: dict[str, dict[str, Any]] = {}
        if state is not None:
            self._load(state)

    def process(self, readings: Sequence[PointReading]) -> list[PointReading]:
        """The derived readings caused by ``readings`` (in the site's derived order)."""
        changed: dict[str, datetime] = {}
        events: dict[str, list[PointReading]] = {}
        for reading in readings:
            self._note(reading, changed, events)
        out: list[PointReading] = []
        for value in self.values:
            touched = [changed[item.point] for item in value.inputs.values()
                       if item.point in changed]
            if not touched:
                continue
            result = self._compute(value, max(touched), events)
            if result is not None:
                out.append(result)
                self._note(result, changed, events)
        return out

    def _note(self, reading: PointReading, changed: dict[str, datetime],
              events: dict[str, list[PointReading]]) -> None:
        if reading.point not in self._sources:
            return
        number = numeric(reading.value)
        if number is None:
            return
        self._latest[reading.point] = (number, reading.unit, reading.quality)
        events.setdefault(reading.point, []).append(reading)
        previous = changed.get(reading.point)
        changed[reading.point] = reading.time if previous is None else max(previous,
                                                                           reading.time)

    def _compute(self, value: DerivedValue, time: datetime,
                 events: dict[str, list[PointReading]]) -> PointReading | None:
        if value.kind == "formula":
            return self._formula(value, time)
        source = value.inputs["input"].point
        ordered = sorted(events.get(source, ()), key=lambda item: item.time)
        if value.kind == "consumption":  # the counter's change over the whole batch
            last = ordered[-1]
            number = numeric(last.value)
            assert number is not None  # _note kept numbers only
            return self._consumption(value, last, number)
        result: PointReading | None = None
        for reading in ordered:  # each sample switches the state in turn
            number = numeric(reading.value)
            assert number is not None
            result = self._switching(value, reading, number)
        return result

    def _formula(self, value: DerivedValue, time: datetime) -> PointReading | None:
        assert value.expression is not None
        numbers: dict[str, Decimal] = {}
        qualities = []
        for alias, item in value.inputs.items():
            latest = self._latest.get(item.point)
            if latest is None:
                return None
            number, unit, quality = latest
            qualities.append(quality)
            if item.unit is not None and unit != item.unit:
                try:
                    number = profiles.convert(number, unit, item.unit)
                except profiles.UnitError:
                    return PointReading(point=value.point, time=time, value=None,
                                        unit=value.unit, quantity=value.quantity,
                                        quality=_merge([*qualities, ("invalid",)]))
            numbers[alias] = number
        try:
            result: Decimal | None = value.expression.evaluate(numbers)
            quality = _merge(qualities)
        except profiles.ExpressionError:
            result, quality = None, _merge([*qualities, ("invalid",)])
        return PointReading(point=value.point, time=time, value=result, unit=value.unit,
                            quantity=value.quantity, quality=quality)

    def _consumption(self, value: DerivedValue, reading: PointReading,
                     number: Decimal) -> PointReading | None:
        acc = self._acc.setdefault(value.point, {})
        previous = acc.get("previous")
        acc["previous"] = str(number)
        if previous is None:
            return None
        delta = number - Decimal(previous)
        unit = value.unit or reading.unit
        if value.unit and reading.unit != value.unit:
            try:
                delta = profiles.convert(delta, reading.unit, value.unit)
            except profiles.UnitError:
                return PointReading(point=value.point, time=reading.time, value=None,
                                    unit=unit, quantity=value.quantity,
                                    quality=_merge([reading.quality, ("invalid",)]))
        if delta < 0:
            return PointReading(point=value.point, time=reading.time, value=None, unit=unit,
                                quantity=value.quantity,
                                quality=_merge([reading.quality, ("invalid",)]))
        return PointReading(point=value.point, time=reading.time, value=delta, unit=unit,
                            quantity=value.quantity, quality=reading.quality)

    def _switching(self, value: DerivedValue, reading: PointReading,
                   number: Decimal) -> PointReading:
        assert value.threshold is not None
        acc = self._acc.setdefault(value.point, {"on": None, "since": None, "seconds": "0",
                                                 "cycles": 0})
        on = number > value.threshold
        stamp = reading.time.timestamp()
        if acc["on"] and acc["since"] is not None and stamp > acc["since"]:
            elapsed = Decimal(repr(stamp)) - Decimal(repr(acc["since"]))
            acc["seconds"] = str(Decimal(acc["seconds"]) + elapsed)
        if on and acc["on"] is False:
            acc["cycles"] += 1
        acc["on"] = on
        acc["since"] = stamp
        result: Decimal | int
        if value.kind == "operating_hours":
            result = (Decimal(acc["seconds"]) / 3600).quantize(_HOURS)
        else:
            result = int(acc["cycles"])
        return PointReading(point=value.point, time=reading.time, value=result,
                            unit=value.unit, quantity=value.quantity, quality=reading.quality)

    # -- state -----------------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        """The engine's state as JSON data (:class:`DerivedEngine` takes it back)."""
        return {
            "latest": {point: [str(number), unit, list(quality)]
                       for point, (number, unit, quality) in self._latest.items()},
            "accumulators": {point: dict(acc) for point, acc in self._acc.items()},
        }

    def _load(self, state: Mapping[str, Any]) -> None:
        try:
            for point, (number, unit, quality) in dict(state.get("latest", {})).items():
                if point in self._sources:
                    self._latest[point] = (Decimal(number), str(unit),
                                           tuple(str(flag) for flag in quality))
            known = {value.point for value in self.values}
            for point, acc in dict(state.get("accumulators", {})).items():
                if point in known:
                    self._acc[point] = dict(acc)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise StateFileError(f"derived values: unreadable saved state ({exc})") from None
