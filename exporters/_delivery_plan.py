"""The sans-IO delivery plan of the spool: what to send next and what a result means.

Rules (the :class:`DeliveryPlan` follows them; the filesystem :class:`~exporters.Spool`
only carries them out):

1. Files are attempted oldest first. Versions of one file name are a queue of their own:
   only the oldest queued version of a name is ever offered, so versions reach the server
   in the order they were queued and the server ends with the newest.
2. A result is one of three :class:`Outcome` values, given by :func:`outcome_of`:
   ``DELIVERED`` (the transport confirmed the final name holds exactly these bytes: stop
   tracking), ``PERMANENT`` (the server refused this file for good,
   :class:`~exporters.EntryRefusedError`: stop tracking, the runner moves it to
   ``failed/`` and the next version of that name moves up), ``TRANSIENT`` (anything else:
   the file keeps its place and is due again after a backoff, holding back the later
   versions of its name).
3. Files older than the age limit are no longer attempted (:meth:`DeliveryPlan.expired`).

Nothing here reads a clock, a file or a socket: times are arguments.
"""

from __future__ import annotations

import enum
import hashlib
import math
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from ._errors import DeliveryError, EntryRefusedError, SpoolError, SpoolFullError

__all__ = [
    "DeliveryPlan",
    "EntryState",
    "Outcome",
    "RetryPolicy",
    "SpoolLimits",
    "check_file_name",
    "outcome_of",
]

_BAD_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\]")
_MAX_NAME = 200


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


class Outcome(enum.Enum):
    """What the result of one delivery attempt means for its file."""

    DELIVERED = "delivered"
    """The peer confirmed it holds exactly these bytes under the final name."""
    TRANSIENT = "transient"
    """Not delivered (or not certainly): try again later, in order."""
    PERMANENT = "permanent"
    """The peer refused this file for good: move it to ``failed/``, go on with the rest."""


def outcome_of(error: DeliveryError | None) -> Outcome:
    """The outcome of an attempt that raised ``error`` (``None``: it returned).

    Only :class:`~exporters.EntryRefusedError` is permanent for the file. A
    :class:`~exporters.DeliveryError` marked ``permanent`` for the destination (login
    refused, host key mismatch) is transient for the file: no file is at fault, all stay.

    >>> outcome_of(None), outcome_of(EntryRefusedError("553 not allowed"))
    (<Outcome.DELIVERED: 'delivered'>, <Outcome.PERMANENT: 'permanent'>)
    >>> outcome_of(DeliveryError("530 login incorrect", permanent=True))
    <Outcome.TRANSIENT: 'transient'>
    """
    if error is None:
        return Outcome.DELIVERED
    if isinstance(error, EntryRefusedError):
        return Outcome.PERMANENT
    return Outcome.TRANSIENT


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
        if not (self.maximum >= self.initial and math.isfinite(self.maximum)):
            raise SpoolError(f"must be finite and >= initial, got {self.maximum}",
                             field="maximum")
        if not 0 <= self.jitter <= 1:
            raise SpoolError(f"must be within 0..1, got {self.jitter}", field="jitter")

    @property
    def longest(self) -> float:
        """The longest delay this policy can give (maximum with full jitter)."""
        return self.maximum * (1 + self.jitter)

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
    """Bounds of a spool; see :class:`~exporters.Spool` for what happens when one is reached.

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
    """What the plan knows about one queued file.

    ``name`` is the file name it is delivered under (versions of one name keep their order).
    """

    entry_id: str
    size: int
    created: float
    name: str = ""
    failures: int = 0
    next_attempt: float = 0.0
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "entry_id": self.entry_id,
            "name": self.name,
            "size": self.size,
            "created": self.created,
            "failures": self.failures,
            "next_attempt": self.next_attempt,
            "last_error": self.last_error,
        }


def _order(state: EntryState) -> tuple[float, str]:
    return (state.created, state.entry_id)


class DeliveryPlan:
    """Sans-IO retry schedule, per-name order and limit bookkeeping for queued files.

    Times are seconds on one clock chosen by the caller (the runner uses wall-clock epoch
    seconds because entries outlive the process). Nothing here reads a clock or a file.

    >>> plan = DeliveryPlan(RetryPolicy(initial=10, jitter=0), SpoolLimits(max_age=3600))
    >>> plan.track("a", size=5, created=1000.0, name="latest.csv")
    >>> plan.track("b", size=5, created=1001.0, name="latest.csv")
    >>> plan.due(1000.0)  # b waits for the older version of its name
    ['a']
    >>> plan.record_failure("a", now=1000.0, error="connection refused")
    1010.0
    >>> plan.due(1005.0), plan.due(1010.0)
    ([], ['a'])
    >>> plan.forget("a")  # delivered, or refused for good
    >>> plan.due(1010.0)
    ['b']
    >>> plan.expired(4602.0)
    ['b']
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

    def track(self, entry_id: str, *, size: int, created: float, name: str = "") -> None:
        """Start tracking a queued file (due at once, after older versions of ``name``)."""
        old = self._states.get(entry_id)
        if old is not None:
            self._total -= old.size
        self._states[entry_id] = EntryState(
            entry_id=entry_id, size=size, created=created, name=name
        )
        self._total += size

    def forget(self, entry_id: str) -> None:
        """Stop tracking a file (delivered, refused or moved away); unknown ids are ignored."""
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

    def _heads(self) -> list[EntryState]:
        """The oldest queued version of each name, oldest first."""
        heads: dict[str, EntryState] = {}
        for state in self._states.values():
            key = state.name or state.entry_id  # unnamed entries are each their own queue
            current = heads.get(key)
            if current is None or _order(state) < _order(current):
                heads[key] = state
        return sorted(heads.values(), key=_order)

    def due(
        self, now: float, *, force: bool = False, exclude: Collection[str] = ()
    ) -> list[str]:
        """Ids to attempt now, oldest first: the oldest version of each name, if its
        backoff has passed; expired ids are left out (see :meth:`expired`).

        ``force`` ignores the backoff (an operator asked to send now); ``exclude`` leaves
        out ids already attempted in this pass (their later versions still wait).
        """
        return [
            s.entry_id
            for s in self._heads()
            if s.entry_id not in exclude
            and (force or s.next_attempt <= now)
            and not self._is_expired(s, now)
        ]

    def next_due(
        self, now: float, *, force: bool = False, exclude: Collection[str] = ()
    ) -> str | None:
        """The one id to attempt next (see :meth:`due`), or ``None``."""
        due = self.due(now, force=force, exclude=exclude)
        return due[0] if due else None

    def expired(self, now: float) -> list[str]:
        """Ids older than ``max_age`` at ``now``, oldest first."""
        old = [s for s in self._states.values() if self._is_expired(s, now)]
        old.sort(key=_order)
        return [s.entry_id for s in old]

    def record_failure(self, entry_id: str, *, now: float, error: str) -> float:
        """Note a failed attempt (transient outcome); return the time of the next attempt."""
        state = self.state(entry_id)
        failures = state.failures + 1
        next_attempt = now + self.retry.delay(failures, entry_id)
        self._states[entry_id] = replace(
            state, failures=failures, next_attempt=next_attempt, last_error=error
        )
        return next_attempt

    def restore(
        self, entry_id: str, *, failures: int, next_attempt: float, last_error: str | None
    ) -> None:
        """Put back the retry state of a tracked file (saved before a restart).

        Raises:
            SpoolError: ``next_attempt`` is not a finite number or ``failures`` is negative
                (a saved state the plan could never have made).
        """
        state = self.state(entry_id)
        if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
            raise SpoolError(f"not a failure count: {failures!r}", field="failures")
        if not isinstance(next_attempt, (int, float)) or not math.isfinite(next_attempt):
            raise SpoolError(f"not a time: {next_attempt!r}", field="next_attempt")
        self._states[entry_id] = replace(
            state, failures=failures, next_attempt=float(next_attempt), last_error=last_error
        )

    def next_wakeup(self) -> float | None:
        """The earliest time any tracked file is due, or ``None`` when nothing is queued."""
        heads = self._heads()
        if not heads:
            return None
        return min(s.next_attempt for s in heads)
