"""The audit log: what the gateway did (deliveries, failures, acknowledgements, logins,
starts and stops), and the detection of an unclean previous stop."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ._errors import QueryError, ReadingError

if TYPE_CHECKING:
    from ._backend import HistoryBackend

__all__ = ["AUDIT_KINDS", "AuditEntry", "RunStart", "check_audit_entry", "check_audit_query",
           "record_start", "record_stop"]

AUDIT_KINDS = ("delivery", "failure", "acknowledgement", "login", "start", "stop")
"""The kinds of audit entries, and the ``detail`` keys their constructors fill:

- ``delivery``: ``what``, ``where``, ``result`` (an export file, mail, upload ...)
- ``failure``: ``source``, ``error`` (a bus, device or output that failed)
- ``acknowledgement``: ``alarm_id``, ``user``
- ``login``: ``user``, ``result``
- ``start``: ``previous_stop`` (``clean``, ``unclean`` or ``none``), ``version``
- ``stop``: (none)
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One line of the audit log: when, what kind, a message and text details.

    Build deliveries, failures, acknowledgements and logins with the class methods;
    starts and stops with :func:`record_start` and :func:`record_stop`.
    """

    time: datetime
    kind: str
    message: str = ""
    detail: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.time, datetime) or self.time.utcoffset() is None:
            raise ReadingError("must be a timezone-aware datetime", field="time")
        if self.kind not in AUDIT_KINDS:
            raise ReadingError(f"{self.kind!r} is not one of {', '.join(AUDIT_KINDS)}",
                               field="kind")
        if not isinstance(self.message, str):
            raise ReadingError("must be a text", field="message")
        if not isinstance(self.detail, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.detail.items()):
            raise ReadingError("must be a dict of texts to texts", field="detail")

    @classmethod
    def delivery(cls, time: datetime, *, what: str, where: str, result: str,
                 message: str = "") -> AuditEntry:
        """A delivery: ``what`` (a file, a batch) went ``where`` with ``result`` ("ok" ...)."""
        return cls(time=time, kind="delivery", message=message or f"{what} -> {where}: {result}",
                   detail={"what": what, "where": where, "result": result})

    @classmethod
    def failure(cls, time: datetime, *, source: str, error: str) -> AuditEntry:
        """A failure of ``source`` (a bus, a device, an output) with its error message."""
        return cls(time=time, kind="failure", message=f"{source}: {error}",
                   detail={"source": source, "error": error})

    @classmethod
    def acknowledgement(cls, time: datetime, *, alarm_id: str, user: str) -> AuditEntry:
        """``user`` acknowledged the alarm ``alarm_id``."""
        return cls(time=time, kind="acknowledgement", message=f"{user} acknowledged {alarm_id}",
                   detail={"alarm_id": alarm_id, "user": user})

    @classmethod
    def login(cls, time: datetime, *, user: str, result: str) -> AuditEntry:
        """A login attempt of ``user`` and its ``result`` ("ok", "refused" ...)."""
        return cls(time=time, kind="login", message=f"login {user}: {result}",
                   detail={"user": user, "result": result})

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (time as ISO 8601)."""
        return {"time": self.time.isoformat(), "kind": self.kind, "message": self.message,
                "detail": dict(self.detail)}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStart:
    """What :func:`record_start` found about the previous run.

    ``previous_stop`` is ``"clean"`` (a stop was recorded), ``"unclean"`` (the previous
    run started and never recorded its stop: killed, crashed, power lost) or
    ``"none"`` (the first start in this history); ``previous_start`` is that run's start.
    """

    time: datetime
    previous_stop: Literal["clean", "unclean", "none"]
    previous_start: datetime | None


def record_start(history: HistoryBackend, time: datetime, *, version: str = "") -> RunStart:
    """Record that the gateway started at ``time``; say how the previous run ended.

    Call once at start-up, before the first reading is appended, and
    :func:`record_stop` on an orderly stop.
    """
    last = history.audit(kinds=("start", "stop"), newest_first=True, limit=1)
    previous: Literal["clean", "unclean", "none"]
    if not last:
        previous = "none"
    elif last[0].kind == "stop":
        previous = "clean"
    else:
        previous = "unclean"
    starts = history.audit(kinds=("start",), newest_first=True, limit=1)
    message = "started" if previous != "unclean" else "started after an unclean stop"
    history.append_audit(AuditEntry(time=time, kind="start", message=message,
                                    detail={"previous_stop": previous, "version": version}))
    return RunStart(time=time, previous_stop=previous,
                    previous_start=starts[0].time if starts else None)


def record_stop(history: HistoryBackend, time: datetime) -> None:
    """Record an orderly stop (the next :func:`record_start` then reports ``clean``)."""
    history.append_audit(AuditEntry(time=time, kind="stop", message="stopped"))


def check_audit_entry(entry: object) -> None:
    """Refuse (``ReadingError``) what is not an :class:`AuditEntry` (a backend's append)."""
    if not isinstance(entry, AuditEntry):
        raise ReadingError(f"must be an AuditEntry, got {type(entry).__name__}", field="entry")


def check_audit_query(kinds: object, limit: object) -> None:
    """Refuse (``QueryError``) bad ``kinds`` or ``limit`` arguments of a backend's audit()."""
    if isinstance(kinds, str) or not isinstance(kinds, Iterable) or not all(
            kind in AUDIT_KINDS for kind in kinds):
        raise QueryError(f"must be a sequence of {', '.join(AUDIT_KINDS)}", field="kinds")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 0):
        raise QueryError("must be an integer >= 0", field="limit")
