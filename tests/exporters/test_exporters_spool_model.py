"""A stateful property test of the spool against a model: whatever sequence of puts,
delivery passes with a flaky transport, clock jumps and reopenings (a restart), every
accepted file is either delivered exactly once or still queued, byte for byte; versions of
one name arrive in the order they were accepted; re-offers are recognised by the model's
own rule."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from exporters import (
    DeliveryError,
    RetryPolicy,
    Spool,
    SpoolEntry,
    SpoolFullError,
    SpoolLimits,
)


class Flaky:
    def __init__(self) -> None:
        self.fail_next = 0
        self.delivered: list[tuple[str, bytes]] = []

    def deliver(self, entry: SpoolEntry) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise DeliveryError("connection reset")
        self.delivered.append((entry.name, entry.read_bytes()))

    def already_delivered(self, entry: SpoolEntry) -> bool:
        return False

    def close(self) -> None:
        pass


class SpoolModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp())
        self.now = 1_795_000_000.0
        self.retry = RetryPolicy(initial=10, maximum=40, jitter=0.2)
        self.limits = SpoolLimits(max_files=6, max_age=None)
        self.spool = self.open()
        self.transport = Flaky()
        self.accepted: list[tuple[str, bytes]] = []

    def open(self) -> Spool:
        return Spool(self.directory, retry=self.retry, limits=self.limits,
                     clock=lambda: self.now, durable=False)

    def teardown(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    @rule(name=st.sampled_from(["a.csv", "b.csv", "c.xml"]), data=st.binary(max_size=20))
    def put(self, name: str, data: bytes) -> None:
        queued_before = [e for e in self.spool.entries() if e.name == name]
        delivered_before = [d for n, d in self.transport.delivered if n == name]
        # the model's rule: same bytes as the newest queued version -> that entry; nothing of
        # the name queued and same bytes as the newest delivered version -> not queued
        if queued_before:
            expected = "already-queued" if queued_before[-1].read_bytes() == data else "queued"
        elif delivered_before and delivered_before[-1] == data:
            expected = "already-delivered"
        else:
            expected = "queued"
        try:
            entry = self.spool.put(name, data)
        except SpoolFullError:  # max_files reached: refused, nothing queued
            assert len(self.spool.entries()) == self.limits.max_files
            assert expected == "queued"
            return
        assert entry.status == expected
        if expected == "queued":
            self.accepted.append((name, data))

    @rule(failures=st.integers(0, 3), force=st.booleans())
    def deliver(self, failures: int, force: bool) -> None:
        self.transport.fail_next = failures
        report = self.spool.deliver(self.transport, force=force, stop_on_error=False)
        left = {e.entry_id for e in self.spool.entries()}
        assert not {e.entry_id for e in report.delivered} & left
        assert {e.entry_id for e, _ in report.failed} <= left

    @rule(seconds=st.integers(0, 100))
    def tick(self, seconds: int) -> None:
        self.now += seconds

    @rule()
    def restart(self) -> None:
        self.spool = self.open()

    @invariant()
    def nothing_lost_nothing_twice(self) -> None:
        queued = [(e.name, e.read_bytes()) for e in self.spool.entries()]
        assert sorted(queued + self.transport.delivered) == sorted(self.accepted)

    @invariant()
    def versions_of_a_name_arrive_in_the_order_accepted(self) -> None:
        for name in ("a.csv", "b.csv", "c.xml"):
            arrived = [d for n, d in self.transport.delivered if n == name]
            offered = [d for n, d in self.accepted if n == name]
            assert arrived == offered[: len(arrived)]


SpoolModel.TestCase.settings = settings(max_examples=60, stateful_step_count=30,
                                        deadline=None)
test_spool_model = SpoolModel.TestCase
