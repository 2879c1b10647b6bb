"""Structure-aware mutation strategies for hypothesis, seeded with real inputs.

Three levels, each a chain of a few mutations applied to a seed:

* bytes: bit flips, interesting bytes (00, FF, 7F, 80, length-like values), truncation,
  insertion of random bytes, deletion, repetition of a slice (cost on long inputs),
  splicing with another seed;
* text: the same on characters, plus hostile snippets (lone surrogates, bare CR, NUL,
  quotes and separators, format specs, huge and non-finite numbers, deep brackets, a field
  longer than the csv module's limit);
* JSON: a parsed seed whose sub-trees are replaced by hostile values (deep nesting,
  integers of thousands of digits, 1e309, NaN, wrong types, surrogates), keys dropped
  or added, then serialised, sometimes followed by a text mutation.

Hostile values are built by the mutation (a few drawn integers), not drawn byte by byte,
so hypothesis can make very large inputs cheaply.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

INTERESTING_BYTES = [0x00, 0x01, 0x0F, 0x10, 0x2F, 0x68, 0x7F, 0x80, 0xFE, 0xFF]

HOSTILE_SNIPPETS = [
    "\ud800", "\udfff", "\r", "\n", "\r\n", "\x00", "\x1b", "\ufeff", '"', "'", ",", ";",
    "\\", "\t", "=", "+", "-", "@", "{", "}", "{value:>999999999}", "{limit!r:^99999999}",
    "{0}", "{", "%s", "NaN", "Infinity", "-Infinity", "1e309", "-0", "0x10", "9" * 4301,
    "1" + "0" * 309, "[" * 1000, "{\"a\":" * 1000, "x" * 131073, "\u00e9", "\u202e", "T",
    "Z", "+14:00", "-14:00", "9999-12-31T23:59:59-14:00", "0000-00-00T00:00:00Z",
    "2026-13-01T00:00:00Z", "\"\"\"", "[[", "]]", "#", "*",
]


HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.0, 1.5, -0.0, 2**63, -(2**63) - 1, 10**4000, 1e308, 5e-324,
    "", " ", "\ud800", "x" * 140000, "9" * 5000, "1e309", "NaN", [], {}, [None], {"": None},
    "9999-12-31T23:59:59-14:00", "2026-13-01T00:00:00Z", "{value:>999999999}", "00" * 300,
    "0" * 31, "G" * 32,
]

# JSON text that json.dumps cannot (or will not) write: spliced in verbatim.
HOSTILE_RAW = [
    "[" * 1000 + "]" * 1000, '{"a":' * 1000 + "0" + "}" * 1000, "[" * 100000, "9" * 4301,
    "-" + "9" * 5000, "1" + "0" * 309, "1e309", "-1e309", "NaN", "Infinity", "-Infinity",
    "-0", "1E-400", "0." + "0" * 5000 + "1",
]
_RAW_MARK = "\u0000raw-{}\u0000"

Mutation = Callable[[Any, st.DrawFn], Any]


def _pos(draw: st.DrawFn, size: int) -> int:
    return draw(st.integers(0, max(size, 0)))


def _mutate_sequence(draw: st.DrawFn, data: Any, alphabet: st.SearchStrategy[Any],
                     specials: Sequence[Any], others: Sequence[Any]) -> Any:
    """One mutation of ``data`` (bytes or str); ``specials`` are hostile pieces."""
    size = len(data)
    kind = draw(st.sampled_from(["flip", "special", "truncate", "insert", "delete",
                                 "repeat", "splice", "swap"]))
    empty = data[:0]
    if kind == "flip" and size:
        at = _pos(draw, size - 1)
        if isinstance(data, bytes):
            return data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
        return data[:at] + chr(ord(data[at]) ^ (1 << draw(st.integers(0, 7)))) + data[at + 1:]
    if kind == "special":
        at = _pos(draw, size)
        piece = draw(st.sampled_from(list(specials)))
        replace = draw(st.booleans())
        return data[:at] + piece + data[at + (len(piece) if replace else 0):]
    if kind == "truncate":
        return data[:_pos(draw, size)] if draw(st.booleans()) else data[_pos(draw, size):]
    if kind == "insert":
        at = _pos(draw, size)
        return data[:at] + draw(alphabet) + data[at:]
    if kind == "delete" and size:
        at = _pos(draw, size - 1)
        return data[:at] + data[at + draw(st.integers(1, 16)):]
    if kind == "repeat" and size:
        start = _pos(draw, size - 1)
        piece = data[start:start + draw(st.integers(1, 64))]
        return data[:start] + piece * draw(st.sampled_from([2, 3, 10, 100, 1000])) + data[start:]
    if kind == "splice" and others:
        other = draw(st.sampled_from(list(others)))
        return data[:_pos(draw, size)] + other[_pos(draw, len(other)):]
    if kind == "swap" and size > 1:
        a, b = sorted((_pos(draw, size - 1), _pos(draw, size - 1)))
        return data[:a] + data[b:b + 1] + data[a + 1:b] + data[a:a + 1] + data[b + 1:]
    return data + empty


@st.composite
def mutated_bytes(draw: st.DrawFn, seeds: Sequence[bytes], *, max_mutations: int = 6) -> bytes:
    """A seed (or, sometimes, arbitrary bytes) after a few byte-level mutations."""
    if not seeds or draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=600))
    data = draw(st.sampled_from(list(seeds)))
    specials = [bytes([value]) for value in INTERESTING_BYTES] + [b"\x00" * 4, b"\xff" * 4]
    for _ in range(draw(st.integers(0, max_mutations))):
        data = _mutate_sequence(draw, data, st.binary(min_size=1, max_size=32), specials, seeds)
    return bytes(data)


@st.composite
def mutated_text(draw: st.DrawFn, seeds: Sequence[str], *, max_mutations: int = 6) -> str:
    """A seed (or arbitrary text) after a few character-level mutations."""
    if not seeds or draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=400))
    data = draw(st.sampled_from(list(seeds)))
    for _ in range(draw(st.integers(0, max_mutations))):
        data = _mutate_sequence(draw, data, st.text(min_size=1, max_size=16),
                                HOSTILE_SNIPPETS, seeds)
    return str(data)


def _paths(value: Any, prefix: tuple[Any, ...] = (), limit: int = 2000) -> list[tuple[Any, ...]]:
    """Every path to a sub-tree of a parsed JSON value (breadth first, bounded)."""
    out: list[tuple[Any, ...]] = [prefix]
    queue: list[tuple[tuple[Any, ...], Any]] = [(prefix, value)]
    while queue and len(out) < limit:
        path, node = queue.pop(0)
        children = (node.items() if isinstance(node, dict)
                    else enumerate(node) if isinstance(node, list) else ())
        for key, child in children:
            out.append((*path, key))
            queue.append(((*path, key), child))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        copy[head] = _replace(value[head], rest, new)
        return copy
    copy_list = list(value)
    copy_list[head] = _replace(value[head], rest, new)
    return copy_list


def _mutate_json(draw: st.DrawFn, value: Any, raw: bool = True) -> Any:
    paths = _paths(value)
    path = paths[draw(st.integers(0, len(paths) - 1))]
    node: Any = value
    for key in path:
        node = node[key]
    kind = draw(st.sampled_from(["hostile", "hostile", "raw", "raw", "drop", "add", "wrap",
                                 "number", "string"]))
    if kind == "raw" and raw:
        return _replace(value, path, _RAW_MARK.format(draw(st.integers(0, len(HOSTILE_RAW) - 1))))
    if kind == "hostile":
        return _replace(value, path, draw(st.sampled_from(HOSTILE_VALUES)))
    if kind == "drop" and path:
        parent_path, key = path[:-1], path[-1]
        parent: Any = value
        for part in parent_path:
            parent = parent[part]
        if isinstance(parent, dict):
            smaller = {k: v for k, v in parent.items() if k != key}
        else:
            smaller = parent[:key] + parent[key + 1:]
        return _replace(value, parent_path, smaller)
    if kind == "add" and isinstance(node, dict):
        key = draw(st.sampled_from(["", "x", "\ud800", "records", "value", "timestamp",
                                    "format", "version", "1" * 300]))
        return _replace(value, path, {**node, key: draw(st.sampled_from(HOSTILE_VALUES))})
    if kind == "wrap":
        return _replace(value, path, [node] if draw(st.booleans()) else {"x": node})
    if kind == "number" and isinstance(node, (int, float)) and not isinstance(node, bool):
        if isinstance(node, int):
            return _replace(value, path, node * draw(st.sampled_from([-1, 10, 10**20, 10**400])))
        changed = node * draw(st.sampled_from([-1.0, 10.0, 1e300]))
        return _replace(value, path, changed if math.isfinite(changed) else float("inf"))
    if kind == "string" and isinstance(node, str):
        text = draw(mutated_text([node], max_mutations=2))
        return _replace(value, path, text)
    return value


@st.composite
def mutated_value(draw: st.DrawFn, seeds: Sequence[Any], *, max_mutations: int = 4) -> Any:
    """A parsed JSON seed with a few sub-trees replaced by hostile Python values."""
    value = draw(st.sampled_from(list(seeds)))
    for _ in range(draw(st.integers(0, max_mutations))):
        value = _mutate_json(draw, value, raw=False)
    return value


@st.composite
def mutated_json(draw: st.DrawFn, seeds: Sequence[Any], *, max_mutations: int = 4) -> str:
    """A JSON seed with a few sub-trees made hostile (also as text json.dumps would not
    write: deep nesting, huge numbers, NaN), serialised, then sometimes mutated as text."""
    value = draw(st.sampled_from(list(seeds)))
    for _ in range(draw(st.integers(0, max_mutations))):
        value = _mutate_json(draw, value)
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    for index, raw in enumerate(HOSTILE_RAW):
        text = text.replace(json.dumps(_RAW_MARK.format(index)), raw)
    if draw(st.integers(0, 3)) == 0:
        text = draw(mutated_text([text], max_mutations=2))
    return text
