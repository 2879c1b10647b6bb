"""A small safe expression language for formulas (no ``eval``).

Grammar (precedence from low to high)::

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | "+" unary | atom
    atom       := NUMBER | NAME | NAME "(" [expression ("," expression)*] ")" | "(" expression ")"

Numbers are exact decimals (``0.001``, ``1e3``); names are field names
(letters, digits, underscore; not starting with a digit). Functions: ``min``,
``max`` (one or more arguments), ``abs(x)``, ``round(x)`` / ``round(x, digits)``
(half to even, like Python), ``floor(x)``, ``bits(x, first, count)`` (the
``count`` bits of the integer ``x`` starting at bit ``first``, for packed
values). A parsed :class:`Expression` is a tree of plain tuples: immutable,
comparable and picklable.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from ._errors import ExpressionError

__all__ = ["FUNCTIONS", "Expression", "parse_expression"]

# Node forms: ("number", Decimal) ("name", str) ("neg", node) ("op", "+", left, right)
# ("call", name, (args...)).
Node = tuple[object, ...]

FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "min": (1, None), "max": (1, None), "abs": (1, 1), "round": (1, 2), "floor": (1, 1),
    "bits": (3, 3),
}
"""Function name -> (fewest, most arguments; None = any number)."""

_TOKEN = re.compile(r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/(),]))")
MAX_LENGTH = 500  # a longer formula is a mistake; bounds parse time and tree depth
MAX_DEPTH = 50  # nesting of parentheses and unary signs
# Exact arithmetic where possible: 28 digits as decimal's default, traps on overflow.
_CONTEXT = decimal.Context(prec=28, traps=[decimal.InvalidOperation, decimal.Overflow,
                                             decimal.DivisionByZero])


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed formula: :attr:`text`, the :attr:`names` it reads, and its tree.

    >>> expression = profiles.parse_expression("max(total_m3 - target_m3, 0) * 1000")
    >>> sorted(expression.names)
    ['target_m3', 'total_m3']
    >>> expression.evaluate({"total_m3": Decimal("6.408"), "target_m3": Decimal("6.1")})
    Decimal('308.000')
    """

    text: str
    tree: Node
    names: frozenset[str]

    def evaluate(self, values: Mapping[str, Decimal | int]) -> Decimal:
        """The value of the formula for ``values`` (name -> number).

        Raises :class:`ExpressionError` for a missing name, a value that is not a
        number, a division by zero or an overflow.
        """
        try:
            return _evaluate(self.tree, values)
        except decimal.DecimalException as exc:
            what = "division by zero" if isinstance(exc, decimal.DivisionByZero) else (
                "number too large" if isinstance(exc, decimal.Overflow) else "invalid operation")
            raise ExpressionError(f"{what} in {self.text!r}") from None


def _number(value: object, name: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise ExpressionError(f"value of {name!r} is not a number: {value!r}")


def _evaluate(node: Node, values: Mapping[str, Decimal | int]) -> Decimal:
    kind = node[0]
    if kind == "number":
        return node[1]  # type: ignore[return-value]
    if kind == "name":
        name = node[1]
        assert isinstance(name, str)
        if name not in values:
            raise ExpressionError(f"no value for {name!r}")
        return _number(values[name], name)
    if kind == "neg":
        return _CONTEXT.minus(_evaluate(node[1], values))  # type: ignore[arg-type]
    if kind == "op":
        left = _evaluate(node[2], values)  # type: ignore[arg-type]
        right = _evaluate(node[3], values)  # type: ignore[arg-type]
        operator = node[1]
        if operator == "+":
            return _CONTEXT.add(left, right)
        if operator == "-":
            return _CONTEXT.subtract(left, right)
        if operator == "*":
            return _CONTEXT.multiply(left, right)
        return _CONTEXT.divide(left, right)
    name, arguments = node[1], [_evaluate(arg, values) for arg in node[2]]  # type: ignore[attr-defined]
    return _call(str(name), arguments)


def _call(name: str, arguments: list[Decimal]) -> Decimal:
    if name == "min":
        return min(arguments)
    if name == "max":
        return max(arguments)
    if name == "abs":
        return abs(arguments[0])
    if name == "floor":
        return Decimal(arguments[0].to_integral_value(rounding=decimal.ROUND_FLOOR))
    if name == "round":
        digits = _whole(arguments[1], "round", "digits") if len(arguments) > 1 else 0
        return arguments[0].quantize(Decimal(1).scaleb(-digits), rounding=decimal.ROUND_HALF_EVEN,
                                     context=_CONTEXT)
    value = _whole(arguments[0], "bits", "value")
    first = _whole(arguments[1], "bits", "first")
    count = _whole(arguments[2], "bits", "count")
    if value < 0 or not 0 <= first < 1024 or not 0 < count <= 1024:
        raise ExpressionError(f"bits({value}, {first}, {count}): needs value >= 0, "
                              f"0 <= first < 1024, 0 < count <= 1024")
    return Decimal((value >> first) & ((1 << count) - 1))


def _whole(value: Decimal, function: str, argument: str) -> int:
    if value != value.to_integral_value():
        raise ExpressionError(f"{function}(): {argument} must be a whole number, not {value}")
    return int(value)


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
