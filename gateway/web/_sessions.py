"""Login sessions and their CSRF tokens, kept in memory by the server.

A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie; the server
keeps the user and a second random token that every form posting an action must carry
(the CSRF token), compared in constant time. Sessions end at logout, after ``lifetime``
seconds, or when the gateway restarts. Failed logins per user name are throttled.
The clock is passed in, so the rules are tested without waiting.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

__all__ = ["Session", "SessionStore"]

_MAX_TRACKED_NAMES = 10_000


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in user."""

    user: str
    level: str
    csrf_token: str
    expires: float

    @property
    def is_admin(self) -> bool:
        """Admins may acknowledge alarms and download backups."""
        return self.level == "admin"


class SessionStore:
    """Sessions by cookie token, and a failed-login throttle per user name."""

    def __init__(self, *, lifetime: float = 8 * 3600, max_failures: int = 5,
                 lockout: float = 60.0) -> None:
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, list[float]] = {}
        self.lifetime = lifetime
        self.max_failures = max_failures
        self.lockout = lockout

    def open(self, user: str, level: str, now: float) -> str:
        """Start a session; returns the cookie token."""
        self._drop_expired(now)
        token = secrets.token_urlsafe(32)
        self._sessions[token] = Session(user, level, secrets.token_urlsafe(32),
                                        now + self.lifetime)
        self._failures.pop(user, None)
        return token

    def get(self, token: str | None, now: float) -> Session | None:
        """The live session of a cookie token, or None."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None or session.expires <= now:
            self._sessions.pop(token, None)
            return None
        return session

    def close(self, token: str | None) -> None:
        """End a session (logout)."""
        if token:
            self._sessions.pop(token, None)

    def csrf_ok(self, session: Session | None, submitted: str | None) -> bool:
        """True when a form carries its session's CSRF token."""
        if session is None or not submitted:
            return False
        return hmac.compare_digest(session.csrf_token.encode(), submitted.encode())

    def locked_out(self, user: str, now: float) -> bool:
        """True after ``max_failures`` failed logins for ``user`` within ``lockout`` seconds."""
        recent = [t for t in self._failures.get(user, []) if now - t < self.lockout]
        self._failures[user] = recent
        return len(recent) >= self.max_failures

    def failed(self, user: str, now: float) -> None:
        """Count a failed login for ``user``."""
        if len(self._failures) >= _MAX_TRACKED_NAMES:  # names are attacker-chosen: bound them
            for name in [n for n, times in self._failures.items()
                         if not times or now - times[-1] >= self.lockout]:
                del self._failures[name]
        self._failures.setdefault(user, []).append(now)

    def _drop_expired(self, now: float) -> None:
        for token in [t for t, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[token]
