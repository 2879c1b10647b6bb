"""The spool: atomic queueing, delivery bookkeeping, retries, limits, recovery after a crash."""

from __future__ import annotations

import fcntl
import io
import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporters import (
    DeliveryError,
    DeliveryPlan,
    ExportError,
    RetryPolicy,
    Spool,
    SpoolEntry,
    SpoolError,
    SpoolFullError,
    SpoolLimits,
)

T0 = 1_795_000_000.0  # 2026-11-18, a fixed wall-clock time for the tests


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A transport that records deliveries and fails while ``down`` is set."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, bytes]] = []
        self.asked: list[str] = []
        self.down: str | None = None
        self.remote_has: set[str] = set()
        self.closed = 0

    def deliver(self, entry: SpoolEntry) -> None:
        if self.down:
            raise DeliveryError(self.down)
        self.delivered.append((entry.name, entry.read_bytes()))

    def already_delivered(self, entry: SpoolEntry) -> bool:
        self.asked.append(entry.name)
        return entry.name in self.remote_has

    def close(self) -> None:
        self.closed += 1


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- writing --------------------------------------------------------------------------------


def test_put_makes_a_complete_file_in_the_outbox_and_nothing_in_tmp(tmp_path: Path) -> None:
    spool = Spool(tmp_path, clock=Clock())
    entry = spool.put("readings.csv", b"a,b\r\n1,2\r\n")
    assert entry.name == "readings.csv"
    assert entry.size == 10
    assert entry.path.parent == tmp_path / "outbox"
    assert entry.path.read_bytes() == b"a,b\r\n1,2\r\n"
    assert entry.path.name.endswith("--readings.csv")
    assert files_in(tmp_path / "tmp") == []
    assert spool.entries() == [entry]
    json.dumps(entry.to_dict())


def test_put_accepts_streams_and_chunk_iterables(tmp_path: Path) -> None:
    spool = Spool(tmp_path, clock=Clock())
    a = spool.put("a.xml", io.BytesIO(b"x" * 200_000))
    b = spool.put("b.xml", iter([b"12", b"34"]))
    assert a.read_bytes() == b"x" * 200_000
    assert b.read_bytes() == b"1234"


def test_put_file_uses_the_file_name(tmp_path: Path) -> None:
    source = tmp_path / "export-20261124.csv"
    source.write_bytes(b"data")
    spool = Spool(tmp_path / "spool", clock=Clock())
    assert spool.put_file(source).name == "export-20261124.csv"
    assert spool.put_file(source, name="other.csv").name == "other.csv"
    with pytest.raises(SpoolError, match="cannot read"):
        spool.put_file(tmp_path / "missing.csv")


def test_same_name_and_content_while_queued_is_one_entry(tmp_path: Path) -> None:
    clock = Clock()
    spool = Spool(tmp_path, clock=clock)
    first = spool.put("r.csv", b"same")
    assert first.status == "queued"
    clock.now += 5
    again = spool.put("r.csv", b"same")
    assert (again.entry_id, again.status) == (first.entry_id, "already-queued")
    assert spool.put("r.csv", b"different").entry_id != first.entry_id
    assert spool.put("s.csv", b"same").entry_id != first.entry_id
    assert len(spool.entries()) == 3
    # the old bytes again after a newer version: a third version, so the server ends with it
    clock.now += 5
    third = spool.put("r.csv", b"same")
    assert third.status == "queued" and third.entry_id != first.entry_id
    assert sorted(e.name for e in spool.entries()) == ["r.csv", "r.csv", "r.csv", "s.csv"]
    assert files_in(tmp_path / "tmp") == []


@pytest.mark.parametrize(
    "name", ["", ".hidden", "a/b.csv", "..", "a\\b", "new\nline", "x" * 201, "nul\x00"]
)
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    spool = Spool(tmp_path, clock=Clock())
    with pytest.raises(SpoolError) as info:
        spool.put(name, b"1")
    assert info.value.field == "name"
    assert spool.entries() == []


def test_a_reopened_spool_sees_the_queue_and_removes_abandoned_temporaries(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path, clock=Clock())
    entry = spool.put("r.csv", b"1")
    (tmp_path / "tmp" / "abandoned.tmp").write_bytes(b"half")
    (tmp_path / "outbox" / "not-a-spool-file").write_bytes(b"?")
    again = Spool(tmp_path, clock=Clock())
    assert [e.entry_id for e in again.entries()] == [entry.entry_id]
    assert files_in(tmp_path / "tmp") == []


# --- limits ---------------------------------------------------------------------------------


def test_file_larger_than_the_limit_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path, limits=SpoolLimits(max_file_bytes=100), clock=Clock())
    with pytest.raises(SpoolFullError) as info:
        spool.put("big.csv", iter([b"x" * 60, b"x" * 60]))
    assert info.value.field == "max_file_bytes"
    assert isinstance(info.value, ExportError)
    assert files_in(tmp_path / "tmp") == [] and files_in(tmp_path / "outbox") == []


def test_count_and_total_limits_refuse_new_files_but_keep_queued_ones(tmp_path: Path) -> None:
    spool = Spool(tmp_path, limits=SpoolLimits(max_files=2, max_total_bytes=10), clock=Clock())
    spool.put("a", b"1234")
    spool.put("b", b"1234")
    with pytest.raises(SpoolFullError) as info:
        spool.put("c", b"1")
    assert info.value.field == "max_files"
    assert len(spool.entries()) == 2
    spool.deliver(Recorder())
    spool.put("c", b"123456")
    with pytest.raises(SpoolFullError) as info:
        spool.put("d", b"12345")
    assert info.value.field == "max_total_bytes"
    assert "deliver queued files first" in str(info.value)


def test_limits_are_checked() -> None:
    with pytest.raises(SpoolError):
        SpoolLimits(max_files=0)
    with pytest.raises(SpoolError):
        SpoolLimits(max_age=-1)
    with pytest.raises(SpoolError):
        RetryPolicy(initial=0)
    with pytest.raises(SpoolError):
        RetryPolicy(initial=10, maximum=5)
    with pytest.raises(SpoolError):
        RetryPolicy(jitter=2)


def test_files_older_than_max_age_are_moved_to_expired_not_deleted(tmp_path: Path) -> None:
    clock = Clock()
    spool = Spool(tmp_path, limits=SpoolLimits(max_age=3600), clock=clock)
    old = spool.put("old.csv", b"old")
    clock.now += 3000
    spool.put("new.csv", b"new")
    clock.now += 601
    transport = Recorder()
    report = spool.deliver(transport)
    assert [e.name for e in report.expired] == ["old.csv"]
    assert [n for n, _ in transport.delivered] == ["new.csv"]
    assert [p.name for p in spool.expired_files()] == [old.path.name]
    assert (tmp_path / "expired" / old.path.name).read_bytes() == b"old"
    assert not report.ok


# --- delivering -----------------------------------------------------------------------------


def test_delivery_removes_files_only_after_the_transport_returns(tmp_path: Path) -> None:
    spool = Spool(tmp_path, clock=Clock())
    spool.put("a.csv", b"A")
    spool.put("b.csv", b"B")
    seen_in_outbox: list[list[str]] = []

    class Watching(Recorder):
        def deliver(self, entry: SpoolEntry) -> None:
            seen_in_outbox.append(files_in(tmp_path / "outbox"))
            assert (tmp_path / "journal" / f"{entry.entry_id}.sending").exists()
            super().deliver(entry)

    transport = Watching()
    report = spool.deliver(transport)
    assert [n for n, _ in transport.delivered] == ["a.csv", "b.csv"]
    assert len(seen_in_outbox[0]) == 2 and len(seen_in_outbox[1]) == 1
    assert report.ok and len(report.delivered) == 2
    assert spool.entries() == []
    assert files_in(tmp_path / "outbox") == [] and files_in(tmp_path / "journal") == []
    assert transport.closed == 1
    json.dumps(report.to_dict())


def test_failed_delivery_keeps_the_file_and_backs_off(tmp_path: Path) -> None:
    clock = Clock()
    retry = RetryPolicy(initial=10, factor=2, maximum=35, jitter=0)
    spool = Spool(tmp_path, retry=retry, clock=clock)
    entry = spool.put("a.csv", b"A")
    transport = Recorder()
    transport.down = "connection refused"
    report = spool.deliver(transport)
    assert report.failed == ((entry, "connection refused"),)
    assert spool.plan.state(entry.entry_id).next_attempt == T0 + 10
    # not due yet: nothing is attempted
    report = spool.deliver(transport, now=T0 + 9)
    assert report.failed == () and report.waiting == (entry,)
    # second and third failures double the wait, then the maximum caps it
    spool.deliver(transport, now=T0 + 10)
    assert spool.plan.state(entry.entry_id).next_attempt == T0 + 10 + 20
    spool.deliver(transport, now=T0 + 30)
    assert spool.plan.state(entry.entry_id).next_attempt == T0 + 30 + 35
    assert spool.plan.state(entry.entry_id).failures == 3
    transport.down = None
    report = spool.deliver(transport, now=T0 + 65)
    assert report.delivered == (entry,) and spool.entries() == []


def test_the_backoff_survives_a_restart(tmp_path: Path) -> None:
    retry = RetryPolicy(initial=60, jitter=0)
    spool = Spool(tmp_path, retry=retry, clock=Clock())
    entry = spool.put("a.csv", b"A")
    transport = Recorder()
    transport.down = "530 login incorrect"
    spool.deliver(transport)
    spool.deliver(transport, now=T0 + 60)
    again = Spool(tmp_path, retry=retry, clock=Clock(T0 + 100))
    state = again.plan.state(entry.entry_id)
    assert (state.failures, state.next_attempt, state.last_error) == (
        2, T0 + 60 + 120, "530 login incorrect")
    transport.down = None
    assert again.deliver(transport).waiting == (entry,)
    assert again.deliver(transport, now=T0 + 180).delivered == (entry,)
    assert files_in(tmp_path / "journal") == []


def test_a_torn_retry_state_only_loses_the_backoff(tmp_path: Path) -> None:
    spool = Spool(tmp_path, clock=Clock())
    entry = spool.put("a.csv", b"A")
    (tmp_path / "journal" / f"{entry.entry_id}.retry").write_text('{"failures": ')
    again = Spool(tmp_path, clock=Clock())
    assert again.plan.state(entry.entry_id).failures == 0
    assert again.deliver(Recorder()).delivered == (entry,)


def test_serve_delivers_until_stopped(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.put("a.csv", b"A")
    stop = threading.Event()

    class StopAfterDelivery(Recorder):
        def deliver(self, entry: SpoolEntry) -> None:
            super().deliver(entry)
            stop.set()

    transport = StopAfterDelivery()
    worker = threading.Thread(target=spool.serve, args=(transport, stop), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert transport.delivered == [("a.csv", b"A")] and spool.entries() == []


def test_force_ignores_the_backoff(tmp_path: Path) -> None:
    spool = Spool(tmp_path, clock=Clock())
    spool.put("a.csv", b"A")
    transport = Recorder()
    transport.down = "down"
    spool.deliver(transport)
    transport.down = None
    assert spool.deliver(transport).delivered == ()
    assert len(spool.deliver(transport, force=True).delivered) == 1


def test_after_a_failure_the_rest_waits_for_the_next_pass(tmp_path: Path) -> None:
    spool = Spool(tmp_path, clock=Clock())
    for name in ("a", "b", "c"):
        spool.put(name, name.encode())
    transport = Recorder()
    transport.down = "timeout"
    report = spool.deliver(transport)
    assert len(report.failed) == 1 and len(report.waiting) == 2
    report = spool.deliver(transport, force=True, stop_on_error=False)
    assert len(report.failed) == 3


def test_a_second_deliverer_on_the_same_directory_is_told_busy(tmp_path: Path) -> None:
    spool = Spool(tmp_path, clock=Clock())
    spool.put("a", b"1")
    fd = os.open(tmp_path / "lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        transport = Recorder()
        report = spool.deliver(transport)
        assert report.busy and transport.delivered == [] and not report.ok
    finally:
        os.close(fd)
    assert len(spool.deliver(Recorder()).delivered) == 1


# --- recovery: what a crash in the middle of delivery leaves --------------------------------


def test_done_marker_means_delivered_the_file_is_removed_on_open(tmp_path: Path) -> None:
    spool = Spool(tmp_path, clock=Clock())
    entry = spool.put("a.csv", b"A")
    (tmp_path / "journal" / f"{entry.entry_id}.sending").touch()
    (tmp_path / "journal" / f"{entry.entry_id}.done").touch()
    again = Spool(tmp_path, clock=Clock())
    transport = Recorder()
    assert again.entries() == []
    again.deliver(transport)
    assert transport.delivered == [] and files_in(tmp_path / "journal") == []


def test_sending_marker_asks_the_transport_before_sending_again(tmp_path: Path) -> None:
    spool = Spool(tmp_path, clock=Clock())
    a = spool.put("a.csv", b"A")
    b = spool.put("b.csv", b"B")
    for entry in (a, b):
        (tmp_path / "journal" / f"{entry.entry_id}.sending").touch()
    transport = Recorder()
    transport.remote_has = {"a.csv"}  # the crash came after a.csv had arrived
    report = Spool(tmp_path, clock=Clock()).deliver(transport)
    assert transport.asked == ["a.csv", "b.csv"]
    assert transport.delivered == [("b.csv", b"B")]
    assert len(report.delivered) == 2
    assert files_in(tmp_path / "outbox") == [] and files_in(tmp_path / "journal") == []


def test_orphan_markers_are_removed(tmp_path: Path) -> None:
    Spool(tmp_path, clock=Clock())
    (tmp_path / "journal" / "20261124T000000000000Z-0123456789abcdef.sending").touch()
    Spool(tmp_path, clock=Clock())
    assert files_in(tmp_path / "journal") == []


def test_a_writer_and_a_deliverer_in_different_processes_share_the_directory(
    tmp_path: Path,
) -> None:
    writer = Spool(tmp_path, clock=Clock())
    deliverer = Spool(tmp_path, clock=Clock())  # opened before the file was put
    entry = writer.put("a.csv", b"A")
    transport = Recorder()
    assert deliverer.deliver(transport).delivered == (entry,)
    # the writer's own pass finds the file gone and is not a failure
    again = Recorder()
    report = writer.deliver(again)
    assert report.ok and report.delivered == () and again.delivered == []
    assert writer.entries() == []


def test_a_temporary_file_still_being_written_is_left_alone(tmp_path: Path) -> None:
    Spool(tmp_path, clock=Clock())
    busy = tmp_path / "tmp" / "busy.tmp"
    dead = tmp_path / "tmp" / "dead.tmp"
    dead.write_bytes(b"half")
    with busy.open("wb") as out:
        fcntl.flock(out.fileno(), fcntl.LOCK_EX)  # as a live writer holds it
        Spool(tmp_path, clock=Clock())
        assert files_in(tmp_path / "tmp") == ["busy.tmp"]
    Spool(tmp_path, clock=Clock())
    assert files_in(tmp_path / "tmp") == []


def test_a_transport_bug_counts_as_a_failed_attempt(tmp_path: Path) -> None:
    spool = Spool(tmp_path, clock=Clock())
    spool.put("a.csv", b"A")

    class Broken(Recorder):
        def deliver(self, entry: SpoolEntry) -> None:
            raise TypeError("bug")

    report = spool.deliver(Broken())
    assert report.failed[0][1] == "unexpected TypeError in Broken: bug"
    assert len(spool.entries()) == 1


def test_unusable_directory_is_a_spool_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(SpoolError, match="cannot use spool directory"):
        Spool(blocker / "spool")


# --- the sans-IO plan -----------------------------------------------------------------------


def test_retry_delays_grow_and_cap() -> None:
    policy = RetryPolicy(initial=30, factor=2, maximum=3600, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert policy.delay(50) == 3600
    assert policy.delay(10**6) == 3600


@settings(max_examples=150, deadline=None)
@given(
    failures=st.integers(min_value=1, max_value=200),
    entry_id=st.text(min_size=1, max_size=30),
    jitter=st.floats(min_value=0, max_value=1),
)
def test_jitter_stays_within_its_fraction_and_is_reproducible(
    failures: int, entry_id: str, jitter: float
) -> None:
    policy = RetryPolicy(initial=5, factor=3, maximum=900, jitter=jitter)
    base = RetryPolicy(initial=5, factor=3, maximum=900, jitter=0).delay(failures)
    delay = policy.delay(failures, entry_id)
    assert base <= delay <= base * (1 + jitter) + 1e-9
    assert delay == policy.delay(failures, entry_id)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("track"), st.integers(0, 9), st.integers(0, 1000)),
        st.tuples(st.just("fail"), st.integers(0, 9), st.integers(0, 1000)),
        st.tuples(st.just("forget"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("tick"), st.just(0), st.integers(0, 5000)),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ops=operations)
def test_plan_bookkeeping_holds_under_any_sequence(ops: list[tuple[str, int, int]]) -> None:
    plan = DeliveryPlan(RetryPolicy(initial=10, jitter=0.5), SpoolLimits(max_age=20_000))
    now = 0.0
    sizes: dict[str, int] = {}
    for op, index, amount in ops:
        entry_id = f"e{index}"
        if op == "track":
            plan.track(entry_id, size=amount, created=now)
            sizes[entry_id] = amount
        elif op == "fail" and entry_id in sizes:
            before = plan.state(entry_id).failures
            next_at = plan.record_failure(entry_id, now=now, error="x")
            assert next_at > now
            assert plan.state(entry_id).failures == before + 1
        elif op == "forget":
            plan.forget(entry_id)
            sizes.pop(entry_id, None)
        elif op == "tick":
            now += amount
        assert plan.total_bytes == sum(sizes.values())
        assert len(plan) == len(sizes)
        due = plan.due(now)
        expired = plan.expired(now)
        assert not set(due) & set(expired)
        for entry_id in due:
            assert plan.state(entry_id).next_attempt <= now
        assert set(plan.due(now, force=True)) | set(expired) == set(sizes)


@settings(max_examples=150, deadline=None)
@given(name=st.text(max_size=120), data=st.binary(max_size=300))
def test_any_name_is_queued_and_recovered_intact_or_refused(
    tmp_path_factory: pytest.TempPathFactory, name: str, data: bytes
) -> None:
    directory = tmp_path_factory.mktemp("spool")
    spool = Spool(directory, clock=Clock(), durable=False)
    try:
        entry = spool.put(name, data)
    except SpoolError as exc:
        assert exc.field == "name"
        assert files_in(directory / "outbox") == [] and files_in(directory / "tmp") == []
        return
    [again] = Spool(directory, clock=Clock(), durable=False).entries()
    assert (again.name, again.read_bytes(), again.entry_id) == (name, data, entry.entry_id)
