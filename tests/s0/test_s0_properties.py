"""Hypothesis properties of the counter, with an offline oracle written from the issue text."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from s0 import (
    Channel,
    ChannelConfig,
    Event,
    PulseCounted,
    PulseRejected,
    ReplayInputError,
    S0Error,
    StateError,
    read_edges_csv,
    replay_edges,
)

MS = 1_000_000  # ns
DEBOUNCE, MIN_ON, MIN_OFF = 10 * MS, 30 * MS, 30 * MS


def channel() -> Channel:
    return Channel(ChannelConfig(imp_per_unit=1000), name="p")


def run(ch: Channel, edges: list[tuple[int, int]]) -> list[Event]:
    events: list[Event] = []
    for t, level in edges:
        events.extend(ch.feed_edge_ns(t, level))
    deadline = ch.next_deadline_ns()
    if deadline is not None:
        events.extend(ch.advance_ns(deadline))
    return events


def oracle(edges: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """The rules read offline: raw runs that last >= debounce (or run to the end of the
    recording) are the filtered signal; its high phases are judged min_on first, then
    min_off. Returns (counted|reason, start, end) per high phase."""
    runs: list[tuple[int, int]] = []  # (start, level) of raw runs, repeats merged
    raw = 0
    for t, level in edges:
        if level != raw:
            runs.append((t, level))
            raw = level
    filtered, phase_start, prev_start = 0, None, None
    judged: list[tuple[str, int, int]] = []
    for i, (start, level) in enumerate(runs):
        lasts = i + 1 == len(runs) or runs[i + 1][0] - start >= DEBOUNCE
        if not lasts or level == filtered:
            continue
        if level == 1:
            prev_start, phase_start = phase_start, start
        else:
            assert phase_start is not None
            if start - phase_start < MIN_ON:
                verdict = "on_too_short"
            elif prev_start is not None and phase_start - prev_start < MIN_OFF:
                verdict = "off_too_short"
            else:
                verdict = "counted"
            judged.append((verdict, phase_start, start))
            prev_start, phase_start = phase_start, start
        filtered = level
    return judged


def summary(events: list[Event]) -> list[tuple[str, int, int]]:
    out = []
    for e in events:
        if isinstance(e, PulseCounted):
            out.append(("counted", round(e.start * 1e9), round(e.end * 1e9)))
        elif isinstance(e, PulseRejected):
            assert e.start is not None
            out.append((e.reason.value, round(e.start * 1e9), round(e.end * 1e9)))
    return out


# Edge streams: gaps in whole ms around the thresholds (so exact-threshold cases are common).
gaps = st.one_of(
    st.sampled_from([0, 1, 9, 10, 11, 20, 29, 30, 31, 40, 100]), st.integers(0, 2000)
)
edge_streams = st.lists(st.tuples(gaps, st.integers(0, 1)), max_size=60).map(
    lambda steps: [(t, level) for t, level in _accumulate(steps)]
)


def _accumulate(steps: list[tuple[int, int]]) -> list[tuple[int, int]]:
    t, out = 0, []
    for gap, level in steps:
        t += gap * MS
        out.append((t, level))
    return out


@settings(max_examples=200)
@given(edge_streams)
def test_the_counter_agrees_with_the_offline_reading_of_the_rules(
    edges: list[tuple[int, int]],
) -> None:
    ch = channel()
    events = run(ch, edges)
    expected = oracle(edges)
    assert summary(events) == expected
    assert ch.pulses == sum(v == "counted" for v, _, _ in expected)
    assert ch.rejected == len(expected) - ch.pulses
    assert ch.total == Decimal(ch.pulses) / 1000


@st.composite
def clean_trains(draw: st.DrawFn) -> tuple[list[tuple[int, int]], list[int]]:
    """Pulses >= min_on after pauses >= min_off, each edge with contact bounce shorter than
    debounce; returns the edges and the start of each pulse (its last closing bounce)."""
    t = draw(st.integers(0, 10**6)) * MS
    edges: list[tuple[int, int]] = []
    starts: list[int] = []
    for _ in range(draw(st.integers(0, 25))):
        for level in (1, 0):
            bounces = draw(st.lists(st.integers(1, 9), max_size=4))
            flips = [level if i % 2 == 0 else 1 - level for i in range(len(bounces) * 2 + 1)]
            times = [t]
            for gap in bounces:  # each bounce: away and back, each part < debounce
                times += [times[-1] + gap * MS // 2, times[-1] + gap * MS]
            edges += list(zip(times, flips, strict=True))
            t = times[-1]
            if level == 1:
                starts.append(t)
            t += draw(st.integers(MIN_ON if level else MIN_OFF, 2000 * MS))
    return edges, starts


@settings(max_examples=150)
@given(clean_trains())
def test_clean_pulse_trains_with_bounce_are_counted_exactly(
    train: tuple[list[tuple[int, int]], list[int]],
) -> None:
    edges, starts = train
    ch = channel()
    events = run(ch, edges)
    assert [round(e.start * 1e9) for e in events if isinstance(e, PulseCounted)] == starts
    assert ch.rejected == 0
    assert ch.pulses == len(starts)


@settings(max_examples=200)
@given(edge_streams, st.data())
def test_a_save_and_restore_anywhere_never_changes_the_result(
    edges: list[tuple[int, int]], data: st.DataObject
) -> None:
    split = data.draw(st.integers(0, len(edges)))
    advance_to = None
    if split and data.draw(st.booleans()):  # also save after an advance between edges
        advance_to = edges[split - 1][0] + data.draw(st.integers(0, 15)) * MS
        if split < len(edges):
            advance_to = min(advance_to, edges[split][0])
    whole = channel()
    first = channel()
    head = [e for t, level in edges[:split] for e in first.feed_edge_ns(t, level)]
    if advance_to is not None:
        head += first.advance_ns(advance_to)
        whole_events = [e for t, level in edges[:split] for e in whole.feed_edge_ns(t, level)]
        whole_events += whole.advance_ns(advance_to)
        whole_events += run(whole, edges[split:])
    else:
        whole_events = run(whole, edges)
    saved = json.loads(json.dumps(first.save()))
    second = Channel.restore(saved)
    tail = run(second, edges[split:])
    assert head + tail == whole_events
    assert second.save() == whole.save()
    assert second.total == whole.total


times = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**13), 10**13),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.fractions(),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
)
levels = st.one_of(
    st.integers(-2, 3), st.floats(), st.booleans(), st.text(max_size=2), st.none(), st.decimals()
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("edge"), times, levels),
        st.tuples(st.just("pulse"), times, st.none()),
        st.tuples(st.just("advance"), times, st.none()),
        st.tuples(st.just("power"), times, st.none()),
    ),
    max_size=30,
)


@settings(max_examples=200)
@given(operations)
def test_arbitrary_input_raises_only_s0_errors(ops: list[tuple[str, object, object]]) -> None:
    ch = channel()
    for op, time, level in ops:
        try:
            if op == "edge":
                ch.feed_edge(time, level)  # type: ignore[arg-type]
            elif op == "pulse":
                ch.feed_pulse(time)  # type: ignore[arg-type]
            elif op == "advance":
                ch.advance(time)  # type: ignore[arg-type]
            else:
                ch.power(time)  # type: ignore[arg-type]
        except S0Error:
            pass
    json.dumps(ch.save())
    assert Channel.restore(ch.save()).save() == ch.save()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200)
@given(st.data())
def test_damaged_saved_state_raises_only_state_error(data: st.DataObject) -> None:
    ch = channel()
    for t, level in data.draw(edge_streams):
        ch.feed_edge_ns(t, level)
    saved = ch.save()
    # replace one entry anywhere in the saved dict by an arbitrary JSON value
    node: dict[str, object] = saved
    while True:
        key = data.draw(st.sampled_from(sorted(node)))
        child = node[key]
        if isinstance(child, dict) and child and data.draw(st.booleans()):
            node = child
            continue
        node[key] = data.draw(json_values)
        break
    try:
        restored = Channel.restore(saved)
    except StateError:
        return
    # a restored channel works (or was refused above)
    restored.reading(Decimal(10**6))
    later = max(restored.last_time_ns or 0, 0) + 1
    restored.feed_edge_ns(later, 1)
    restored.advance_ns(later + 10**9)


@settings(max_examples=200)
@given(st.text(alphabet="time,lev01.e-+\n\r\"x ", max_size=80))
def test_any_csv_text_replays_or_raises_replay_input_error(text: str) -> None:
    try:
        edges = read_edges_csv(text.splitlines(keepends=True))
    except ReplayInputError as exc:
        assert exc.row >= 1
        return
    replay_edges(edges, ChannelConfig(imp_per_unit=1))
