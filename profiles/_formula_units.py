"""Units of formulas: checked when a profile loads, converted exactly when it runs.

A profile's formula reads fields that have units (``total_kwh``, ``return_c``).
:func:`check_units` walks the formula's tree once at load time and says what unit
its result has, refusing what makes no sense (a sum of a volume and an energy, a
result in m3 for a field declared in kWh) with a :class:`UnitError`. Where two
operands of one dimension have different units (``total_kwh + heating_mwh``) it
inserts an exact conversion of the right one into the left one's unit, so the
evaluation itself knows nothing of units.

A unit here is ``(unit, difference)``: ``difference`` marks a temperature
difference (a field whose quantity ends in ``_difference``, or one absolute
temperature minus another), which converts without the offset (1 degC of
difference is 1 K). A plain number (a literal, a count, a ratio) has no unit and
takes the unit of what it is added to; a field whose unit the profile does not
declare is not checked (its record says it at run time), and neither is a
product or quotient (``total_m3 * 1000`` may well be litres; ``m3 * K`` has no
meterkit unit), except a ratio of two values of one dimension (a plain number).
``hypot(a, b, ...)`` takes values of one dimension (the result has it), or an active
and a reactive energy (or power), whose result is the apparent one: each is converted
into its base unit (Wh and varh, W and var) and the result is in VAh (VA). ``sqrt``
takes a plain number (a root of a unit is no meterkit unit). ``pick(index, a0, a1, ...)``
takes a plain index and choices of one dimension (each converted into the first one's
unit, as in ``min``); the result has their unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from ._errors import UnitError
from ._expressions import Expression, Node
from ._units import UNITS

__all__ = ["UNCHECKED", "Unit", "check_units"]

Unit = tuple[str, bool] | None
"""``(unit, is a temperature difference)``, or None for a plain number."""

UNCHECKED: Unit = ("?", False)
"""The unit of a field that does not declare one, and of products of units."""

_SAME_DIMENSION = ("+", "-")
# hypot() of an active and a reactive value: the base units they are taken in, and the
# apparent unit of the result.
_POWER_TRIANGLES = {
    frozenset({"energy", "reactive_energy"}): (("Wh", "varh"), "VAh"),
    frozenset({"power", "reactive_power"}): (("W", "var"), "VA"),
}


def check_units(expression: Expression, units: Mapping[str, Unit],
                declared: str | None) -> tuple[Expression, Unit]:
    """The formula with exact conversions where operands' units differ, and the unit of
    its result (converted into ``declared``, the field's unit, when given).

    ``units`` gives the unit of each name the formula reads. Raises :class:`UnitError`
    naming the operator and both units where they do not fit.
    """
    tree, unit = _walk(expression.tree, units)
    if declared is not None and unit is not None and unit is not UNCHECKED:
        tree = _converted(tree, unit, declared, "the field's unit")
        unit = (declared, unit[1])
    elif declared is not None:
        unit = (declared, False)
    return Expression(expression.text, tree, expression.names), unit


def _dimension(unit: str) -> str:
    return UNITS[unit][0]


def _converted(node: Node, unit: tuple[str, bool], target: str, what: str) -> Node:
    """``node`` (in ``unit``) as a value in ``target``: a convert node where they differ."""
    source, difference = unit
    if _dimension(source) != _dimension(target):
        raise UnitError(f"{source} ({_dimension(source)}) does not convert to {what} "
                        f"{target} ({_dimension(target)})")
    if source == target:
        return node
    from_factor, from_offset = UNITS[source][1], UNITS[source][2]
    to_factor, to_offset = UNITS[target][1], UNITS[target][2]
    factor = from_factor / to_factor
    offset = Fraction(0) if difference else (from_offset - to_offset) / to_factor
    return ("convert", node, factor, offset)


def _walk(node: Node, units: Mapping[str, Unit]) -> tuple[Node, Unit]:
    kind = node[0]
    if kind == "number":
        return node, None
    if kind == "name":
        return node, units.get(str(node[1]), UNCHECKED)
    if kind == "neg":
        inner, unit = _walk(node[1], units)  # type: ignore[arg-type]
        return ("neg", inner), unit
    if kind in ("op", "compare"):
        operator = str(node[1])
        left, left_unit = _walk(node[2], units)  # type: ignore[arg-type]
        right, right_unit = _walk(node[3], units)  # type: ignore[arg-type]
        if kind == "compare" or operator in _SAME_DIMENSION:
            right, unit = _same(operator, left_unit, right, right_unit)
            return (kind, operator, left, right), None if kind == "compare" else unit
        right, unit = _product(operator, left_unit, right, right_unit)
        return (kind, operator, left, right), unit
    name, arguments = str(node[1]), node[2]
    assert isinstance(arguments, tuple)
    walked = [_walk(argument, units) for argument in arguments]
    nodes = [argument for argument, _ in walked]
    if name in ("min", "max"):
        unit = walked[0][1]
        for index in range(1, len(walked)):
            nodes[index], unit = _same(f"{name}()", unit, nodes[index], walked[index][1])
        return ("call", name, tuple(nodes)), unit
    if name == "if":
        nodes[2], unit = _same("if()", walked[1][1], nodes[2], walked[2][1])
        return ("call", name, tuple(nodes)), unit
    if name == "pick":  # a plain index; the choices of one dimension, as in min()
        index_unit = walked[0][1]
        if index_unit is not None and index_unit is not UNCHECKED:
            raise UnitError("pick(): the index is a plain number, not a value in "
                            f"{index_unit[0]}")
        unit = walked[1][1]
        for position in range(2, len(walked)):
            nodes[position], unit = _same("pick()", unit, nodes[position],
                                          walked[position][1])
        return ("call", name, tuple(nodes)), unit
    if name == "hypot":
        return _hypot(nodes, [unit for _, unit in walked])
    if name in ("abs", "floor", "round"):
        _plain(name, walked[1:])
        return ("call", name, tuple(nodes)), walked[0][1]
    _plain(name, walked)  # bits, pow
    unchecked = any(unit is UNCHECKED for _, unit in walked)
    return ("call", name, tuple(nodes)), UNCHECKED if unchecked else None


def _hypot(nodes: list[Node], units: list[Unit]) -> tuple[Node, Unit]:
    """``hypot()``: arguments of one dimension (converted into the first one's unit), or
    an active and a reactive value (converted into Wh and varh, or W and var: the result
    is in VAh, or VA). Plain numbers take the unit, as in a sum."""
    if any(unit is UNCHECKED for unit in units):
        return ("call", "hypot", tuple(nodes)), UNCHECKED
    having = [(index, unit) for index, unit in enumerate(units) if unit is not None]
    if not having:
        return ("call", "hypot", tuple(nodes)), None
    dimensions = {_dimension(unit[0]) for _, unit in having}
    if "temperature" in dimensions:
        raise UnitError("hypot() of temperatures (take differences as plain numbers)")
    if len(dimensions) == 1:
        first = having[0][1]
        for index, unit in having[1:]:
            nodes[index] = _converted(nodes[index], unit, first[0], "the unit")
        return ("call", "hypot", tuple(nodes)), first
    triangle = _POWER_TRIANGLES.get(frozenset(dimensions))
    if triangle is None or len(having) != len(units):
        raise UnitError(f"hypot() of {' and '.join(sorted(dimensions))}: give values of one "
                        "dimension, or an active and a reactive energy (or power)")
    bases, apparent = triangle
    for index, unit in having:
        base = next(base for base in bases if _dimension(base) == _dimension(unit[0]))
        nodes[index] = _converted(nodes[index], unit, base, "the unit")
    return ("call", "hypot", tuple(nodes)), (apparent, False)


def _plain(function: str, walked: list[tuple[Node, Unit]]) -> None:
    for _, unit in walked:
        if unit is not None and unit is not UNCHECKED:
            raise UnitError(f"{function}() takes plain numbers here, not a value in {unit[0]}")


def _same(operator: str, left: Unit, right_node: Node, right: Unit) -> tuple[Node, Unit]:
    """Operands that must be of one dimension: the right one converted to the left one's
    unit, and the unit of the result of ``operator``."""
    if left is UNCHECKED or right is UNCHECKED:
        return right_node, UNCHECKED
    if left is None or right is None:
        return right_node, left if right is None else right  # a plain number takes the unit
    if _dimension(left[0]) != _dimension(right[0]):
        raise UnitError(f"{operator} of {left[0]} ({_dimension(left[0])}) and {right[0]} "
                        f"({_dimension(right[0])})")
    if _dimension(left[0]) != "temperature":
        return _converted(right_node, right, left[0], "the unit"), left
    # Temperatures: absolute - absolute is a difference; absolute +- difference is absolute.
    if operator == "+" and not left[1] and not right[1]:
        raise UnitError("+ of two absolute temperatures (subtract them for a difference)")
    if operator == "-" and left[1] and not right[1]:
        raise UnitError("- of an absolute temperature from a temperature difference")
    if operator in ("+", "-") or left[1] == right[1]:
        converted = _converted(right_node, right, left[0], "the unit")
        if operator == "-" and not left[1] and not right[1]:
            return converted, (left[0], True)
        return converted, left
    raise UnitError(f"{operator} of an absolute temperature and a temperature difference")


def _product(operator: str, left: Unit, right_node: Node, right: Unit) -> tuple[Node, Unit]:
    """A product or quotient is not checked (``total_m3 * 1000`` may well be in litres),
    except a quotient of two values of one dimension: a plain number (the right one
    converted into the left one's unit first)."""
    if (operator == "/" and left is not None and right is not None
            and left is not UNCHECKED and right is not UNCHECKED
            and _dimension(left[0]) == _dimension(right[0])
            and _dimension(left[0]) != "temperature"):
        return _converted(right_node, right, left[0], "the unit"), None
    return right_node, UNCHECKED
