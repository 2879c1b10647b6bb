"""Receiver-dongle codecs: own encoders, byte-at-a-time feeding, junk, published lines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mbus
import wmbus
from wmbus._dongles import crc16_x25

FRAME = wmbus.build_telegram(manufacturer="KAM", id="12345678",
                             records=[mbus.build_record(0x13, 1234)])


def _all(codec: wmbus.DongleCodec, data: bytes, *, bytewise: bool = False) -> list[object]:
    out: list[object] = []
    chunks = [data[i:i + 1] for i in range(len(data))] if bytewise else [data]
    for chunk in chunks:
        codec.receive_data(chunk)
        while (item := codec.next_frame()) is not None:
            out.append(item)
    return out


def test_crc16_x25_check_value() -> None:
    assert crc16_x25(b"123456789") == 0x906E  # CRC-16/X-25 catalogue check value


@pytest.mark.parametrize("bytewise", [False, True])
def test_im871a(bytewise: bool) -> None:
    stream = b"\x00\x13" + wmbus.Im871aCodec.encode(FRAME, rssi=0x30, timestamp=7)
    items = _all(wmbus.Im871aCodec(), stream, bytewise=bytewise)
    assert isinstance(items[0], wmbus.Noise)
    frame = items[-1]
    assert isinstance(frame, wmbus.RadioFrame)
    assert (frame.data, frame.rssi, frame.timestamp, frame.crc_ok) == (FRAME, 48.0, "7", True)


def test_im871a_bad_crc_resynchronises() -> None:
    good = wmbus.Im871aCodec.encode(FRAME)
    bad = bytearray(good)
    bad[6] ^= 0xFF
    items = _all(wmbus.Im871aCodec(), bytes(bad) + good)
    frames = [item for item in items if isinstance(item, wmbus.RadioFrame)]
    assert [f.data for f in frames] == [FRAME]
    assert any(isinstance(i, wmbus.Noise) and "CRC" in i.reason for i in items)


@pytest.mark.parametrize("bytewise", [False, True])
def test_amb8465(bytewise: bool) -> None:
    stream = wmbus.Amb8465Codec.encode(FRAME, rssi=-71) + b"\x17" + wmbus.Amb8465Codec.encode(
        FRAME, rssi=-40)
    items = _all(wmbus.Amb8465Codec(), stream, bytewise=bytewise)
    frames = [item for item in items if isinstance(item, wmbus.RadioFrame)]
    assert [(f.data, f.rssi) for f in frames] == [(FRAME, -71.0), (FRAME, -40.0)]


def test_amb8465_without_rssi_and_bad_checksum() -> None:
    good = wmbus.Amb8465Codec.encode(FRAME, rssi=None)
    bad = bytearray(good)
    bad[-1] ^= 1
    items = _all(wmbus.Amb8465Codec(rssi=False), bytes(bad) + good)
    assert [i.data for i in items if isinstance(i, wmbus.RadioFrame)] == [FRAME]


def test_rtlwmbus_published_line() -> None:
    # rtl-wmbus output as captured in wmbusmeters' simulations (LAS room sensor, T1 mode).
    line = (b"T1;1;1;2019-04-03 19:00:42.000;97;148;88888888;0x2e44333003020100071b7a634820252f"
            b"2f0265840842658308820165950802fb1aae0142fb1aae018201fb1aa9012f\n")
    (frame,) = _all(wmbus.RtlWmbusCodec(), line, bytewise=True)
    assert isinstance(frame, wmbus.RadioFrame)
    assert (frame.link_mode, frame.rssi, frame.crc_ok) == ("T1", 97.0, True)
    telegram = wmbus.decode(frame.data)
    assert (telegram.manufacturer, telegram.id) == ("LAS", "00010203")
    assert telegram.security.decrypted_by == "input"


def test_rtlwmbus_round_trip_and_junk() -> None:
    stream = b"rtl_wmbus starting\n" + wmbus.RtlWmbusCodec.encode(FRAME, crc_ok=False)
    noise, frame = _all(wmbus.RtlWmbusCodec(), stream)
    assert isinstance(noise, wmbus.Noise)
    assert isinstance(frame, wmbus.RadioFrame) and frame.data == FRAME
    assert frame.crc_ok is False


def test_rtl433_json_and_csv() -> None:
    (frame,) = _all(wmbus.Rtl433Codec(), wmbus.Rtl433Codec.encode(FRAME, rssi=-12.5))
    assert isinstance(frame, wmbus.RadioFrame) and (frame.data, frame.rssi) == (FRAME, -12.5)
    header, row = _all(wmbus.Rtl433Codec(), wmbus.Rtl433Codec.encode(FRAME, csv_header=True))
    assert isinstance(header, wmbus.Noise)
    assert isinstance(row, wmbus.RadioFrame) and row.data == FRAME


def test_rtl433_data_from_the_ci_on() -> None:
    line = ('{"model": "Wireless-MBus", "mode": "T", "C": "0x44", "M": "KAM", '
            '"id": 12345678, "version": 0, "type": "0x07", "data": "' + FRAME[10:].hex()
            + '"}\n').encode()
    (frame,) = _all(wmbus.Rtl433Codec(), line)
    assert isinstance(frame, wmbus.RadioFrame) and frame.data == FRAME


def test_hex_lines_ignore_separators() -> None:
    text = ("0x" + FRAME[:10].hex() + "_" + FRAME[10:].hex() + "\n").encode()
    (frame,) = _all(wmbus.HexLineCodec(), text)
    assert isinstance(frame, wmbus.RadioFrame) and frame.data == FRAME
    (bad,) = _all(wmbus.HexLineCodec(), b"not hex\n")
    assert isinstance(bad, wmbus.Noise)


def test_buffers_are_bounded() -> None:
    codec = wmbus.HexLineCodec()
    items = _all(codec, b"a" * 10000)
    assert items and isinstance(items[0], wmbus.Noise)
    im = wmbus.Im871aCodec()
    assert all(isinstance(i, wmbus.Noise) for i in _all(im, b"\x00" * 10000))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(wmbus.DONGLES)), st.binary(max_size=400),
       st.sampled_from([b"", b"\xa5", b"\xff\x03", b'{"data": ', b"T1;1;1;t;5;6;7;0x"]))
def test_arbitrary_bytes_give_frames_or_noise(name: str, data: bytes, prefix: bytes) -> None:
    codec = wmbus.DONGLES[name]()
    items = _all(codec, prefix + data + b"\n")
    assert all(isinstance(item, (wmbus.RadioFrame, wmbus.Noise)) for item in items)
