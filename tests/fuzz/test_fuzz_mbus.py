"""mbus under hostile input: ``mbus.decode`` of any bytes and the ``mbus decode`` CLI."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import mbus
from mbus._cli import main as mbus_main  # the console script's function

from .harness import check, run_cli
from .mutations import mutated_bytes, mutated_text
from .seeds import libmbus_frames


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    return draw(mutated_bytes(libmbus_frames()))


@given(data=st.data())
def test_decode_any_bytes(data: st.DataObject) -> None:
    frame = data.draw(frames())
    check("mbus.decode", frame, lambda: mbus.decode(frame), (mbus.MBusError,))


@st.composite
def hex_input(draw: st.DrawFn) -> bytes:
    """Several lines of hex (as ``-f FILE`` or a pipe gives them), mutated as text, then
    sometimes as bytes (non-UTF-8 input)."""
    lines = draw(st.lists(frames(), min_size=1, max_size=4))
    style = draw(st.sampled_from([" ", "", ":"]))
    text = "\n".join(style.join(f"{byte:02x}" for byte in line) for line in lines)
    text = draw(mutated_text([text], max_mutations=3))
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        raw = draw(mutated_bytes([raw], max_mutations=2))
    return raw


@given(data=st.data())
def test_decode_command(data: st.DataObject) -> None:
    stdin = data.draw(hex_input())
    argv = ["decode", *data.draw(st.sampled_from([["--json"], []]))]
    check("mbus decode (CLI)", stdin, lambda: run_cli(mbus_main, argv, stdin), ())
