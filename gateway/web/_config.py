"""How the web page is served: address, users, TLS, and the rule that guards them."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WebConfig", "WebConfigError"]


class WebConfigError(ValueError):
    """The web page cannot be served as configured (the message says which key)."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The ``[web]`` table of a site file.

    By default the page is read-only and bound to 127.0.0.1. Actions (acknowledging an
    alarm, downloading a backup) need a login, so they need ``users_file``; binding to
    any address beyond loopback needs it too, and then every page needs a login.
    TLS is served directly when ``tls_cert`` and ``tls_key`` are set; otherwise put a
    reverse proxy in front (see the docs).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    users_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    refresh_seconds: int = 5

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise WebConfigError(f"[web] port: {self.port} is not a TCP port")
        if not 1 <= self.refresh_seconds <= 3600:
            raise WebConfigError("[web] refresh_seconds: must be 1 to 3600")
        if not self.loopback_only and self.users_file is None:
            raise WebConfigError(
                f"[web] host: binding to {self.host} (beyond loopback) needs users_file: "
                "anyone on the network could otherwise read the page")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise WebConfigError("[web] tls_cert and tls_key: set both or neither")

    @property
    def loopback_only(self) -> bool:
        """True when only this machine can reach the page."""
        return _is_loopback(self.host)

    @property
    def login_required_to_view(self) -> bool:
        """Beyond loopback, every page needs a login."""
        return not self.loopback_only

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server's TLS context, or None for plain HTTP."""
        if self.tls_cert is None or self.tls_key is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except (OSError, ssl.SSLError) as error:
            raise WebConfigError(f"[web] tls_cert/tls_key: cannot load: {error}") from None
        return context
