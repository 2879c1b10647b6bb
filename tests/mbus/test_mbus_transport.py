"""Transport adapters: pyserial URLs (loop:// echoes like a level converter), errors."""

from __future__ import annotations

import asyncio
import os
import select
import threading
import tty
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import mbus
import mbus.sim
import mbus.transports
from mbus import Bus
from mbus.transports import AsyncPort, SerialPort


def test_loop_url_echo_is_detected_and_silence_is_a_timeout() -> None:
    # loop:// returns everything written: exactly what an echoing converter does.
    with SerialPort("loop://", baud=9600) as port:
        bus = Bus(port, baud=9600, timeout=0.05)
        with pytest.raises(mbus.NoAnswerError):
            bus.ping(1)
        assert bus.master.echo_detected
        assert bus.master.requests_sent == 1  # silence is not repeated


def test_open_bus_helper_with_url_options() -> None:
    bus = mbus.transports.open_bus("loop://?logging=warning", baud=2400, timeout=0.05)
    try:
        assert bus.scan_primary(range(2)) == ()
    finally:
        bus.close()


def test_bad_urls_and_settings_raise_transport_error() -> None:
    with pytest.raises(mbus.TransportError, match="cannot open"):
        SerialPort("/dev/does-not-exist-mbus")
    with pytest.raises(mbus.TransportError, match="baud"):
        SerialPort("loop://", baud=1234)
    with pytest.raises(mbus.TransportError, match="cannot open"):
        asyncio.run(AsyncPort.open("tcp://127.0.0.1:1"))


def test_asyncio_port_reports_a_closed_connection() -> None:
    async def scenario() -> None:
        async def close_at_once(reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(close_at_once, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        bus = mbus.AsyncBus(await AsyncPort.open(f"tcp://127.0.0.1:{port}"), timeout=1.0)
        with pytest.raises(mbus.TransportError, match=r"closed|reset"):
            await bus.read(1)
        await bus.close()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


@contextmanager
def pty_segment(segment: mbus.sim.Segment) -> Iterator[str]:
    """A pseudo terminal: its device path is the port, a thread plays the segment."""
    controller, device = os.openpty()
    tty.setraw(device)
    path = os.ttyname(device)
    stop = threading.Event()

    def play() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([controller], [], [], 0.05)
            if ready:
                try:
                    data = os.read(controller, 4096)
                except OSError:
                    return
                answer = segment.receive_data(data)
                if answer:
                    os.write(controller, answer)

    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        thread.join(5)
        os.close(controller)
        os.close(device)


def test_serial_device_through_a_pty() -> None:
    slaves = mbus.sim.random_meters(3, seed=8, max_pages=2)
    with pty_segment(mbus.sim.Segment(slaves)) as path, SerialPort(path, baud=2400) as port:
        bus = Bus(port, timeout=0.2)
        assert [f.primary for f in bus.scan_primary(range(1, 4))] == [1, 2, 3]
        assert len(bus.read(2).telegrams) == slaves[1].page_count

    # Not tested here: pyserial-asyncio-fast on a device. A pty cannot take even parity
    # (Linux drops PARENB and then refuses it), and that library sets it twice.
