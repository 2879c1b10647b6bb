"""Link layer (EN 13757-2): frames, C and A fields, errors, and the framer."""

from __future__ import annotations

from typing import Any

import pytest

import mbus
import mbus.records

from .corpus import hex_bytes, libmbus_files

SND_NKE_5 = bytes.fromhex("1040054516")  # 10 C A CS 16 with CS = C + A
REQ_UD2_5_FCB = bytes.fromhex("107b058016")


def test_single_character_and_short_frames() -> None:
    assert mbus.decode_frame(b"\xe5") is mbus.ACK
    frame = mbus.decode_frame(SND_NKE_5)
    assert frame == mbus.ShortFrame(c=0x40, a=5)
    assert frame.encode() == SND_NKE_5
    assert frame.control.function == "SND_NKE"
    assert mbus.ShortFrame(c=0x7B, a=5).encode() == REQ_UD2_5_FCB


@pytest.mark.parametrize(
    ("c", "function", "flags"),
    [
        (0x40, "SND_NKE", {"from_master": True, "fcb": False, "fcv": False}),
        (0x53, "SND_UD", {"from_master": True, "fcb": False, "fcv": True}),
        (0x73, "SND_UD", {"from_master": True, "fcb": True, "fcv": True}),
        (0x5A, "REQ_UD1", {"from_master": True, "fcb": False, "fcv": True}),
        (0x5B, "REQ_UD2", {"from_master": True, "fcb": False, "fcv": True}),
        (0x7B, "REQ_UD2", {"from_master": True, "fcb": True, "fcv": True}),
        (0x08, "RSP_UD", {"from_master": False, "acd": False, "dfc": False}),
        (0x28, "RSP_UD", {"from_master": False, "acd": True, "dfc": False}),
        (0x18, "RSP_UD", {"from_master": False, "acd": False, "dfc": True}),
    ],
)
def test_control_field_per_en_13757_2(c: int, function: str, flags: dict[str, bool]) -> None:
    control = mbus.records.ControlField(c)
    assert control.function == function
    for name, expected in flags.items():
        assert getattr(control, name) is expected
    assert control.to_dict()["function"] == function


@pytest.mark.parametrize(("address", "kind"), [(0, "primary"), (250, "primary"),
                                               (251, "reserved"), (253, "network_layer"),
                                               (254, "broadcast"), (255, "broadcast")])
def test_address_kinds(address: int, kind: str) -> None:
    assert mbus.records.address_kind(address) == kind


def test_control_and_long_frames_round_trip() -> None:
    control = mbus.LongFrame(c=0x53, a=0xFD, ci=0x52)
    assert control.type == "control"
    wire = control.encode()
    assert wire[:4] == b"\x68\x03\x03\x68" and wire[-1] == 0x16
    assert mbus.decode_frame(wire) == control
    long = mbus.LongFrame(c=0x08, a=1, ci=0x72, data=bytes(range(40)))
    assert mbus.decode_frame(long.encode()) == long
    with pytest.raises(mbus.EncodeError):
        mbus.LongFrame(c=0x08, a=1, ci=0x72, data=bytes(253))
    with pytest.raises(mbus.EncodeError):
        mbus.ShortFrame(c=256, a=1)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: mbus.LongFrame(c=-1, a=1, ci=0x72), "C field must be 0-255, got -1"),
    (lambda: mbus.LongFrame(c=8, a=256, ci=0x72), "A field must be 0-255, got 256"),
    (lambda: mbus.LongFrame(c=8, a=1, ci=300), "CI field must be 0-255, got 300"),
    (lambda: mbus.LongFrame(8, 1, 0x72, bytes(253)), "user data is 253 bytes, at most 252 fit"),
    (lambda: mbus.ShortFrame(c=8, a=-2), "A field must be 0-255, got -2"),
    (lambda: mbus.ShortFrame(256, 1), "C field must be 0-255, got 256"),
])
def test_frames_refuse_fields_out_of_range(make: Any, message: str) -> None:
    with pytest.raises(mbus.EncodeError, match=f"^{message}$"):
        make()


def test_frames_take_their_fields_by_position_or_keyword() -> None:
    assert mbus.LongFrame(8, 1, 0x72, b"\x01") == mbus.LongFrame(c=8, a=1, ci=0x72, data=b"\x01")
    assert mbus.LongFrame(8, 1, 0x72).data == b""
    assert mbus.ShortFrame(0x5B, 3) == mbus.ShortFrame(c=0x5B, a=3)
    telegram = mbus.Telegram(mbus.ACK)
    assert telegram == mbus.Telegram(frame=mbus.ACK, header=None, records=(), payload=b"")
    assert (telegram.header, telegram.records, telegram.error, telegram.alarm, telegram.payload,
            telegram.meter) == (None, (), None, None, b"", None)


@pytest.mark.parametrize(
    ("wire", "field", "offset", "error"),
    [
        ("11", "start", 0, mbus.FrameError),
        ("6804056808017079 16", "L", 2, mbus.FrameError),
        ("6803036908017079 16", "start", 3, mbus.FrameError),
        ("6802026808017816", "L", 1, mbus.FrameError),
        ("680303680801707917", "stop", 8, mbus.FrameError),
        ("680303680801707a16", "checksum", 7, mbus.ChecksumError),
        ("1040054616", "checksum", 3, mbus.ChecksumError),
        ("104005", "length", 3, mbus.FrameError),
        ("68030368080170", "length", 7, mbus.FrameError),
        ("680303680801707916e5", "trailer", 9, mbus.FrameError),
    ],
)
def test_frame_errors_name_field_and_offset(
    wire: str, field: str, offset: int, error: type[mbus.DecodeError]
) -> None:
    with pytest.raises(error) as caught:
        mbus.decode_frame(bytes.fromhex(wire.replace(" ", "")))
    assert caught.value.field == field
    assert caught.value.offset == offset
    assert f"{field} at byte {offset}" in str(caught.value)


# --- framer -----------------------------------------------------------------------------------

def _frames_of(framer: mbus.Framer) -> tuple[list[bytes], list[bytes]]:
    frames: list[bytes] = []
    noise: list[bytes] = []
    while True:
        event = framer.next_event()
        if event is mbus.NEED_DATA:
            return frames, noise
        if isinstance(event, mbus.FrameReceived):
            frames.append(event.raw)
        else:
            assert isinstance(event, mbus.NoiseDiscarded)
            noise.append(event.data)


@pytest.mark.parametrize("path", libmbus_files("test-frames"), ids=lambda p: p.stem)
def test_framer_whole_bytewise_and_with_junk(path: object) -> None:
    wire = hex_bytes(path)  # type: ignore[arg-type]
    whole = mbus.Framer()
    whole.receive_data(wire)
    assert _frames_of(whole) == ([wire], [])

    bytewise = mbus.Framer()
    found: list[bytes] = []
    for byte in wire:
        bytewise.receive_data(bytes((byte,)))
        found += _frames_of(bytewise)[0]
    assert found == [wire]

    junk = mbus.Framer()
    junk.receive_data(b"\x00\x01\x68\x02" + wire + b"\x00\x68\x05")
    frames, noise = _frames_of(junk)
    assert frames == [wire]
    assert b"".join(noise) == b"\x00\x01\x68\x02\x00"
    assert junk.buffered == 2  # "68 05" may still become a frame
    flushed = junk.flush()
    assert flushed is not None and flushed.data == b"\x68\x05"


def test_framer_resynchronises_after_a_corrupted_frame() -> None:
    good = mbus.LongFrame(c=8, a=1, ci=0x78, data=b"\x04\x06\x01\x00\x00\x00").encode()
    bad = bytearray(good)
    bad[-2] ^= 1  # checksum broken, as after a collision
    framer = mbus.Framer()
    framer.receive_data(bytes(bad) + b"\xe5" + good)
    frames, noise = _frames_of(framer)
    assert frames == [b"\xe5", good]
    assert b"".join(noise) == bytes(bad)


def test_framer_buffer_is_bounded() -> None:
    framer = mbus.Framer(max_buffer=300)
    framer.receive_data(b"\x68\xff\xff\x68" + bytes(1000))
    assert framer.buffered <= 300
    event = framer.next_event()
    assert isinstance(event, mbus.NoiseDiscarded) and event.reason == "receive buffer overflow"
    with pytest.raises(ValueError):
        mbus.Framer(max_buffer=10)


def test_selection_with_wildcard_manufacturer_gives_its_secondary_address() -> None:
    # EN 13757-3:2018 11.5: in a selection, FFFF is the manufacturer wildcard.
    frame = mbus.LongFrame(c=0x53, a=0xFD, ci=0x52, data=bytes.fromhex("78563412ffff0107"))
    header = mbus.decode(frame.encode()).header
    assert header is not None and header.manufacturer == "***"
    assert header.secondary_address == "12345678FFFF0107"
    named = mbus.LongFrame(c=0x53, a=0xFD, ci=0x52, data=bytes.fromhex("785634122d2c0107"))
    named_header = mbus.decode(named.encode()).header
    assert named_header is not None and named_header.secondary_address == "123456782D2C0107"
