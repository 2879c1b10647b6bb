"""A small safe expression language for formulas (no ``eval``).

Grammar (precedence from low to high)::

    expression := sum [("<" | "<=" | ">" | ">=" | "==" | "!=") sum]
    sum        := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | "+" unary | atom
    atom       := NUMBER | NAME | NAME "(" [expression ("," expression)*] ")" | "(" expression ")"

Numbers are exact decimals (``0.001``, ``1e3``); names are field names
(letters, digits, underscore; not starting with a digit). Functions: ``min``,
``max`` (one or more arguments), ``abs(x)``, ``round(x)`` / ``round(x, digits)``
(half to even, like Python), ``floor(x)``, ``bits(x, first, count)`` (the
``count`` bits of the integer ``x`` starting at bit ``first``, for packed
values), ``pow(x, n)`` (``x`` to a whole power ``n``, -64 to 64),
``sqrt(x)`` (the square root of ``x`` >= 0), ``hypot(a, b, ...)`` (the square root
of the sum of the squares: the apparent energy from the active and the reactive
one), ``if(condition, a, b)`` (``a`` where the condition is not 0, else ``b``;
only the branch taken is evaluated) and ``pick(index, a0, a1, ...)`` (the
argument after the index that it counts from 0: ``pick(2, a0, a1, a2)`` is
``a2``; only that one is evaluated; an index that is no whole number from 0 to the
last is an error). A comparison gives 1 (true) or 0 (false).
A parsed :class:`Expression` is a tree of plain tuples: immutable, comparable
and picklable.

Evaluation is exact: every value is an exact rational number until the end
(an int, a Decimal or a :class:`fractions.Fraction`, whichever the arithmetic
allows; see :data:`Number`), where the result becomes a Decimal by one rule: exact,
without trailing zeros, when it has a finite decimal expansion (``1/4`` is ``0.25``);
else rounded half to even to 28 significant digits (``1/3`` is
``0.3333333333333333333333333333``). A square root that is not a fraction (of
``sqrt`` or ``hypot``) is the one other rounding: to 28 significant digits, half to
even, where it is taken (``sqrt(2)`` is ``1.414213562373095048801688724``).
"""

from __future__ import annotations

import decimal
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from operator import itemgetter

from ._errors import ExpressionError
from ._units import exact_decimal, odd_part

__all__ = ["FUNCTIONS", "Expression", "parse_expression"]

# Node forms: ("number", Decimal) ("name", str) ("neg", node) ("op", "+", left, right)
# ("compare", "<=", left, right) ("call", name, (args...)) and, inserted by the unit check
# of a profile's formulas, ("convert", node, factor, offset): node * factor + offset.
Node = tuple[object, ...]

FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "min": (1, None), "max": (1, None), "abs": (1, 1), "round": (1, 2), "floor": (1, 1),
    "bits": (3, 3), "pow": (2, 2), "if": (3, 3), "sqrt": (1, 1), "hypot": (1, None),
    "pick": (2, None),
}
"""Function name -> (fewest, most arguments; None = any number)."""

_TOKEN = re.compile(r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op><=|>=|==|!=|[-+*/(),<>]))")
MAX_LENGTH = 500  # a longer formula is a mistake; bounds parse time and tree depth
MAX_DEPTH = 50  # nesting of parentheses and unary signs
MAX_BITS = 4096  # numerators and denominators beyond this are a mistake, not a meter value
MAX_POWER = 64
_MAX_DIGITS = 1200  # decimal digits and exponents of inputs: about MAX_BITS
_LIMIT = 1 << MAX_BITS  # an int at least this large (either sign) is beyond MAX_BITS
_LOW = -_LIMIT  # (negated once: a 4096-bit negation per test costs about 1k instructions)
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
ROOT_DIGITS = 28  # significant digits of a square root that is not a fraction
_ROOT_CONTEXT = decimal.Context(prec=ROOT_DIGITS, rounding=decimal.ROUND_HALF_EVEN)


Number = int | Decimal | Fraction
"""A value while a formula is evaluated: an int where both operands of an operation are
ints (and for whole numbers read or written), else a Decimal within the bounds of
:data:`_EXACT` where the arithmetic allows, else a Fraction (a division without a finite
decimal expansion, a conversion by 1/3600 ...). All are exact: which one holds a value
never changes the result."""

Values = Mapping[str, Decimal | int]
Program = Callable[[Values], Number]
"""An expression compiled into closures: its exact value for the values read."""

# Decimal arithmetic in this context is exact or raises (every signal is trapped), and then
# that one operation is done on fractions. Its bounds keep each Decimal it gives within
# MAX_BITS (a coefficient below 10**600, about 2000 bits; an exponent of at least
# Etiny = -1199, a denominator of at most 10**1199, about 3983 bits), so only fractions and
# ints need the size check. Operations on two ints stay ints (no context work): in
# techem_mkradio3a's formulas, sums and comparisons of whole numbers.
_EXACT = decimal.Context(prec=600, Emax=600, Emin=-600, rounding=decimal.ROUND_HALF_EVEN,
                         traps=[decimal.Clamped, decimal.DivisionByZero, decimal.Inexact,
                                decimal.InvalidOperation, decimal.Overflow, decimal.Rounded,
                                decimal.Subnormal, decimal.Underflow])
# round(): the same bounds, the rounding itself not trapped.
_ROUNDING = decimal.Context(prec=600, Emax=600, Emin=-600, rounding=decimal.ROUND_HALF_EVEN,
                            traps=[decimal.Clamped, decimal.DivisionByZero,
                                   decimal.InvalidOperation, decimal.Overflow,
                                   decimal.Subnormal, decimal.Underflow])
_TRAPPED = decimal.DecimalException
_QUANTA = {digits: Decimal(f"1E{-digits}") for digits in range(-MAX_POWER, MAX_POWER + 1)}
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed formula: :attr:`text`, the :attr:`names` it reads, and its tree.

    >>> expression = profiles.parse_expression("max(total_m3 - target_m3, 0) * 1000")
    >>> sorted(expression.names)
    ['target_m3', 'total_m3']
    >>> expression.evaluate({"total_m3": Decimal("6.408"), "target_m3": Decimal("6.1")})
    Decimal('308')
    """

    text: str
    tree: Node
    names: frozenset[str]

    def evaluate(self, values: Values) -> Decimal:
        """The value of the formula for ``values`` (name -> number), exact (see the module
        docstring for the one rounding rule).

        Raises :class:`ExpressionError` for a missing name, a value that is not a
        number, a division by zero or a number too large.
        """
        return result_decimal(program(self)(values))

    def fraction(self, values: Values) -> Fraction:
        """The exact value of the formula, as a fraction."""
        return _fraction(program(self)(values))

    def value(self, values: Values) -> Number:
        """The exact value of the formula: an int, a Decimal or a Fraction (:data:`Number`)."""
        return program(self)(values)


# (id(expression), ready) -> (expression, its tree compiled into closures). Kept per
# expression (not in it: expressions stay plain picklable data); holds the expression, so its
# id stays its own.
_PROGRAMS: dict[tuple[int, bool], tuple[Expression, Program]] = {}
_PROGRAMS_LIMIT = 4096


def program(expression: Expression, ready: bool = False) -> Program:
    """``expression`` compiled into closures (once per expression; callers that evaluate
    it often keep the program, saving this lookup). With ``ready``, the program reads each
    name as it is, unchecked: for values that are all ready (:func:`is_ready`), and each
    name it reads there, it gives what the checked program gives."""
    key = (id(expression), ready)
    found = _PROGRAMS.get(key)
    if found is None or found[0] is not expression:
        if len(_PROGRAMS) >= _PROGRAMS_LIMIT:
            _PROGRAMS.clear()
        found = _PROGRAMS[key] = (expression,
                                  _compile(expression.tree, expression.text, ready))
    return found[1]


def is_ready(value: object) -> bool:
    """Whether a checked program reads ``value`` as it is (the same type, digits and
    exponent): an int within the size rule, or a finite Decimal within the bounds of
    :data:`_EXACT` other than -0. A ready program (:func:`program`) reads such values
    without a check."""
    if type(value) is int:
        return _LOW < value < _LIMIT
    if type(value) is not Decimal or not value.is_finite() or (
            not value and value.is_signed()):  # _EXACT.plus makes -0 0
        return False
    try:
        _EXACT.plus(value)  # traps where it would change the value's digits or exponent
    except _TRAPPED:
        return False
    return True


def result_decimal(value: Number) -> Decimal:
    """A formula's value as its result: exact without trailing zeros where it has a finite
    decimal expansion (a whole number with exponent 0), else rounded half to even to 28
    significant digits (:func:`exact_decimal` of the fraction)."""
    if type(value) is int:
        return Decimal(value)
    if type(value) is Decimal:
        whole = int(value)
        if whole == value:
            return Decimal(whole)
        try:
            return value.normalize(_EXACT)
        except _TRAPPED:
            pass
    return exact_decimal(_fraction(value))


def result_number(value: Number) -> Decimal | int:
    """:func:`result_decimal` of ``value`` as records give numbers: an int where that
    Decimal is whole without places after the point (``5``, ``5E+3``), else the Decimal."""
    return ready_result(value)[0]


def ready_result(value: Number) -> tuple[Decimal | int, bool]:
    """:func:`result_number` of ``value``, and whether that is known to be ready
    (:func:`is_ready`): an int within the size rule, or a Decimal normalized within the
    bounds of :data:`_EXACT`. The result of a fraction is not (its check would cost more
    than the checked programs that follow it; most often none do)."""
    if type(value) is int:
        return value, _LOW < value < _LIMIT
    if type(value) is Decimal:  # the Decimal result, its work done once
        try:  # (normalized first: int() and comparing an int cost more, ~1.6k)
            normal = value.normalize(_EXACT)
        except _TRAPPED:
            pass
        else:
            if normal != normal.to_integral_value():
                return normal, True  # has places, within bounds
            whole = int(normal)
            return whole, _LOW < whole < _LIMIT
    result = result_decimal(value)
    if result == result.to_integral_value() and (
            result.as_tuple().exponent >= 0):  # type: ignore[operator]
        whole = int(result)
        return whole, _LOW < whole < _LIMIT
    return result, False


def _fraction(value: Number) -> Fraction:
    return value if type(value) is Fraction else Fraction(value)


def _number(value: object, name: str) -> Number:
    """A value read (or a literal) as a :data:`Number`; ExpressionError where it is no
    number or too large."""
    if type(value) is int:
        if _LOW < value < _LIMIT:
            return value
        raise ExpressionError(f"number too large: {name}")
    if type(value) is Decimal and value.is_finite():
        try:
            return _EXACT.plus(value)
        except _TRAPPED:
            pass
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise ExpressionError(f"value of {name!r} is not a number: {value!r}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ExpressionError(f"value of {name!r} is not a number: {value!r}")
        _, digits, exponent = value.as_tuple()
        # Checked before the exact fraction is made: 1E+300000000 would take minutes.
        if len(digits) > _MAX_DIGITS or not -_MAX_DIGITS <= int(exponent) <= _MAX_DIGITS:
            raise ExpressionError(f"number too large: {name}")
    elif value.bit_length() > MAX_BITS:
        raise ExpressionError(f"number too large: {name}")
    return Fraction(value)


def _checked(value: Fraction, text: str) -> Fraction:
    if value.numerator.bit_length() > MAX_BITS or value.denominator.bit_length() > MAX_BITS:
        raise ExpressionError(f"number too large in {text!r}")
    return value


def _whole_checked(value: int, text: str) -> int:
    if _LOW < value < _LIMIT:
        return value
    raise ExpressionError(f"number too large in {text!r}")


def _as_decimal(number: Fraction) -> Decimal | None:
    """``number`` as a Decimal within the bounds of :data:`_EXACT`, if it is one."""
    exact = exact_decimal(number)
    if Fraction(exact) != number:
        return None
    try:
        return _EXACT.plus(exact)
    except _TRAPPED:
        return None


def _compile(node: Node, text: str, ready: bool) -> Program:
    """The tree as closures, each giving its node's value for the values read; with
    ``ready``, names read unchecked (:func:`program`)."""
    kind = node[0]
    if kind == "number":
        return _constant(node[1])
    if kind == "name":
        if ready:  # the value is one the check would give back as it is
            reader: Program = itemgetter(str(node[1]))
            return reader
        return _reader(str(node[1]))
    if kind == "neg":
        inner = _compile(node[1], text, ready)  # type: ignore[arg-type]
        return lambda values: _negative(inner(values))
    if kind == "convert":
        assert isinstance(node[2], Fraction) and isinstance(node[3], Fraction)
        return _converter(_compile(node[1], text, ready),  # type: ignore[arg-type]
                          node[2], node[3])
    if kind in ("op", "compare"):
        left = _compile(node[2], text, ready)  # type: ignore[arg-type]
        right = _compile(node[3], text, ready)  # type: ignore[arg-type]
        if node[1] == "/" and node[3][0] == "number":  # type: ignore[index]
            return _by_number(left, right, text)
        return _OPERATORS[str(node[1])](left, right, text)
    name, arguments = str(node[1]), node[2]
    assert isinstance(arguments, tuple)
    programs = tuple(_compile(argument, text, ready) for argument in arguments)
    if name == "if":  # only the branch taken
        condition, then, otherwise = programs
        return lambda values: then(values) if condition(values) else otherwise(values)
    if name == "pick":  # only the argument picked
        return _picker(programs[0], programs[1:])
    function = _CALLS[name]
    return lambda values: function([program(values) for program in programs], text)


def _constant(literal: object) -> Program:
    try:
        value = _number(literal, "a number")
    except ExpressionError as error:  # refused when evaluated, as any value
        message = error.message

        def refused(values: Values) -> Number:
            raise ExpressionError(message)
        return refused
    if type(value) is Decimal and value == int(value):
        value = int(value)  # a whole literal takes the int arithmetic
    return lambda values: value


def _reader(name: str) -> Program:
    def read(values: Values) -> Number:
        try:
            value = values[name]
        except KeyError:
            raise ExpressionError(f"no value for {name!r}") from None
        if type(value) is int and _LOW < value < _LIMIT:
            return value
        return _number(value, name)
    return read


def _picker(index: Program, choices: tuple[Program, ...]) -> Program:
    last = len(choices) - 1

    def pick(values: Values) -> Number:
        found = index(values)
        if type(found) is not int or not 0 <= found <= last:
            found = pick_index(found, last)
        return choices[found](values)
    return pick


def pick_index(value: Number, last: int) -> int:
    """``value`` as the index of ``pick()`` with choices 0 to ``last``; ExpressionError
    where it is no whole number in that range."""
    whole = int(value)
    if whole == value and 0 <= whole <= last:
        return whole
    raise ExpressionError(f"pick(): the index must be a whole number from 0 to {last}, "
                          f"not {result_decimal(value)}")


def _converter(inner: Program, factor: Fraction, offset: Fraction) -> Program:
    """``inner * factor + offset`` (a unit conversion the unit check inserted)."""
    decimal_factor, decimal_offset = _as_decimal(factor), _as_decimal(offset)
    if decimal_factor is None or decimal_offset is None:
        return lambda values: _fraction(inner(values)) * factor + offset

    def convert(values: Values) -> Number:
        value = inner(values)
        if type(value) is not Fraction:  # (isinstance of Fraction, an ABC, costs more)
            try:
                return _EXACT.fma(value, decimal_factor, decimal_offset)  # type: ignore[arg-type]
            except _TRAPPED:
                pass
        return _fraction(value) * factor + offset
    return convert


def _negative(value: Number) -> Number:
    if type(value) is int:
        return -value
    if type(value) is Decimal:
        try:
            return _EXACT.minus(value)
        except _TRAPPED:
            pass
    return -_fraction(value)


_Operator = Callable[[Program, Program, str], Program]


def _arithmetic(whole: Callable[[int, int], int],
                exact: Callable[[Decimal | int, Decimal | int], Decimal],
                rational: Callable[[Fraction, Fraction], Fraction]) -> _Operator:
    """An operation done on ints where both operands are, on Decimals where that is exact,
    else on fractions (size checked)."""
    def compiled(left: Program, right: Program, text: str) -> Program:
        def operate(values: Values) -> Number:
            a, b = left(values), right(values)
            if type(a) is int and type(b) is int:
                result = whole(a, b)
                if _LOW < result < _LIMIT:
                    return result
                raise ExpressionError(f"number too large in {text!r}")
            if type(a) is not Fraction and type(b) is not Fraction:
                try:
                    return exact(a, b)  # type: ignore[arg-type]
                except _TRAPPED:
                    pass
            return _checked(rational(_fraction(a), _fraction(b)), text)
        return operate
    return compiled


def _division(left: Program, right: Program, text: str) -> Program:
    return lambda values: _quotient(left(values), right(values), text)


def _by_number(left: Program, right: Program, text: str) -> Program:
    """``left / right``, ``right`` a number written in the formula: where an int divided by
    it has no finite decimal expansion (365.2425 days a year), the fraction that
    :func:`_quotient` makes, without its trapped Decimal division first."""
    try:
        divisor = right({})
    except ExpressionError:  # refused when evaluated
        return _division(left, right, text)
    if not divisor:  # division by zero, when evaluated
        return _division(left, right, text)
    whole, places = divisor.as_integer_ratio()
    # An int a over it is a * places / whole: with a finite expansion only where the
    # factors of whole other than 2 and 5 divide a.
    odd = odd_part(abs(whole))

    def divide(values: Values) -> Number:
        a = left(values)
        if type(a) is int and a % odd:
            return _checked(Fraction(a * places, whole), text)
        return _quotient(a, divisor, text)
    return divide


def _quotient(a: Number, b: Number, text: str) -> Number:
    """``a / b``: an int where ints divide exactly, a Decimal where that is exact, else a
    fraction (size checked)."""
    if not b:
        raise ExpressionError(f"division by zero in {text!r}")
    if type(a) is int and type(b) is int and not a % b:
        return a // b  # exact, and no larger than a
    if type(a) is not Fraction and type(b) is not Fraction:
        try:
            return _EXACT.divide(a, b)  # type: ignore[arg-type]
        except _TRAPPED:
            pass
    numerator, denominator = a.as_integer_ratio()
    divisor_numerator, divisor_denominator = b.as_integer_ratio()
    # One fraction made (and reduced), not three.
    return _checked(Fraction(numerator * divisor_denominator,
                             denominator * divisor_numerator), text)


def _comparison(test: Callable[[Number, Number], bool]) -> _Operator:
    """A comparison, 1 or 0. Ints compare exactly with Decimals and fractions alike; a
    Decimal and a fraction are compared as fractions."""
    def compiled(left: Program, right: Program, text: str) -> Program:
        def compare(values: Values) -> Number:
            a, b = left(values), right(values)
            if type(a) is not type(b) and (type(a) is Fraction or type(b) is Fraction):
                a, b = _fraction(a), _fraction(b)
            return 1 if test(a, b) else 0
        return compare
    return compiled


_OPERATORS: dict[str, _Operator] = {
    "+": _arithmetic(operator.add, _EXACT.add, operator.add),
    "-": _arithmetic(operator.sub, _EXACT.subtract, operator.sub),
    "*": _arithmetic(operator.mul, _EXACT.multiply, operator.mul), "/": _division,
    "<": _comparison(operator.lt), "<=": _comparison(operator.le),
    ">": _comparison(operator.gt), ">=": _comparison(operator.ge),
    "==": _comparison(operator.eq), "!=": _comparison(operator.ne),
}


def _minimum(arguments: list[Number], text: str) -> Number:
    return min(arguments)


def _maximum(arguments: list[Number], text: str) -> Number:
    return max(arguments)


def _absolute(arguments: list[Number], text: str) -> Number:
    value = arguments[0]
    if type(value) is int:
        return abs(value)
    if type(value) is Decimal:
        try:
            return _EXACT.abs(value)
        except _TRAPPED:
            pass
    return abs(_fraction(value))


def _floor(arguments: list[Number], text: str) -> Number:
    value = arguments[0]
    if type(value) is int:
        return value
    if type(value) is Decimal:
        try:
            return _EXACT.plus(value.to_integral_value(decimal.ROUND_FLOOR, _EXACT))
        except _TRAPPED:
            pass
    return Fraction(math.floor(_fraction(value)))


def _round(arguments: list[Number], text: str) -> Number:
    digits = _whole(arguments[1], "round", "digits") if len(arguments) > 1 else 0
    if not -MAX_POWER <= digits <= MAX_POWER:
        raise ExpressionError(f"round(): digits must be {-MAX_POWER} to {MAX_POWER}")
    value = arguments[0]
    if type(value) is int and digits >= 0:
        return value
    if type(value) is Decimal:
        try:
            # Half to even; within the bounds of _EXACT (exponent -digits, bounds trapped).
            return _ROUNDING.quantize(value, _QUANTA[digits])
        except _TRAPPED:
            pass
    return Fraction(round(_fraction(value), digits))  # half to even


def _power(arguments: list[Number], text: str) -> Number:
    power = _whole(arguments[1], "pow", "n")
    if not -MAX_POWER <= power <= MAX_POWER:
        raise ExpressionError(f"pow(): n must be {-MAX_POWER} to {MAX_POWER}, not {power}")
    base = arguments[0]
    if power < 0 and not base:
        raise ExpressionError(f"division by zero in {text!r}")
    if type(base) is int and power >= 0:
        return _whole_checked(base**power, text)
    if type(base) is not Fraction:
        try:
            return _EXACT.power(base, power)  # type: ignore[arg-type]
        except _TRAPPED:
            pass
    return _checked(_fraction(base) ** power, text)


def _square_root(arguments: list[Number], text: str) -> Number:
    return _root(arguments[0], text)


def _hypotenuse(arguments: list[Number], text: str) -> Number:
    try:
        total = _ZERO
        for argument in arguments:
            if type(argument) is Fraction:
                break
            total = _EXACT.fma(argument, argument, total)  # type: ignore[arg-type]
        else:
            return _root(total, text)
    except _TRAPPED:
        pass
    return _root(_checked(sum((_fraction(argument) ** 2 for argument in arguments),
                              Fraction(0)), text), text)


def _bits(arguments: list[Number], text: str) -> Number:
    value = _whole(arguments[0], "bits", "value")
    first = _whole(arguments[1], "bits", "first")
    count = _whole(arguments[2], "bits", "count")
    if value < 0 or not 0 <= first < 1024 or not 0 < count <= 1024:
        raise ExpressionError(f"bits({value}, {first}, {count}): needs value >= 0, "
                              f"0 <= first < 1024, 0 < count <= 1024")
    return (value >> first) & ((1 << count) - 1)  # < 2**1024


_CALLS: dict[str, Callable[[list[Number], str], Number]] = {
    "min": _minimum, "max": _maximum, "abs": _absolute, "floor": _floor, "round": _round,
    "pow": _power, "sqrt": _square_root, "hypot": _hypotenuse, "bits": _bits,
}


def _root(value: Number, text: str) -> Number:
    """The square root of ``value``: exact where it is a fraction, else correctly rounded
    to :data:`ROOT_DIGITS` significant digits (half to even)."""
    if value < 0:
        raise ExpressionError(f"square root of a negative number ({result_decimal(value)}) "
                              f"in {text!r}")
    numerator, denominator = value.as_integer_ratio()
    root_n, root_d = math.isqrt(numerator), math.isqrt(denominator)
    if root_n * root_n == numerator and root_d * root_d == denominator:
        if type(value) is int:
            return root_n
        if type(value) is Decimal:  # the root of a decimal is a decimal
            try:
                return _EXACT.divide(root_n, root_d)
            except _TRAPPED:
                pass
        return Fraction(root_n, root_d)
    if type(value) is not Fraction:
        # Decimal's own correctly rounded root: the rounding below, without fractions
        # (tests/profiles/test_profiles_formulas.py compares them).
        return _ROOT_CONTEXT.sqrt(value)  # type: ignore[arg-type]
    # floor(root * 10**k) with at least ROOT_DIGITS + 2 digits; the root lies strictly
    # inside (floor, floor + 1) / 10**k, which holds no rounding boundary of the coarser
    # 28-digit grid, so rounding the interval's midpoint rounds the root itself.
    magnitude = (numerator.bit_length() - denominator.bit_length()) * 301 // 2000
    shift = max(0, ROOT_DIGITS + 3 - magnitude)
    floor = math.isqrt(numerator * 10 ** (2 * shift) // denominator)
    midpoint = Decimal(f"{(2 * floor + 1) * 5}E-{shift + 1}")  # exact (no context rounding)
    return _checked(Fraction(_ROOT_CONTEXT.plus(midpoint)), text)


def _whole(value: Number, function: str, argument: str) -> int:
    if type(value) is int:
        return value
    if type(value) is Decimal:
        whole = int(value)
        if whole == value:
            return whole
    elif type(value) is Fraction and value.denominator == 1:
        return value.numerator
    raise ExpressionError(f"{function}(): {argument} must be a whole number, "
                          f"not {result_decimal(value)}")


def parse_expression(text: str) -> Expression:
    """Parse ``text`` into an :class:`Expression`.

    Raises :class:`ExpressionError` naming the position of the first fault (an
    unknown character or function, a missing parenthesis, a wrong number of
    function arguments, ...).
    """
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"longer than {MAX_LENGTH} characters", position=MAX_LENGTH)
    parser = _Parser(text)
    tree = parser.expression(0)
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()!r}", position=parser.position)
    return Expression(text, tree, frozenset(parser.names))


class _Parser:
    """Recursive descent over the tokens of one formula."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        self.names: set[str] = set()
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            found = _TOKEN.match(text, position)
            if found is None or found.lastgroup is None:
                start = position + len(text[position:]) - len(text[position:].lstrip())
                raise ExpressionError(f"unexpected character {text[start]!r}", position=start)
            self.tokens.append((found.lastgroup, found.group(found.lastgroup),
                                found.start(found.lastgroup)))
            position = found.end()
        self.index = 0

    @property
    def position(self) -> int:
        return self.tokens[self.index][2] if self.index < len(self.tokens) else len(self.text)

    def peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def take(self, expected: str) -> None:
        if self.peek() != expected:
            found = "the end" if self.peek() is None else repr(self.peek())
            raise ExpressionError(f"expected {expected!r}, found {found}",
                                  position=self.position)
        self.index += 1

    def expression(self, depth: int) -> Node:
        node = self.sum(depth)
        if self.peek() in COMPARISONS:
            operator = self.peek()
            self.index += 1
            node = ("compare", operator, node, self.sum(depth))
            if self.peek() in COMPARISONS:
                raise ExpressionError("comparisons do not chain: use if() or parentheses",
                                      position=self.position)
        return node

    def sum(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"nested deeper than {MAX_DEPTH}", position=self.position)
        node = self.term(depth)
        while self.peek() in ("+", "-"):
            operator = self.peek()
            self.index += 1
            node = ("op", operator, node, self.term(depth))
        return node

    def term(self, depth: int) -> Node:
        node = self.unary(depth)
        while self.peek() in ("*", "/"):
            operator = self.peek()
            self.index += 1
            node = ("op", operator, node, self.unary(depth))
        return node

    def unary(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"nested deeper than {MAX_DEPTH}", position=self.position)
        if self.peek() == "-":
            self.index += 1
            operand = self.unary(depth + 1)
            if operand[0] == "number":
                assert isinstance(operand[1], Decimal)
                return ("number", operand[1].copy_negate())  # exact (- rounds to 28 digits)
            return ("neg", operand)
        if self.peek() == "+":
            self.index += 1
            return self.unary(depth + 1)
        return self.atom(depth)

    def atom(self, depth: int) -> Node:
        if self.index >= len(self.tokens):
            raise ExpressionError("expression ends too early", position=len(self.text))
        kind, token, position = self.tokens[self.index]
        self.index += 1
        if kind == "number":
            return ("number", Decimal(token))
        if kind == "name":
            if self.peek() != "(":
                self.names.add(token)
                return ("name", token)
            if token not in FUNCTIONS:
                raise ExpressionError(f"unknown function {token!r} (known: "
                                      f"{', '.join(sorted(FUNCTIONS))})", position=position)
            self.index += 1
            arguments: list[Node] = []
            if self.peek() != ")":
                arguments.append(self.expression(depth + 1))
                while self.peek() == ",":
                    self.index += 1
                    arguments.append(self.expression(depth + 1))
            self.take(")")
            fewest, most = FUNCTIONS[token]
            if len(arguments) < fewest or (most is not None and len(arguments) > most):
                wanted = str(fewest) if fewest == most else (
                    f"at least {fewest}" if most is None else f"{fewest} to {most}")
                raise ExpressionError(f"{token}() takes {wanted} argument(s), "
                                      f"not {len(arguments)}", position=position)
            if token == "pick" and arguments[0][0] == "number":  # an index fixed when written
                assert isinstance(arguments[0][1], Decimal)
                try:
                    pick_index(arguments[0][1], len(arguments) - 2)
                except ExpressionError as error:
                    raise ExpressionError(error.message, position=position) from None
            return ("call", token, tuple(arguments))
        if token == "(":
            node = self.expression(depth + 1)
            self.take(")")
            return node
        raise ExpressionError(f"unexpected {token!r}", position=position)
