"""``meterkit run SITE.toml`` and ``meterkit check SITE.toml``, and :func:`run_site`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._bacnet import start_bacnet_device
from ._drivers import Clock, SiteRunner
from ._errors import GatewayError, SiteError, StateFileError
from ._pipeline import Step
from ._plan import plan_text, site_plan
from ._runtime import Runtime
from ._site_file import Site, WebConfig, load_site
from ._web_source import SiteWebSource, start_web

__all__ = ["RunReport", "register", "run_site", "serve_site"]

_log = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What one run of a site did."""

    site: Site
    started: datetime
    stopped: datetime | None = None
    previous_stop: str = "none"
    recovered: int = 0
    readouts: int = 0
    stored: int = 0
    notifications: int = 0
    failures: int = 0
    refused: int = 0
    exports: list[tuple[str, Path, int]] = field(default_factory=list)
    web: str | None = None
    modbus_server: str | None = None
    bacnet_device: str | None = None
    overruns: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "site": self.site.name, "started": self.started.isoformat(),
            "stopped": self.stopped.isoformat() if self.stopped else None,
            "previous_stop": self.previous_stop, "recovered": self.recovered,
            "readouts": self.readouts, "stored": self.stored,
            "notifications": self.notifications, "failures": self.failures,
            "refused": self.refused,
            "exports": [{"export": name, "file": str(path), "readings": count}
                        for name, path, count in self.exports],
            "web": self.web, "modbus_server": self.modbus_server,
            "bacnet_device": self.bacnet_device,
            "overruns": self.overruns,
        }


async def serve_site(site: Site, *, stop: asyncio.Event, clock: Clock | None = None,
                     serve_web: tuple[str, int] | None = None,
                     web_users: Path | None = None,
                     on_start: Callable[[RunReport], None] | None = None,
                     on_step: Callable[[Step], None] | None = None,
                     durable: bool = True) -> RunReport:
    """Run ``site`` until ``stop`` is set; the same code for ``meterkit run`` and ``demo``.

    ``serve_web`` (host, port) starts the web page (else the site's ``[web]`` table does),
    with the users file ``web_users`` when given;
    ``on_start`` is called with the report once everything runs (``report.web`` holds the
    page's URL), ``on_step`` with every committed step.
    """
    clock = clock or Clock()
    runtime = Runtime(site, now=clock.now(), durable=durable)
    report = RunReport(site=site, started=clock.now(), previous_stop=runtime.run.previous_stop,
                       recovered=runtime.recovered)
    runner = SiteRunner(site, runtime, clock, on_step=on_step)
    page: Any = None
    device: Any = None
    try:
        if site.bacnet_device is not None:
            device = await start_bacnet_device(site, runtime, clock.now)
            report.bacnet_device = device.address
        config = site.web
        if serve_web is not None:
            config = replace(config or WebConfig(), host=serve_web[0], port=serve_web[1])
        if web_users is not None and config is not None:
            config = replace(config, users_file=web_users)
        if config is not None:
            source = SiteWebSource(site, runtime.history, runtime.pipeline.alarms,
                                   runtime.commit, clock=clock.now)
            page, report.web = await start_web(source, config)
        run = asyncio.ensure_future(runner.run(stop))
        started = asyncio.ensure_future(runner.started.wait())
        await asyncio.wait({run, started}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if runner.modbus_server is not None and site.modbus_server is not None:
            report.modbus_server = (f"tcp://{site.modbus_server.host}:"
                                    f"{runner.modbus_server.port}")
        if on_start is not None and not run.done():
            on_start(report)
        await run
        await runner.deliver_now()
    finally:
        if page is not None:
            await page.stop()
        if device is not None:
            await device.close()
        report.stopped = clock.now()
        report.readouts = runner.readouts
        report.stored = runtime.stored
        report.notifications = runtime.notifications
        report.failures = runner.failures
        report.refused = sum(receiver.refused for receiver in runner.receivers)
        report.exports = [(item.export, item.path, item.readings) for item in runtime.exported]
        report.overruns = {k: v for k, v in runtime.scheduler.overruns.items() if v}
        runtime.close(report.stopped)
    return report


def run_site(site: Site, *, duration: float | None = None, clock: Clock | None = None,
             serve_web: tuple[str, int] | None = None, durable: bool = True) -> RunReport:
    """Run a site (blocking) for ``duration`` wall seconds, or until SIGINT/SIGTERM."""

    async def main() -> RunReport:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        if duration is not None:
            loop.call_later(duration, stop.set)
        return await serve_site(site, stop=stop, clock=clock, serve_web=serve_web,
                                durable=durable)

    return asyncio.run(main())


# -- command line ------------------------------------------------------------------------------

def register(commands: Any) -> None:
    """Add ``run`` and ``check`` to the ``meterkit`` command line."""
    check = commands.add_parser("check", help="check a site file and print the plan",
                                description="Check a site file: every error names file, "
                                            "table and key. Prints the plan: buses, meters, "
                                            "points, derived values, alarms, exports, "
                                            "outputs and the next slots.")
    check.add_argument("site", help="the site file (TOML)")
    check.add_argument("--json", action="store_true", help="print the plan as JSON")
    check.set_defaults(handler=_check)
    run = commands.add_parser("run", help="run a site",
                              description="Run a site until SIGINT/SIGTERM (or --for "
                                          "seconds): read, compute, store, alarm, export.")
    run.add_argument("site", help="the site file (TOML)")
    run.add_argument("--for", dest="duration", type=float, metavar="SECONDS",
                     help="stop after this many seconds")
    run.add_argument("-v", "--verbose", action="count", default=0, help="log more")
    run.set_defaults(handler=_run)


def _load(path: str) -> Site:
    return load_site(path)


def _check(args: argparse.Namespace) -> int:
    try:
        site = _load(args.site)
    except SiteError as exc:
        print(f"meterkit check: {exc}", file=sys.stderr)
        return 2
    plan = site_plan(site, datetime.now(timezone.utc))
    print(json.dumps(plan, indent=1) if args.json else plan_text(plan))
    return 0


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        site = _load(args.site)
        report = run_site(site, duration=args.duration)
    except (SiteError, StateFileError, GatewayError) as exc:
        print(f"meterkit run: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict()))
    return 0
