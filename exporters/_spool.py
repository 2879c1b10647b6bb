"""A durable outbox directory: files survive crashes until a transport confirms delivery.

Layout of a spool directory::

    tmp/       files being written (a crash leaves them here; they are removed on open)
    outbox/    accepted files, named ``<entry id>--<file name>``
    journal/   delivery markers: ``<entry id>.sending`` (an attempt began, outcome unknown)
               and ``<entry id>.done`` (the transport confirmed; only removal is left);
               ``<entry id>.retry`` keeps the backoff state across restarts
    expired/   files older than the age limit, moved aside instead of deleted
    lock       ``flock``-ed while a process delivers, so two deliverers never race

Guarantees (POSIX file systems that honour ``fsync``):

- Writing: data goes to ``tmp/``, is fsynced, then renamed into ``outbox/`` and the directory
  fsynced. A file is either completely in the outbox or not at all. :meth:`Spool.put` is
  idempotent: the same name with the same content, offered again while still queued, returns
  the queued entry, so a caller that was killed before it saw the confirmation can simply offer
  the file again.
- Delivering: before the transport is called, a ``.sending`` marker is made durable; after the
  transport confirms, a ``.done`` marker, then the file is removed. After a crash, a ``.done``
  entry is only removed (never sent again); a ``.sending`` entry asks the transport
  :meth:`Transport.already_delivered` first (FTP/SFTP compare the remote file's size and
  modification time, and
  uploads go to a temporary name renamed when complete, so a re-upload replaces, never
  duplicates). SMTP cannot ask the server: an e-mail whose acceptance was not yet recorded
  when the process died is sent again with the same ``Message-ID`` (at-least-once).

Several processes may share one directory: any number of writers (a temporary file is
``flock``-ed while it is written, so opening a spool never removes a live writer's file) and
one deliverer at a time; each delivery pass rescans the outbox, so files put by another
process are picked up and files delivered by another process are skipped.

Limits and their policy (:class:`SpoolLimits`):

- ``max_file_bytes``, ``max_total_bytes``, ``max_files``: a new file that would exceed one of
  them is refused with :class:`SpoolFullError`; queued files are never dropped to make room.
- ``max_age``: a file queued longer than this is not retried any more; it is moved to
  ``expired/`` (kept for an operator, logged as a warning) and listed in the report.

The retry schedule is a sans-IO core (:class:`DeliveryPlan`): it is given the time as an
argument and knows nothing of files; :class:`Spool` is the thin runner around it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ._errors import ExportError

__all__ = [
    "DeliveryError",
    "DeliveryPlan",
    "DeliveryReport",
    "EntryState",
    "MissingDependencyError",
    "RetryPolicy",
    "Spool",
    "SpoolEntry",
    "SpoolError",
    "SpoolFullError",
    "SpoolLimits",
    "Transport",
    "check_file_name",
]

log = logging.getLogger(__name__)

_CHUNK = 1 << 16
_SEPARATOR = "--"
_ID_RE = re.compile(r"(\d{8}T\d{12}Z)-([0-9a-f]{16})\Z")
_BAD_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\]")
_MAX_NAME = 200


class SpoolError(ExportError):
    """The spool directory cannot be used, or a file name is not acceptable."""


class SpoolFullError(SpoolError):
    """A new file was refused because a limit would be exceeded (see :class:`SpoolLimits`).

    Queued files are never dropped to make room: deliver them, or empty ``expired/``.
    """


class DeliveryError(ExportError):
    """A transport could not deliver a file; the file stays queued and is retried.

    Attributes:
        permanent: ``True`` when retrying without a change of configuration cannot help
            (authentication refused, recipient rejected, host key mismatch).
    """

    def __init__(self, message: str, *, permanent: bool = False, field: str | None = None) -> None:
        self.permanent = permanent
        super().__init__(message, field=field)


class MissingDependencyError(ExportError):
    """An optional dependency of a transport is not installed (the message names the extra)."""


def check_file_name(name: str) -> str:
    """Return ``name`` if it is a plain file name a spool (and a remote server) can hold.

    Raises:
        SpoolError: the name is empty, too long, hidden, has a path separator or control
            characters, or is ``.``/``..``.
    """
    if not isinstance(name, str) or not name:
        raise SpoolError("a file name must be a non-empty string", field="name")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise SpoolError(f"file name is not valid UTF-8: {name!r}", field="name") from None
    if len(encoded) > _MAX_NAME:
        raise SpoolError(f"file name longer than {_MAX_NAME} bytes: {name[:40]!r}...",
                         field="name")
    if _BAD_NAME_CHARS.search(name) or name.startswith("."):
        raise SpoolError(
            f"not a plain file name: {name!r} (no path separators, control characters "
            "or leading dot)",
            field="name",
        )
    return name


# --- the sans-IO core ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff between delivery attempts of one file.

    The n-th retry waits ``min(maximum, initial * factor ** (n - 1))`` seconds, stretched by
    up to ``jitter`` (a fraction) so that many files do not retry in lock step. The jitter is
    derived from the entry id, not from a random source, so a schedule is reproducible.
    """

    initial: float = 30.0
    factor: float = 2.0
    maximum: float = 3600.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if not self.initial > 0:
            raise SpoolError(f"must be > 0, got {self.initial}", field="initial")
        if not self.factor >= 1:
            raise SpoolError(f"must be >= 1, got {self.factor}", field="factor")
        if not self.maximum >= self.initial:
            raise SpoolError(f"must be >= initial, got {self.maximum}", field="maximum")
        if not 0 <= self.jitter <= 1:
            raise SpoolError(f"must be within 0..1, got {self.jitter}", field="jitter")

    def delay(self, failures: int, entry_id: str = "") -> float:
        """Seconds to wait after the ``failures``-th failed attempt (``failures`` >= 1)."""
        exponent = max(0, failures - 1)
        # Cap the exponent: factor ** 1000 would overflow a float long after maximum is reached.
        base = min(self.maximum, self.initial * self.factor ** min(exponent, 64))
        if not self.jitter or not entry_id:
            return base
        spread = int.from_bytes(hashlib.sha256(entry_id.encode()).digest()[:4], "big") / 2**32
        return base * (1 + self.jitter * spread)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolLimits:
    """Bounds of a spool; see the module text for what happens when one is reached.

    Attributes:
        max_file_bytes: largest single file accepted.
        max_total_bytes: largest sum of queued file sizes.
        max_files: most files queued at once.
        max_age: seconds after which an undelivered file is moved to ``expired/``
            (``None``: never).
    """

    max_file_bytes: int = 64 * 1024 * 1024
    max_total_bytes: int = 1024 * 1024 * 1024
    max_files: int = 10_000
    max_age: float | None = 30 * 24 * 3600.0

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_total_bytes", "max_files"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise SpoolError(f"must be a positive integer, got {value!r}", field=name)
        if self.max_age is not None and not self.max_age > 0:
            raise SpoolError(f"must be > 0 or None, got {self.max_age!r}", field="max_age")


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryState:
    """What the plan knows about one queued file."""

    entry_id: str
    size: int
    created: float
    failures: int = 0
    next_attempt: float = 0.0
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "entry_id": self.entry_id,
            "size": self.size,
            "created": self.created,
            "failures": self.failures,
            "next_attempt": self.next_attempt,
            "last_error": self.last_error,
        }


class DeliveryPlan:
    """Sans-IO retry schedule and limit bookkeeping for a set of queued files.

    Times are seconds on one clock chosen by the caller (the runner uses wall-clock epoch
    seconds because entries outlive the process). Nothing here reads a clock or a file.

    >>> plan = DeliveryPlan(RetryPolicy(initial=10, jitter=0), SpoolLimits(max_age=3600))
    >>> plan.track("a", size=5, created=1000.0)
    >>> plan.due(1000.0)
    ['a']
    >>> plan.record_failure("a", now=1000.0, error="connection refused")
    1010.0
    >>> plan.due(1005.0), plan.due(1010.0)
    ([], ['a'])
    >>> plan.expired(4601.0)
    ['a']
    """

    def __init__(self, retry: RetryPolicy | None = None, limits: SpoolLimits | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self.limits = limits or SpoolLimits()
        self._states: dict[str, EntryState] = {}
        self._total = 0

    def __len__(self) -> int:
        return len(self._states)

    @property
    def total_bytes(self) -> int:
        """Sum of the sizes of the tracked files."""
        return self._total

    def admit(self, size: int) -> None:
        """Check that a new file of ``size`` bytes fits the limits.

        Raises:
            SpoolFullError: naming the limit and the figures.
        """
        limits = self.limits
        if size > limits.max_file_bytes:
            raise SpoolFullError(
                f"file of {size} bytes exceeds the per-file limit of "
                f"{limits.max_file_bytes} bytes",
                field="max_file_bytes",
            )
        if len(self._states) >= limits.max_files:
            raise SpoolFullError(
                f"spool holds {len(self._states)} files, the limit is {limits.max_files}; "
                "deliver queued files first",
                field="max_files",
            )
        if self._total + size > limits.max_total_bytes:
            raise SpoolFullError(
                f"spool holds {self._total} bytes, adding {size} exceeds the limit of "
                f"{limits.max_total_bytes} bytes; deliver queued files first",
                field="max_total_bytes",
            )

    def track(self, entry_id: str, *, size: int, created: float) -> None:
        """Start tracking a queued file (due at once)."""
        old = self._states.get(entry_id)
        if old is not None:
            self._total -= old.size
        self._states[entry_id] = EntryState(entry_id=entry_id, size=size, created=created)
        self._total += size

    def forget(self, entry_id: str) -> None:
        """Stop tracking a file (delivered or moved away); unknown ids are ignored."""
        old = self._states.pop(entry_id, None)
        if old is not None:
            self._total -= old.size

    def state(self, entry_id: str) -> EntryState:
        """The tracked state of one file.

        Raises:
            SpoolError: the id is not tracked.
        """
        try:
            return self._states[entry_id]
        except KeyError:
            raise SpoolError(f"no queued file with id {entry_id!r}", field="entry_id") from None

    def _is_expired(self, state: EntryState, now: float) -> bool:
        max_age = self.limits.max_age
        return max_age is not None and now - state.created > max_age

    def due(self, now: float, *, force: bool = False) -> list[str]:
        """Ids to attempt now, oldest first; expired ids are left out (see :meth:`expired`).

        ``force`` ignores the backoff (an operator asked to send now).
        """
        ready = [
            s
            for s in self._states.values()
            if (force or s.next_attempt <= now) and not self._is_expired(s, now)
        ]
        ready.sort(key=lambda s: (s.created, s.entry_id))
        return [s.entry_id for s in ready]

    def expired(self, now: float) -> list[str]:
        """Ids older than ``max_age`` at ``now``, oldest first."""
        old = [s for s in self._states.values() if self._is_expired(s, now)]
        old.sort(key=lambda s: (s.created, s.entry_id))
        return [s.entry_id for s in old]

    def record_failure(self, entry_id: str, *, now: float, error: str) -> float:
        """Note a failed attempt; return the time of the next attempt."""
        state = self.state(entry_id)
        failures = state.failures + 1
        next_attempt = now + self.retry.delay(failures, entry_id)
        self._states[entry_id] = EntryState(
            entry_id=entry_id,
            size=state.size,
            created=state.created,
            failures=failures,
            next_attempt=next_attempt,
            last_error=error,
        )
        return next_attempt

    def restore(
        self, entry_id: str, *, failures: int, next_attempt: float, last_error: str | None
    ) -> None:
        """Put back the retry state of a tracked file (saved before a restart)."""
        state = self.state(entry_id)
        self._states[entry_id] = EntryState(
            entry_id=entry_id,
            size=state.size,
            created=state.created,
            failures=max(0, failures),
            next_attempt=next_attempt,
            last_error=last_error,
        )

    def next_wakeup(self) -> float | None:
        """The earliest time any tracked file is due, or ``None`` when nothing is queued."""
        if not self._states:
            return None
        return min(s.next_attempt for s in self._states.values())


# --- files ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolEntry:
    """One queued file.

    Attributes:
        entry_id: unique and stable: ``<UTC time queued>-<first 16 hex digits of SHA-256>``.
        name: the file name to deliver under (remote file name, e-mail attachment name).
        size: bytes.
        created: when it was queued, epoch seconds.
        path: where the data lies in the outbox.
    """

    entry_id: str
    name: str
    size: int
    created: float
    path: Path

    def read_bytes(self) -> bytes:
        """The file's content."""
        return self.path.read_bytes()

    def open(self) -> BinaryIO:
        """The file's content as a binary stream (the caller closes it)."""
        return self.path.open("rb")

    @property
    def temporary_name(self) -> str:
        """Name for the remote copy while it is incomplete; stable for this entry.

        Stable so that a re-upload after a crash overwrites the same partial file.
        """
        return f".{self.name}.{self.entry_id}.part"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "entry_id": self.entry_id,
            "name": self.name,
            "size": self.size,
            "created": _format_epoch(self.created),
            "path": str(self.path),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    """The outcome of one :meth:`Spool.deliver` pass.

    Attributes:
        delivered: files the transport confirmed (now removed from the spool).
        failed: ``(entry, message)`` for files whose attempt failed (still queued).
        expired: files moved to ``expired/`` by the age limit.
        waiting: files not attempted because their retry time has not come.
        busy: ``True`` when another process held the spool lock, so nothing was attempted.
    """

    delivered: tuple[SpoolEntry, ...] = ()
    failed: tuple[tuple[SpoolEntry, str], ...] = ()
    expired: tuple[SpoolEntry, ...] = ()
    waiting: tuple[SpoolEntry, ...] = ()
    busy: bool = False

    @property
    def ok(self) -> bool:
        """Nothing failed, expired or was skipped."""
        return not (self.failed or self.expired or self.busy)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "delivered": [e.to_dict() for e in self.delivered],
            "failed": [{**e.to_dict(), "error": msg} for e, msg in self.failed],
            "expired": [e.to_dict() for e in self.expired],
            "waiting": [e.to_dict() for e in self.waiting],
            "busy": self.busy,
        }


class Transport(Protocol):
    """What the spool needs from a transport (SMTP, FTP, SFTP, or your own)."""

    def deliver(self, entry: SpoolEntry) -> None:
        """Deliver one file; return only when the peer has confirmed it.

        Raises:
            DeliveryError: the file was not (or not certainly) delivered.
        """

    def already_delivered(self, entry: SpoolEntry) -> bool:
        """After a crash during an attempt: does the peer already hold this file?

        Return ``False`` when the peer cannot be asked (the file is then sent again).
        """

    def close(self) -> None:
        """Release connections; the spool calls this after each delivery pass."""


def _format_epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _make_id(created: float, digest: str) -> str:
    stamp = datetime.fromtimestamp(created, timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{digest[:16]}"


def _parse_id(entry_id: str) -> float | None:
    match = _ID_RE.match(entry_id)
    if match is None:
        return None
    stamp = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    return stamp.timestamp()


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


class Spool:
    """A durable outbox directory (see the module text for layout and guarantees).

    Args:
        directory: created if missing (with its parents).
        limits: size, count and age limits.
        retry: backoff between attempts of one file.
        clock: wall-clock epoch seconds; replace it in tests.
        durable: ``False`` skips every ``fsync`` (tests on tmpfs, benchmarks); the
            crash guarantees then hold against process crashes only, not power loss.

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
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        limits: SpoolLimits | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        durable: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.plan = DeliveryPlan(retry, limits)
        self._clock = clock
        self._durable = durable
        self._lock = threading.RLock()
        self._entries: dict[str, SpoolEntry] = {}
        # (name, first 16 hex digits of SHA-256) -> entry id, to make put() idempotent
        self._by_content: dict[tuple[str, str], str] = {}
        self._ignored: set[str] = set()
        self._tmp = self.directory / "tmp"
        self._outbox = self.directory / "outbox"
        self._journal = self.directory / "journal"
        self._expired = self.directory / "expired"
        try:
            for folder in (self._tmp, self._outbox, self._journal, self._expired):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"cannot create spool directory {self.directory}: {exc}") from None
        self._recover()

    # -- opening ---------------------------------------------------------------------------

    def _recover(self) -> None:
        for leftover in self._tmp.iterdir():
            if _being_written(leftover):
                continue
            log.info("removing %s left by an interrupted write", leftover)
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        self._rescan()

    def _rescan(self) -> None:
        """Bring the index in line with the outbox (files put or delivered by other
        processes), finish entries marked done, and drop markers of vanished files."""
        with self._lock:
            present: set[str] = set()
            for path in sorted(self._outbox.iterdir()):
                entry = self._entry_from_path(path)
                if entry is None:
                    if path.name not in self._ignored:
                        self._ignored.add(path.name)
                        log.warning("ignoring %s: not a spool file name", path)
                    continue
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
                    with contextlib.suppress(FileNotFoundError):
                        marker.unlink()

    def _load_retry_state(self, entry_id: str) -> None:
        path = self._marker(entry_id, "retry")
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            self.plan.restore(
                entry_id,
                failures=int(saved["failures"]),
                next_attempt=float(saved["next_attempt"]),
                last_error=str(saved["last_error"]) if saved.get("last_error") else None,
            )
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, KeyError) as exc:
            # A torn save only loses the backoff: the file is due at once.
            log.debug("ignoring unreadable retry state %s: %s", path, exc)

    def _save_retry_state(self, entry_id: str) -> None:
        state = self.plan.state(entry_id)
        path = self._marker(entry_id, "retry")
        temporary = path.with_name(path.name + ".tmp")
        text = json.dumps(
            {
                "failures": state.failures,
                "next_attempt": state.next_attempt,
                "last_error": state.last_error,
            }
        )
        try:
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)
        except OSError as exc:
            log.warning("cannot save the retry state of %s: %s", entry_id, exc)

    def _entry_from_path(self, path: Path) -> SpoolEntry | None:
        entry_id, sep, name = path.name.partition(_SEPARATOR)
        created = _parse_id(entry_id) if sep else None
        if created is None or not name:
            return None
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        return SpoolEntry(entry_id=entry_id, name=name, size=size, created=created, path=path)

    # -- writing ---------------------------------------------------------------------------

    def put(
        self,
        name: str,
        data: bytes | bytearray | memoryview | BinaryIO | Iterable[bytes],
    ) -> SpoolEntry:
        """Queue ``data`` to be delivered as ``name``; return once it is durable.

        ``data`` may be bytes, a binary file object or an iterable of byte chunks; it is
        streamed, so its size is bounded only by the limits. Offering the same name and
        content again while the first is still queued returns the queued entry.

        Raises:
            SpoolError: bad name, or the file system failed (nothing is queued then).
            SpoolFullError: a limit would be exceeded (nothing is queued then).
        """
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
                existing = self._find(name, hexdigest)
                if existing is not None:
                    tmp.unlink()
                    return existing
                self.plan.admit(size)
                created = self._clock()
                entry_id = _make_id(created, hexdigest)
                while entry_id in self._entries:  # same content queued twice within 1 us
                    created += 1e-6
                    entry_id = _make_id(created, hexdigest)
                final = self._outbox / f"{entry_id}{_SEPARATOR}{name}"
                os.replace(tmp, final)
                if self._durable:
                    _fsync_dir(self._outbox)
                entry = SpoolEntry(
                    entry_id=entry_id,
                    name=name,
                    size=size,
                    created=_parse_id(entry_id) or created,
                    path=final,
                )
                self._index(entry)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            if isinstance(exc, OSError):
                raise SpoolError(f"cannot queue {name}: {exc}") from exc
            raise
        log.debug("queued %s as %s (%d bytes)", name, entry.entry_id, size)
        return entry

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

    def _find(self, name: str, hexdigest: str) -> SpoolEntry | None:
        entry_id = self._by_content.get((name, hexdigest[:16]))
        return None if entry_id is None else self._entries.get(entry_id)

    def _index(self, entry: SpoolEntry) -> None:
        self._entries[entry.entry_id] = entry
        self._by_content[(entry.name, entry.entry_id[-16:])] = entry.entry_id
        self.plan.track(entry.entry_id, size=entry.size, created=entry.created)

    def _unindex(self, entry: SpoolEntry) -> None:
        self._entries.pop(entry.entry_id, None)
        self._by_content.pop((entry.name, entry.entry_id[-16:]), None)
        self.plan.forget(entry.entry_id)

    # -- reading the queue -----------------------------------------------------------------

    def entries(self) -> list[SpoolEntry]:
        """Queued files, oldest first."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: (e.created, e.entry_id))

    def expired_files(self) -> list[Path]:
        """Files moved to ``expired/`` by the age limit."""
        return sorted(self._expired.iterdir())

    def next_wakeup(self) -> float | None:
        """When the next queued file is due (epoch seconds), or ``None`` if none is queued."""
        with self._lock:
            return self.plan.next_wakeup()

    # -- delivering ------------------------------------------------------------------------

    def _marker(self, entry_id: str, kind: str) -> Path:
        return self._journal / f"{entry_id}.{kind}"

    def _mark(self, entry_id: str, kind: str) -> None:
        marker = self._marker(entry_id, kind)
        if marker.exists():
            return
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(fd)
        if self._durable:
            _fsync_dir(self._journal)

    def _remove(self, entry: SpoolEntry) -> None:
        with contextlib.suppress(FileNotFoundError):
            entry.path.unlink()
        if self._durable:
            _fsync_dir(self._outbox)
        # The data file is gone for good before the markers go: a crash in between leaves
        # orphan markers, which opening removes.
        for kind in ("done", "sending", "retry"):
            with contextlib.suppress(FileNotFoundError):
                self._marker(entry.entry_id, kind).unlink()

    def _expire(self, entry: SpoolEntry, now: float) -> None:
        age_days = (now - entry.created) / 86400
        log.warning(
            "%s queued %.1f days ago was never delivered; moved to %s",
            entry.name,
            age_days,
            self._expired,
        )
        os.replace(entry.path, self._expired / entry.path.name)
        if self._durable:
            _fsync_dir(self._expired)
            _fsync_dir(self._outbox)
        for kind in ("done", "sending", "retry"):
            with contextlib.suppress(FileNotFoundError):
                self._marker(entry.entry_id, kind).unlink()

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
        """Attempt every due file once, oldest first, and report.

        Args:
            transport: where to send (SMTP, FTP, SFTP or anything with its methods).
            now: epoch seconds for the schedule; default the spool's clock.
            force: ignore the backoff and attempt every queued file.
            stop_on_error: after the first failure, leave the remaining files for the next
                pass (a dead server fails them all the same) instead of trying each.

        Files that failed stay queued with their next attempt scheduled. Another process
        delivering from the same directory makes this pass return ``busy``.
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

    def _deliver_locked(
        self, transport: Transport, now: float | None, force: bool, stop_on_error: bool
    ) -> DeliveryReport:
        moment = self._clock() if now is None else now
        self._rescan()
        delivered: list[SpoolEntry] = []
        failed: list[tuple[SpoolEntry, str]] = []
        expired: list[SpoolEntry] = []
        with self._lock:
            for entry_id in self.plan.expired(moment):
                entry = self._entries[entry_id]
                self._unindex(entry)
                self._expire(entry, moment)
                expired.append(entry)
            due = [self._entries[i] for i in self.plan.due(moment, force=force)]
        stopped = False
        for entry in due:
            if stopped:
                break
            try:
                self._attempt(transport, entry)
            except _Vanished:
                continue
            except DeliveryError as exc:
                message = exc.message
                failed.append((entry, message))
                with self._lock:
                    next_at = self.plan.record_failure(entry.entry_id, now=moment, error=message)
                    self._save_retry_state(entry.entry_id)
                log.warning(
                    "delivery of %s failed (%s); next attempt at %s",
                    entry.name,
                    message,
                    _format_epoch(next_at),
                )
                stopped = stop_on_error
                continue
            delivered.append(entry)
        with self._lock:
            done_ids = {e.entry_id for e in delivered}
            failed_ids = {e.entry_id for e, _ in failed}
            waiting = tuple(
                e
                for e in sorted(self._entries.values(), key=lambda e: (e.created, e.entry_id))
                if e.entry_id not in done_ids and e.entry_id not in failed_ids
            )
        return DeliveryReport(
            delivered=tuple(delivered), failed=tuple(failed), expired=tuple(expired),
            waiting=waiting,
        )

    def _attempt(self, transport: Transport, entry: SpoolEntry) -> None:
        if not entry.path.exists():
            # Delivered (or expired) by another process since this one looked.
            with self._lock:
                self._unindex(entry)
            raise _Vanished
        try:
            resumed = self._marker(entry.entry_id, "sending").exists()
            if resumed and transport.already_delivered(entry):
                log.info("%s was delivered before an interruption; not sending again", entry.name)
            else:
                self._mark(entry.entry_id, "sending")
                transport.deliver(entry)
            self._mark(entry.entry_id, "done")
        except DeliveryError:
            raise
        except OSError as exc:
            # The spool's own files failed (disk full, permissions): the entry stays queued.
            raise DeliveryError(f"spool file system error: {exc}") from exc
        except Exception as exc:
            # A transport bug must not stop a long-running delivery loop; it counts as a
            # failed attempt and is logged with its traceback.
            log.exception("transport %s failed unexpectedly", type(transport).__name__)
            raise DeliveryError(
                f"unexpected {type(exc).__name__} in {type(transport).__name__}: {exc}"
            ) from exc
        with self._lock:
            self._remove(entry)
            self._unindex(entry)
        log.info("delivered %s", entry.name)

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
