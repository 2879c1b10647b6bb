"""An alarm notification as the history keeps it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import alarms

from ._errors import ReadingError

__all__ = ["AlarmRecord", "check_notification"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmRecord:
    """An X.733 notification (raise or clear) and the wall-clock time it was stored for.

    ``time`` is the gateway's clock; ``notification.event_time`` stays in the alarm
    engine's own time base.
    """

    time: datetime
    notification: alarms.Notification

    @property
    def point(self) -> str:
        """The point the alarm is about."""
        return self.notification.point

    @property
    def alarm_id(self) -> str:
        """The alarm's id (a rule's id): raise and clear share it."""
        return self.notification.alarm_id

    @property
    def event(self) -> str:
        """``"raised"`` or ``"cleared"``."""
        return self.notification.event

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: the time (ISO 8601) and the notification's JSON form."""
        return {"time": self.time.isoformat(), "notification": self.notification.to_dict()}


def check_notification(notification: object) -> None:
    """Refuse (``ReadingError``) what is not an :class:`alarms.Notification` (a backend's
    append_alarm)."""
    if not isinstance(notification, alarms.Notification):
        raise ReadingError(f"must be an alarms.Notification, got "
                           f"{type(notification).__name__}", field="notification")
