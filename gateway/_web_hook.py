"""The hook for the web page (``gateway/web/``, built by its own helper).

``meterkit run`` (a ``[web]`` table in the site file) and ``meterkit demo --serve`` call
:func:`start_web`. It imports ``gateway.web`` and awaits its
``start(context, *, host, port)``, which must return an object with ``url`` (text) and an
awaitable ``close()``. The :class:`WebContext` gives the page the site, the history (a
``HistoryBackend``: readings, aggregates, alarms, audit log) and the live alarm engine
(``context.alarm_engine.active_alarms()``; acknowledgements go through
:meth:`WebContext.acknowledge`, which the gateway logs in the audit log).

Until ``gateway.web`` exists, :func:`start_web` returns None and says so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import alarms

from ._pipeline import Step
from ._site_file import Site

__all__ = ["WebContext", "WebServer", "start_web"]


class WebServer(Protocol):
    """What ``gateway.web.start`` returns."""

    @property
    def url(self) -> str: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class WebContext:
    """What the web page may use of a running site."""

    site: Site
    history: Any
    alarm_engine: alarms.Engine
    commit: Callable[[Step], None]

    def acknowledge(self, alarm_id: str, user: str) -> None:
        """Acknowledge an alarm as ``user`` (in the event loop's thread); the notifications it
        causes are stored, and the acknowledgement is recorded in the audit log."""
        from .history import AuditEntry

        now = datetime.now(timezone.utc)
        notes = self.alarm_engine.acknowledge(alarm_id, now.timestamp(),
                                              reason=f"acknowledged by {user}")
        self.commit(Step(notifications=notes, time=now))
        self.history.append_audit(AuditEntry.acknowledgement(now, alarm_id=alarm_id, user=user))


async def start_web(context: WebContext, *, host: str, port: int) -> tuple[WebServer | None,
                                                                           str]:
    """Start the web page if ``gateway.web`` is installed: ``(server, message)``."""
    try:
        module = importlib.import_module("gateway.web")
    except ModuleNotFoundError as exc:
        if exc.name not in ("gateway.web",):
            raise
        return None, "not supported yet: the web page (gateway/web/) is not built yet"
    server: WebServer = await module.start(context, host=host, port=port)
    return server, f"web page at {server.url}"
