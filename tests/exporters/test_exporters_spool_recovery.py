"""Spool recovery from hostile or damaged files (journal, outbox names, delivery log), the
rules of versions, refusals and re-offers; all without a network (see the FTP/SFTP tests
and the kill test for real servers)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from exporters import (
    DeliveryError,
    EntryRefused,
    EntryRefusedError,
    ExportError,
    RetryPolicy,
    Spool,
    SpoolEntry,
    SpoolError,
    SpoolLimits,
)

T0 = 1_795_000_000.0
RETRY = RetryPolicy(initial=10, maximum=100, jitter=0.1)


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Server:
    """A transport holding named files; refuses names in ``refuse``, fails while ``down``."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.history: list[tuple[str, bytes]] = []
        self.refuse: set[str] = set()
        self.down = False
        self.destination = "test://server"

    def deliver(self, entry: SpoolEntry) -> None:
        if self.down:
            raise DeliveryError("connection refused")
        if entry.name in self.refuse:
            raise EntryRefusedError(f"553 {entry.name}: not allowed")
        self.files[entry.name] = entry.read_bytes()
        self.history.append((entry.name, entry.read_bytes()))

    def already_delivered(self, entry: SpoolEntry) -> bool:
        return self.files.get(entry.name) == entry.read_bytes()

    def close(self) -> None:
        pass


def open_spool(directory: Path, clock: Clock, **options: object) -> Spool:
    return Spool(directory, clock=clock, retry=RETRY, durable=False, **options)  # type: ignore[arg-type]


# --- issue 10: hostile journal and outbox contents ----------------------------------------


@pytest.mark.parametrize(
    "journal",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"failures": Infinity, "next_attempt": 0, "last_error": null}',
        b'{"failures": 1, "next_attempt": ' + b"9" * 309 + b', "last_error": null}',
        b'{"failures": 1, "next_attempt": NaN, "last_error": null}',
        b'{"failures": 1, "next_attempt": 1e308, "last_error": null}',
        b'{"failures": 1, "next_attempt": 4102444800, "last_error": null}',  # year 2100
        b'{"failures": -1, "next_attempt": 0, "last_error": null}',
        b'{"failures": 1, "next_attempt": 0, "last_error": ' + b'"x' * 5000 + b'"}',
        b"\xff\xfe",
        b"",
    ],
)
def test_a_hostile_retry_journal_is_dropped_and_the_entry_is_due_at_once(
    tmp_path: Path, journal: bytes
) -> None:
    clock = Clock()
    entry = open_spool(tmp_path, clock).put("a.csv", b"A")
    retry_file = tmp_path / "journal" / f"{entry.entry_id}.retry"
    retry_file.write_bytes(journal)
    spool = open_spool(tmp_path, clock)
    assert not retry_file.exists()
    server = Server()
    report = spool.deliver(server)  # no force: due at once, not stuck behind a bogus time
    assert [e.name for e in report.delivered] == ["a.csv"] and server.files == {"a.csv": b"A"}


def test_a_valid_retry_journal_still_holds_the_backoff(tmp_path: Path) -> None:
    clock = Clock()
    spool = open_spool(tmp_path, clock)
    spool.put("a.csv", b"A")
    server = Server()
    server.down = True
    assert len(spool.deliver(server).failed) == 1
    server.down = False
    reopened = open_spool(tmp_path, clock)
    assert reopened.deliver(server).delivered == ()
    clock.now += RETRY.longest
    assert len(reopened.deliver(server).delivered) == 1


@pytest.mark.parametrize(
    "name",
    [
        "20261324T101500000000Z-0123456789abcdef--month13.csv",  # month 13
        "20260230T101500000000Z-0123456789abcdef--feb30.csv",
        "20261124T246000000000Z-0123456789abcdef--hour24.csv",
        "20261124T101500000000Z-0123456789abcdef--.hidden",
        "not-a-spool-file.csv",
    ],
)
def test_an_outbox_file_the_spool_did_not_make_is_left_alone_and_listed(
    tmp_path: Path, name: str
) -> None:
    clock = Clock()
    open_spool(tmp_path, clock).put("ok.csv", b"fine")
    (tmp_path / "outbox" / name).write_bytes(b"foreign")
    spool = open_spool(tmp_path, clock)
    server = Server()
    assert [e.name for e in spool.deliver(server).delivered] == ["ok.csv"]
    assert (tmp_path / "outbox" / name).read_bytes() == b"foreign"
    assert spool.listing()["unrecognised"] == [name]


def test_a_directory_in_the_outbox_is_not_an_entry(tmp_path: Path) -> None:
    (tmp_path / "outbox" / "20261124T101500000000Z-0123456789abcdef--dir.csv").mkdir(
        parents=True
    )
    spool = open_spool(tmp_path, Clock())
    assert spool.entries() == [] and spool.deliver(Server()).ok


# --- versions of one name, refusals, re-offers ----------------------------------------------


def test_versions_of_one_name_are_delivered_in_queue_order_each_once(tmp_path: Path) -> None:
    clock = Clock()
    spool = open_spool(tmp_path, clock)
    server = Server()
    for version in range(5):
        clock.now += 1
        spool.put("latest.csv", f"version {version}".encode())
        spool.put(f"unique-{version}.csv", b"u")
    server.down = True
    assert len(spool.deliver(server, stop_on_error=False).failed) == 6  # one try per name
    server.down = False
    report = spool.deliver(server, force=True)
    assert [data for name, data in server.history if name == "latest.csv"] == [
        f"version {v}".encode() for v in range(5)
    ]
    assert server.files["latest.csv"] == b"version 4"
    assert len(report.delivered) == 10 and spool.entries() == []


def test_a_failing_version_holds_back_the_later_versions_of_its_name(tmp_path: Path) -> None:
    clock = Clock()
    spool = open_spool(tmp_path, clock)
    spool.put("latest.csv", b"old")
    clock.now += 1
    spool.put("latest.csv", b"new")
    server = Server()
    server.down = True
    spool.deliver(server)
    server.down = False
    assert spool.deliver(server).delivered == ()  # the old one backs off; the new one waits
    clock.now += RETRY.longest
    spool.deliver(server)
    assert server.history == [("latest.csv", b"old"), ("latest.csv", b"new")]


def test_a_refused_file_is_moved_to_failed_and_the_rest_continues(tmp_path: Path) -> None:
    clock = Clock()
    events: list[object] = []
    spool = open_spool(tmp_path, clock, on_event=events.append)
    for name in ("a.csv", "refused.csv", "b.csv"):
        clock.now += 1
        spool.put(name, name.encode())
    clock.now += 1
    spool.put("refused.csv", b"second version")
    server = Server()
    server.refuse = {"refused.csv"}
    report = spool.deliver(server)
    assert [e.name for e in report.delivered] == ["a.csv", "b.csv"]
    assert [e.name for e, _ in report.refused] == ["refused.csv", "refused.csv"]
    assert not report.ok and spool.entries() == []
    failed = spool.failed_entries()
    assert [f.entry.read_bytes() for f in failed] == [b"refused.csv", b"second version"]
    assert all("553" in f.reason for f in failed)
    refusals = [e for e in events if isinstance(e, EntryRefused)]
    assert [e.destination for e in refusals] == ["test://server"] * 2
    # an operator fixes the server and requeues the first; it is delivered next pass
    server.refuse = set()
    requeued = spool.requeue(failed[0].entry.entry_id)
    assert requeued.status == "queued"
    assert [f.entry.read_bytes() for f in spool.failed_entries()] == [b"second version"]
    assert [e.name for e in spool.deliver(server).delivered] == ["refused.csv"]
    with pytest.raises(SpoolError) as info:
        spool.requeue("20261124T101500000000Z-0123456789abcdef")
    assert info.value.field == "entry_id"


def test_a_refused_file_the_spool_cannot_move_aside_stays_queued(tmp_path: Path) -> None:
    clock = Clock()
    spool = open_spool(tmp_path, clock)
    spool.put("refused.csv", b"R")
    shutil.rmtree(tmp_path / "failed")
    (tmp_path / "failed").write_bytes(b"not a directory")
    server = Server()
    server.refuse = {"refused.csv"}
    report = spool.deliver(server)
    assert [e.name for e, _ in report.failed] == ["refused.csv"] and report.refused == ()
    assert [e.name for e in spool.entries()] == ["refused.csv"]


def test_reoffering_delivered_bytes_is_skipped_within_the_window(tmp_path: Path) -> None:
    clock = Clock()
    spool = open_spool(tmp_path, clock, duplicate_window=3600)
    server = Server()
    spool.put("latest.csv", b"v1")
    spool.deliver(server)
    clock.now += 60
    again = open_spool(tmp_path, clock).put("latest.csv", b"v1")  # a killed caller retries
    assert again.status == "already-delivered" and spool.entries() == []
    assert open_spool(tmp_path, clock).entries() == []
    # a different version is queued; then the old bytes again are a newer version: queued
    spool = open_spool(tmp_path, clock, duplicate_window=3600)
    assert spool.put("latest.csv", b"v2").status == "queued"
    clock.now += 1
    assert spool.put("latest.csv", b"v1").status == "queued"
    spool.deliver(server)
    assert server.files["latest.csv"] == b"v1"
    # after the window the same bytes are queued again
    clock.now += 3601
    assert spool.put("latest.csv", b"v1").status == "queued"
    listing = spool.listing()
    assert [d["name"] for d in listing["delivered"]] == ["latest.csv"] * 3
    assert len(listing["queued"]) == 1


def test_a_damaged_delivery_log_loses_only_its_damaged_lines(tmp_path: Path) -> None:
    clock = Clock()
    spool = open_spool(tmp_path, clock)
    spool.put("a.csv", b"A")
    spool.deliver(Server())
    log = tmp_path / "deliveries.jsonl"
    log.write_bytes(b"[" * 1000 + b"\n" + b'{"name": NaN}\n' + log.read_bytes() + b'{"entry')
    reopened = open_spool(tmp_path, clock)
    assert [r.name for r in reopened.recent_deliveries()] == ["a.csv"]
    assert reopened.put("a.csv", b"A").status == "already-delivered"


# --- property: recovery from arbitrary contents ----------------------------------------------

entry_names = st.from_regex(
    r"\A\d{8}T\d{12}Z-[0-9a-f]{16}--[a-z]{1,8}\.csv\Z", fullmatch=True
) | st.text(
    st.characters(blacklist_characters="/\x00", codec="utf-8"),
    min_size=1, max_size=60,
).filter(lambda n: n not in (".", ".."))


@settings(max_examples=150, deadline=None)
@given(
    outbox=st.dictionaries(entry_names, st.binary(max_size=20), max_size=4),
    journals=st.lists(
        st.tuples(st.sampled_from(["retry", "sending", "done", "junk"]), st.binary(max_size=80)),
        max_size=4,
    ),
    log_line=st.binary(max_size=200),
)
@example(
    outbox={"20261324T101500000000Z-0123456789abcdef--m.csv": b"x"}, journals=[], log_line=b""
)
@example(
    outbox={"20261124T101500000000Z-0123456789abcdef--m.csv": b"x"},
    journals=[("retry", b'{"failures": 1, "next_attempt": NaN, "last_error": null}')],
    log_line=b"",
)
def test_recovery_from_any_contents_raises_only_our_errors_and_never_sticks_or_loses(
    outbox: dict[str, bytes], journals: list[tuple[str, bytes]], log_line: bytes
) -> None:
    directory = Path(tempfile.mkdtemp())
    try:
        (directory / "outbox").mkdir()
        (directory / "journal").mkdir()
        for name, data in outbox.items():
            try:
                (directory / "outbox" / name).write_bytes(data)
            except OSError:  # a name the file system itself refuses (too long)
                continue
        ids = [n.partition("--")[0] for n in outbox] or ["x"]
        for index, (kind, data) in enumerate(journals):
            (directory / "journal" / f"{ids[index % len(ids)]}.{kind}").write_bytes(data)
        (directory / "deliveries.jsonl").write_bytes(log_line)
        clock = Clock()
        try:
            spool = open_spool(directory, clock, limits=SpoolLimits(max_age=None))
        except ExportError:
            return
        queued = {e.entry_id: (e.name, e.read_bytes()) for e in spool.entries()}
        server = Server()
        clock.now += RETRY.longest + 1
        report = spool.deliver(server, stop_on_error=False)
        delivered = {e.entry_id for e in report.delivered}
        assert delivered == set(queued)  # never stuck: every entry due within the policy
        for entry_id, (name, data) in queued.items():
            assert (name, data) in server.history or server.already_delivered(
                next(e for e in report.delivered if e.entry_id == entry_id)
            )
        left = {p.name for p in (directory / "outbox").iterdir()}
        assert left == set(spool.listing()["unrecognised"])  # never lost: left in place
    finally:
        shutil.rmtree(directory, ignore_errors=True)
