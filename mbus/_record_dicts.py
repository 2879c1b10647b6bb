"""The ``to_dict()`` form of records: data bytes straight to a JSON-able dict.

A record's dict is its shape's template (everything the header says) with
``value`` and ``data`` filled in. For what most telegrams carry (binary and BCD
numbers without an additive correction, type F and G dates, hex data) one function per shape
copies the template and makes the JSON value, without the Decimal that the
Python value needs. Dates take their text from the tables of
``_date_text``. Anything else, and any value whose data needs a flag
(negative or invalid BCD digits, invalid dates), goes through the shape's
general JSON decoder. Tests check every path against the general decoder.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = ["FLOAT_EXACT", "DictMaker", "JsonDecoder", "JsonValue", "general_maker",
           "hex_maker", "number_maker", "pow10", "scaled_json", "text_maker"]

JsonValue = int | float | str | None
# Data bytes to (JSON value, flags found in the data).
JsonDecoder = Callable[[bytes], tuple[JsonValue, tuple[str, ...]]]
# Data bytes to the record's whole dict.
DictMaker = Callable[[bytes], dict[str, Any]]

_POW10: list[int] = [10**n for n in range(64)]
FLOAT_EXACT = 10**15  # a decimal of at most 15 significant digits survives a float


def pow10(n: int) -> int:
    """10**n for n >= 0, as an int."""
    return _POW10[n] if n < 64 else int(pow(10, n))


def scaled_json(mantissa: int, exponent: int) -> JsonValue:
    """``mantissa * 10**exponent`` as JSON: an int, an exactly printing float, or a string."""
    if exponent >= 0:
        return mantissa * pow10(exponent)
    if -FLOAT_EXACT < mantissa < FLOAT_EXACT:
        # Integer true division is correctly rounded, so the float prints back exactly.
        return mantissa / pow10(-exponent)
    return str(Decimal(mantissa).scaleb(exponent))


def _own_lists(template: dict[str, Any], make: DictMaker) -> DictMaker:
    """``make``, giving every dict its own copies of the template's lists (``extensions``,
    ``flags``): a caller who edits one dict must not change the shape's template."""
    list_keys = tuple(key for key, value in template.items() if isinstance(value, list))
    if not list_keys:
        return make

    def make_with_own_lists(raw: bytes) -> dict[str, Any]:
        out = make(raw)
        for key in list_keys:
            out[key] = list(out[key])
        return out

    return make_with_own_lists


def general_maker(template: dict[str, Any], to_json: JsonDecoder) -> DictMaker:
    """The dict of a record through its JSON decoder; data flags follow the header's."""
    copy = template.copy
    header_flags = tuple(template.get("flags", ()))

    def make(raw: bytes) -> dict[str, Any]:
        out = copy()
        value, flags = to_json(raw)
        out["value"] = value
        out["data"] = raw.hex()
        if flags:
            out["flags"] = [*header_flags, *flags]
        return out

    return _own_lists(template, make)


def hex_maker(template: dict[str, Any]) -> DictMaker:
    """Data shown as hex (text, containers, manufacturer data): value and data alike."""
    copy = template.copy

    def make(raw: bytes) -> dict[str, Any]:
        out = copy()
        out["value"] = out["data"] = raw.hex()
        return out

    return _own_lists(template, make)


def text_maker(template: dict[str, Any], text_of: Callable[[bytes], str | None],
               general: DictMaker) -> DictMaker:
    """A value that ``text_of`` writes as text, or leaves (None) to ``general``: dates."""
    copy = template.copy

    def make(raw: bytes) -> dict[str, Any]:
        text = text_of(raw)
        if text is None:
            return general(raw)
        out = copy()
        out["value"] = text
        out["data"] = raw.hex()
        return out

    return _own_lists(template, make)


def number_maker(template: dict[str, Any], coding: str, signed: bool, factor: int,
                 exponent: int, general: DictMaker) -> DictMaker | None:
    """A one-call maker for binary or BCD data scaled by ``factor * 10**exponent``.

    ``general`` makes the dicts this one leaves out (negative or invalid BCD, more
    than 15 significant digits after scaling down). None for other codings.
    """
    copy = template.copy
    from_bytes = int.from_bytes
    if coding.startswith("int") and exponent >= 0:
        multiplier = factor * pow10(exponent)

        def binary_scaled_up(raw: bytes) -> dict[str, Any]:
            out = copy()
            out["value"] = from_bytes(raw, "little", signed=signed) * multiplier
            out["data"] = raw.hex()
            return out

        return _own_lists(template, binary_scaled_up)
    if coding.startswith("int"):
        divisor = pow10(-exponent)

        def binary_scaled_down(raw: bytes) -> dict[str, Any]:
            number = from_bytes(raw, "little", signed=signed) * factor
            if not -FLOAT_EXACT < number < FLOAT_EXACT:
                return general(raw)
            out = copy()
            out["value"] = number / divisor
            out["data"] = raw.hex()
            return out

        return _own_lists(template, binary_scaled_down)
    if coding.startswith("bcd") and exponent >= 0:
        bcd_multiplier = factor * pow10(exponent)

        def bcd_scaled_up(raw: bytes) -> dict[str, Any]:
            try:  # hex digits are 0-9a-f: int() refuses exactly the non-decimal ones
                value = int(raw[::-1].hex()) * bcd_multiplier
            except ValueError:  # a negative sign nibble or digits A-F
                return general(raw)
            out = copy()
            out["value"] = value
            out["data"] = raw.hex()
            return out

        return _own_lists(template, bcd_scaled_up)
    if coding.startswith("bcd"):
        bcd_divisor = pow10(-exponent)

        def bcd_scaled_down(raw: bytes) -> dict[str, Any]:
            try:  # as in bcd_scaled_up
                number = int(raw[::-1].hex()) * factor
            except ValueError:
                return general(raw)
            if number >= FLOAT_EXACT:
                return general(raw)
            out = copy()
            out["value"] = number / bcd_divisor
            out["data"] = raw.hex()
            return out

        return _own_lists(template, bcd_scaled_down)
    return None
