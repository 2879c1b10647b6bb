"""Wireless-to-wired gateway: radio meters answer a wired master through mbus.Slave."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

import mbus
import wmbus


def _telegram(ident: str, value: int) -> wmbus.Telegram:
    return wmbus.decode(wmbus.build_telegram(
        manufacturer="KAM", id=ident, version=0x1B, device_type=0x16,
        records=[mbus.build_record(0x13, value), mbus.build_record(0x5B, 21, coding="int16")]))


def _req_ud2(address: int) -> bytes:
    c = 0x7B
    return bytes((0x10, c, address, (c + address) & 0xFF, 0x16))


def test_latest_telegram_answers_req_ud2() -> None:
    gateway = wmbus.WirelessGateway()
    gateway.update(_telegram("12345678", 1000))
    meter = gateway.update(_telegram("12345678", 2000))
    assert (meter.segment, meter.primary, meter.updates) == (0, 1, 2)
    answer = mbus.decode(gateway.receive_data(_req_ud2(1)))
    assert answer.header is not None
    assert (answer.header.id, answer.header.manufacturer, answer.header.medium) == (
        "12345678", "KAM", 0x16)
    assert answer.records[0].value == mbus.build_record(0x13, 2000).value
    assert mbus.decode(gateway.rsp_ud(meter.key)).records[1].value == 21


def test_64th_meter_opens_a_new_segment() -> None:
    gateway = wmbus.WirelessGateway()
    meters = [gateway.update(_telegram(f"{n:08d}", n)) for n in range(1, 65)]
    assert gateway.segment_count == 2
    assert (meters[62].segment, meters[62].primary) == (0, 63)
    assert (meters[63].segment, meters[63].primary) == (1, 1)
    assert len(gateway.segment(0)) == 63
    answer = mbus.decode(gateway.receive_data(_req_ud2(1), segment=1))
    assert answer.header is not None and answer.header.id == "00000064"


def test_secondary_selection_on_the_virtual_segment() -> None:
    gateway = wmbus.WirelessGateway()
    for ident in ("11111111", "22222222"):
        gateway.update(_telegram(ident, 5))
    select = mbus.LongFrame(c=0x53, a=253, ci=0x52,
                            data=bytes.fromhex("22222222") + b"\xff\xff\xff\xff").encode()
    assert gateway.receive_data(select) == b"\xe5"
    answer = mbus.decode(gateway.receive_data(_req_ud2(253)))
    assert answer.header is not None and answer.header.id == "22222222"


def test_bus_side_through_pyserial(tmp_path: Path) -> None:
    """A wired master on a socket:// line reads a radio meter from a capture file."""
    pytest.importorskip("serial")
    from wmbus._serial import open_stream, run_gateway

    capture = tmp_path / "radio.hex"
    capture.write_bytes(wmbus.HexLineCodec.encode(wmbus.build_telegram(
        manufacturer="KAM", id="12345678", records=[mbus.build_record(0x13, 77)])))
    server = socket.create_server(("127.0.0.1", 0))
    answers: list[bytes] = []

    def master() -> None:
        connection, _ = server.accept()
        connection.settimeout(0.2)
        framer = mbus.Framer()
        with connection:
            # Ask until the radio telegram has reached the gateway (and pyserial is open).
            for _ in range(100):
                connection.sendall(_req_ud2(1))
                try:
                    framer.receive_data(connection.recv(512))
                except TimeoutError:
                    continue
                event = framer.next_event()
                if isinstance(event, mbus.FrameReceived):
                    answers.append(event.raw)
                    return

    thread = threading.Thread(target=master, daemon=True)
    thread.start()
    stop = threading.Event()
    bus = open_stream(f"socket://127.0.0.1:{server.getsockname()[1]}", timeout=0.05)
    radio = open_stream(f"file:{capture}")
    runner = threading.Thread(target=run_gateway, daemon=True, kwargs={
        "gateway": wmbus.WirelessGateway(),
        "receiver": wmbus.Receiver(codec=wmbus.HexLineCodec()),
        "radio": radio, "bus": bus, "stop": stop})
    runner.start()
    thread.join(timeout=20)
    stop.set()
    runner.join(timeout=5)
    bus.close()
    radio.close()
    server.close()
    (raw,) = answers
    telegram = mbus.decode(raw)
    assert telegram.header is not None and telegram.header.id == "12345678"
    assert telegram.records[0].value == mbus.build_record(0x13, 77).value
