"""Device URLs: ``tcp://host:port``, ``rtu:///dev/ttyUSB0?baudrate=9600&parity=E``, and
pyserial URLs (``socket://``, ``rfc2217://``, ``loop://``) carrying RTU frames."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from ._errors import UrlError

__all__ = ["SERIAL_URL_SCHEMES", "DeviceUrl", "parse_url"]

SERIAL_URL_SCHEMES = frozenset({"socket", "rfc2217", "loop", "spy", "alt", "hwgrep"})
"""pyserial URL schemes: the link is a serial line (RTU frames) reached through pyserial."""
_PARITIES = {"N", "E", "O"}
_SERIAL_KEYS = {"baudrate", "parity", "stopbits", "bytesize"}


@dataclass(frozen=True, slots=True)
class DeviceUrl:
    """Where a device is.

    Attributes:
        kind: ``"tcp"`` (Modbus TCP, MBAP framing) or ``"rtu"`` (RTU framing on a
            serial line, a pyserial URL included).
        host, port: the TCP peer (kind ``tcp``).
        serial: the serial port or pyserial URL (kind ``rtu``).
        baudrate, parity, stopbits, bytesize: the serial settings (8E1 9600 by default:
            the Modbus serial line specification's default is even parity).
    """

    kind: str
    host: str = ""
    port: int = 502
    serial: str = ""
    baudrate: int = 9600
    parity: str = "E"
    stopbits: int = 1
    bytesize: int = 8

    def __str__(self) -> str:
        if self.kind == "tcp":
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"tcp://{host}:{self.port}"
        if self.serial.split("://", 1)[0] in SERIAL_URL_SCHEMES:
            return self.serial
        return (f"rtu://{self.serial}?baudrate={self.baudrate}&parity={self.parity}"
                f"&stopbits={self.stopbits}&bytesize={self.bytesize}")

    @property
    def character_time(self) -> float:
        """Seconds one character takes on the line (start, data, parity, stop bits)."""
        bits = 1 + self.bytesize + (self.parity != "N") + self.stopbits
        return bits / self.baudrate

    @property
    def frame_gap(self) -> float:
        """The silent interval between RTU frames: 3.5 characters, at least 1.75 ms
        (Modbus over serial line V1.02, 2.5.1.1)."""
        return max(3.5 * self.character_time, 0.00175)


def _serial_settings(text: str, query: str) -> dict[str, int | str]:
    settings: dict[str, int | str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in _SERIAL_KEYS:
            raise UrlError(f"unknown setting {key!r}; known: {', '.join(sorted(_SERIAL_KEYS))}",
                           field=text)
        if key == "parity":
            if value.upper() not in _PARITIES:
                raise UrlError(f"parity must be N, E or O, got {value!r}", field=text)
            settings[key] = value.upper()
            continue
        if not value.isdigit():
            raise UrlError(f"{key} must be a number, got {value!r}", field=text)
        number = int(value)
        allowed = {"baudrate": range(50, 4_000_001), "stopbits": range(1, 3),
                   "bytesize": range(5, 9)}[key]
        if number not in allowed:
            raise UrlError(f"{key} {number} is out of range", field=text)
        settings[key] = number
    return settings


def parse_url(text: str) -> DeviceUrl:
    """Parse a device URL.

    >>> url = parse_url("tcp://192.0.2.7:5020")
    >>> url.kind, url.host, url.port
    ('tcp', '192.0.2.7', 5020)
    >>> parse_url("rtu:///dev/ttyUSB0?baudrate=19200&parity=N").baudrate
    19200

    Raises:
        UrlError: an unknown scheme, a missing host or port, an unknown serial setting.
    """
    scheme, _, rest = text.partition("://")
    if not rest:
        raise UrlError("expected tcp://HOST:PORT, rtu:///dev/PORT?baudrate=... or a pyserial "
                       "URL such as socket://HOST:PORT", field=text)
    scheme = scheme.lower()
    if scheme == "tcp":
        parts = urlsplit(text)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise UrlError("a tcp URL is tcp://HOST[:PORT]", field=text)
        try:
            port = parts.port
        except ValueError:
            raise UrlError("the port must be a number 0..65535", field=text) from None
        if not parts.hostname:
            raise UrlError("no host", field=text)
        return DeviceUrl(kind="tcp", host=parts.hostname, port=502 if port is None else port)
    if scheme == "rtu":
        path, _, query = rest.partition("?")
        if not path.startswith("/") and not path[1:3] == ":\\":
            raise UrlError("an rtu URL names a device path: rtu:///dev/ttyUSB0", field=text)
        settings = _serial_settings(text, query)
        return DeviceUrl(kind="rtu", serial=path, **settings)  # type: ignore[arg-type]
    if scheme in SERIAL_URL_SCHEMES:
        return DeviceUrl(kind="rtu", serial=text)
    raise UrlError(f"unknown scheme {scheme!r}: use tcp, rtu or a pyserial URL "
                   f"({', '.join(sorted(SERIAL_URL_SCHEMES))})", field=text)
