"""A durable outbox directory: files survive crashes until a transport confirms delivery.

Layout of a spool directory::

    tmp/             files being written (a crash leaves them here; they are removed on open)
    outbox/          accepted files, named ``<entry id>--<file name>``
    journal/         delivery markers: ``<entry id>.sending`` (an attempt began, outcome
                     unknown) and ``<entry id>.done`` (the transport confirmed; only removal
                     is left); ``<entry id>.retry`` keeps the backoff state across restarts
    failed/          files the server refused for good, ``<entry id>--<file name>``, each
                     with ``<entry id>.reason``; :meth:`Spool.requeue` puts one back
    expired/         files older than the age limit, moved aside instead of deleted
    deliveries.jsonl one line per confirmed delivery (name, size, SHA-256, time, destination)
    lock             ``flock``-ed while a process delivers, so two deliverers never race

Guarantees (POSIX file systems that honour ``fsync``):

- Accepting: data goes to ``tmp/``, is fsynced, then renamed into ``outbox/`` and the
  directory fsynced, before any network activity. A file is either completely in the
  outbox or not at all, and the outbox (then ``deliveries.jsonl``) is the record of what
  was accepted: a caller killed before it saw the confirmation looks there
  (``exporters spool list``) or simply offers the file again. Offering again the bytes of
  the newest queued version of a name returns that entry (``status`` ``"already-queued"``);
  offering the bytes of the newest version of a name delivered within
  ``duplicate_window`` seconds, with no other version queued, queues nothing (``status``
  ``"already-delivered"``). Any other content is queued as a new version.
- Order: versions of one name are delivered in the order they were queued, each once, so
  the server ends with the newest (the rules are in :class:`DeliveryPlan`).
- Delivering: before the transport is called, a ``.sending`` marker is made durable; the
  transport uploads to the entry's own temporary name and returns only when the rename to
  the final name was confirmed; then a ``.done`` marker, a line in ``deliveries.jsonl``,
  and the file is removed. After a crash, a ``.done`` entry is only finished (never sent
  again); a ``.sending`` entry asks :meth:`Transport.already_delivered`, which answers
  ``True`` only when it proved by content (a download, or a hash the server computed) that
  the final name holds exactly the entry's bytes; otherwise the file is uploaded again
  (resuming the temporary file where the server allows). Size and time are never taken as
  proof. SMTP cannot ask the server: an e-mail whose acceptance was not yet recorded when
  the process died is sent again with the same ``Message-ID`` (at-least-once).
- Refusals: an :class:`EntryRefusedError` (FTP 550/553, SFTP permission denied or no such
  path, SMTP 5xx to the message) moves the file to ``failed/`` with its reason, emits an
  :class:`EntryRefused` event, and delivery of the rest continues. Other errors keep the
  file in its place and back it off (:class:`RetryPolicy`).
- Temporary files on the server: the transport resumes or replaces its own temporary name
  on the next attempt and removes it when the spool gives the entry up (``failed/``,
  ``expired/``) through the transport's optional ``discard(entry)``. Temporaries whose
  spool directory was lost are the server operator's to remove (hidden names
  ``.<name>.<entry id>.part``).

Several processes may share one directory: any number of writers (a temporary file is
``flock``-ed while it is written, so opening a spool never removes a live writer's file) and
one deliverer at a time; each delivery pass rescans the outbox, so files put by another
process are picked up and files delivered by another process are skipped.

Limits and their policy (:class:`SpoolLimits`):

- ``max_file_bytes``, ``max_total_bytes``, ``max_files``: a new file that would exceed one of
  them is refused with :class:`SpoolFullError`; queued files are never dropped to make room.
- ``max_age``: a file queued longer than this is not retried any more; it is moved to
  ``expired/`` (kept for an operator, logged as a warning) and listed in the report.

Unreadable journal files (torn, hand-edited, hostile) are dropped with a warning: the entry
is then due at once, never stuck. Outbox files whose names the spool did not make are left
alone and listed as ``unrecognised`` by :meth:`Spool.listing`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol

from ._delivery_plan import (
    DeliveryPlan,
    Outcome,
    RetryPolicy,
    SpoolLimits,
    check_file_name,
    outcome_of,
)
from ._errors import DeliveryError, SpoolError, SpoolFullError
from ._spool_journal import (
    ENTRY_SEPARATOR,
    MAX_JOURNAL_BYTES,
    DeliveryRecord,
    RetryState,
    format_epoch,
    format_failure_reason,
    make_entry_id,
    parse_entry_file_name,
    parse_entry_id,
    read_delivery_record,
    read_failure_reason,
    read_retry_state,
)

__all__ = [
    "DeliveryRecord",
    "DeliveryReport",
    "EntryDelivered",
    "EntryExpired",
    "EntryRefused",
    "EntryStatus",
    "FailedEntry",
    "Spool",
    "SpoolEntry",
    "SpoolEvent",
    "Transport",
]

log = logging.getLogger(__name__)

_CHUNK = 1 << 16
_RECENT_DELIVERIES = 1000  # lines kept in deliveries.jsonl after compaction
_DEFAULT_DUPLICATE_WINDOW = 7 * 24 * 3600.0

EntryStatus = Literal["queued", "already-queued", "already-delivered"]
"""What :meth:`Spool.put` did: queued a new version; found the same bytes as the newest
queued version of the name; or found the same bytes as the newest delivered version (within
the duplicate window, nothing else queued), so nothing was queued."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolEntry:
    """One queued (or, in :class:`FailedEntry`, refused) file.

    Attributes:
        entry_id: unique and stable: ``<UTC time queued>-<first 16 hex digits of SHA-256>``.
        name: the file name to deliver under (remote file name, e-mail attachment name).
        size: bytes.
        created: when it was queued, epoch seconds.
        path: where the data lies in the spool (gone for ``"already-delivered"``).
        status: what :meth:`Spool.put` did; ``"queued"`` for entries read from the spool.
    """

    entry_id: str
    name: str
    size: int
    created: float
    path: Path
    status: EntryStatus = "queued"

    def read_bytes(self) -> bytes:
        """The file's content."""
        return self.path.read_bytes()

    def open(self) -> BinaryIO:
        """The file's content as a binary stream (the caller closes it)."""
        return self.path.open("rb")

    def sha256(self) -> str:
        """Hex SHA-256 of the content (read from the spool file)."""
        digest = hashlib.sha256()
        with self.open() as stream:
            while block := stream.read(_CHUNK):
                digest.update(block)
        return digest.hexdigest()

    @property
    def temporary_name(self) -> str:
        """Name for the remote copy while it is incomplete; unique to this entry and
        stable, so a new attempt after a crash resumes or replaces its own partial file
        and never touches another version's."""
        return f".{self.name}.{self.entry_id}.part"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "entry_id": self.entry_id,
            "name": self.name,
            "size": self.size,
            "created": format_epoch(self.created),
            "path": str(self.path),
            "status": self.status,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedEntry:
    """A file in ``failed/``: refused for good by the server, kept for an operator."""

    entry: SpoolEntry
    reason: str
    failed_at: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            **self.entry.to_dict(),
            "reason": self.reason,
            "failed_at": None if self.failed_at is None else format_epoch(self.failed_at),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryDelivered:
    """A file was delivered (the transport confirmed the final name holds its bytes)."""

    entry: SpoolEntry
    destination: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryRefused:
    """The server refused a file for good; it was moved to ``failed/`` (an event for
    audit logs and alarms)."""

    entry: SpoolEntry
    reason: str
    destination: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryExpired:
    """A file was queued longer than ``max_age``; it was moved to ``expired/``."""

    entry: SpoolEntry


SpoolEvent = EntryDelivered | EntryRefused | EntryExpired
"""What :class:`Spool` tells its ``on_event`` callback."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    """The outcome of one :meth:`Spool.deliver` pass.

    Attributes:
        delivered: files the transport confirmed (now removed from the spool).
        failed: ``(entry, message)`` for files whose attempt failed (still queued).
        refused: ``(entry, reason)`` for files the server refused for good (now in
            ``failed/``).
        expired: files moved to ``expired/`` by the age limit.
        waiting: files not attempted (retry time not come, an older version of their name
            still queued, or the pass stopped at a failure).
        busy: ``True`` when another process held the spool lock, so nothing was attempted.
    """

    delivered: tuple[SpoolEntry, ...] = ()
    failed: tuple[tuple[SpoolEntry, str], ...] = ()
    refused: tuple[tuple[SpoolEntry, str], ...] = ()
    expired: tuple[SpoolEntry, ...] = ()
    waiting: tuple[SpoolEntry, ...] = ()
    busy: bool = False

    @property
    def ok(self) -> bool:
        """Nothing failed, was refused, expired or was skipped."""
        return not (self.failed or self.refused or self.expired or self.busy)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "delivered": [e.to_dict() for e in self.delivered],
            "failed": [{**e.to_dict(), "error": msg} for e, msg in self.failed],
            "refused": [{**e.to_dict(), "reason": msg} for e, msg in self.refused],
            "expired": [e.to_dict() for e in self.expired],
            "waiting": [e.to_dict() for e in self.waiting],
            "busy": self.busy,
        }


class Transport(Protocol):
    """What the spool needs from a transport (SMTP, FTP, SFTP, or your own).

    Optional, used when present: ``destination`` (text naming where files go, recorded
    with each delivery) and ``discard(entry)`` (remove the entry's temporary file on the
    server when the spool gives the entry up).
    """

    def deliver(self, entry: SpoolEntry) -> None:
        """Deliver one file; return only when the peer confirmed that the final name holds
        it (for uploads: the rename of the entry's own temporary name was confirmed).

        Raises:
            EntryRefusedError: the peer refused this file for good.
            DeliveryError: the file was not (or not certainly) delivered.
        """

    def already_delivered(self, entry: SpoolEntry) -> bool:
        """After an interrupted attempt: does the final name hold exactly this entry's
        bytes? ``True`` only when proved by content; ``False`` when not, or when the peer
        cannot be asked (the file is then sent again)."""

    def close(self) -> None:
        """Release connections; the spool calls this after each delivery pass."""


class _Vanished(Exception):
    """A queued file disappeared before its attempt (another process handled it)."""


def _hold(fd: int) -> None:
    # An exclusive lock tells a concurrent opener that this temporary file is being
    # written; the kernel drops it when the writer dies, so leftovers can be told apart.
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _being_written(path: Path) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_small(path: Path) -> bytes:
    """At most MAX_JOURNAL_BYTES + 1 bytes of a journal file (a longer one is refused)."""
    with path.open("rb") as stream:
        return stream.read(MAX_JOURNAL_BYTES + 1)


def _chunks(data: bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
        for start in range(0, len(view), _CHUNK):
            yield bytes(view[start : start + _CHUNK])
        return
    read = getattr(data, "read", None)
    if read is not None:
        while True:
            block = read(_CHUNK)
            if not block:
                return
            yield block
    else:
        for block in data:
            if not isinstance(block, (bytes, bytearray)):
                raise SpoolError(
                    f"data chunks must be bytes, got {type(block).__name__}", field="data"
                )
            yield bytes(block)


def _destination_of(transport: Transport) -> str:
    destination = getattr(transport, "destination", None)
    return destination if isinstance(destination, str) else type(transport).__name__


class Spool:
    """A durable outbox directory (see the module text for layout and guarantees).

    Args:
        directory: created if missing (with its parents).
        limits: size, count and age limits.
        retry: backoff between attempts of one file.
        clock: wall-clock epoch seconds; replace it in tests.
        durable: ``False`` skips every ``fsync`` (tests on tmpfs, benchmarks); the
            crash guarantees then hold against process crashes only, not power loss.
        duplicate_window: seconds after a delivery during which offering the same bytes
            under the same name again queues nothing (``None`` or 0: always queue). A spool
            directory serves one destination; re-offers are recognised per name only.
        on_event: called with an :data:`SpoolEvent` when a file is delivered, refused or
            expired (audit logs, alarms); an exception it raises is logged, not raised.

    On opening, files left in ``tmp/`` by a killed writer are removed (they were never
    accepted) and entries with a ``.done`` marker are finished.

    >>> import tempfile
    >>> class Printer:
    ...     def deliver(self, entry): print("delivering", entry.name, entry.read_bytes())
    ...     def already_delivered(self, entry): return False
    ...     def close(self): pass
    >>> spool = Spool(tempfile.mkdtemp())
    >>> entry = spool.put("readings.csv", b"meter_id;value\\n")
    >>> report = spool.deliver(Printer())
    delivering readings.csv b'meter_id;value\\n'
    >>> len(report.delivered), spool.entries()
    (1, [])
    >>> spool.put("readings.csv", b"meter_id;value\\n").status
    'already-delivered'
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        limits: SpoolLimits | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        durable: bool = True,
        duplicate_window: float | None = _DEFAULT_DUPLICATE_WINDOW,
        on_event: Callable[[SpoolEvent], None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.plan = DeliveryPlan(retry, limits)
        self.duplicate_window = duplicate_window or 0.0
        self._on_event = on_event
        self._clock = clock
        self._durable = durable
        self._lock = threading.RLock()
        self._entries: dict[str, SpoolEntry] = {}
        self._by_name: dict[str, dict[str, SpoolEntry]] = {}
        self._digests: dict[str, str] = {}  # entry id -> SHA-256 of files put by this object
        self._unrecognised: set[str] = set()
        self._deliveries_seen: tuple[int, int] | None = None
        self._newest_delivered: dict[str, DeliveryRecord] = {}
        self._delivery_lines = 0
        self._tmp = self.directory / "tmp"
        self._outbox = self.directory / "outbox"
        self._journal = self.directory / "journal"
        self._expired = self.directory / "expired"
        self._failed = self.directory / "failed"
        self._deliveries = self.directory / "deliveries.jsonl"
        try:
            for folder in (self._tmp, self._outbox, self._journal, self._expired, self._failed):
                folder.mkdir(parents=True, exist_ok=True)
            self._recover()
        except OSError as exc:
            raise SpoolError(f"cannot use spool directory {self.directory}: {exc}") from None

    # -- opening ---------------------------------------------------------------------------

    def _recover(self) -> None:
        for leftover in self._tmp.iterdir():
            if _being_written(leftover):
                continue
            log.info("removing %s left by an interrupted write", leftover)
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                leftover.unlink()
        self._rescan()

    def _outbox_entries(self) -> Iterator[SpoolEntry]:
        for item in sorted(os.scandir(self._outbox), key=lambda i: i.name):
            parsed = parse_entry_file_name(item.name)
            if parsed is None or not item.is_file(follow_symlinks=False):
                if item.name not in self._unrecognised:
                    self._unrecognised.add(item.name)
                    log.warning("ignoring %s: not a file the spool made", item.path)
                continue
            entry_id, created, name = parsed
            try:
                size = item.stat(follow_symlinks=False).st_size
            except FileNotFoundError:
                continue
            yield SpoolEntry(
                entry_id=entry_id, name=name, size=size, created=created, path=Path(item.path)
            )

    def _rescan(self) -> None:
        """Bring the index in line with the outbox (files put or delivered by other
        processes), finish entries marked done, and drop markers of vanished files."""
        with self._lock:
            present: set[str] = set()
            for entry in self._outbox_entries():
                if self._marker(entry.entry_id, "done").exists():
                    log.info("finishing %s: delivered before an interruption", entry.name)
                    self._remove(entry)
                    self._unindex(entry)
                    continue
                present.add(entry.entry_id)
                if entry.entry_id not in self._entries:
                    self._index(entry)
                    self._load_retry_state(entry.entry_id)
            for entry_id in [i for i in self._entries if i not in present]:
                self._unindex(self._entries[entry_id])
            for marker in self._journal.iterdir():
                if marker.name.partition(".")[0] not in present:
                    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                        marker.unlink()

    def _load_retry_state(self, entry_id: str) -> None:
        path = self._marker(entry_id, "retry")
        try:
            saved = read_retry_state(
                _read_small(path), now=self._clock(), longest_delay=self.plan.retry.longest
            )
            self.plan.restore(
                entry_id,
                failures=saved.failures,
                next_attempt=saved.next_attempt,
                last_error=saved.last_error,
            )
        except FileNotFoundError:
            return
        except (OSError, SpoolError) as exc:
            # Only the backoff is lost: the file is due at once, never stuck.
            log.warning("dropping unreadable retry state %s: %s", path, exc)
            with contextlib.suppress(OSError):
                path.unlink()

    def _save_retry_state(self, entry_id: str) -> None:
        state = self.plan.state(entry_id)
        path = self._marker(entry_id, "retry")
        temporary = path.with_name(path.name + ".tmp")
        text = RetryState(
            failures=state.failures,
            next_attempt=state.next_attempt,
            last_error=state.last_error,
        ).to_json()
        try:
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)
        except OSError as exc:
            log.warning("cannot save the retry state of %s: %s", entry_id, exc)

    # -- writing ---------------------------------------------------------------------------

    def put(
        self,
        name: str,
        data: bytes | bytearray | memoryview | BinaryIO | Iterable[bytes],
    ) -> SpoolEntry:
        """Queue ``data`` to be delivered as ``name``; return once it is durable.

        ``data`` may be bytes, a binary file object or an iterable of byte chunks; it is
        streamed, so its size is bounded only by the limits. The returned entry's
        ``status`` says what happened (see :data:`EntryStatus`): the same bytes as the
        newest queued version of ``name`` return that entry; the same bytes as the newest
        version delivered within ``duplicate_window`` (and nothing of that name queued)
        queue nothing.

        Raises:
            SpoolError: bad name, or the file system failed (nothing is queued then).
            SpoolFullError: a limit would be exceeded (nothing is queued then).
        """
        return self._accept(name, data, skip_delivered=True)

    def _accept(
        self,
        name: str,
        data: bytes | bytearray | memoryview | BinaryIO | Iterable[bytes],
        *,
        skip_delivered: bool,
    ) -> SpoolEntry:
        check_file_name(name)
        max_bytes = self.plan.limits.max_file_bytes
        digest = hashlib.sha256()
        size = 0
        tmp = self._tmp / f"{secrets.token_hex(8)}.tmp"
        try:
            with tmp.open("xb") as out:
                _hold(out.fileno())
                for block in _chunks(data):
                    size += len(block)
                    if size > max_bytes:
                        raise SpoolFullError(
                            f"{name}: more than the per-file limit of {max_bytes} bytes",
                            field="max_file_bytes",
                        )
                    digest.update(block)
                    out.write(block)
                out.flush()
                if self._durable:
                    os.fsync(out.fileno())
            hexdigest = digest.hexdigest()
            with self._lock:
                existing = self._same_as_newest(name, hexdigest, size, skip_delivered)
                if existing is not None:
                    tmp.unlink()
                    return existing
                self.plan.admit(size)
                entry_id, created = self._new_id(name, hexdigest)
                final = self._outbox / f"{entry_id}{ENTRY_SEPARATOR}{name}"
                os.replace(tmp, final)
                if self._durable:
                    _fsync_dir(self._outbox)
                entry = SpoolEntry(
                    entry_id=entry_id, name=name, size=size, created=created, path=final
                )
                self._index(entry)
                self._digests[entry_id] = hexdigest
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            if isinstance(exc, OSError):
                raise SpoolError(f"cannot queue {name}: {exc}") from exc
            raise
        log.debug("queued %s as %s (%d bytes)", name, entry.entry_id, size)
        return entry

    def _new_id(self, name: str, hexdigest: str) -> tuple[str, float]:
        """A fresh entry id and its time, later than every queued version of ``name`` (a
        clock that stood still or went back must not reorder versions)."""
        versions = self._by_name.get(name, {})
        floor = max((e.created for e in versions.values()), default=None)
        moment = self._clock()
        if floor is not None:
            moment = max(moment, floor)
        while True:
            try:
                entry_id = make_entry_id(moment, hexdigest)
            except (ValueError, OverflowError, OSError):
                raise SpoolError(
                    f"cannot queue {name} after its queued version dated "
                    f"{format_epoch(moment)}", field="name",
                ) from None
            created = parse_entry_id(entry_id)
            assert created is not None  # make_entry_id makes parseable ids
            if entry_id not in self._entries and (floor is None or created > floor):
                return entry_id, created
            moment = created + 1e-6

    def _same_as_newest(
        self, name: str, hexdigest: str, size: int, skip_delivered: bool
    ) -> SpoolEntry | None:
        versions = self._by_name.get(name)
        if versions:
            newest = max(versions.values(), key=lambda e: (e.created, e.entry_id))
            if (
                newest.entry_id.endswith(hexdigest[:16])
                and newest.size == size
                and newest.sha256() == hexdigest
            ):
                return SpoolEntry(
                    entry_id=newest.entry_id, name=name, size=size, created=newest.created,
                    path=newest.path, status="already-queued",
                )
            return None
        if not skip_delivered or not self.duplicate_window:
            return None
        record = self._load_deliveries().get(name)
        if (
            record is None
            or record.sha256 != hexdigest
            or self._clock() - record.delivered > self.duplicate_window
        ):
            return None
        parsed = parse_entry_file_name(f"{record.entry_id}{ENTRY_SEPARATOR}{name}")
        log.info("%s: the same bytes were delivered at %s; not queued again", name,
                 format_epoch(record.delivered))
        return SpoolEntry(
            entry_id=record.entry_id, name=name, size=size,
            created=parsed[1] if parsed else record.delivered,
            path=self._outbox / f"{record.entry_id}{ENTRY_SEPARATOR}{name}",
            status="already-delivered",
        )

    def put_file(self, path: str | os.PathLike[str], *, name: str | None = None) -> SpoolEntry:
        """Queue a copy of the file at ``path`` (delivered under its own name or ``name``).

        Raises:
            SpoolError: the file cannot be read, or see :meth:`put`.
        """
        source = Path(path)
        try:
            with source.open("rb") as stream:
                return self.put(name or source.name, stream)
        except OSError as exc:
            raise SpoolError(f"cannot read {source}: {exc.strerror or exc}") from None

    def _index(self, entry: SpoolEntry) -> None:
        self._entries[entry.entry_id] = entry
        self._by_name.setdefault(entry.name, {})[entry.entry_id] = entry
        self.plan.track(entry.entry_id, size=entry.size, created=entry.created, name=entry.name)

    def _unindex(self, entry: SpoolEntry) -> None:
        self._entries.pop(entry.entry_id, None)
        self._digests.pop(entry.entry_id, None)
        versions = self._by_name.get(entry.name)
        if versions is not None:
            versions.pop(entry.entry_id, None)
            if not versions:
                del self._by_name[entry.name]
        self.plan.forget(entry.entry_id)

    # -- the delivery log ------------------------------------------------------------------

    def _load_deliveries(self) -> dict[str, DeliveryRecord]:
        """The newest delivered version of each name, read again only when the log changed."""
        try:
            info = self._deliveries.stat()
        except FileNotFoundError:
            self._deliveries_seen, self._newest_delivered, self._delivery_lines = None, {}, 0
            return self._newest_delivered
        seen = (info.st_size, info.st_mtime_ns)
        if seen != self._deliveries_seen:
            newest: dict[str, DeliveryRecord] = {}
            records = self._read_deliveries()
            for record in records:
                current = newest.get(record.name)
                if current is None or record.delivered >= current.delivered:
                    newest[record.name] = record
            self._deliveries_seen, self._newest_delivered = seen, newest
            self._delivery_lines = len(records)
        return self._newest_delivered

    def _read_deliveries(self) -> list[DeliveryRecord]:
        limit = (MAX_JOURNAL_BYTES + 1) * _RECENT_DELIVERIES * 2
        try:
            with self._deliveries.open("rb") as stream:
                stream.seek(0, os.SEEK_END)
                length = stream.tell()
                stream.seek(max(0, length - limit))
                data = stream.read(limit)
        except FileNotFoundError:
            return []
        lines = data.split(b"\n")
        if length > limit:
            lines = lines[1:]  # the first line was cut by the seek
        records = []
        for number, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                records.append(read_delivery_record(line))
            except SpoolError as exc:
                log.warning("%s: skipping line %d: %s", self._deliveries, number + 1, exc)
        return records

    def _record_delivery(self, entry: SpoolEntry, destination: str) -> None:
        record = DeliveryRecord(
            entry_id=entry.entry_id,
            name=entry.name,
            size=entry.size,
            sha256=self._digests.get(entry.entry_id) or entry.sha256(),
            delivered=self._clock(),
            destination=destination,
        )
        line = record.to_json_line().encode("utf-8")
        known = self._deliveries_seen
        fd = os.open(self._deliveries, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # No fsync: after a power loss a lost line only means the same bytes may be
            # queued and sent once more; the markers keep delivery itself exact.
            os.write(fd, line)
            info = os.fstat(fd)
        finally:
            os.close(fd)
        if info.st_size == (known[0] if known else 0) + len(line):
            # Nobody else wrote since the log was read: update the cache instead of
            # reading the whole log again after every delivery.
            self._newest_delivered[record.name] = record
            self._deliveries_seen = (info.st_size, info.st_mtime_ns)
            self._delivery_lines += 1
        else:
            self._load_deliveries()
        if self._delivery_lines > 2 * _RECENT_DELIVERIES:
            self._compact_deliveries()

    def _compact_deliveries(self) -> None:
        records = self._read_deliveries()[-_RECENT_DELIVERIES:]
        temporary = self._deliveries.with_name(self._deliveries.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            out.writelines(r.to_json_line() for r in records)
            out.flush()
            if self._durable:
                os.fsync(out.fileno())
        os.replace(temporary, self._deliveries)
        self._load_deliveries()

    def recent_deliveries(self, limit: int = 50) -> list[DeliveryRecord]:
        """The last ``limit`` confirmed deliveries, newest first."""
        seen: set[str] = set()
        newest_first = []
        for record in reversed(self._read_deliveries()):
            if record.entry_id not in seen:  # a crash may have recorded one twice
                seen.add(record.entry_id)
                newest_first.append(record)
            if len(newest_first) >= limit:
                break
        return newest_first

    # -- reading the queue -----------------------------------------------------------------

    def entries(self) -> list[SpoolEntry]:
        """Queued files, oldest first."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: (e.created, e.entry_id))

    def expired_files(self) -> list[Path]:
        """Files moved to ``expired/`` by the age limit."""
        return sorted(self._expired.iterdir())

    def failed_entries(self) -> list[FailedEntry]:
        """Files in ``failed/`` with their reasons, oldest first."""
        found = []
        for path in sorted(self._failed.iterdir()):
            parsed = parse_entry_file_name(path.name)
            if parsed is None or not path.is_file():
                continue
            entry_id, created, name = parsed
            reason, failed_at = "no reason recorded", None
            with contextlib.suppress(OSError, SpoolError):
                reason, failed_at = read_failure_reason(_read_small(self._reason_file(entry_id)))
            with contextlib.suppress(FileNotFoundError):
                entry = SpoolEntry(entry_id=entry_id, name=name, size=path.stat().st_size,
                                   created=created, path=path)
                found.append(FailedEntry(entry=entry, reason=reason, failed_at=failed_at))
        return sorted(found, key=lambda f: (f.entry.created, f.entry.entry_id))

    def listing(self, *, recent: int = 20) -> dict[str, Any]:
        """What ``exporters spool list`` shows, as plain JSON-able data: the queue (with
        each file's retry state), ``failed/`` with reasons, ``expired/``, the ``recent``
        last deliveries, and outbox files the spool did not make (``unrecognised``)."""
        self._rescan()
        with self._lock:
            queued = [
                {**e.to_dict(), **{
                    k: v for k, v in self.plan.state(e.entry_id).to_dict().items()
                    if k in ("failures", "last_error")
                }, "next_attempt": format_epoch(self.plan.state(e.entry_id).next_attempt)}
                for e in self.entries()
            ]
            unrecognised = sorted(self._unrecognised)
        return {
            "directory": str(self.directory),
            "queued": queued,
            "failed": [f.to_dict() for f in self.failed_entries()],
            "expired": [p.name for p in self.expired_files()],
            "delivered": [r.to_dict() for r in self.recent_deliveries(recent)],
            "unrecognised": unrecognised,
        }

    def next_wakeup(self) -> float | None:
        """When the next queued file is due (epoch seconds), or ``None`` if none is queued."""
        with self._lock:
            return self.plan.next_wakeup()

    def requeue(self, entry_id: str) -> SpoolEntry:
        """Put a file from ``failed/`` back into the queue as the newest version of its name
        (an operator fixed the cause); it is delivered even if the same bytes were
        delivered before.

        Raises:
            SpoolError: no such entry in ``failed/`` (``field`` is ``"entry_id"``).
        """
        matches = [
            p for p in self._failed.glob(f"{entry_id}{ENTRY_SEPARATOR}*")
            if parse_entry_file_name(p.name) is not None
        ] if parse_entry_file_name(f"{entry_id}{ENTRY_SEPARATOR}x") else []
        if not matches:
            raise SpoolError(f"no entry {entry_id!r} in {self._failed}", field="entry_id")
        path = matches[0]
        parsed = parse_entry_file_name(path.name)
        assert parsed is not None  # checked above
        try:
            with path.open("rb") as stream:
                entry = self._accept(parsed[2], stream, skip_delivered=False)
            path.unlink()
            with contextlib.suppress(FileNotFoundError):
                self._reason_file(entry_id).unlink()
        except OSError as exc:
            raise SpoolError(f"cannot requeue {path}: {exc}") from None
        log.info("requeued %s as %s", path.name, entry.entry_id)
        return entry

    # -- delivering ------------------------------------------------------------------------

    def _marker(self, entry_id: str, kind: str) -> Path:
        return self._journal / f"{entry_id}.{kind}"

    def _reason_file(self, entry_id: str) -> Path:
        return self._failed / f"{entry_id}.reason"

    def _mark(self, entry_id: str, kind: str) -> None:
        marker = self._marker(entry_id, kind)
        if marker.exists():
            return
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(fd)
        if self._durable:
            _fsync_dir(self._journal)

    def _drop_markers(self, entry_id: str) -> None:
        for kind in ("done", "sending", "retry"):
            with contextlib.suppress(FileNotFoundError):
                self._marker(entry_id, kind).unlink()

    def _remove(self, entry: SpoolEntry) -> None:
        with contextlib.suppress(FileNotFoundError):
            entry.path.unlink()
        if self._durable:
            _fsync_dir(self._outbox)
        # The data file is gone for good before the markers go: a crash in between leaves
        # orphan markers, which opening removes.
        self._drop_markers(entry.entry_id)

    def _move_aside(self, entry: SpoolEntry, folder: Path) -> None:
        os.replace(entry.path, folder / entry.path.name)
        if self._durable:
            _fsync_dir(folder)
            _fsync_dir(self._outbox)
        self._drop_markers(entry.entry_id)

    def _expire(self, entry: SpoolEntry, now: float) -> None:
        age_days = (now - entry.created) / 86400
        log.warning(
            "%s queued %.1f days ago was never delivered; moved to %s",
            entry.name,
            age_days,
            self._expired,
        )
        self._move_aside(entry, self._expired)

    def _refuse(self, entry: SpoolEntry, reason: str) -> None:
        reason_file = self._reason_file(entry.entry_id)
        temporary = reason_file.with_name(reason_file.name + ".tmp")
        temporary.write_text(format_failure_reason(reason, self._clock()), encoding="utf-8")
        os.replace(temporary, reason_file)
        self._move_aside(entry, self._failed)
        log.warning("%s was refused for good (%s); moved to %s", entry.name, reason,
                    self._failed)

    def _refused(self, entry: SpoolEntry, reason: str) -> bool:
        """Move a refused entry to ``failed/``; ``False`` if the file system failed."""
        with self._lock:
            try:
                self._refuse(entry, reason)
            except OSError as exc:
                log.error("cannot move refused %s to %s: %s", entry.name, self._failed, exc)
                return False
            self._unindex(entry)
        return True

    def _emit(self, event: SpoolEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:  # a broken audit hook must not stop delivery
            log.exception("the spool's on_event callback failed")

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[bool]:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield True
            return
        fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    yield False
                    return
                raise
            yield True
        finally:
            os.close(fd)

    def deliver(
        self,
        transport: Transport,
        *,
        now: float | None = None,
        force: bool = False,
        stop_on_error: bool = True,
    ) -> DeliveryReport:
        """Attempt every due file once, oldest first (versions of a name in order), and
        report.

        Args:
            transport: where to send (SMTP, FTP, SFTP or anything with its methods).
            now: epoch seconds for the schedule; default the spool's clock.
            force: ignore the backoff and attempt every queued file.
            stop_on_error: after the first transient failure, leave the remaining files for
                the next pass (a dead server fails them all the same) instead of trying
                each. A file refused for good never stops the pass.

        Files that failed stay queued with their next attempt scheduled; refused files are
        moved to ``failed/``. Another process delivering from the same directory makes this
        pass return ``busy``.
        """
        with self._process_lock() as locked:
            if not locked:
                return DeliveryReport(busy=True, waiting=tuple(self.entries()))
            try:
                return self._deliver_locked(transport, now, force, stop_on_error)
            finally:
                try:
                    transport.close()
                except Exception:  # closing must not hide the report
                    log.debug("transport close failed", exc_info=True)

    def _give_up(self, transport: Transport, entry: SpoolEntry) -> None:
        discard = getattr(transport, "discard", None)
        if discard is None:
            return
        try:
            discard(entry)
        except Exception as exc:  # best effort: the server's file is only clutter
            log.info("could not remove the temporary file of %s: %s", entry.name, exc)

    def _deliver_locked(
        self, transport: Transport, now: float | None, force: bool, stop_on_error: bool
    ) -> DeliveryReport:
        moment = self._clock() if now is None else now
        destination = _destination_of(transport)
        self._rescan()
        delivered: list[SpoolEntry] = []
        failed: list[tuple[SpoolEntry, str]] = []
        refused: list[tuple[SpoolEntry, str]] = []
        expired: list[SpoolEntry] = []
        with self._lock:
            for entry_id in self.plan.expired(moment):
                entry = self._entries[entry_id]
                self._unindex(entry)
                self._expire(entry, moment)
                expired.append(entry)
        for entry in expired:
            self._give_up(transport, entry)
            self._emit(EntryExpired(entry=entry))
        attempted: set[str] = set()
        stopped = False
        while not stopped:
            with self._lock:
                batch = self.plan.due(moment, force=force, exclude=attempted)
            if not batch:
                break
            for entry_id in batch:
                attempted.add(entry_id)
                found = self._entries.get(entry_id)
                if found is None:
                    continue
                entry = found
                try:
                    outcome, message = self._attempt(transport, entry, destination)
                except _Vanished:
                    continue
                if outcome is Outcome.DELIVERED:
                    delivered.append(entry)
                    self._emit(EntryDelivered(entry=entry, destination=destination))
                elif outcome is Outcome.PERMANENT and self._refused(entry, message):
                    refused.append((entry, message))
                    self._give_up(transport, entry)
                    self._emit(EntryRefused(entry=entry, reason=message,
                                            destination=destination))
                else:  # transient, or refused but the spool could not move it aside
                    failed.append((entry, message))
                    with self._lock:
                        next_at = self.plan.record_failure(
                            entry.entry_id, now=moment, error=message
                        )
                        self._save_retry_state(entry.entry_id)
                    log.warning(
                        "delivery of %s failed (%s); next attempt at %s",
                        entry.name,
                        message,
                        format_epoch(next_at),
                    )
                    if stop_on_error:
                        stopped = True
                        break
        with self._lock:
            failed_ids = {e.entry_id for e, _ in failed}
            waiting = tuple(e for e in self.entries() if e.entry_id not in failed_ids)
        return DeliveryReport(
            delivered=tuple(delivered), failed=tuple(failed), refused=tuple(refused),
            expired=tuple(expired), waiting=waiting,
        )

    def _attempt(
        self, transport: Transport, entry: SpoolEntry, destination: str
    ) -> tuple[Outcome, str]:
        if not entry.path.exists():
            # Delivered (or expired) by another process since this one looked.
            with self._lock:
                self._unindex(entry)
            raise _Vanished
        error: DeliveryError | None = None
        try:
            resumed = self._marker(entry.entry_id, "sending").exists()
            if resumed and transport.already_delivered(entry):
                log.info("%s was delivered before an interruption; not sending again", entry.name)
            else:
                self._mark(entry.entry_id, "sending")
                transport.deliver(entry)
        except DeliveryError as exc:
            error = exc
        except OSError as exc:
            # The spool's own files failed (disk full, permissions): the entry stays queued.
            error = DeliveryError(f"spool file system error: {exc}")
        except Exception as exc:
            # A transport bug must not stop a long-running delivery loop; it counts as a
            # failed attempt and is logged with its traceback.
            log.exception("transport %s failed unexpectedly", type(transport).__name__)
            error = DeliveryError(
                f"unexpected {type(exc).__name__} in {type(transport).__name__}: {exc}"
            )
        outcome = outcome_of(error)
        if outcome is not Outcome.DELIVERED:
            assert error is not None  # outcome_of(None) is DELIVERED
            return outcome, error.message
        try:
            # Recorded before the done marker: a crash in between leaves a .sending entry,
            # which the next pass proves by content (or sends again), never loses.
            self._record_delivery(entry, destination)
            self._mark(entry.entry_id, "done")
            with self._lock:
                self._remove(entry)
                self._unindex(entry)
        except OSError as exc:
            return Outcome.TRANSIENT, f"delivered, but the spool could not record it: {exc}"
        log.info("delivered %s", entry.name)
        return Outcome.DELIVERED, ""

    def serve(
        self,
        transport: Transport,
        stop: threading.Event,
        *,
        idle_poll: float = 60.0,
    ) -> None:
        """Deliver in a loop until ``stop`` is set: the thin runner for a long-lived process.

        Sleeps until the next file is due, at most ``idle_poll`` seconds (new files put by
        another thread are picked up then).
        """
        while not stop.is_set():
            self.deliver(transport)
            wakeup = self.next_wakeup()
            wait = idle_poll if wakeup is None else min(idle_poll, wakeup - self._clock())
            stop.wait(max(0.05, wait))
