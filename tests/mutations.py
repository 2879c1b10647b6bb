"""Hypothesis strategies that mutate valid documents, for hostile-input tests.

Seed a loader with a document it accepts, then let these damage it: structure-aware
(:func:`mutated`: values swapped for edge cases of their kind or for arbitrary JSON-like
junk, keys dropped or added) or character-level (:func:`mutated_text`,
:func:`mutated_bytes`: spans cut, repeated or replaced, hostile snippets inserted).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

__all__ = ["HOSTILE_SNIPPETS", "HUGE_NUMBERS", "junk", "mutated", "mutated_bytes", "mutated_text"]

#: Numbers at the edges: beyond float, beyond 64 bits, signs, zero, fractions.
HUGE_NUMBERS = [10**309, -(10**309), 2**64, 10**30, -1, 0, 1, 0.5, -0.0, 1e308]

#: Text that breaks parsers: deep nesting, huge numbers, NaN, surrogates, NUL, lone CR,
#: quotes, BOM, markup.
HOSTILE_SNIPPETS = [
    "[" * 1000, "{" * 40, "1" * 4400, "1e999", "NaN", "-Infinity", "\ud800", "\x00", "\r",
    '"', "'", "\\", "\ufeff", "]]]", "<!DOCTYPE x>", "&amp;", "<a>", "]]>", "\u00e9", "\n\n",
]  # fmt: skip

_numbers = st.one_of(st.sampled_from(HUGE_NUMBERS), st.integers(), st.floats())


def junk(strings: Sequence[str] = ()) -> st.SearchStrategy[Any]:
    """Arbitrary JSON-like values (and a few that JSON cannot hold: NaN, huge ints)."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        _numbers,
        st.text(max_size=6),
        st.sampled_from(["", *strings]),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=6,
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _like(value: Any, strings: Sequence[str]) -> st.SearchStrategy[Any]:
    """Edge cases of the same kind as ``value``."""
    if isinstance(value, bool):
        return st.one_of(st.booleans(), st.sampled_from([0, 1, 1.0, "true"]))
    if isinstance(value, (int, float)):
        return _numbers
    if isinstance(value, str):
        return st.one_of(
            st.sampled_from(["", *strings]), st.text(max_size=6), st.just(value + "x")
        )
    return junk(strings)


@st.composite
def mutated(draw: st.DrawFn, seed: Any, strings: Sequence[str] = (), max_edits: int = 3) -> Any:
    """``seed`` (JSON-like) with 1..max_edits edits; ``strings`` are values worth trying
    (enum names, ids of the document)."""
    document = copy.deepcopy(seed)
    anything = junk(strings)
    for _ in range(draw(st.integers(1, max_edits))):
        path = draw(st.sampled_from(_paths(document)))
        if not path:
            if draw(st.integers(0, 9)) == 0:
                return draw(anything)
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["like", "like", "replace", "drop", "add"]))
        if action == "like":
            parent[path[-1]] = draw(_like(parent[path[-1]], strings))
        elif action == "replace":
            parent[path[-1]] = draw(anything)
        elif action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["x", *strings]))] = draw(anything)
    return document


@st.composite
def mutated_text(draw: st.DrawFn, seed: str) -> str:
    """``seed`` with 1..4 character-level edits: a span cut, repeated or replaced, or a
    hostile snippet or random text inserted."""
    text = seed
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 40)))
        insert = draw(st.one_of(st.text(max_size=6), st.sampled_from(HOSTILE_SNIPPETS)))
        action = draw(st.sampled_from(["cut", "insert", "replace", "repeat"]))
        if action == "cut":
            text = text[:start] + text[end:]
        elif action == "insert":
            text = text[:start] + insert + text[start:]
        elif action == "replace":
            text = text[:start] + insert + text[end:]
        else:
            text = text[:start] + text[start:end] * draw(st.integers(2, 50)) + text[end:]
    return text


@st.composite
def mutated_bytes(draw: st.DrawFn, seed: bytes) -> bytes:
    """:func:`mutated_text` of UTF-8 ``seed``, sometimes with raw bytes inserted too
    (invalid UTF-8, BOMs of other encodings)."""
    data = draw(mutated_text(seed.decode("utf-8"))).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    return data
