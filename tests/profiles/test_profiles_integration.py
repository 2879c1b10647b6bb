"""Profiles through mbus and wmbus: the ``meter`` part, profiles=..., the command lines."""

from __future__ import annotations

import io
import json
import pickle
from decimal import Decimal
from pathlib import Path

import pytest

import mbus
import profiles
import wmbus
from mbus._cli import main as mbus_main
from wmbus._cli import main as wmbus_main

WIRED = bytes.fromhex("681b1b680801727856341 22d2c08040500000004 06e7910000 04142cdb00009a16"
                      .replace(" ", ""))
RADIO = ("2A442D2C998734761B168D2091D37CAC21576C78"
         "02FF207100041308190000441308190000615B7F616713")
HEAT_PROFILE = '''kind = "meter"
[profile]
name = "kamstrup_heat_test"
description = "test profile for the wired example"
[detect]
manufacturer = "KAM"
version = 8
device_type = 4
[[fields]]
name = "total_energy_consumption_kwh"
quantity = "energy"
unit = "kWh"
[[fields]]
name = "total_volume_l"
quantity = "volume"
unit = "l"
'''


@pytest.fixture
def profile_dir(tmp_path: Path) -> Path:
    (tmp_path / "kamstrup_heat_test.toml").write_text(HEAT_PROFILE, encoding="utf-8")
    return tmp_path


def test_mbus_decode_gives_generic_fields_by_default() -> None:
    telegram = mbus.decode(WIRED)
    assert telegram.meter is not None and telegram.meter.profile is None
    assert telegram.meter.values == {"energy_kwh": 37351, "volume_m3": Decimal("561.08"),
                                     "status": "OK"}
    assert telegram.to_dict()["meter"] == {
        "profile": None, "fields": {"energy_kwh": 37351, "volume_m3": 561.08, "status": "OK"},
        "units": {"energy_kwh": "kWh", "volume_m3": "m3"}}
    copy = pickle.loads(pickle.dumps(telegram))
    assert copy == telegram and copy.meter == telegram.meter


def test_mbus_decode_with_own_profiles_or_none(profile_dir: Path) -> None:
    library = profiles.load_meter_profiles(profile_dir)
    meter = mbus.decode(WIRED, profiles=library).meter
    assert meter is not None and meter.profile == "kamstrup_heat_test"
    assert meter.values == {"total_energy_consumption_kwh": 37351, "total_volume_l": 561080,
                            "status": "OK"}
    plain = mbus.decode(WIRED, profiles=False)
    assert plain.meter is None and "meter" not in plain.to_dict()
    assert plain == mbus.decode(WIRED)  # the meter part takes no part in comparisons
    with pytest.raises(TypeError, match="profiles= takes True, False or a"):
        mbus.decode(WIRED, profiles="shipped")  # type: ignore[arg-type]


def test_frames_that_are_no_meter_response_get_no_meter_part() -> None:
    assert mbus.decode(bytes.fromhex("680303680801707916")).meter is None  # application error
    assert mbus.decode(b"\xe5").meter is None


def test_wmbus_decoder_and_decode_use_the_shipped_profiles() -> None:
    frame = bytes.fromhex(RADIO)
    telegram = wmbus.Decoder(already_decrypted=True).decode(frame)
    assert telegram.meter is not None
    assert telegram.meter.profile == "kamstrup_multical21"
    assert telegram.to_dict()["meter"]["fields"]["total_m3"] == 6.408
    assert wmbus.decode(frame, already_decrypted=True).meter == telegram.meter
    assert wmbus.decode(frame, already_decrypted=True, profiles=False).meter is None
    assert pickle.loads(pickle.dumps(telegram)).meter == telegram.meter


def run_cli(main: object, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    if main is wmbus_main:
        status = wmbus_main(argv, stdout=out, stderr=err)
        return status, out.getvalue(), err.getvalue()
    import contextlib
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = mbus_main(argv)
        except SystemExit as exit_:
            status = int(exit_.code or 0)
    return status, out.getvalue(), err.getvalue()


def test_mbus_cli_profiles_options(profile_dir: Path) -> None:
    status, out, _ = run_cli(mbus_main, ["decode", "--json", "--profiles", str(profile_dir),
                                         WIRED.hex()])
    assert status == 0
    assert json.loads(out)["meter"]["fields"]["total_volume_l"] == 561080
    status, out, _ = run_cli(mbus_main, ["decode", "--json", "--no-profiles", WIRED.hex()])
    assert status == 0 and "meter" not in json.loads(out)
    status, out, _ = run_cli(mbus_main, ["decode", WIRED.hex()])
    lines = out.splitlines()
    assert lines[2].strip() == "meter profile: (none: generic names)"
    assert lines[3].split() == ["energy_kwh", "37351", "kWh"]
    assert lines.index("  #  function       st  tar  sub  quantity  value     unit") > 3


def test_mbus_cli_refuses_a_bad_profile_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('kind = "meter"\n[profile\n', encoding="utf-8")
    status, out, err = run_cli(mbus_main, ["decode", "--profiles", str(tmp_path), WIRED.hex()])
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "broken.toml line 2: not valid TOML" in err


def test_wmbus_cli_profiles_options(tmp_path: Path) -> None:
    status, out, _ = run_cli(wmbus_main, ["decode", "--already-decrypted", RADIO])
    lines = out.splitlines()
    assert status == 0 and lines[1].strip() == "meter profile: kamstrup_multical21"
    assert lines[2].split() == ["total_m3", "6.408", "m3"]
    assert lines.index("  records:") < lines.index("  volume: 6.408 m3")
    status, out, _ = run_cli(wmbus_main, ["decode", "--json", "--already-decrypted",
                                          "--no-profiles", RADIO])
    assert status == 0 and "meter" not in json.loads(out)
    mine = tmp_path / "kamstrup_multical21.toml"  # replaces the shipped profile of that name
    mine.write_text('kind = "meter"\n[profile]\nname = "kamstrup_multical21"\n'
                    'description = "mine"\n[detect]\nmanufacturer = "KAM"\nversion = 0x1b\n'
                    '[[fields]]\nname = "water_l"\nquantity = "volume"\nunit = "l"\n',
                    encoding="utf-8")
    status, out, _ = run_cli(wmbus_main, ["decode", "--json", "--already-decrypted",
                                          "--profiles", str(mine), RADIO])
    assert status == 0
    assert json.loads(out)["meter"]["fields"] == {"water_l": 6408, "status": "OK"}
    status, out, err = run_cli(wmbus_main, ["decode", "--profiles", str(tmp_path / "none"),
                                            RADIO])
    assert status == 2 and "no such profile file or folder" in err


def test_to_dict_writes_the_same_meter_part_as_the_made_fields_on_the_corpus() -> None:
    # to_dict() writes generic fields from the records' JSON forms without making the
    # meter part; it must say what the made part says, for every dev-corpus telegram.
    from tests.mbus.corpus import WMBUS, require, wmbus_lines

    require(WMBUS)
    compared = 0
    for line in wmbus_lines():
        key = None if line.get("key", "NOKEY") == "NOKEY" else bytes.fromhex(line["key"])
        decoder = wmbus.Decoder(already_decrypted=True)
        try:
            for prior in line.get("prior_telegrams", []):
                decoder.decode(bytes.fromhex(prior), key=key)
            first = decoder.decode(bytes.fromhex(line["telegram"]), key=key)
            second = decoder.decode(bytes.fromhex(line["telegram"]), key=key)
        except (wmbus.WMBusError, mbus.MBusError):
            continue
        written = first.to_dict()["meter"]  # before the meter part was read
        assert second.meter is not None
        assert json.dumps(written) == json.dumps(second.meter.to_dict()), line["telegram"]
        copy = pickle.loads(pickle.dumps(first))  # pickling makes the meter part
        assert json.dumps(copy.to_dict()["meter"]) == json.dumps(written)
        # Later sights: the scan learns where the records lie (the telegram then has a
        # structure) and the profiles find the telegram's plan by it.
        for _ in range(3):
            again = decoder.decode(bytes.fromhex(line["telegram"]), key=key)
            assert json.dumps(again.to_dict()["meter"]) == json.dumps(written), line["telegram"]
        compared += 1
    assert compared > 250


def test_the_meter_part_is_made_once_and_kept() -> None:
    telegram = mbus.decode(WIRED)
    assert telegram.meter is telegram.meter
    assert isinstance(telegram.meter, profiles.MeterFields)
