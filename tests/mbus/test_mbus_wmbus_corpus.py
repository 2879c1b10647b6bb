"""The wired M-Bus long frames among wmbusmeters' test telegrams (../shared/corpus/wmbus)."""

from __future__ import annotations

import pytest

import mbus
import mbus.records

from .corpus import WMBUS, require, wmbus_lines


def _wired() -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for line in wmbus_lines():
        data = bytes.fromhex(line["telegram"])
        if len(data) > 4 and data[0] == 0x68 and data[1] == data[2] and data[3] == 0x68:
            name = f"{line.get('driver', line.get('kind'))}-{line.get('name', len(out))}"
            out.append((name, data))
    return out


@pytest.mark.parametrize(("name", "data"), _wired(), ids=[name for name, _ in _wired()])
def test_wired_frame_decodes(name: str, data: bytes) -> None:
    size = mbus.records.frame_length(data)
    assert size is not None
    if size < len(data):
        # One upstream test script appends a wireless telegram after the wired frame:
        # mbus.decode() refuses the trailer, the framer splits it off.
        with pytest.raises(mbus.FrameError, match="follow the end of the frame"):
            mbus.decode(data)
        data = data[:size]
    try:
        telegram = mbus.decode(data)
    except mbus.EncryptedError as error:
        # OMS Annex N.5.4: mode 5, one encrypted block; the key is wmbus's business.
        assert (error.mode, error.blocks) == (5, 1)
        return
    assert telegram.header is not None and telegram.records
    document = telegram.to_dict()
    assert all("value" in record for record in document["records"])


def test_wired_frames_present() -> None:
    require(WMBUS)
    assert len(_wired()) >= 20
