"""wmbus under hostile input: decoding, the link layer, the receiver with every dongle
codec (rtl_433 JSON included), and the key file loaders."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import wmbus

from .harness import check
from .mutations import mutated_bytes, mutated_json, mutated_text
from .seeds import wmbus_frames, wmbus_keys


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    return draw(mutated_bytes(wmbus_frames()))


def key_store() -> wmbus.KeyStore:
    return wmbus.KeyStore(wmbus_keys())


@given(data=st.data())
def test_decode_any_bytes(data: st.DataObject) -> None:
    frame = data.draw(frames())
    check("wmbus.decode", frame, lambda: wmbus.decode(frame), (wmbus.WMBusError,))


@given(data=st.data())
def test_decoder_with_keys(data: st.DataObject) -> None:
    frame = data.draw(frames())
    decoder = wmbus.Decoder(keys=key_store())
    check("wmbus.Decoder(keys).decode", frame, lambda: decoder.decode(frame),
          (wmbus.WMBusError,))


@given(data=st.data())
def test_parse_link(data: st.DataObject) -> None:
    frame = data.draw(frames())
    check("wmbus.parse_link", frame, lambda: wmbus.parse_link(frame), (wmbus.WMBusError,))


@given(data=st.data())
def test_receiver_frames(data: st.DataObject) -> None:
    """A receiver turns any frame into an event; nothing escapes ``receive_frame``."""
    batch = data.draw(st.lists(frames(), min_size=1, max_size=4))

    def feed() -> None:
        receiver = wmbus.Receiver(wmbus.Decoder(keys=key_store()))
        for number, frame in enumerate(batch):
            receiver.receive_frame(frame, float(number))
        receiver.events()

    check("wmbus.Receiver.receive_frame", batch, feed, ())


def _encoded(name: str, frame: bytes) -> bytes:
    try:
        return bytes(wmbus.DONGLES[name].encode(frame))
    except wmbus.WMBusError:  # a frame the device could not have sent (too long, ...)
        return b""


@st.composite
def dongle_stream(draw: st.DrawFn, name: str) -> bytes:
    seeds = [encoded for frame in wmbus_frames()[:120] if (encoded := _encoded(name, frame))]
    pieces = draw(st.lists(mutated_bytes(seeds, max_mutations=3), min_size=1, max_size=4))
    return b"".join(pieces)


@given(data=st.data(), name=st.sampled_from(sorted(wmbus.DONGLES)))
def test_receiver_on_a_dongle_byte_stream(data: st.DataObject, name: str) -> None:
    """Bytes from a receiver dongle, in chunks: frames, noise or failed telegrams only."""
    stream = data.draw(dongle_stream(name))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=4)))

    def feed() -> None:
        receiver = wmbus.Receiver(codec=wmbus.DONGLES[name]())
        for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            receiver.receive_data(stream[start:end], 1.0)
        receiver.end_of_input(2.0)
        receiver.events()

    check(f"wmbus.Receiver({name} codec)", stream, feed, ())


@st.composite
def rtl433_lines(draw: st.DrawFn) -> bytes:
    seeds = []
    for frame in wmbus_frames()[:80]:
        line = _encoded("rtl433", frame).decode()
        if line.strip():
            seeds.append(json.loads(line))
    return (draw(mutated_json(seeds)) + "\n").encode("utf-8", "surrogatepass")


@given(data=st.data())
def test_rtl433_json_lines(data: st.DataObject) -> None:
    line = data.draw(rtl433_lines())

    def feed() -> None:
        receiver = wmbus.Receiver(codec=wmbus.Rtl433Codec())
        receiver.receive_data(line, 1.0)
        receiver.end_of_input(2.0)
        receiver.events()

    check("wmbus.Rtl433Codec", line, feed, ())


def _key_files() -> dict[str, str]:
    keys = wmbus_keys()
    csv_text = io.StringIO()
    writer = csv.writer(csv_text)
    writer.writerow(["manufacturer", "id", "key"])
    for ident, key in keys.items():
        writer.writerow(["KAM", ident, key])
    toml_lines = ["[keys]", *(f'"{ident}" = "{key}"' for ident, key in keys.items()),
                  "", "[[meter]]", 'id = "12345678"', 'manufacturer = "KAM"',
                  f'key = "{next(iter(keys.values()))}"']
    return {
        ".json": json.dumps(keys),
        ".csv": csv_text.getvalue(),
        ".toml": "\n".join(toml_lines) + "\n",
    }


@st.composite
def key_file(draw: st.DrawFn) -> tuple[str, bytes]:
    files = _key_files()
    suffix = draw(st.sampled_from(sorted(files)))
    if suffix == ".json" and draw(st.booleans()):
        listed = [{"id": ident, "manufacturer": "KAM", "key": key}
                  for ident, key in wmbus_keys().items()]
        text = draw(mutated_json([json.loads(files[".json"]), listed]))
    else:
        text = draw(mutated_text([files[suffix]]))
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        raw = draw(mutated_bytes([raw], max_mutations=2))  # not UTF-8 any more
    return suffix, raw


@given(data=st.data())
def test_key_store_files(data: st.DataObject) -> None:
    suffix, raw = data.draw(key_file())
    def load() -> None:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / f"keys{suffix}"
            path.write_bytes(raw)
            store = wmbus.KeyStore.load(path)
            store.lookup("12345678", "KAM")

    check(f"wmbus.KeyStore.load({suffix})", raw, load, (wmbus.WMBusError,))
