"""The formula language: exact decimals, no eval, errors naming the position."""

from __future__ import annotations

import contextlib
import pickle
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from profiles import Expression, ExpressionError, ProfileError, parse_expression


@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", "7"),
    ("(1 + 2) * 3", "9"),
    ("10 - 4 - 3", "3"),  # left associative
    ("12 / 4 / 3", "1"),
    ("-2 * -3", "6"),
    ("--2", "2"),
    ("+2", "2"),
    ("0.1 + 0.2", "0.3"),  # exact, not binary floating point
    ("1e3 / 8", "125"),
    ("min(3, 1, 2) + max(4, 5)", "6"),
    ("abs(-1.5)", "1.5"),
    ("round(2.5)", "2"),  # half to even
    ("round(2.675, 2)", "2.68"),
    ("floor(-1.5)", "-2"),
    ("bits(300, 8, 2)", "1"),
    ("bits(0x0, 0, 1)", None),  # hex literals are not part of the language
])
def test_evaluation(text: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ExpressionError):
            parse_expression(text).evaluate({})
        return
    assert parse_expression(text).evaluate({}) == Decimal(expected)


def test_names_are_collected_and_read() -> None:
    expression = parse_expression("total_m3 - target_m3 * k2")
    assert expression.names == frozenset({"total_m3", "target_m3", "k2"})
    assert expression.evaluate({"total_m3": Decimal("6.408"), "target_m3": Decimal("2"),
                                "k2": 3}) == Decimal("0.408")


@pytest.mark.parametrize(("text", "message", "position"), [
    ("1 +", "expression ends too early", 3),
    ("(1 + 2", "expected ')', found the end", 6),
    ("1 $ 2", "unexpected character '$'", 2),
    ("open(1)", "unknown function 'open'", 0),
    ("__import__(os)", "unknown function '__import__'", 0),
    ("abs(1, 2)", "abs() takes 1 argument(s), not 2", 0),
    ("min()", "min() takes at least 1 argument(s), not 0", 0),
    ("1 2", "unexpected '2'", 2),
    ("x.y", "unexpected character '.'", 1),
    (")", "unexpected ')'", 0),
    ("", "expression ends too early", 0),
    ("(" * 60 + "1" + ")" * 60, "nested deeper than 50", 51),
    ("1+" * 300 + "1", "longer than 500 characters", 500),
])
def test_syntax_errors_name_the_position(text: str, message: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert message in str(caught.value)
    assert caught.value.position == position
    assert f"(at position {position})" in str(caught.value)
    assert isinstance(caught.value, ProfileError)


@pytest.mark.parametrize(("text", "values", "message"), [
    ("a + 1", {}, "no value for 'a'"),
    ("1 / a", {"a": Decimal(0)}, "division by zero"),
    ("a", {"a": "text"}, "value of 'a' is not a number"),
    ("bits(a, 0, 1)", {"a": Decimal("1.5")}, "bits(): value must be a whole number"),
    ("a * a * a * a", {"a": Decimal("1e300000000")}, "number too large"),
])
def test_evaluation_errors(text: str, values: dict[str, object], message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_expression(text).evaluate(values)  # type: ignore[arg-type]


def test_expressions_are_plain_picklable_data() -> None:
    expression = parse_expression("max(a - b, 0) * 2")
    copy = pickle.loads(pickle.dumps(expression))
    assert copy == expression and isinstance(copy, Expression)
    assert copy.evaluate({"a": 5, "b": 2}) == 6


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_expression_error(text: str) -> None:
    try:
        expression = parse_expression(text)
    except ExpressionError:
        return
    with contextlib.suppress(ExpressionError):
        expression.evaluate(dict.fromkeys(expression.names, Decimal(2)))


@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6), st.integers(1, 10**6))
@example(1, 0, 3)  # 1 / 3 * 3 was 0.9999999999999999999999999999 with 28-digit decimals
@example(999_983, -5, 999_979)
def test_arithmetic_agrees_with_python_integers(a: int, b: int, c: int) -> None:
    value = parse_expression("(a + b) * c - a / c * c").evaluate({"a": a, "b": b, "c": c})
    assert value == (a + b) * c - a
