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
one) and ``if(condition, a, b)`` (``a`` where the condition is not 0, else ``b``;
only the branch taken is evaluated). A comparison gives 1 (true) or 0 (false).
A parsed :class:`Expression` is a tree of plain tuples: immutable, comparable
and picklable.

Evaluation is exact: every value is a :class:`fractions.Fraction` until the
end, where the result becomes a Decimal by one rule: exact, without trailing
zeros, when it has a finite decimal expansion (``1/4`` is ``0.25``); else
rounded half to even to 28 significant digits (``1/3`` is
``0.3333333333333333333333333333``). A square root that is not a fraction (of
``sqrt`` or ``hypot``) is the one other rounding: to 28 significant digits, half to
even, where it is taken (``sqrt(2)`` is ``1.414213562373095048801688724``).
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ._errors import ExpressionError
from ._units import exact_decimal

__all__ = ["FUNCTIONS", "Expression", "parse_expression"]

# Node forms: ("number", Decimal) ("name", str) ("neg", node) ("op", "+", left, right)
# ("compare", "<=", left, right) ("call", name, (args...)) and, inserted by the unit check
# of a profile's formulas, ("convert", node, factor, offset): node * factor + offset.
Node = tuple[object, ...]

FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "min": (1, None), "max": (1, None), "abs": (1, 1), "round": (1, 2), "floor": (1, 1),
    "bits": (3, 3), "pow": (2, 2), "if": (3, 3), "sqrt": (1, 1), "hypot": (1, None),
}
"""Function name -> (fewest, most arguments; None = any number)."""

_TOKEN = re.compile(r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op><=|>=|==|!=|[-+*/(),<>]))")
MAX_LENGTH = 500  # a longer formula is a mistake; bounds parse time and tree depth
MAX_DEPTH = 50  # nesting of parentheses and unary signs
MAX_BITS = 4096  # numerators and denominators beyond this are a mistake, not a meter value
MAX_POWER = 64
_MAX_DIGITS = 1200  # decimal digits and exponents of inputs: about MAX_BITS
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
ROOT_DIGITS = 28  # significant digits of a square root that is not a fraction
_ROOT_CONTEXT = decimal.Context(prec=ROOT_DIGITS, rounding=decimal.ROUND_HALF_EVEN)


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

    def evaluate(self, values: Mapping[str, Decimal | int]) -> Decimal:
        """The value of the formula for ``values`` (name -> number), exact (see the module
        docstring for the one rounding rule).

        Raises :class:`ExpressionError` for a missing name, a value that is not a
        number, a division by zero or a number too large.
        """
        return exact_decimal(self.fraction(values))

    def fraction(self, values: Mapping[str, Decimal | int]) -> Fraction:
        """The exact value of the formula, as a fraction."""
        return _evaluate(self.tree, values, self.text)


def _number(value: object, name: str) -> Fraction:
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


def _evaluate(node: Node, values: Mapping[str, Decimal | int], text: str) -> Fraction:
    kind = node[0]
    if kind == "number":
        return _number(node[1], "a number")
    if kind == "name":
        name = node[1]
        assert isinstance(name, str)
        if name not in values:
            raise ExpressionError(f"no value for {name!r}")
        return _number(values[name], name)
    if kind == "neg":
        return -_evaluate(node[1], values, text)  # type: ignore[arg-type]
    if kind == "convert":
        factor, offset = node[2], node[3]
        assert isinstance(factor, Fraction) and isinstance(offset, Fraction)
        return _evaluate(node[1], values, text) * factor + offset  # type: ignore[arg-type]
    if kind in ("op", "compare"):
        left = _evaluate(node[2], values, text)  # type: ignore[arg-type]
        right = _evaluate(node[3], values, text)  # type: ignore[arg-type]
        return _operate(str(node[1]), left, right, text)
    name, arguments = str(node[1]), node[2]
    assert isinstance(arguments, tuple)
    if name == "if":  # only the branch taken
        condition = _evaluate(arguments[0], values, text)
        return _evaluate(arguments[1] if condition else arguments[2], values, text)
    return _call(name, [_evaluate(argument, values, text) for argument in arguments], text)


def _operate(operator: str, left: Fraction, right: Fraction, text: str) -> Fraction:
    if operator == "+":
        return _checked(left + right, text)
    if operator == "-":
        return _checked(left - right, text)
    if operator == "*":
        return _checked(left * right, text)
    if operator == "/":
        if not right:
            raise ExpressionError(f"division by zero in {text!r}")
        return _checked(left / right, text)
    return Fraction(int({"<": left < right, "<=": left <= right, ">": left > right,
                         ">=": left >= right, "==": left == right,
                         "!=": left != right}[operator]))


def _call(name: str, arguments: list[Fraction], text: str) -> Fraction:
    if name == "min":
        return min(arguments)
    if name == "max":
        return max(arguments)
    if name == "abs":
        return abs(arguments[0])
    if name == "floor":
        return Fraction(math.floor(arguments[0]))
    if name == "round":
        digits = _whole(arguments[1], "round", "digits") if len(arguments) > 1 else 0
        if not -MAX_POWER <= digits <= MAX_POWER:
            raise ExpressionError(f"round(): digits must be {-MAX_POWER} to {MAX_POWER}")
        return Fraction(round(arguments[0], digits))  # half to even
    if name == "pow":
        power = _whole(arguments[1], "pow", "n")
        if not -MAX_POWER <= power <= MAX_POWER:
            raise ExpressionError(f"pow(): n must be {-MAX_POWER} to {MAX_POWER}, not {power}")
        if power < 0 and not arguments[0]:
            raise ExpressionError(f"division by zero in {text!r}")
        return _checked(arguments[0] ** power, text)
    if name == "sqrt":
        return _root(arguments[0], text)
    if name == "hypot":
        return _root(_checked(sum((argument * argument for argument in arguments), Fraction(0)),
                             text), text)
    value = _whole(arguments[0], "bits", "value")
    first = _whole(arguments[1], "bits", "first")
    count = _whole(arguments[2], "bits", "count")
    if value < 0 or not 0 <= first < 1024 or not 0 < count <= 1024:
        raise ExpressionError(f"bits({value}, {first}, {count}): needs value >= 0, "
                              f"0 <= first < 1024, 0 < count <= 1024")
    return Fraction((value >> first) & ((1 << count) - 1))


def _root(value: Fraction, text: str) -> Fraction:
    """The square root of ``value``: exact where it is a fraction, else correctly rounded
    to :data:`ROOT_DIGITS` significant digits (half to even)."""
    if value < 0:
        raise ExpressionError(f"square root of a negative number ({exact_decimal(value)}) "
                              f"in {text!r}")
    numerator, denominator = value.numerator, value.denominator
    root_n, root_d = math.isqrt(numerator), math.isqrt(denominator)
    if root_n * root_n == numerator and root_d * root_d == denominator:
        return Fraction(root_n, root_d)
    # floor(root * 10**k) with at least ROOT_DIGITS + 2 digits; the root lies strictly
    # inside (floor, floor + 1) / 10**k, which holds no rounding boundary of the coarser
    # 28-digit grid, so rounding the interval's midpoint rounds the root itself.
    magnitude = (numerator.bit_length() - denominator.bit_length()) * 301 // 2000
    shift = max(0, ROOT_DIGITS + 3 - magnitude)
    floor = math.isqrt(numerator * 10 ** (2 * shift) // denominator)
    midpoint = Decimal(f"{(2 * floor + 1) * 5}E-{shift + 1}")  # exact (no context rounding)
    return _checked(Fraction(_ROOT_CONTEXT.plus(midpoint)), text)


def _whole(value: Fraction, function: str, argument: str) -> int:
    if value.denominator != 1:
        raise ExpressionError(f"{function}(): {argument} must be a whole number, "
                              f"not {exact_decimal(value)}")
    return value.numerator


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
                return ("number", -operand[1])  # type: ignore[operator]
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
            return ("call", token, tuple(arguments))
        if token == "(":
            node = self.expression(depth + 1)
            self.take(")")
            return node
        raise ExpressionError(f"unexpected {token!r}", position=position)
