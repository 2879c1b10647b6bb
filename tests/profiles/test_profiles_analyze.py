"""``wmbus analyze`` and ``mbus analyze``: records with bytes, the profile decision, a
starting profile that loads and names the meter."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import profiles
from mbus._cli import main as mbus_main
from wmbus._cli import main as wmbus_main

RADIO = ("2A442D2C998734761B168D2091D37CAC21576C78"
         "02FF207100041308190000441308190000615B7F616713")
UNKNOWN = ("2E4493157856341233037A2A0000002F2F0C1427048502046D32371F1502FD1700002F2F"
           "2F2F2F2F2F2F2F2F2F2F2F")  # OMS Vol. 2 Annex N gas meter (ELS): no shipped profile
WIRED = "681b1b6808017278563412 2d2c08040500000004 06e7910000 04142cdb00009a16"


def wmbus_analyze(*argv: str) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    status = wmbus_main(["analyze", *argv], stdout=out, stderr=err)
    return status, out.getvalue().splitlines(), err.getvalue()


def mbus_analyze(*argv: str) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = mbus_main(["analyze", *argv])
        except SystemExit as exit_:
            status = int(exit_.code or 0)
    return status, out.getvalue().splitlines(), err.getvalue()


def test_wmbus_analyze_shows_layers_records_bytes_and_why_the_profile_matched() -> None:
    status, lines, _ = wmbus_analyze("--already-decrypted", RADIO)
    assert status == 0
    assert lines[0].startswith("link: format=none crcs=0 c=68 function=SND_NR manufacturer=KAM")
    assert "ci: 0x78" in lines
    assert ("  #0  DIF 02 VIF ff20 data 7100: manufacturer_specific (manufacturer_vife_0x20) "
            "= 113  -> [[status]] -> status, [[status]] -> time_dry, [[status]] -> "
            "time_reversed, [[status]] -> time_leaking, [[status]] -> time_bursting") in lines
    assert "  #1  DIF 04 VIF 13 data 08190000: volume = 6.408 m3  -> total_m3" in lines
    assert "  #2  DIF 44 VIF 13 data 08190000: volume (storage 1) = 6.408 m3  -> target_m3" \
        in lines
    start = lines.index(next(line for line in lines if line.startswith(
        "profile kamstrup_multical21 (")))
    assert lines[start + 1:start + 5] == ["  manufacturer KAM is KAM", "  version 0x1b in 0x1b",
                                          "  device type 0x16 in 0x06-0x07, 0x16", "  CI: any"]
    assert "records no field used: none" in lines


def test_wmbus_analyze_of_an_unknown_meter_writes_a_starting_profile(tmp_path: Path) -> None:
    path = tmp_path / "elster_gas.toml"
    status, lines, _ = wmbus_analyze(UNKNOWN, "--write-profile", str(path))
    assert status == 0
    assert "no profile matched: generic names (0 profiles of manufacturer ELS)" in lines
    assert lines[-1] == f"starting profile written to {path}"
    assert "records no field used: none" in lines
    written = profiles.load_meter_profile(path)  # the written file loads as it is
    assert written.name == "elster_gas"
    assert written.detect.manufacturers == frozenset({"ELS"})
    status, lines, _ = wmbus_analyze(UNKNOWN, "--profiles", str(path))
    assert any(line.startswith("profile elster_gas (") for line in lines)
    named = [line.split()[0] for line in lines[lines.index("meter profile: elster_gas") + 1:]
             if line.startswith("  ")]
    assert named == ["volume_m3", "datetime", "error_flags", "status"]


def test_the_starting_profile_gives_the_generic_values() -> None:
    import wmbus

    telegram = wmbus.decode(bytes.fromhex(UNKNOWN))
    records = telegram.records
    text = profiles.starting_profile(
        "gas", manufacturer="ELS", version=telegram.header.version,  # type: ignore[union-attr]
        device_type=telegram.header.medium, heads=[record.shape for record in records],  # type: ignore[union-attr]
        values=[record.value for record in records])
    folder = Path(__import__("tempfile").mkdtemp())
    (folder / "gas.toml").write_text(text, encoding="utf-8")
    library = profiles.load_meter_profiles(folder, shipped=False)
    named = wmbus.decode(bytes.fromhex(UNKNOWN), profiles=library).meter
    generic = wmbus.decode(bytes.fromhex(UNKNOWN), profiles=False)
    assert named is not None and named.profile == "gas"
    plain = profiles.generic_fields([record.shape for record in generic.records],
                                    lambda index: generic.records[index].value)
    assert named.values == plain.values


def test_mbus_analyze_and_its_errors(tmp_path: Path) -> None:
    status, lines, _ = mbus_analyze(WIRED)
    assert status == 0
    assert lines[0] == "frame: type=long c=8 a=1 ci=114"
    assert "  #0  DIF 04 VIF 06 data e7910000: energy = 37351000 Wh  -> energy_kwh" in lines
    assert any(line.startswith("no profile matched: generic names (") for line in lines)
    assert any(line.startswith("  profile kamstrup_multical21 does not match: version 0x08 "
                               "not in 0x1b") for line in lines)
    status, _, err = mbus_analyze("e5")
    assert status == 1 and "not a meter's response" in err
    status, _, err = mbus_analyze(WIRED, "--write-profile", str(tmp_path / "bad-name.toml"))
    assert status == 2 and "NAME of letters, digits and underscores" in err
    status, _, err = mbus_analyze("68zz")
    assert status == 2 and "not a hex digit" in err
