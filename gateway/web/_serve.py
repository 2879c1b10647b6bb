"""Starting and stopping the page on an asyncio loop (aiohttp's runner, no own HTTP code)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from ._app import create_app
from ._config import WebConfig
from ._source import WebSource

__all__ = ["RunningPage", "start_page"]


@dataclass
class RunningPage:
    """A page being served; ``url`` is where a browser finds it."""

    runner: web.AppRunner
    url: str

    async def stop(self) -> None:
        """Close the listening socket and every open connection."""
        await self.runner.cleanup()


async def start_page(source: WebSource, config: WebConfig | None = None, *,
                     clock: Callable[[], float] = time.time) -> RunningPage:
    """Serve the page for ``source`` on ``config.host:config.port`` (port 0: any free port)."""
    config = config or WebConfig()
    runner = web.AppRunner(create_app(source, config, clock=clock), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, ssl_context=config.ssl_context())
    await site.start()
    port = runner.addresses[0][1]  # the bound port (port 0 asks for any free one)
    scheme = "https" if config.tls_cert is not None else "http"
    host = f"[{config.host}]" if ":" in config.host else config.host
    return RunningPage(runner, f"{scheme}://{host}:{port}/")
