"""The one JSON loader of exporters: limits, typed errors with line and byte offset, one pass."""

from __future__ import annotations

import contextlib
import io
import json
from decimal import Decimal
from typing import IO, Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from exporters import DocumentError
from exporters._json_limits import (
    JsonFormatError,
    JsonLimits,
    iter_json_stream,
    load_json,
)


def stream_values(data: str | bytes, **kwargs: Any) -> list[tuple[int, int, Any]]:
    stream: IO[Any] = io.BytesIO(data) if isinstance(data, bytes) else io.StringIO(data)
    return list(iter_json_stream(stream, **kwargs))


def test_values_one_per_line_several_per_line_and_pretty_printed() -> None:
    text = '1 2 3\n{"a": [1,\n 2]}\n"x" 12'
    assert stream_values(text) == [
        (1, 0, 1),
        (1, 2, 2),
        (1, 4, 3),
        (2, 6, {"a": [1, 2]}),
        (4, 21, "x"),
        (4, 25, 12),
    ]


def test_offsets_count_utf8_bytes() -> None:
    assert stream_values('"é" 1') == [(1, 0, "é"), (1, 5, 1)]
    assert stream_values('"é" 1'.encode()) == [(1, 0, "é"), (1, 5, 1)]


def test_fractions_are_exact_decimals_or_finite_floats() -> None:
    assert load_json("[1.10, 2e3]") == [Decimal("1.10"), Decimal("2e3")]
    assert load_json("[1.5]", limits=JsonLimits(exact_numbers=False)) == [1.5]
    with pytest.raises(JsonFormatError, match="float range"):
        load_json("[1e400]", limits=JsonLimits(exact_numbers=False))


def test_a_leading_byte_order_mark_is_skipped() -> None:
    assert load_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert stream_values(b'\xef\xbb\xbf{"a": 1}') == [(1, 0, {"a": 1})]


@pytest.mark.parametrize(
    ("text", "message", "line", "offset"),
    [
        ("[" * 990 + "]" * 990, "nested deeper than 64", 1, 0),
        ("[" * 100_000, "nested deeper than 64", 1, 0),
        ("\n  " + "1" * 4301, "more than 4000 digits", 2, 3),
        ('{"a": -' + "9" * 4001 + "}", "more than 4000 digits", 1, 0),
        ("[NaN]", "NaN is not a JSON number", 1, 0),
        ('{"failures": Infinity}', "Infinity is not a JSON number", 1, 0),
        ("[1.5, 9e" + "9" * 19 + "]", "beyond the decimal range", 1, 0),  # found by tests/fuzz
        ('{"a": 1}\n{"b": }', "Expecting value", 2, 15),
        ('"é" {"b" 1}', "Expecting ':'", 1, 10),  # é is 2 bytes
        ('{"a": "x\ny"}', "Invalid control character", 1, 8),
    ],
)
def test_limits_and_syntax_errors_name_line_and_byte_offset(
    text: str, message: str, line: int, offset: int
) -> None:
    for data in (text, text.encode()):
        with pytest.raises(JsonFormatError, match=message) as caught:
            stream_values(data)
        assert (caught.value.line, caught.value.offset) == (line, offset)
        assert isinstance(caught.value, DocumentError)


def test_load_json_refuses_the_same_faults() -> None:
    with pytest.raises(JsonFormatError, match="nested deeper than 64"):
        load_json("[" * 990 + "]" * 990)
    with pytest.raises(JsonFormatError, match="more than 4000 digits"):
        load_json("1" * 4301)
    with pytest.raises(JsonFormatError, match="extra data") as caught:
        load_json('{"a": 1} x', field="journal")
    assert caught.value.offset == 9
    assert caught.value.field == "journal"
    assert "field 'journal'" in str(caught.value)


def test_depth_limit_is_configurable_and_inclusive() -> None:
    limits = JsonLimits(max_depth=3)
    assert load_json("[[[1]]]", limits=limits) == [[[1]]]
    with pytest.raises(JsonFormatError, match="deeper than 3"):
        load_json("[[[[1]]]]", limits=limits)
    # Many sibling containers are not depth.
    assert len(load_json("[" + ",".join(["[1]"] * 100) + "]", limits=limits)) == 100


def test_size_limit() -> None:
    limits = JsonLimits(max_chars=100)
    with pytest.raises(JsonFormatError, match="longer than 100 characters"):
        load_json('"' + "x" * 200 + '"', limits=limits)
    with pytest.raises(JsonFormatError, match="longer than 100 characters") as caught:
        stream_values('1\n["' + "x" * 200_000 + '"]', limits=limits)
    assert caught.value.line == 2
    # Many small values on one line are fine: the limit is per value.
    assert len(stream_values("1 " * 10_000, limits=limits)) == 10_000


def test_bytes_that_are_not_utf8() -> None:
    data = b'{"a": "\xc3\xa9"}\n{"b": "\xff"}'
    with pytest.raises(JsonFormatError, match="not UTF-8: byte ff") as caught:
        stream_values(data)
    assert caught.value.offset == data.index(b"\xff")
    data = b'{"a": "\xc3\xa9",\n "b": "\xff"}'
    with pytest.raises(JsonFormatError, match="not UTF-8: byte ff") as caught:
        load_json(data)
    assert (caught.value.line, caught.value.offset) == (2, data.index(b"\xff"))
    # Cut in the middle of a character by the end of input.
    with pytest.raises(JsonFormatError, match="not UTF-8") as caught:
        stream_values(b'"\xc3')
    assert caught.value.offset == 1


class CountingStream(io.StringIO):
    """Counts the characters handed out, to show that input is read once."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.handed_out = 0

    def readline(self, size: int = -1, /) -> str:  # type: ignore[override]
        text = super().readline(size)
        self.handed_out += len(text)
        return text


def count_work(monkeypatch: pytest.MonkeyPatch, text: str) -> int:
    """Characters the JSON decoder scanned plus characters the buffer held after each
    refill (the only place the reader copies text), summed over the whole input."""
    import exporters._json_limits as module

    real = module._decoder(module.DEFAULT_JSON_LIMITS)
    scanned = 0
    real_refill = module._Buffer.refill

    def counting_refill(self: Any, more: str, eof: bool) -> None:
        nonlocal scanned
        real_refill(self, more, eof)
        scanned += len(self.text)

    class Counting:
        def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
            nonlocal scanned
            try:
                value, end = real.raw_decode(s, idx)
            except json.JSONDecodeError as exc:
                scanned += exc.pos - idx
                raise
            scanned += end - idx
            return value, end

    monkeypatch.setattr(module, "_decoder", lambda limits: Counting())
    monkeypatch.setattr(module._Buffer, "refill", counting_refill)
    values = list(iter_json_stream(CountingStream(text)))
    assert values
    return scanned


@pytest.mark.parametrize(
    "layout",
    [
        lambda n: '{"a": 1} ' * n,  # many values on one line (was quadratic)
        lambda n: '{"a": 1}\n' * n,  # JSON lines
        lambda n: "[" + ",\n".join(['"xx"'] * n) + "]",  # one pretty-printed value
        lambda n: "[" + ",".join(["12345"] * n) + "]",  # one long line, one value
        lambda n: "12345 " * n,  # numbers cut by the reader's piece size
    ],
)
def test_work_grows_linearly_with_the_input(
    monkeypatch: pytest.MonkeyPatch, layout: Any
) -> None:
    # Structural, not timed: the characters decoded and copied per input character stay
    # bounded when the input grows 16 times.
    small, large = layout(20_000), layout(320_000)
    ratio_small = count_work(monkeypatch, small) / len(small)
    ratio_large = count_work(monkeypatch, large) / len(large)
    assert ratio_large <= 6
    assert ratio_large <= ratio_small * 1.5


def test_each_character_is_read_from_the_stream_once() -> None:
    text = '{"a": 1} ' * 100_000 + "\n" + "[" + ",\n".join(['"xx"'] * 50_000) + "]"
    stream = CountingStream(text)
    assert len(list(iter_json_stream(stream))) == 100_001
    assert stream.handed_out == len(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.lists(json_values, max_size=6), st.sampled_from([" ", "\n", "\t\n"]), st.booleans())
def test_any_sequence_of_values_round_trips(values: list[Any], gap: str, indent: bool) -> None:
    text = gap.join(json.dumps(v, indent=2 if indent else None) for v in values)
    assert [v for _, _, v in stream_values(text)] == values
    assert [v for _, _, v in stream_values(text.encode("utf-8", "surrogatepass"))] == values


@given(st.binary(max_size=300))
@example(b"[" * 3000)
@example(b"1" * 5000)
@example(b'{"a": NaN}')
@example(b"\xff")
@example(b"12\n3" + b"4" * 4000 + b".")
def test_arbitrary_bytes_give_values_or_our_error(data: bytes) -> None:
    try:
        stream_values(data)
    except JsonFormatError as exc:
        assert exc.offset is None or 0 <= exc.offset <= len(data)
    try:
        load_json(data)
    except JsonFormatError as exc:
        assert exc.offset is None or 0 <= exc.offset <= len(data)


@given(st.lists(json_values, min_size=1, max_size=4), st.data())
def test_mutated_json_gives_values_or_our_error(values: list[Any], data: st.DataObject) -> None:
    text = "\n".join(json.dumps(v) for v in values)
    position = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.sampled_from(["[", "{", "]", '"', "\\", "9" * 4400, "NaN", "\n", ""]))
    cut = data.draw(st.integers(0, 3))
    mutated = text[:position] + insert + text[position + cut :]
    with contextlib.suppress(JsonFormatError):
        stream_values(mutated)
