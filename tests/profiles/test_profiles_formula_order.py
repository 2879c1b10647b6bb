"""Computed fields evaluated in the order worked out once per profile
(``profiles._engine._formula_plan``) must give what walking the fields in file order gives
(the reference below: each field after the computed fields it reads, up to its first
input missing): the same values, the problems in the same order, the same error, for any
structure of formulas and any inputs missing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profiles import ExpressionError, FieldValue, MeterProfile, ProfileError
from profiles._engine import (
    _date,
    _exact,
    _formula_plan,
    _formulas,
    _number,
)
from profiles._expressions import program
from profiles._meter import FieldRule, read_meter_profile

_RECORDS = {"a": "volume", "b": "energy", "c": "counter"}


def _walk(profile: MeterProfile, values: dict[str, FieldValue]) -> list[str]:
    """The fields computed by walking them in file order (as _formulas did per telegram
    before its order was kept per profile)."""
    computed = profile.computed_fields
    done: set[str] = set()
    problems: list[str] = []
    numbers: dict[str, Decimal | int] = {}

    def evaluate(rule: FieldRule) -> None:
        done.add(rule.name)
        for name in rule.inputs:
            if name in computed and name not in done:
                evaluate(computed[name])
            if name not in numbers:
                number = _number(values[name]) if name in values else None
                if number is None:
                    return
                numbers[name] = number
        try:
            if rule.date:
                text = _date(tuple((part, program(formula)) for part, formula in rule.date),
                             numbers)
                if text is not None:
                    values[rule.name] = text
                return
            assert rule.formula is not None
            result = rule.formula.evaluate(numbers)
        except ExpressionError as exc:
            raise ProfileError(f"field {rule.name}: {exc.message}") from None
        value: Decimal | int | str = result
        if rule.lookup is not None:
            looked = dict(rule.lookup).get(result)
            if looked is None:
                problems.append(f"{rule.table}: {rule.name}: {result} is not in "
                                f"lookups.{rule.lookup_name}")
                return
            value = looked
        if rule.scale is not None and not isinstance(value, str):
            value = value * rule.scale
        if not isinstance(value, (str, float)):
            value = _exact(value)
        values[rule.name] = value

    for rule in computed.values():
        if rule.name not in done:
            evaluate(rule)
    return problems


@st.composite
def _profiles(draw: st.DrawFn) -> MeterProfile:
    """A profile of three record fields and up to six computed ones reading them and each
    other (no cycles: a field reads only those of lower rank), in any file order: sums,
    quotients that can divide by zero, lookups that can miss, scales and dates."""
    count = draw(st.integers(2, 6))
    ranks = draw(st.permutations(range(count)))
    fields: list[dict[str, Any]] = [{"name": name, "quantity": quantity}
                                    for name, quantity in _RECORDS.items()]
    for index in draw(st.permutations(range(count))):
        below = [f"f{other}" for other in range(count) if ranks[other] < ranks[index]]
        inputs = draw(st.lists(st.sampled_from([*_RECORDS, *below]), min_size=1, max_size=3,
                               unique=True))
        field: dict[str, Any] = {"name": f"f{index}"}
        kind = draw(st.sampled_from(["sum", "quotient", "lookup", "scale", "date"]))
        if kind == "date":
            field["date"] = {"year": f"2000 + {inputs[0]}", "month": inputs[-1], "day": "1"}
        else:
            field["formula"] = " + ".join(inputs)
            if kind == "quotient":
                field["formula"] = f"({field['formula']}) / ({inputs[0]} - 1)"
            elif kind == "lookup":
                field["lookup"] = "codes"
            elif kind == "scale":
                field["scale"] = "0.5"
        fields.append(field)
    return read_meter_profile({
        "kind": "meter", "profile": {"name": "meter", "description": "x"},
        "detect": {"manufacturer": "ABC"},
        "lookups": {"codes": {"1": "one", "2": 2, "3": 1.5, "4": 4}},
        "fields": fields}, "meter.toml")


# Inputs missing often: a missing input is what can change the order of a walk.
_VALUES = st.sampled_from([None, None, 0, 1, 2, 3, Decimal("1.5"), "text"])


@given(_profiles(), st.fixed_dictionaries({name: _VALUES for name in _RECORDS}))
def test_the_kept_order_computes_what_the_walk_in_file_order_computes(
        profile: MeterProfile, drawn: dict[str, FieldValue | None]) -> None:
    values = {name: value for name, value in drawn.items() if value is not None}
    walked = dict(values)
    try:
        expected: list[str] | str = _walk(profile, walked)
    except ProfileError as error:
        expected = error.message.split(": ", 1)[0]  # the field that failed
    found = dict(values)
    try:
        problems: list[str] | str = _formulas(profile, found, None, None)
    except ProfileError as error:
        problems = f"field {error.message.split(', field ')[1].split(',')[0]}"
    assert problems == expected
    if isinstance(expected, list):
        assert list(found.items()) == list(walked.items())


LATE: dict[str, object] = {
    "kind": "meter", "profile": {"name": "meter", "description": "x"},
    "detect": {"manufacturer": "ABC"}, "lookups": {"codes": {"1": "one"}},
    "fields": [{"name": "a", "quantity": "volume"}, {"name": "c", "quantity": "counter"},
               {"name": "first", "formula": "a + second"},  # second read after a
               {"name": "between", "formula": "c", "lookup": "codes"},
               {"name": "second", "formula": "c + 1", "lookup": "codes"}]}


@pytest.mark.parametrize(("values", "problems"), [
    ({"a": 1, "c": 2}, ["fields[4]: second: 3 is not in lookups.codes",
                        "fields[3]: between: 2 is not in lookups.codes"]),
    ({"c": 2}, ["fields[3]: between: 2 is not in lookups.codes",  # a missing: second later
                "fields[4]: second: 3 is not in lookups.codes"]),
])
def test_a_computed_field_read_after_a_missing_input_is_computed_in_file_order(
        values: dict[str, FieldValue], problems: list[str]) -> None:
    profile = read_meter_profile(LATE, "meter.toml")
    assert _formula_plan(profile).order is None  # no order fits every telegram
    assert _formulas(profile, values, None, None) == problems
