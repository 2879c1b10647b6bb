"""A radio meter whose profile decrypts part of its payload (Apator NA-1), read through the
gateway's wireless path: the receiver's decoder does the keyed step with the keys file, the
gateway names the fields with the site's profiles. The telegrams are made here
(tests/profiles/na1_frames.py), not taken from a corpus."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import wmbus
from gateway import load_site
from gateway._drivers import Clock, ReceiverDriver
from tests.profiles import na1_frames

SITE = """
[site]
name = "house"
gateway_id = "gw-1"
timezone = "UTC"
data_dir = "var"

[[wmbus]]
name = "radio"
dongle = "hex"
port = "socket://127.0.0.1:9"
keys = "keys.csv"
[[wmbus.meter]]
name = "flat1/water"
id = "{ident}"
{profile}
"""


def receive(tmp_path: Path, frame: bytes, key: bytes | None, profile: str = "") -> dict[
        str, object]:
    keys = f"{na1_frames.ID},{key.hex()}\n" if key is not None else ""
    (tmp_path / "keys.csv").write_text("# id,key\n" + keys, encoding="utf-8")
    (tmp_path / "site.toml").write_text(SITE.format(ident=na1_frames.ID, profile=profile),
                                        encoding="utf-8")
    site = load_site(tmp_path / "site.toml")
    clock = Clock(start=datetime(2026, 3, 1, tzinfo=timezone.utc))
    driver = ReceiverDriver(site, site.wmbus[0], clock, {})
    readout = driver.feed(wmbus.HexLineCodec.encode(frame))
    assert readout.devices == ["flat1/water"]
    return {reading.point.removeprefix("house/flat1/water/"): reading.value
            for reading in readout.readings}


PLAIN = na1_frames.plaintext(litres=123456, exponent=1, age_h=700, delta=4000, current=0x02)


@pytest.mark.parametrize("profile", ["", 'profile = "apator_na1"'],
                         ids=["detected", "given by the site file"])
def test_an_na1_meter_gives_its_decrypted_fields_through_the_gateway(tmp_path: Path,
                                                                      profile: str) -> None:
    values = receive(tmp_path, na1_frames.na1_frame(PLAIN, frame_status=0x01),
                     na1_frames.KEY, profile)
    assert values["total_m3"] == Decimal("1234.56")
    assert values["historic_m3"] == Decimal("1234.56") - Decimal("40")
    assert values["historic_age_h"] == 700
    assert values["current_status"] == "MAGNETIC_FIELD"
    assert values["frame_status"] == "SUMMER_TIME"


@pytest.mark.parametrize("key", [None, bytes(16)], ids=["no key", "wrong key"])
def test_without_the_right_key_no_decrypted_value_reaches_the_gateway(
        tmp_path: Path, key: bytes | None) -> None:
    values = receive(tmp_path, na1_frames.na1_frame(PLAIN, frame_status=0x01), key)
    assert values["frame_status"] == "SUMMER_TIME"  # in clear
    assert not {"total_m3", "historic_m3", "historic_age_h", "current_status"} & set(values)
