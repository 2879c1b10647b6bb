"""M-Bus over IP: simulator <- bridge <- client, one client at a time, idle timeout."""

from __future__ import annotations

import socket
import time

import pytest

import mbus
from mbus import Bus
from mbus.sim import Segment, SimulatorServer, random_meters
from mbus.transports import BUSY_MESSAGE, Bridge, SerialPort

from .test_mbus_simulator import TIMEOUT, serving


def _recv_until_closed(sock: socket.socket, limit: float = 5.0) -> bytes:
    sock.settimeout(limit)
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk


def test_bridge_passes_bytes_and_refuses_a_second_client() -> None:
    segment = Segment(random_meters(3, seed=2, max_pages=2))
    with serving(SimulatorServer(segment)) as sim_port, \
            serving(Bridge(f"socket://127.0.0.1:{sim_port}")) as bridge_port:
        with SerialPort(f"socket://127.0.0.1:{bridge_port}") as port:
            bus = Bus(port, timeout=TIMEOUT)
            reading = bus.read(2)
            assert len(reading.telegrams) == segment.slaves[1].page_count
            with socket.create_connection(("127.0.0.1", bridge_port)) as second:
                assert _recv_until_closed(second) == BUSY_MESSAGE
            assert bus.scan_primary(range(5))[0].primary == 1  # first client unaffected
        # after the first client left, the next one gets through
        deadline = time.monotonic() + 5
        while True:
            with SerialPort(f"socket://127.0.0.1:{bridge_port}") as port:
                try:
                    Bus(port, timeout=TIMEOUT).ping(3)
                    break
                except mbus.NoAnswerError:
                    if time.monotonic() > deadline:  # the bridge may not have noticed yet
                        raise
            time.sleep(0.05)


def test_idle_client_is_disconnected_and_shutdown_is_clean() -> None:
    segment = Segment(random_meters(1, seed=2))
    with serving(SimulatorServer(segment)) as sim_port:
        bridge = Bridge(f"socket://127.0.0.1:{sim_port}", idle_timeout=0.2)
        with serving(bridge) as bridge_port:
            with socket.create_connection(("127.0.0.1", bridge_port)) as idle:
                assert _recv_until_closed(idle) == b""  # closed by the bridge
            port = SerialPort(f"socket://127.0.0.1:{bridge_port}")
            Bus(port, timeout=0.1).ping(1)  # the next client is served
        # the bridge closed: the client sees the end of the stream
        with pytest.raises(mbus.TransportError):
            port.read(time.monotonic() + 5)
        port.close()


def test_bridge_to_a_missing_port_fails_with_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    bridge = Bridge(f"socket://127.0.0.1:{free}")
    with pytest.raises(mbus.TransportError), serving(bridge):
        pass
