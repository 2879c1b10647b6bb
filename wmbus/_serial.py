"""pyserial adapter: read a receiver dongle through ``serial.serial_for_url``.

The only module that imports pyserial (the ``serial`` extra). The URL may be a
device (``/dev/ttyUSB0``), ``socket://host:port``, ``rfc2217://...`` or
``loop://``; ``-`` reads standard input (rtl-wmbus and rtl_433 pipe their
output) and ``file:PATH`` replays a captured byte stream.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

from ._errors import WMBusError
from ._receiver import Event, Receiver

__all__ = ["DEFAULT_BAUD", "iter_events", "open_stream"]

DEFAULT_BAUD = {"im871a": 57600, "amb8465": 9600}


def open_stream(url: str, *, baud: int = 9600, timeout: float = 0.5) -> BinaryIO:
    """Open the byte source named by ``url`` (see the module docstring)."""
    if url == "-":
        return sys.stdin.buffer
    if url.startswith("file:"):
        try:
            return open(url[5:], "rb")
        except OSError as exc:
            raise WMBusError(f"cannot open {url[5:]}: {exc.strerror}") from None
    try:
        import serial
    except ModuleNotFoundError:
        raise WMBusError("reading a serial URL needs pyserial: pip install meterkit[serial]") \
            from None
    try:
        port = serial.serial_for_url(url, baudrate=baud, timeout=timeout)
    except (serial.SerialException, ValueError) as exc:
        raise WMBusError(f"cannot open {url}: {exc}") from None
    return port  # type: ignore[return-value]


def iter_events(receiver: Receiver, stream: BinaryIO, *,
                clock: Callable[[], float] = time.monotonic,
                chunk: int = 4096) -> Iterator[Event]:
    """Read ``stream`` until it ends, yielding the receiver's events as they come."""
    read = getattr(stream, "read1", stream.read)
    while True:
        data = read(chunk)
        now = clock()
        if data:
            receiver.receive_data(data, now)
        elif _at_end(stream):
            receiver.end_of_input(now)
        yield from receiver.events()
        if not data and _at_end(stream):
            return


def _at_end(stream: BinaryIO) -> bool:
    # A serial port returns b"" on timeout and keeps going; files and pipes end.
    return not hasattr(stream, "in_waiting")
