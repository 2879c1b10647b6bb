"""The formula language: exact decimals, no eval, errors naming the position."""

from __future__ import annotations

import contextlib
import decimal
import pickle
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from profiles import Expression, ExpressionError, ProfileError, parse_expression
from profiles._engine import _exact
from profiles._expressions import (
    _number,
    is_ready,
    program,
    ready_result,
    result_decimal,
    result_number,
)


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


# --- the evaluator against a plain reference ---------------------------------------------------
# Each strategy below draws a formula's text together with its value, worked out here with
# fractions by the language's rules (None where evaluating must fail: a division by zero, a
# number beyond 4096 bits, ...); the evaluator must give exactly that value, rounded once.

_BITS = 4096  # the size rule of the module docstring: numerator and denominator


def _sized(value: Fraction | None) -> Fraction | None:
    if value is None or max(value.numerator.bit_length(),
                            value.denominator.bit_length()) > _BITS:
        return None
    return value


def _rounded_once(value: Fraction) -> Decimal:
    """The one rounding rule: exact where the expansion is finite, else 28 digits."""
    for places in range(0, 5000):
        scaled = value * 10**places
        if scaled.denominator == 1:
            return Decimal(f"{scaled.numerator}E-{places}")
        if places > 2500:
            break
    return decimal.Context(prec=28).divide(Decimal(value.numerator), Decimal(value.denominator))


Drawn = tuple[str, Fraction | None]
_LITERALS = st.one_of(
    st.integers(0, 10**9).map(str),
    st.sampled_from(["0", "0.5", "2.50", "0.001", "1e3", "7", "3", "0.1", "1e-700", "1e650",
                     "123456789012345678901234567890.5", "5e-1199", "1e600", "0.000"]),
    st.decimals(min_value=0, max_value=Decimal("1e12"), places=6, allow_nan=False))


def _literal(text: object) -> Drawn:
    written = str(text)
    return written, Fraction(Decimal(written))


def _combined(children: st.SearchStrategy[Drawn]) -> st.SearchStrategy[Drawn]:
    def arithmetic(drawn: tuple[Drawn, str, Drawn]) -> Drawn:
        (left, a), operator, (right, b) = drawn
        text = f"({left} {operator} {right})"
        if a is None or b is None:
            return text, None
        if operator == "/":
            return text, None if b == 0 else _sized(a / b)
        return text, _sized({"+": a + b, "-": a - b, "*": a * b}[operator])

    def comparison(drawn: tuple[Drawn, str, Drawn]) -> Drawn:
        (left, a), operator, (right, b) = drawn
        text = f"({left} {operator} {right})"
        if a is None or b is None:
            return text, None
        truth = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b,
                 "!=": a != b}[operator]
        return text, Fraction(int(truth))

    def function(drawn: tuple[str, list[Drawn]]) -> Drawn:
        name, arguments = drawn
        text = f"{name}({', '.join(text for text, _ in arguments)})"
        values = [value for _, value in arguments]
        if None in values:
            return text, None
        return text, min(values) if name == "min" else max(values)  # type: ignore[type-var]

    def one(drawn: tuple[str, Drawn]) -> Drawn:
        name, (inner, a) = drawn
        text = f"{name}({inner})" if name != "-" else f"-{inner}"
        if a is None:
            return text, None
        if name == "-":
            return text, -a
        if name == "abs":
            return text, abs(a)
        return text, Fraction(a.numerator // a.denominator)  # floor

    def rounded(drawn: tuple[Drawn, int]) -> Drawn:
        (inner, a), digits = drawn
        text = f"round({inner}, {digits})"
        return text, None if a is None else Fraction(round(a, digits))  # half to even

    def power(drawn: tuple[Drawn, int]) -> Drawn:
        (inner, a), exponent = drawn
        text = f"pow({inner}, {exponent})"
        if a is None or (a == 0 and exponent < 0):
            return text, None
        return text, _sized(a**exponent)

    def choice(drawn: tuple[Drawn, Drawn, Drawn]) -> Drawn:
        (condition, c), (then, a), (otherwise, b) = drawn
        text = f"if({condition}, {then}, {otherwise})"
        return text, None if c is None else (a if c else b)

    def picked(drawn: tuple[Drawn, list[Drawn]]) -> Drawn:
        (index, i), choices = drawn
        text = f"pick({index}, {', '.join(text for text, _ in choices)})"
        if i is None or i.denominator != 1 or not 0 <= i < len(choices):
            return text, None
        return text, choices[int(i)][1]  # the others are not evaluated

    def bits(drawn: tuple[Drawn, int, int]) -> Drawn:
        (inner, a), first, count = drawn
        text = f"bits({inner}, {first}, {count})"
        if a is None or a.denominator != 1 or a < 0:
            return text, None
        return text, Fraction((a.numerator >> first) % 2**count)

    operators = st.sampled_from(["+", "-", "*", "/"])
    return st.one_of(
        st.tuples(children, operators, children).map(arithmetic),
        st.tuples(children, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
                  children).map(comparison),
        st.tuples(st.sampled_from(["min", "max"]),
                  st.lists(children, min_size=1, max_size=3)).map(function),
        st.tuples(st.sampled_from(["-", "abs", "floor"]), children).map(one),
        st.tuples(children, st.integers(-5, 5)).map(rounded),
        st.tuples(children, st.integers(-4, 4)).map(power),
        st.tuples(children, children, children).map(choice),
        # A literal index is always in range (one out of range is refused when parsed,
        # even in a branch not taken: tested on its own); a computed one may be anything.
        st.tuples(st.one_of(st.integers(0, 2).map(lambda i: (f"({i})", Fraction(i))),
                            children.map(lambda drawn: (f"({drawn[0]} + 0)", drawn[1]))),
                  st.lists(children, min_size=3, max_size=3)).map(picked),
        st.tuples(children, st.integers(0, 12), st.integers(1, 12)).map(bits))


_VALUES = st.one_of(st.integers(-10**20, 10**20), st.integers(-2**4200, 2**4200),
                    st.decimals(allow_nan=False, allow_infinity=False),
                    st.sampled_from([Decimal("-0"), Decimal("1.000"), Decimal("1E+700"),
                                     Decimal("9.99E-650")]))


@st.composite
def _formulas(draw: st.DrawFn) -> tuple[Drawn, dict[str, Decimal | int]]:
    values = {"a": draw(_VALUES), "b": draw(_VALUES)}
    # A value beyond the size rule may not be read at all.
    names = st.sampled_from(["a", "b"]).map(lambda name: (name, _sized(Fraction(values[name]))))
    leaves = st.one_of(_LITERALS.map(_literal), names)
    return draw(st.recursive(leaves, _combined, max_leaves=10)), values


@given(_formulas())
@example((("(1 / 3) * 3", Fraction(1)), {"a": 0, "b": 0}))
@example((("-123456789012345678901234567890.5", Fraction(-246913578024691357802469135781, 2)),
          {"a": 0, "b": 0}))  # the literal's sign was once taken at 28 digits
@example((("(1e650 * 1e650)", None), {"a": 0, "b": 0}))
@example((("(a + 1)", None), {"a": 2**4100, "b": 0}))
@example((("(a + a)", None), {"a": 2**4095, "b": 0}))  # whole numbers: the int arithmetic
@example((("(a - b)", Fraction(2**4096 - 1)), {"a": 2**4095, "b": -(2**4095 - 1)}))
@example((("pick((1), 7, (1 / 0), 8)", None), {"a": 0, "b": 0}))
@example((("pick((a - b), 7, (1 / 0), 8)", Fraction(7)), {"a": 2, "b": 2}))
def test_evaluation_agrees_with_exact_fractions(
        drawn: tuple[Drawn, dict[str, Decimal | int]]) -> None:
    (text, expected), values = drawn
    expression = parse_expression(text)
    if expected is None:
        with pytest.raises(ExpressionError):
            expression.evaluate(values)
        return
    result = expression.evaluate(values)
    wanted = _rounded_once(expected)
    assert result == wanted and str(result) == str(wanted)
    assert expression.fraction(values) == expected


@given(st.integers(0, 10**30), st.integers(0, 40))
def test_square_roots_of_exact_squares_stay_exact(root: int, places: int) -> None:
    """A decimal's square root that is itself a decimal is given exactly, at any length
    (the 28-digit rounding is only for roots that are not fractions)."""
    value = Fraction(root, 10**places)
    square = _rounded_once(value * value)
    assert parse_expression("sqrt(x)").evaluate({"x": square}) == _rounded_once(value)
    assert parse_expression("hypot(x, 0)").evaluate({"x": square.copy_negate()}) == square


# --- a result as a field value -------------------------------------------------------------------
# result_number(value) is _exact(result_decimal(value)) (profiles._engine: a whole Decimal of
# no places as an int), the Decimal's work done once; it must give the same, type included.

_NUMBERS = st.one_of(
    st.integers(-10**40, 10**40),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.decimals(min_value=-10**6, max_value=10**6, places=3, allow_nan=False),
    st.fractions(max_denominator=10**6),
    st.sampled_from([Decimal("5E+3"), Decimal("5.000"), Decimal("-0"), Decimal("0E-7"),
                     Decimal("1.2300"), Decimal("9.99E-650"),
                     Fraction(3 * 10**30 + 1, 3),  # 28 digits: whole, places after none
                     3 - Fraction(1, 3 * 10**30),  # 28 digits: 3.000..., whole, places
                     Fraction(1, 3), Fraction(5, 4), Fraction(10**30)]))


@given(_NUMBERS)
@example(3 - Fraction(1, 3 * 10**30))
def test_a_result_as_a_field_value_is_the_exact_decimal_result(value: int | Decimal | Fraction
                                                               ) -> None:
    expected = _exact(result_decimal(value))
    found = result_number(value)
    assert type(found) is type(expected)
    assert found == expected and str(found) == str(expected)


# --- ready programs -------------------------------------------------------------------------------
# profiles._engine checks each number once, where it enters the numbers formulas read
# (is_ready), and then runs ready programs, which read names unchecked: for ready values they
# must give what the checked program gives, type and error message included.

_READY_CASES = st.one_of(
    _VALUES, _NUMBERS,
    st.integers(-2**4100, 2**4100).map(lambda n: Fraction(n, 3)),
    st.sampled_from([True, "12", Decimal("NaN"), Decimal("-Infinity"), Decimal("1E+601"),
                     Decimal("1E-1199"), Decimal("1E-1200"), Decimal(f"{'9' * 601}"),
                     Decimal(f"{'9' * 600}"), Decimal("0E+700"), Decimal("-0E-3"),
                     2**4096, 2**4096 - 1, -(2**4096 - 1)]))


@given(_READY_CASES)
def test_a_ready_value_is_read_as_it_is(value: object) -> None:
    if not is_ready(value):
        return
    read = _number(value, "x")
    assert type(read) is type(value)
    assert read == value and str(read) == str(value)


@given(st.one_of(_NUMBERS, st.integers(-2**4100, 2**4100).map(lambda n: Fraction(n, 2**4000)),
                 st.integers(1, 2**4096).map(lambda n: Fraction(n, 3 * 10**1300))))
@example(Fraction(1, 2**3000))  # finite, 3000 places: beyond the bounds of the check
@example(Fraction(2**4096 - 1, 1) / 7)
@example(Fraction(3 * 2**4096 - 1, 3))  # rounded to 28 digits: a whole number beyond the rule
def test_a_ready_result_is_the_result_and_ready_where_it_says_so(
        value: int | Decimal | Fraction) -> None:
    found, ready = ready_result(value)
    expected = _exact(result_decimal(value))
    assert type(found) is type(expected)
    assert found == expected and str(found) == str(expected)
    assert is_ready(expected) or not ready


@given(_formulas())
@example((("(a * 0.1)", Fraction(1, 10)), {"a": 1, "b": 0}))
def test_a_ready_program_gives_what_the_checked_one_gives(
        drawn: tuple[Drawn, dict[str, Decimal | int]]) -> None:
    (text, _), values = drawn
    if not all(map(is_ready, values.values())):
        return
    expression = parse_expression(text)
    try:
        expected = program(expression)(values)
    except ExpressionError as error:
        with pytest.raises(ExpressionError) as caught:
            program(expression, True)(values)
        assert caught.value.message == error.message
        return
    found = program(expression, True)(values)
    assert type(found) is type(expected)
    assert found == expected and str(found) == str(expected)


# --- division by a number written in the formula -------------------------------------------------
# _by_number makes the fraction straight away where an int over the literal has no finite
# expansion; it must give what the general division (a divisor read by name) gives, type
# included (the type chooses the arithmetic of what follows).

_DIVISORS = ["365.2425", "365", "1000", "3", "-7", "0.3", "1E-5", "2.5", "-0.125", "1E+650",
             "1E-650", "0"]


@given(st.one_of(st.integers(-10**40, 10**40), st.integers(-2**4100, 2**4100),
                 st.decimals(allow_nan=False, allow_infinity=False)),
       st.sampled_from(_DIVISORS))
@example(730485, "365.2425")  # two years: finite
@example(1000, "365.2425")
@example(2**4095 + 2, "0.3")  # the fraction's numerator beyond the size rule
def test_division_by_a_number_gives_what_division_by_a_name_gives(
        value: int | Decimal, divisor: str) -> None:
    written = parse_expression(f"x / {divisor}")
    named = parse_expression("x / y")
    values: dict[str, Decimal | int] = {"x": value}
    number = parse_expression(divisor).value({})  # as the literal is read: an int where whole
    try:
        expected = named.value({**values, "y": Decimal(divisor) if isinstance(number, Fraction)
                                else number})
    except ExpressionError as error:
        with pytest.raises(ExpressionError) as caught:
            written.value(values)
        assert caught.value.message == error.message.replace("'x / y'", f"'x / {divisor}'")
        return
    found = written.value(values)
    assert type(found) is type(expected)
    assert found == expected
