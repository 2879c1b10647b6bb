"""The physical segment model: several answers at once arrive as their bitwise AND."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import mbus
import mbus.procedures
from mbus import SecondaryAddress, Slave, build_record
from mbus.sim import Segment, collide, even_parity


def test_even_parity_bit() -> None:
    assert even_parity(0x00) == 0
    assert even_parity(0x01) == 1
    assert even_parity(0xE5) == 1  # 1110 0101: five ones
    assert even_parity(0xFF) == 0


def test_several_e5_look_like_one() -> None:
    assert collide([b"\xe5"] * 5) == b"\xe5"


def test_rsp_ud_collision_is_bitwise_and_and_longer_tail_survives() -> None:
    assert collide([b"\x68\x10\x33", b"\x68\x0f"]) == bytes((0x68, 0x00, 0x33))


def test_parity_broken_bytes_are_dropped_when_asked() -> None:
    # 0x03 (parity 0) AND 0x01 (parity 1) = 0x01 with ANDed parity 0: parity error
    assert collide([b"\x03", b"\x01"]) == b"\x01"
    assert collide([b"\x03", b"\x01"], drop_parity_errors=True) == b""
    # 0x03 AND 0x06 = 0x02 (parity 1); ANDed parity bits 0 AND 0 = 0: dropped
    assert collide([b"\x03", b"\x06"], drop_parity_errors=True) == b""
    # 0x07 AND 0x0B = 0x03 (parity 0); parity bits 1 AND 1 = 1: dropped
    assert collide([b"\x07", b"\x0b"], drop_parity_errors=True) == b""
    # 0x0F AND 0x0F: the same byte keeps its parity
    assert collide([b"\x0f", b"\x0f"], drop_parity_errors=True) == b"\x0f"


@settings(max_examples=100)
@given(st.lists(st.binary(min_size=0, max_size=20), min_size=1, max_size=5))
def test_collision_only_clears_bits(answers: list[bytes]) -> None:
    line = collide(answers)
    assert len(line) == max(len(answer) for answer in answers)
    for index, byte in enumerate(line):
        for answer in answers:
            if index < len(answer):
                assert byte & ~answer[index] & 0xFF == 0


def test_segment_answers_for_all_slaves_and_honours_baud() -> None:
    slaves = [Slave(SecondaryAddress.parse(f"0000000{n}24232504"), [[build_record(0x13, n)]],
                    primary=n) for n in (1, 2)]
    segment = Segment(slaves)
    assert segment.receive_data(mbus.procedures.snd_nke(1).encode()) == b"\xe5"
    assert segment.receive_data(mbus.procedures.snd_nke(3).encode()) == b""
    # a request split in two chunks is answered once it is whole
    data = mbus.procedures.snd_nke(2).encode()
    assert segment.receive_data(data[:2]) == b""
    assert segment.receive_data(data[2:]) == b"\xe5"
    slaves[0].baud = 9600
    assert segment.receive_data(mbus.procedures.snd_nke(1).encode()) == b""
