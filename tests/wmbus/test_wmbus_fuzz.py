"""Entry points under arbitrary and mutated input raise only ``wmbus``'s own errors.

Seeds are the dev corpus' telegrams (../shared/corpus/wmbus, read where it lies)
or, when it is absent, telegrams built here. Mutations: flipped, inserted and
deleted bytes, cuts, and splices of two seeds. Covered: ``Decoder.decode`` (with
and without keys, strict and already-decrypted, then ``to_dict``), ``Receiver``
(frames and dongle byte streams), every dongle codec, the key-file loaders, the
signature-cache and receiver-state loaders.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mbus
import wmbus

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "wmbus" / "dev.jsonl"
KEY = bytes(range(16))


def _seeds() -> list[tuple[bytes, bytes | None]]:
    if CORPUS.exists():
        with CORPUS.open(encoding="utf-8") as handle:
            lines = [json.loads(text) for text in handle if text.strip()]
        return [(bytes.fromhex(line["telegram"]),
                 None if line.get("key", "NOKEY") == "NOKEY" else bytes.fromhex(line["key"]))
                for line in lines]
    records = [mbus.build_record(0x13, 1234), mbus.build_record(0x5B, 45, coding="int16")]
    built = [wmbus.build_telegram(manufacturer="KAM", id="12345678", records=records,
                                  mode=mode, key=KEY if mode else None, ell=ell,
                                  frame_format=fmt)
             for mode in (0, 5, 7) for ell in (None, "short") for fmt in ("none", "A")]
    return [(frame, KEY) for frame in built]


SEEDS = _seeds()


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, bytes | None]:
    data, key = draw(st.sampled_from(SEEDS))
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut", "splice", "set"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if action == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "set" and out:
            out[at] = draw(st.sampled_from([0x00, 0x2F, 0x7A, 0x72, 0x8C, 0x8D, 0x90, 0xFF]))
        elif action == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del out[at:at + draw(st.integers(1, 8))]
        elif action == "cut":
            del out[at:]
        elif action == "splice":
            other, _ = draw(st.sampled_from(SEEDS))
            out[at:] = other[draw(st.integers(0, len(other))):]
    if out[:1] == b"\x68" and len(out) >= 6 and draw(st.booleans()):
        out = bytearray(_wired(bytes(out[4:-2])))  # reach past the checksum
    return bytes(out), draw(st.sampled_from([key, None, KEY]))


def _wired(body: bytes) -> bytes:
    """A wired long frame around ``body`` (C A CI data) with a correct checksum."""
    body = body[:255]
    return bytes((0x68, len(body), len(body), 0x68)) + body + bytes((sum(body) & 0xFF, 0x16))


def _decode_fully(decoder: wmbus.Decoder, data: bytes, key: bytes | None) -> None:
    try:
        telegram = decoder.decode(data, key)
    except wmbus.WMBusError:
        return
    json.dumps(telegram.to_dict())
    for record in telegram.records:
        _ = record.value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.booleans())
def test_decoder_on_mutated_telegrams(item: tuple[bytes, bytes | None],
                                      already_decrypted: bool) -> None:
    data, key = item
    _decode_fully(wmbus.Decoder(already_decrypted=already_decrypted), data, key)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
@example(_wired(bytes.fromhex("080173ffffffffff")), False)  # wired fixed data, cut short
@example(_wired(bytes.fromhex("080151ffffffffff")), True)  # data from a master, reserved DIF
def test_decoder_on_arbitrary_bytes(data: bytes, already_decrypted: bool) -> None:
    _decode_fully(wmbus.Decoder(already_decrypted=already_decrypted), data, KEY)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=6))
def test_receiver_frames(items: list[tuple[bytes, bytes | None]]) -> None:
    receiver = wmbus.Receiver(wmbus.Decoder({"*": KEY}), duplicate_window=5.0)
    for time, (data, _key) in enumerate(items):
        receiver.receive_frame(data, time=float(time), rssi=-50.0)
    for event in receiver.events():
        json.dumps(event.to_dict())


_CODECS = sorted(wmbus.DONGLES)


def _encoded(codec: str, frame: bytes) -> bytes:
    cls = wmbus.DONGLES[codec]
    if codec in ("im871a", "amb8465") and (not frame or frame[0] != len(frame) - 1):
        frame = bytes((len(frame[:254]),)) + frame[:254]
    return cls.encode(frame)


@st.composite
def device_bytes(draw: st.DrawFn, codec: str) -> bytes:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            frame, _ = draw(mutated())
            encoded = bytearray(_encoded(codec, frame))
            if encoded and draw(st.booleans()):
                encoded[draw(st.integers(0, len(encoded) - 1))] ^= 0xFF
            parts.append(bytes(encoded))
        else:
            parts.append(draw(st.one_of(
                st.binary(max_size=64),
                st.sampled_from([b'{"data":' + b"[" * 1000 + b"\n",
                                 b'{"data": "2e44", "RSSI": ' + b"9" * 400 + b"}\n",
                                 b"T1;1;1;x;" + b"9" * 400 + b";1;1;0x2e44\n",
                                 b"\xa5\xff\xff", b"\xff\x03\xff"]),
                st.text(max_size=40).map(lambda text: text.encode() + b"\n"))))
    return b"".join(parts)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_CODECS).flatmap(lambda name: st.tuples(st.just(name),
                                                               device_bytes(name))),
       st.integers(1, 64))
def test_codecs_and_receiver_on_device_bytes(item: tuple[str, bytes], chunk: int) -> None:
    name, data = item
    codec: Any = wmbus.DONGLES[name]()
    receiver = wmbus.Receiver(wmbus.Decoder({"*": KEY}), codec=wmbus.DONGLES[name]())
    for start in range(0, len(data), chunk):
        codec.receive_data(data[start:start + chunk])
        while (item_out := codec.next_frame()) is not None:
            assert isinstance(item_out, (wmbus.RadioFrame, wmbus.Noise))
        receiver.receive_data(data[start:start + chunk], time=float(start))
    flush = getattr(codec, "flush", None)
    if flush is not None:
        assert isinstance(flush(), (wmbus.RadioFrame, wmbus.Noise, type(None)))
    receiver.end_of_input(time=1e6)
    for event in receiver.events():
        json.dumps(event.to_dict())


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=20)
_key_documents = st.one_of(
    _json_values,
    st.dictionaries(st.sampled_from(["12345678", "KAM.12345678", "*", "x.y.z", ""]),
                    _json_values | st.just(KEY.hex()), max_size=3),
    st.lists(st.fixed_dictionaries(
        {"id": st.sampled_from(["12345678", 42, "*"]) | _json_values,
         "key": st.just(KEY.hex()) | _json_values},
        optional={"manufacturer": st.just("KAM") | _json_values}), max_size=3))


@settings(max_examples=200, deadline=None)
@given(_key_documents)
def test_key_store_json_documents(document: Any) -> None:
    with contextlib.suppress(wmbus.KeyStoreError):
        wmbus.KeyStore.from_json(json.dumps(document))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["from_json", "from_csv", "from_toml"]))
def test_key_store_text(text: str, loader: str) -> None:
    with contextlib.suppress(wmbus.KeyStoreError):
        getattr(wmbus.KeyStore, loader)(text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["keys.json", "keys.csv", "keys.toml"]))
def test_key_store_files(tmp_path_factory: Any, content: bytes, name: str) -> None:
    path = tmp_path_factory.mktemp("keys") / name
    path.write_bytes(content)
    with contextlib.suppress(wmbus.KeyStoreError):
        wmbus.KeyStore.load(path)


@settings(max_examples=100, deadline=None)
@given(_json_values)
def test_signature_cache_and_receiver_state_files(tmp_path_factory: Any, document: Any) -> None:
    path = tmp_path_factory.mktemp("state") / "file.json"
    path.write_text(json.dumps({"format_signatures": document, "message_counters": document}))
    for load in (wmbus.SignatureCache.load, wmbus.Receiver().load_state):
        with contextlib.suppress(wmbus.WMBusError):
            load(path)
