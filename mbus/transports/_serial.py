"""pyserial adapter: any ``serial_for_url`` URL as a port for :class:`mbus.Bus`.

``/dev/ttyUSB0``, ``COM3``, ``socket://host:port`` (transparent TCP converters:
they ignore the baud rate, so the answer window still comes from ``baud``),
``rfc2217://host:port``, ``loop://``, ``spy://...``. The line is set to 8E1.
pyserial is imported here only (``pip install meterkit[serial]``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import select
import socket
import time
from types import TracebackType
from typing import Any

from .._bus import Bus
from .._master_errors import TransportError
from .._requests import BAUD_RATES

__all__ = ["SerialPort", "open_bus"]

log = logging.getLogger(__name__)


def _serial_module() -> Any:
    try:
        import serial
    except ImportError:  # pragma: no cover - the extra is installed in tests
        raise TransportError("pyserial is not installed: pip install meterkit[serial]") from None
    return serial


class SerialPort:
    """A pyserial port (8E1) with the four methods :class:`mbus.Bus` needs."""

    def __init__(self, url: str, *, baud: int = 2400) -> None:
        if baud not in BAUD_RATES:
            raise TransportError(f"{baud} Bd is not an M-Bus baud rate {BAUD_RATES}")
        serial = _serial_module()
        self.url = url
        try:
            self._serial = serial.serial_for_url(
                url, baudrate=baud, bytesize=serial.EIGHTBITS, parity=serial.PARITY_EVEN,
                stopbits=serial.STOPBITS_ONE, timeout=0)
        except Exception as error:  # SerialException, termios.error, OSError, bad URL
            raise TransportError(f"cannot open {url}: {error}") from None
        self._serial_error = serial.SerialException
        # Where the port has a file descriptor (serial devices, socket://), wait with
        # select and keep the port non-blocking: changing pyserial's timeout on every
        # read reconfigures the device (tcsetattr), which some drivers and ptys refuse.
        self._fileno: int | None = None
        with contextlib.suppress(AttributeError, OSError, ValueError, io.UnsupportedOperation,
                                 serial.SerialException):
            self._fileno = int(self._serial.fileno())
        raw_socket = getattr(self._serial, "_socket", None)
        if raw_socket is not None:
            # socket://: without TCP_NODELAY a request waits for the delayed ACK of the
            # previous one (~40 ms), longer than a short answer window.
            with contextlib.suppress(OSError):
                raw_socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def write(self, data: bytes) -> None:
        """Send bytes."""
        try:
            self._serial.write(data)
            self._serial.flush()
        except (self._serial_error, OSError) as error:
            raise TransportError(f"{self.url}: write failed: {error}") from None

    def read(self, deadline: float) -> bytes:
        """Bytes that arrive before ``deadline`` (waits for the first, then takes what is there)."""
        remaining = max(deadline - time.monotonic(), 0.0)
        try:
            if self._fileno is not None:
                ready, _, _ = select.select([self._fileno], [], [], remaining)
                data: bytes = self._serial.read(4096) if ready else b""
            else:
                self._serial.timeout = remaining
                data = self._serial.read(1)
                if data:
                    self._serial.timeout = 0
                    data += self._serial.read(4096)
        except (self._serial_error, OSError) as error:
            raise TransportError(f"{self.url}: read failed: {error}") from None
        if data:
            log.debug("read %s", data.hex())
        return data

    def discard_input(self) -> None:
        """Drop bytes that arrived between transactions."""
        try:
            self._serial.reset_input_buffer()
        except (self._serial_error, OSError) as error:
            raise TransportError(f"{self.url}: {error}") from None

    def close(self) -> None:
        """Close the port."""
        self._serial.close()

    def __enter__(self) -> SerialPort:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def open_bus(url: str, *, baud: int = 2400, timeout: float | None = None,
             **options: Any) -> Bus:
    """A :class:`mbus.Bus` on a new :class:`SerialPort`; close it with ``bus.close()``.

    ``options`` go to :class:`mbus.Bus` (margin, retries, echo, on_progress).
    """
    return Bus(SerialPort(url, baud=baud), baud=baud, timeout=timeout, **options)
