"""BACnet/IP addresses as text (no bacpypes3): ``ADDR[/PREFIX][:PORT]``."""

from __future__ import annotations

import ipaddress

from ._errors import ConfigurationError

__all__ = ["interface_text"]


def interface_text(text: str, *, default_port: int = 47808) -> str:
    """``ADDR[/PREFIX][:PORT]`` checked and in full: ``ADDR/PREFIX:PORT``.

    Raises :class:`~bacnet.ConfigurationError` for anything else.

    >>> from bacnet import interface_text
    >>> interface_text("192.168.1.10/24")
    '192.168.1.10/24:47808'
    >>> interface_text("127.0.0.1:47809")
    '127.0.0.1/32:47809'
    """
    host, _, port_text = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    try:
        network = ipaddress.IPv4Interface(host)
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ConfigurationError(f"{text!r} is not an IPv4 address ADDR[/PREFIX][:PORT]") from None
    if not 0 <= port < 65536:
        raise ConfigurationError(f"{text!r}: port {port} is out of range")
    return f"{network.ip}/{network.network.prefixlen}:{port}"
