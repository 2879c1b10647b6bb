"""The spool's file formats, read and written without touching a file (sans-IO).

- entry file names ``<entry id>--<file name>``, the entry id being
  ``<UTC time queued as YYYYmmddTHHMMSSffffffZ>-<first 16 hex digits of SHA-256>``;
- ``journal/<entry id>.retry``: the backoff state, ``{"failures", "next_attempt",
  "last_error"}``;
- ``failed/<entry id>.reason``: why a file was refused, ``{"reason", "failed_at"}``;
- ``deliveries.jsonl``: one line per confirmed delivery, ``{"entry_id", "name", "size",
  "sha256", "delivered", "destination"}``.

Every reader is bounded (:func:`~exporters._json_limits.load_json`) and validates each
field, so a torn, hostile or hand-edited file raises :class:`~exporters.SpoolError`
naming the field, and never leaves an entry stuck: the caller drops the unreadable state.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ._delivery_plan import check_file_name
from ._errors import SpoolError
from ._json_limits import JsonFormatError, JsonLimits, load_json

__all__ = [
    "ENTRY_SEPARATOR",
    "MAX_JOURNAL_BYTES",
    "DeliveryRecord",
    "RetryState",
    "format_epoch",
    "format_failure_reason",
    "make_entry_id",
    "parse_entry_file_name",
    "parse_entry_id",
    "read_delivery_record",
    "read_failure_reason",
    "read_retry_state",
]

ENTRY_SEPARATOR = "--"
MAX_JOURNAL_BYTES = 8192
"""The largest journal file or delivery-log line read; a longer one is refused unread."""

_MAX_ERROR_TEXT = 2000
_JOURNAL_LIMITS = JsonLimits(
    max_chars=MAX_JOURNAL_BYTES, max_depth=2, max_int_digits=400, exact_numbers=False
)
_ID_RE = re.compile(r"(\d{8}T\d{12}Z)-([0-9a-f]{16})\Z")
_SHA256_RE = re.compile(r"[0-9a-f]{64}\Z")
# Epoch seconds that datetime can show (years 1..9999), with a margin for time zones.
_EARLIEST = -62_135_596_800.0 + 86_400
_LATEST = 253_402_300_799.0 - 86_400


def format_epoch(seconds: float) -> str:
    """ISO 8601 UTC text of epoch seconds (``0001-...`` / ``9999-...`` at the ends)."""
    clamped = min(max(seconds, _EARLIEST), _LATEST) if math.isfinite(seconds) else 0.0
    return datetime.fromtimestamp(clamped, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_entry_id(created: float, hexdigest: str) -> str:
    """The entry id of content with SHA-256 ``hexdigest`` queued at ``created``."""
    stamp = datetime.fromtimestamp(created, timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{hexdigest[:16]}"


def parse_entry_id(entry_id: str) -> float | None:
    """The time an entry was queued (epoch seconds), or ``None`` if ``entry_id`` is not an
    entry id (wrong shape, or a date such as month 13 that does not exist).

    >>> parse_entry_id("20261124T101500000000Z-0123456789abcdef")
    1795515300.0
    >>> parse_entry_id("20261324T101500000000Z-0123456789abcdef") is None
    True
    """
    match = _ID_RE.match(entry_id)
    if match is None:
        return None
    try:
        stamp = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%fZ")
    except ValueError:
        return None
    return stamp.replace(tzinfo=timezone.utc).timestamp()


def parse_entry_file_name(file_name: str) -> tuple[str, float, str] | None:
    """``(entry id, created, file name)`` of an outbox or ``failed/`` file name, or ``None``
    when it is not one the spool makes (it is then left alone and listed as unrecognised)."""
    entry_id, separator, name = file_name.partition(ENTRY_SEPARATOR)
    if not separator:
        return None
    created = parse_entry_id(entry_id)
    if created is None:
        return None
    try:
        check_file_name(name)
    except SpoolError:
        return None
    return entry_id, created, name


def _load_object(data: bytes, what: str) -> dict[str, Any]:
    if len(data) > MAX_JOURNAL_BYTES:
        raise SpoolError(f"unreadable {what}: longer than {MAX_JOURNAL_BYTES} bytes",
                         field=what)
    try:
        value = load_json(data, limits=_JOURNAL_LIMITS, field=what)
    except JsonFormatError as exc:
        raise SpoolError(f"unreadable {what}: {exc}", field=what) from None
    if not isinstance(value, dict):
        raise SpoolError(f"unreadable {what}: not a JSON object", field=what)
    return value


def _text_or_none(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SpoolError(f"not text: {value!r:.40}", field=field)
    return value[:_MAX_ERROR_TEXT]


def _time(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpoolError(f"not a time: {value!r:.40}", field=field)
    seconds = float(value) if abs(value) < 1e300 else math.inf
    if not _EARLIEST <= seconds <= _LATEST:
        raise SpoolError(f"not a time between the years 1 and 9999: {value!r:.40}", field=field)
    return seconds


def _count(value: object, field: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise SpoolError(f"not a count within 0..{limit}: {value!r:.40}", field=field)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryState:
    """The saved backoff of one entry."""

    failures: int
    next_attempt: float
    last_error: str | None

    def to_json(self) -> str:
        """The journal text."""
        return json.dumps(
            {
                "failures": self.failures,
                "next_attempt": self.next_attempt,
                "last_error": self.last_error,
            }
        )


def read_retry_state(data: bytes, *, now: float, longest_delay: float) -> RetryState:
    """Read a ``.retry`` journal.

    A ``next_attempt`` later than ``now + longest_delay`` cannot have been made by the
    retry policy (a clock jump, or a hostile file); it is refused so that the entry is due
    at once instead of waiting for years.

    Raises:
        SpoolError: the text is not such a journal (the field says which part).
    """
    saved = _load_object(data, "retry")
    failures = _count(saved.get("failures"), "failures", 10**9)
    next_attempt = _time(saved.get("next_attempt"), "next_attempt")
    if next_attempt > now + longest_delay:
        raise SpoolError(
            f"{format_epoch(next_attempt)} is later than the retry policy can schedule",
            field="next_attempt",
        )
    return RetryState(
        failures=failures,
        next_attempt=next_attempt,
        last_error=_text_or_none(saved.get("last_error"), "last_error"),
    )


def read_failure_reason(data: bytes) -> tuple[str, float | None]:
    """``(reason, failed_at)`` of a ``failed/<entry id>.reason`` file.

    Raises:
        SpoolError: not such a file.
    """
    saved = _load_object(data, "reason")
    reason = _text_or_none(saved.get("reason"), "reason") or "no reason recorded"
    failed_at = saved.get("failed_at")
    return reason, None if failed_at is None else _time(failed_at, "failed_at")


def format_failure_reason(reason: str, failed_at: float) -> str:
    """The text of a ``.reason`` file."""
    return json.dumps({"reason": reason[:_MAX_ERROR_TEXT], "failed_at": failed_at})


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRecord:
    """One confirmed delivery, as kept in ``deliveries.jsonl``.

    Attributes:
        entry_id: the spool entry that was delivered.
        name: the file name it was delivered under.
        size: bytes.
        sha256: hex SHA-256 of the content.
        delivered: epoch seconds of the confirmation.
        destination: where it went (the transport's ``destination``).
    """

    entry_id: str
    name: str
    size: int
    sha256: str
    delivered: float
    destination: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (``delivered`` as ISO 8601 UTC text)."""
        return {
            "entry_id": self.entry_id,
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "delivered": format_epoch(self.delivered),
            "destination": self.destination,
        }

    def to_json_line(self) -> str:
        """The log line (``delivered`` as epoch seconds), newline included."""
        return json.dumps(
            {
                "entry_id": self.entry_id,
                "name": self.name,
                "size": self.size,
                "sha256": self.sha256,
                "delivered": self.delivered,
                "destination": self.destination,
            }
        ) + "\n"


def read_delivery_record(line: bytes) -> DeliveryRecord:
    """Read one line of ``deliveries.jsonl``.

    Raises:
        SpoolError: not such a line (a torn last line after a crash, or an edited file).
    """
    saved = _load_object(line, "delivery")
    entry_id = saved.get("entry_id")
    if not isinstance(entry_id, str) or parse_entry_id(entry_id) is None:
        raise SpoolError(f"not an entry id: {entry_id!r:.40}", field="entry_id")
    name = saved.get("name")
    if not isinstance(name, str):
        raise SpoolError(f"not a file name: {name!r:.40}", field="name")
    check_file_name(name)
    sha256 = saved.get("sha256")
    if not isinstance(sha256, str) or not _SHA256_RE.match(sha256):
        raise SpoolError(f"not a SHA-256: {sha256!r:.80}", field="sha256")
    return DeliveryRecord(
        entry_id=entry_id,
        name=name,
        size=_count(saved.get("size"), "size", 2**63),
        sha256=sha256,
        delivered=_time(saved.get("delivered"), "delivered"),
        destination=_text_or_none(saved.get("destination"), "destination") or "",
    )
