"""The one place bacpypes3 is imported, with helpers shared by server and client.

Importing this module without bacpypes3 installed raises
:class:`~bacnet.NotInstalledError`; ``import bacnet`` never imports it.
"""

from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import socket
import struct
from datetime import datetime, timezone
from typing import Any

from ._address import interface_text
from ._errors import ConfigurationError, NotInstalledError

try:
    import bacpypes3  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installation
    raise NotInstalledError(
        "the bacnet network side needs bacpypes3: pip install 'meterkit[bacnet]'"
    ) from error

from bacpypes3.basetypes import DateTime, TimeStamp
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import Date, Time

__all__ = ["bound", "default_interface", "from_bacnet_datetime", "interface_text", "parse_address",
           "to_bacnet_datetime", "to_timestamp"]

_SIOCGIFADDR = 0x8915
_SIOCGIFNETMASK = 0x891B


async def bound(app: Any) -> None:
    """Wait until the UDP sockets of a bacpypes3 application are bound (they are opened by
    tasks after the application is built; a request sent before is lost)."""
    for link_layer in app.link_layers.values():
        server = getattr(link_layer, "server", None)
        tasks = getattr(server, "_transport_tasks", ())
        if tasks:
            await asyncio.gather(*tasks)


def default_interface() -> str:
    """``ADDR/PREFIX`` of the host's first non-loopback IPv4 interface (Linux)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                address = socket.inet_ntoa(fcntl.ioctl(probe, _SIOCGIFADDR, request)[20:24])
                mask = socket.inet_ntoa(fcntl.ioctl(probe, _SIOCGIFNETMASK, request)[20:24])
            except OSError:
                continue
            if not address.startswith("127."):
                prefix = ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
                return f"{address}/{prefix}"
    raise ConfigurationError("no non-loopback IPv4 interface found: give --address ADDR/PREFIX")


def parse_address(text: str, *, default_port: int = 47808) -> Address:
    """A BACnet/IP address ``ADDR[/PREFIX][:PORT]`` as bacpypes3 takes it."""
    return Address(interface_text(text, default_port=default_port))


def to_bacnet_datetime(time: datetime) -> DateTime:
    """A timezone-aware time as a BACnet DateTime in this host's local time."""
    local = time.astimezone()
    return DateTime(
        date=Date((local.year - 1900, local.month, local.day, local.isoweekday())),
        time=Time((local.hour, local.minute, local.second, local.microsecond // 10000)),
    )


def to_timestamp(time: datetime | None) -> TimeStamp:
    """A BACnet TimeStamp (date and time; all unspecified for None)."""
    if time is None:
        return TimeStamp(dateTime=DateTime(date=Date((255, 255, 255, 255)),
                                           time=Time((255, 255, 255, 255))))
    return TimeStamp(dateTime=to_bacnet_datetime(time))


def from_bacnet_datetime(value: DateTime) -> datetime | None:
    """A BACnet DateTime (local time of the sender, taken as this host's) as an aware
    datetime; None when any part is unspecified."""
    year, month, day, _weekday = value.date
    hour, minute, second, hundredth = value.time
    if 255 in (year, month, day, hour, minute, second) or month > 12 or day > 31:
        return None
    try:
        naive = datetime(year + 1900, month, day, hour, minute, second,
                         0 if hundredth == 255 else hundredth * 10000)
    except ValueError:
        return None
    return naive.astimezone().astimezone(timezone.utc)
