"""The gateway's side of the web page: a ``gateway.web.WebSource`` over a running site.

``meterkit run`` (a ``[web]`` table in the site file) and ``meterkit demo --serve`` start
the page with :func:`start_web`. The page asks :class:`SiteWebSource` for current values
and series (from the history), alarms (from the live alarm engine), logs (the audit log)
and the configuration (the site file: it holds no secrets, passwords are named by
environment variables); acknowledgements go into the alarm engine and the resulting
notifications are committed like any other step. Everything runs on the event loop's
thread, as the page does.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import alarms

from . import backup
from ._derived import numeric
from ._pipeline import Step
from ._site_file import Site, WebConfig
from .history import AuditEntry

__all__ = ["SiteWebSource", "start_web"]

# the page's event kinds -> the audit log's kinds
_AUDIT_KINDS = {"login": "login", "acknowledge": "acknowledgement", "backup": "delivery"}


class SiteWebSource:
    """A :class:`gateway.web.WebSource` of a running site."""

    def __init__(self, site: Site, history: Any, engine: alarms.Engine,
                 commit: Callable[[Step], None],
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.site = site
        self.history = history
        self.engine = engine
        self.commit = commit
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))

    def _meter(self, point: str) -> str:
        local = point.removeprefix(f"{self.site.name}/")
        return local.rpartition("/")[0] or local

    def current_values(self) -> list[Any]:
        """The latest reading of every point, sorted by name."""
        from gateway.web import PointView

        latest = self.history.latest()
        return [PointView(point=point, meter=self._meter(point), value=reading.value,
                          unit=reading.unit, time=reading.time, quality=reading.quality)
                for point, reading in sorted(latest.items())]

    def series(self, point: str, since: dt.datetime, until: dt.datetime) -> Any:
        """A point's numeric readings in ``[since, until)``; None for an unknown point."""
        from gateway.web import PlotSeries

        if point not in self.history.points():
            return None
        times, values, unit = [], [], ""
        for reading in self.history.readings(point, since, until):
            number = numeric(reading.value)
            if number is None or isinstance(reading.value, bool):
                continue
            times.append(reading.time)
            values.append(float(number))
            unit = reading.unit
        return PlotSeries(point=point, unit=unit, times=tuple(times), values=tuple(values))

    def alarms(self) -> list[Any]:
        """Active alarms and cleared ones awaiting an acknowledgement."""
        from gateway.web import AlarmView

        out = []
        for status in self.engine.active_alarms():
            raised = status.raised
            when = (dt.datetime.fromtimestamp(raised.event_time, dt.timezone.utc)
                    if raised is not None else self.clock())
            out.append(AlarmView(alarm_id=status.alarm_id, point=status.point,
                                 severity=status.severity.value,
                                 text=raised.additional_text if raised is not None else "",
                                 raised_at=when, active=status.active,
                                 acknowledged=status.acknowledged))
        return out

    def acknowledge(self, alarm_id: str, user: str) -> bool:
        """Acknowledge an open alarm for ``user``; False when none is open (the page writes
        the audit entry)."""
        if not any(status.alarm_id == alarm_id and not status.acknowledged
                   for status in self.engine.active_alarms()):
            return False
        now = max(self.clock(), dt.datetime.fromtimestamp(self.engine.now or 0, dt.timezone.utc))
        notes = self.engine.acknowledge(alarm_id, now.timestamp(),
                                        reason=f"acknowledged by {user}")
        self.commit(Step(notifications=notes, time=now))
        return True

    def logs(self, kinds: tuple[str, ...], limit: int) -> list[Any]:
        """The newest audit entries of ``kinds`` (all when empty), newest first."""
        from gateway.web import LogEntry

        entries = self.history.audit(kinds=kinds, limit=limit, newest_first=True)
        return [LogEntry(time=entry.time, kind=entry.kind, message=entry.message)
                for entry in entries]

    def audit(self, kind: str, message: str) -> None:
        """An event of the page (logins, acknowledgements, backups) for the audit log."""
        entry = AuditEntry(time=self.clock(), kind=_AUDIT_KINDS.get(kind, "failure"),
                           message=message, detail={"source": "web page", "event": kind})
        self.history.append_audit(entry)

    def configuration(self) -> str:
        """The site file's text (it holds no secrets: passwords come from the environment)."""
        return self.site.file.read_text(encoding="utf-8")

    def backup(self) -> bytes | None:
        """The site folder's configuration (site file, keys, profiles, users; not the
        history or the data folder) encrypted as ``meterkit backup`` does, with the
        passphrase from the variable ``[web] backup_passphrase_env`` names; None when
        that is not configured or not set."""
        web = self.site.web
        variable = web.backup_passphrase_env if web is not None else None
        passphrase = os.environ.get(variable) if variable else None
        if not passphrase:
            return None
        folder = self.site.file.parent.resolve()
        data = self.site.data_dir.resolve()
        exclude = [f"{data.relative_to(folder).as_posix()}/*"] if data.is_relative_to(folder) \
            else []
        return backup.encrypt_backup(backup.collect_config(folder, exclude=exclude),
                                     passphrase)


async def start_web(source: SiteWebSource, config: WebConfig) -> tuple[Any, str]:
    """Serve the page; returns ``(running page, its URL)``; the page's ``stop()`` ends it."""
    from gateway import web

    page = await web.start_page(source, web.WebConfig(
        host=config.host, port=config.port, users_file=config.users_file,
        tls_cert=config.tls_cert, tls_key=config.tls_key,
        refresh_seconds=config.refresh_seconds),
        clock=lambda: source.clock().timestamp())  # the site's clock (the demo runs faster)
    return page, page.url
