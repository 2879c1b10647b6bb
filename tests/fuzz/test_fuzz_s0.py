"""s0 under hostile input: state files (counter and channel) and the edges CSV of replay."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import s0

from .harness import check
from .mutations import mutated_bytes, mutated_json, mutated_text
from .seeds import s0_states


@st.composite
def state_file(draw: st.DrawFn) -> bytes:
    raw = draw(mutated_json(list(s0_states()))).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 5)) == 0:
        raw = draw(mutated_bytes([raw], max_mutations=2))
    return raw


@given(data=st.data())
def test_state_file(data: st.DataObject) -> None:
    raw = data.draw(state_file())

    def load() -> None:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "s0-state.json"
            path.write_bytes(raw)
            saved = s0.load_state_file(path)
            if saved.get("format") == s0.COUNTER_STATE_FORMAT:
                counter = s0.S0Counter.restore(saved)
                counter.advance(10**6)
                counter.readings(10**6)
            else:
                channel = s0.Channel.restore(saved)
                channel.feed_edge(10**6, 1)
                channel.advance(10**6 + 1)
                channel.reading(10**6 + 1)

    check("s0 state file", raw, load, (s0.S0Error,))


EDGES = "time,level\n0,1\n0.001,0\n0.002,1\n0.060,0\n1.8,1\n1.86,0\n3.6,1\n3.7,0\n"


@given(data=st.data())
def test_edges_csv(data: st.DataObject) -> None:
    text = data.draw(mutated_text([EDGES, "level;time\n0;0\n1;1e3\n", "time,level,x\n"]))
    config = s0.ChannelConfig(imp_per_unit=1000)

    def replay() -> None:
        edges = s0.read_edges_csv(text.splitlines(keepends=True))
        s0.replay_edges(edges, config)

    check("s0.read_edges_csv + replay_edges", text, replay, (s0.S0Error,))
