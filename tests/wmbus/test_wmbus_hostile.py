"""Hostile input: each finding of the mutation campaign (issue 10, section 2) as a regression.

Every entry point answers with ``wmbus``'s own typed errors (or a failed-telegram
event, or a codec's ``Noise``), never an untyped exception from inside.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mbus
import wmbus
from wmbus._loading import MAX_DEPTH, load_json

KEY = "000102030405060708090A0B0C0D0E0F"


def test_frame_of_256_bytes_without_l_field() -> None:
    frame = bytes.fromhex("44" + "00" * 8 + "7a" + "00" * 246)
    assert len(frame) == 256
    # Read as L = 0x44 with bytes after it: its CI (byte 10) is 0x00, which is refused.
    with pytest.raises(wmbus.UnsupportedError, match="CI 0x00"):
        wmbus.decode(frame)
    receiver = wmbus.Receiver()
    receiver.receive_frame(frame, time=0.0)
    (event,) = receiver.events()
    assert isinstance(event, wmbus.TelegramFailed) and event.error_type == "UnsupportedError"


def test_wired_frame_with_a_bad_checksum_is_a_failed_telegram() -> None:
    good = mbus.build_telegram(address=5, records=[mbus.build_record(0x13, 1234)],
                               header=mbus.Header(id="12345678", manufacturer="KAM", version=1,
                                                  medium=7, access_number=1, status=0),
                               ci=0x72).encode()
    bad = bytearray(good)
    bad[-2] ^= 0xFF  # the checksum byte
    with pytest.raises(wmbus.CRCError, match="wired long frame"):
        wmbus.decode(bytes(bad))
    receiver = wmbus.Receiver()
    receiver.receive_frame(bytes(bad), time=1.0)
    (event,) = receiver.events()
    assert isinstance(event, wmbus.TelegramFailed) and event.error_type == "CRCError"


@pytest.mark.parametrize("line", [
    b'{"data": "00", "RSSI": ' + b"1" * 310 + b"}\n",
    b'{"data": "00", "RSSI": 1' + b"0" * 310 + b'.5}\n',
    b'{"data":' + b"[" * 1000 + b"\n",
    b'{"data": ["2E44"], "RSSI": -20}\n',
    b'{"data": "2e44", "RSSI": NaN}\n',
    b'{"data": "2e44", "RSSI": {"a": 1}}\n',
    b'{"data": "7a000000", "M": 5, "C": "0x44", "id": "1"}\n',
    b'{"data": "7a000000", "M": "KAM", "C": 4096, "id": "1"}\n',
    b'{"data": "7a000000", "M": "KAM", "C": "0x44", "id": [1]}\n',
    b'{"data": "' + b"00" * 300 + b'", "M": "KAM", "C": "0x44", "id": "1"}\n',
    b"\xff\xfe{not utf-8}\n",
])
def test_rtl433_hostile_lines_are_noise(line: bytes) -> None:
    codec = wmbus.Rtl433Codec()
    codec.receive_data(line)
    item = codec.next_frame()
    assert isinstance(item, (wmbus.Noise, wmbus.RadioFrame))
    if b"RSSI" in line or b"data\":[" in line.replace(b" ", b""):
        assert isinstance(item, wmbus.Noise), item


def test_rtl_wmbus_rssi_out_of_range_is_noise() -> None:
    codec = wmbus.RtlWmbusCodec()
    codec.receive_data(b"T1;1;1;2026-11-24 08:00:00.000;" + b"9" * 400 + b";100;1;0x2e44\n")
    assert isinstance(codec.next_frame(), wmbus.Noise)


@pytest.mark.parametrize("name, content, message", [
    ("keys.json", b'{"12345678": "' + KEY.encode() + b'\xff"}', "byte 46 .* not UTF-8"),
    ("keys.csv", b"12345678,\xc3" + KEY.encode(), "byte 9 .* not UTF-8"),
    ("keys.toml", b'[keys]\n"1" = "\xff"\n', "byte 14 .* not UTF-8"),
    ("keys.json", b"[" * 1000 + b"]" * 1000, "nested deeper than"),
    ("keys.json", b'{"a": ' + b"[" * 1000 + b"}", "nested deeper than"),
    ("keys.json", b'[{"id": ' + b"1" * 4301 + b', "key": "' + KEY.encode() + b'"}]',
     "integer of 4301 digits"),
    ("keys.json", b'[{"id": 1e999, "key": "' + KEY.encode() + b'"}]', "out of range"),
    ("keys.json", b'[{"id": "1", "manufacturer": 5, "key": "' + KEY.encode() + b'"}]',
     "manufacturer must be three letters"),
    ("keys.json", b'[{"id": true, "key": "' + KEY.encode() + b'"}]', "needs an id"),
    ("keys.toml", b'[[meter]]\nid = "1"\nmanufacturer = 5\nkey = "' + KEY.encode() + b'"\n',
     "manufacturer must be three letters"),
    ("keys.toml", b"a = " + b"[" * 1000 + b"]" * 1000 + b"\n", "not TOML"),
    ("keys.toml", b"a = " + b"1" * 4301 + b"\n", "not TOML"),
    ("keys.csv", b"12345678," + b"a" * 131073 + b"\n", "line 1: not CSV"),
    ("keys.csv", b'12345678,"' + b"a" * 131073 + b'"\n', "line 1: not CSV"),
    ("keys.csv", b"12345678,\x00" + KEY.encode() + b"\n", "not CSV|not hex|key"),
])
def test_key_files_hostile(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(wmbus.KeyStoreError, match=message) as info:
        wmbus.KeyStore.load(path)
    assert KEY.lower() not in str(info.value).lower()  # keys are never shown


def test_key_file_size_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wmbus._loading as loading

    assert loading.read_text.__kwdefaults__ is not None
    monkeypatch.setitem(loading.read_text.__kwdefaults__, "max_bytes", 100)
    path = tmp_path / "keys.csv"
    path.write_text(f"12345678,{KEY}\n" * 10)
    with pytest.raises(wmbus.KeyStoreError, match="larger than 100 bytes"):
        wmbus.KeyStore.load(path)


def test_signature_cache_file_hostile(tmp_path: Path) -> None:
    path = tmp_path / "signatures.json"
    for content in (b"[" * 2000, b'{"format_signatures": {"0x1": "0406"}}',
                    b'{"format_signatures": {"zz": ["0406"]}}', b"\xff",
                    b'{"format_signatures": {"0x1": [' + b"9" * 5000 + b"]}}"):
        path.write_bytes(content)
        with pytest.raises(wmbus.WMBusError):
            wmbus.SignatureCache.load(path)


def test_json_loader_limits() -> None:
    nested = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(wmbus.WMBusError, match="nested deeper"):
        load_json(nested, source="x", error=wmbus.WMBusError)
    fits = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_json(fits, source="x", error=wmbus.WMBusError) is not None
    # Brackets inside strings do not count, escaped quotes do not end a string.
    text = json.dumps({"a": "[" * 100 + '\\"' + "{" * 100})
    assert load_json(text, source="x", error=wmbus.WMBusError) == json.loads(text)
    with pytest.raises(wmbus.WMBusError, match="Infinity is not a JSON number"):
        load_json("[Infinity]", source="x", error=wmbus.WMBusError)
    with pytest.raises(wmbus.WMBusError, match=r"x: not JSON .* offset 1"):
        load_json("[", source="x", error=wmbus.WMBusError)


def test_bracket_count_is_linear_on_unterminated_strings() -> None:
    # '"\' repeated opens a string at every other byte that never closes: a string pattern
    # that needs its closing quote backtracked over the rest each time (quadratic; this
    # input took minutes). It is refused as it should be: not JSON.
    text = "[]" * (MAX_DEPTH + 1) + '"\\' * 100_000  # enough brackets to be counted
    with pytest.raises(wmbus.WMBusError, match="not JSON"):
        load_json(text, source="x", error=wmbus.WMBusError)
