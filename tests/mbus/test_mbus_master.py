"""The sans-IO master core: timing from the standard, FCB, retries, outcomes, echo."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mbus
import mbus.procedures
from mbus import Master
from mbus.procedures import (
    AnswerReceived,
    ChecksumMismatch,
    CollisionDetected,
    Exchange,
    ProcedureFinished,
    Progress,
    ResponseTimedOut,
    SendBytes,
    WaitForData,
    req_ud1,
    req_ud2,
    snd_nke,
)

RSP = mbus.build_telegram(
    address=5, header=mbus.Header(id="12345678", manufacturer="KAM", version=1, medium=4,
                                  access_number=0, status=0),
    records=[mbus.build_record(0x13, 5)]).encode()


def test_answer_window_is_330_bit_times_plus_50_ms() -> None:
    # EN 13757-2: the slave answers at the latest 330 bit times + 50 ms after the request.
    assert mbus.procedures.answer_window(2400) == pytest.approx(330 / 2400 + 0.050)
    assert mbus.procedures.answer_window(300) == pytest.approx(1.1 + 0.050)
    assert mbus.procedures.answer_window(9600, margin=0.2) == pytest.approx(330 / 9600 + 0.25)


def test_timing_deadline_includes_request_transmission_and_margin() -> None:
    timing = mbus.procedures.Timing(baud=2400, margin=0.1)
    # 5-byte short frame = 55 bits at 2400 Bd
    assert timing.first_byte_deadline(10.0, 5) == pytest.approx(
        10.0 + 55 / 2400 + 330 / 2400 + 0.05 + 0.1)
    assert mbus.procedures.Timing(baud=2400, timeout=0.5).first_byte_deadline(10.0, 5) == 10.5


def test_bad_timing_settings_raise_our_error() -> None:
    with pytest.raises(mbus.AddressError):
        mbus.procedures.Timing(baud=0)
    with pytest.raises(mbus.AddressError):
        mbus.procedures.Timing(timeout=-1)


class Script:
    """Drives a master with canned answers (None = silence) on a virtual clock."""

    def __init__(self, master: Master, answers: list[bytes | None]) -> None:
        self.master = master
        self.answers = answers
        self.sent: list[bytes] = []
        self.outcomes: list[Any] = []
        self.clock = 0.0

    def run(self, requests: list[mbus.procedures.Request], optional: tuple[int, ...] = ()) -> Any:
        procedure = Exchange(requests, optional=optional)
        recorder = self

        original = procedure.handle

        def handle(outcome: Any) -> Any:
            recorder.outcomes.append(outcome)
            return original(outcome)

        procedure.handle = handle  # type: ignore[method-assign]
        self.master.start(procedure, self.clock)
        while True:
            action = self.master.next_action(self.clock)
            if isinstance(action, SendBytes):
                self.sent.append(action.data)
                answer = self.answers.pop(0) if self.answers else None
                self.pending = answer
            elif isinstance(action, WaitForData):
                if self.pending:
                    self.clock += 0.01
                    self.master.receive_data(self.pending, self.clock)
                    self.pending = None
                else:
                    self.clock = action.deadline
            elif isinstance(action, Progress):
                continue
            else:
                assert isinstance(action, ProcedureFinished)
                return action.result


def test_fcb_toggles_after_each_answer_and_snd_nke_resets_it() -> None:
    script = Script(Master(), [b"\xe5", RSP, RSP, b"\xe5", RSP])
    script.run([snd_nke(5), req_ud2(5), req_ud2(5), snd_nke(5), req_ud2(5)])
    c_fields = [frame[1] for frame in script.sent]
    # SND_NKE 0x40; REQ_UD2 with FCV: FCB=1 (0x7B), then 0 (0x5B); after SND_NKE FCB=1 again
    assert c_fields == [0x40, 0x7B, 0x5B, 0x40, 0x7B]


def test_fcb_is_kept_per_slave() -> None:
    script = Script(Master(), [RSP, RSP, RSP])
    script.run([mbus.procedures.req_ud2(5), mbus.procedures.req_ud2(6), mbus.procedures.req_ud2(5)])
    assert [frame[1] for frame in script.sent] == [0x7B, 0x7B, 0x5B]


def test_garbled_answer_is_repeated_with_the_same_fcb() -> None:
    broken = bytearray(RSP)
    broken[-2] ^= 0xFF  # checksum
    script = Script(Master(retries=2), [bytes(broken), RSP])
    result = script.run([mbus.procedures.req_ud2(5)])
    assert [frame[1] for frame in script.sent] == [0x7B, 0x7B]
    assert isinstance(result[0], AnswerReceived)


def test_silence_is_not_repeated_unless_the_request_says_so() -> None:
    script = Script(Master(retries=2), [None, None, None])
    result = script.run([mbus.procedures.snd_nke(5)])
    assert len(script.sent) == 1
    assert isinstance(result, mbus.NoAnswerError)
    script = Script(Master(retries=2), [None, None, RSP])
    result = script.run([mbus.procedures.req_ud2(5, retry_silence=True)])
    assert len(script.sent) == 3
    assert isinstance(result[0], AnswerReceived)


def test_outcomes_checksum_collision_truncation_timeout() -> None:
    broken = bytearray(RSP)
    broken[-2] ^= 0x01
    cases: list[tuple[bytes | None, type[Any]]] = [
        (bytes(broken), ChecksumMismatch),
        (bytes(b & 0x60 for b in RSP[:20]), CollisionDetected),  # garbled start
        (RSP[:-3], CollisionDetected),  # truncated: parity-dropped bytes
        (None, ResponseTimedOut),
        (b"\xe5", CollisionDetected),  # E5 where RSP_UD was expected
    ]
    for answer, kind in cases:
        script = Script(Master(retries=0), [answer])
        script.run([mbus.procedures.req_ud2(5)])
        assert isinstance(script.outcomes[-1], kind), answer


def test_echo_is_detected_and_stripped() -> None:
    master = Master()
    request = mbus.procedures.snd_nke(5)
    script = Script(master, [request.encode() + b"\xe5", req_ud2(5).encode(True) + RSP])
    result = script.run([request, mbus.procedures.req_ud2(5)])
    assert master.echo_detected
    assert isinstance(result[1], AnswerReceived)
    assert result[1].raw == RSP


def test_echo_arriving_in_pieces_and_no_echo_afterwards() -> None:
    master = Master()
    request = mbus.procedures.snd_nke(5)
    master.start(Exchange([request, request]), 0.0)
    action = master.next_action(0.0)
    assert isinstance(action, SendBytes)
    for byte in action.data + b"\xe5":  # one byte at a time
        master.receive_data(bytes((byte,)), 0.01)
    assert isinstance(master.next_action(0.01), SendBytes)
    master.receive_data(b"\xe5", 0.02)  # the converter stopped echoing: still an answer
    result = master.next_action(0.02)
    assert isinstance(result, ProcedureFinished)
    assert all(isinstance(answer, AnswerReceived) for answer in result.result)


def test_master_without_echo_expected_takes_answer_as_is() -> None:
    master = Master(echo=False)
    script = Script(master, [b"\xe5"])
    result = script.run([mbus.procedures.snd_nke(1)])
    assert not master.echo_detected
    assert isinstance(result[0], AnswerReceived)


def test_misuse_raises_procedure_error() -> None:
    master = Master()
    with pytest.raises(mbus.ProcedureError):
        master.next_action(0.0)
    master.start(Exchange([mbus.procedures.snd_nke(1)]), 0.0)
    with pytest.raises(mbus.ProcedureError):
        master.start(Exchange([mbus.procedures.snd_nke(1)]), 0.0)


def test_late_bytes_of_a_garbled_answer_are_awaited_before_concluding() -> None:
    master = Master(retries=0)
    master.start(Exchange([mbus.procedures.req_ud2(5)]), 0.0)
    assert isinstance(master.next_action(0.0), SendBytes)
    master.receive_data(b"\x60\x00", 0.1)  # not a frame start
    wait = master.next_action(0.1)
    assert isinstance(wait, WaitForData) and wait.deadline > 0.1
    finished = master.next_action(wait.deadline)
    assert isinstance(finished, ProcedureFinished)
    assert isinstance(finished.result, mbus.CollisionError)


@settings(max_examples=150, deadline=None)
@given(chunks=st.lists(st.binary(max_size=40), max_size=8),
       expect=st.sampled_from([snd_nke(5), req_ud2(5), req_ud1(5)]))
def test_arbitrary_bytes_end_in_one_of_our_outcomes(chunks: list[bytes],
                                                    expect: mbus.procedures.Request) -> None:
    seen: list[Any] = []
    procedure = Exchange([expect])
    original = procedure.handle

    def handle(outcome: Any) -> Any:
        seen.append(outcome)
        return original(outcome)

    procedure.handle = handle  # type: ignore[method-assign]
    master = Master(retries=0)
    master.start(procedure, 0.0)
    now = 0.0
    for chunk in chunks:
        action = master.next_action(now)
        if isinstance(action, ProcedureFinished):
            break
        now += 0.001
        master.receive_data(chunk, now)
    while not isinstance(action := master.next_action(now), ProcedureFinished):
        if isinstance(action, WaitForData):
            now = action.deadline
    assert len(seen) == 1
    assert isinstance(seen[0], AnswerReceived | ResponseTimedOut | CollisionDetected
                      | ChecksumMismatch)
