"""pyserial adapter: a receiver dongle in, and the gateway's wired bus side.

The only module that imports pyserial (the ``serial`` extra). The URL may be a
device (``/dev/ttyUSB0``), ``socket://host:port``, ``rfc2217://...`` or
``loop://``; ``-`` reads standard input (rtl-wmbus and rtl_433 pipe their
output) and ``file:PATH`` replays a captured byte stream.

:func:`run_gateway` joins both: a thread feeds the latest telegrams from the
radio into a :class:`~wmbus.WirelessGateway` while the caller's thread answers
the wired master on the bus port (8E1, as M-Bus).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

from ._errors import EncodeError, WMBusError
from ._gateway import WirelessGateway
from ._receiver import Event, Receiver, TelegramReceived

__all__ = ["DEFAULT_BAUD", "feed_gateway", "iter_events", "open_stream", "run_gateway",
           "serve_bus"]

_log = logging.getLogger(__name__)

DEFAULT_BAUD = {"im871a": 57600, "amb8465": 9600}


def open_stream(url: str, *, baud: int = 9600, timeout: float = 0.5,
                even_parity: bool = False) -> BinaryIO:
    """Open the byte source named by ``url`` (see the module docstring).

    ``even_parity`` selects 8E1 (wired M-Bus) instead of 8N1 (dongles).
    """
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
        port = serial.serial_for_url(
            url, baudrate=baud, timeout=timeout,
            parity=serial.PARITY_EVEN if even_parity else serial.PARITY_NONE)
    except (serial.SerialException, ValueError) as exc:
        raise WMBusError(f"cannot open {url}: {exc}") from None
    return port  # type: ignore[return-value]


def iter_events(receiver: Receiver, stream: BinaryIO, *,
                clock: Callable[[], float] = time.monotonic,
                chunk: int = 4096, stop: threading.Event | None = None) -> Iterator[Event]:
    """Read ``stream`` until it ends (or ``stop`` is set), yielding the receiver's events."""
    while stop is None or not stop.is_set():
        data = _read(stream, chunk)
        now = clock()
        if data:
            receiver.receive_data(data, now)
        elif _at_end(stream):
            receiver.end_of_input(now)
        yield from receiver.events()
        if not data and _at_end(stream):
            return


def _read(stream: BinaryIO, chunk: int) -> bytes:
    waiting = getattr(stream, "in_waiting", None)
    if waiting is not None:  # a port: take what has arrived, or wait for one byte
        return stream.read(max(1, min(int(waiting), chunk)))
    read1 = getattr(stream, "read1", None)
    return bytes(read1(chunk) if read1 is not None else stream.read(chunk))


def feed_gateway(gateway: WirelessGateway, receiver: Receiver, radio: BinaryIO, *,
                 lock: threading.Lock, stop: threading.Event | None = None,
                 on_event: Callable[[Event], None] | None = None) -> None:
    """Put every telegram decoded from ``radio`` into ``gateway`` (until the stream ends).

    Only :class:`~wmbus.TelegramReceived` reaches the gateway: telegrams that
    failed (authentication included) never do. ``on_event`` sees every event
    (a :class:`~wmbus.SecurityViolation` feeds an alarm engine, for example).
    """
    try:
        for event in iter_events(receiver, radio, stop=stop):
            if on_event is not None:
                on_event(event)
            if isinstance(event, TelegramReceived):
                try:
                    with lock:
                        gateway.update(event.telegram)
                except EncodeError as exc:
                    _log.info("telegram not presented on the bus: %s", exc)
    except OSError as exc:  # the radio went away; the bus keeps the last values
        _log.warning("radio port closed: %s", exc)


def serve_bus(gateway: WirelessGateway, bus: BinaryIO, *, lock: threading.Lock,
              segment: int = 0, stop: threading.Event | None = None) -> None:
    """Answer the wired master on ``bus`` from the gateway's virtual ``segment``.

    A read that times out with nothing means the line was idle: partial frames
    are dropped, as a slave's UART would.
    """
    while stop is None or not stop.is_set():
        try:
            data = _read(bus, 256)
        except OSError as exc:  # pyserial's errors are OSErrors: the line went away
            _log.warning("bus port closed: %s", exc)
            return
        if not data:
            if _at_end(bus):
                return
            with lock:
                gateway.idle()
            continue
        with lock:
            answer = gateway.receive_data(data, segment)
        if answer:
            try:
                bus.write(answer)
                bus.flush()
            except OSError as exc:
                _log.warning("bus port closed: %s", exc)
                return


def run_gateway(gateway: WirelessGateway, receiver: Receiver, radio: BinaryIO,
                bus: BinaryIO, *, segment: int = 0,
                stop: threading.Event | None = None,
                on_event: Callable[[Event], None] | None = None) -> None:
    """Feed the radio in a thread and serve the bus in this one, until ``stop`` or the bus ends.

    ``on_event`` is called (in the radio thread) with every receiver event.
    """
    lock = threading.Lock()
    stop = stop or threading.Event()
    feeder = threading.Thread(target=feed_gateway, args=(gateway, receiver, radio),
                              kwargs={"lock": lock, "stop": stop, "on_event": on_event},
                              daemon=True, name="wmbus-radio")
    feeder.start()
    try:
        serve_bus(gateway, bus, lock=lock, segment=segment, stop=stop)
    finally:
        stop.set()


def _at_end(stream: BinaryIO) -> bool:
    # A serial port returns b"" on timeout and keeps going; files and pipes end.
    return not hasattr(stream, "in_waiting")
