"""Loading meter profiles: every fault names file, table and key; overlaps found at load."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from profiles import (
    MeterProfiles,
    ProfileError,
    load_meter_profile,
    load_meter_profiles,
    shipped_profiles,
)

HEAD = '''kind = "meter"
[profile]
name = "{name}"
description = "test meter"
[detect]
manufacturer = "KAM"
'''


def write(folder: Path, name: str, body: str, head: str = HEAD) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(head.format(name=name) + body, encoding="utf-8")
    return path


def test_every_shipped_meter_profile_loads() -> None:
    paths = shipped_profiles("meter")
    assert paths, "meterkit ships meter profiles"
    for path in paths:
        profile = load_meter_profile(path)
        assert profile.name == path.stem
    assert len(load_meter_profiles()) == len(paths)


def test_a_profile_loads_into_plain_picklable_data(tmp_path: Path) -> None:
    path = write(tmp_path, "water", '''
version = [0x1b, "0x20-0x2f"]
[[fields]]
name = "total_m3"
quantity = "volume"
unit = "m3"
[[fields]]
name = "consumption_{n}_months_ago_m3"
quantity = "volume"
storage = "8-10"
[[fields]]
name = "total_l"
formula = "total_m3 * 1000"
unit = "l"
[[status]]
header = true
bits = { "0x04" = "POWER_LOW" }
''')
    profile = load_meter_profile(path)
    assert profile.detect.version == ((0x1b, 0x1b), (0x20, 0x2f))
    assert profile.field_names == ("total_m3", "consumption_1_months_ago_m3",
                                   "consumption_2_months_ago_m3", "consumption_3_months_ago_m3",
                                   "total_l", "status")
    assert pickle.loads(pickle.dumps(profile)) == profile


@pytest.mark.parametrize(("body", "table", "key", "message"), [
    ('[[fields]]\nname = "x_m3"\nquantity = "volume"\nunit = "litre"\n', "fields[0]", "unit",
     "'litre' is not a unit"),
    ('[[fields]]\nname = "x_m3"\nquantity = "volume"\nstorage = "3-1"\n', "fields[0]",
     "storage", "runs backwards"),
    ('[[fields]]\nname = "x_m3"\nquantity = "volume"\nstorage = "1-3"\n', "fields[0]", "name",
     "storage is a range: the name needs {storage} or {n}"),
    ('[[fields]]\nname = "x_{n}_m3"\nquantity = "volume"\n', "fields[0]", "name",
     "placeholder {n} needs a range of storage values"),
    ('[[fields]]\nname = "x_{month}"\nquantity = "volume"\nstorage = "1-2"\n', "fields[0]",
     "name", "unknown placeholder {month}"),
    ('[[fields]]\nname = "x m3"\nquantity = "volume"\n', "fields[0]", "name",
     "use letters, digits and underscores"),
    ('[[fields]]\nname = "x"\nunit = "m3"\n', "fields[0]", None, "needs quantity, vif or vib"),
    ('[[fields]]\nname = "x"\nquantity = "volume"\nfunction = "max"\n', "fields[0]",
     "function", "'max' is not one of"),
    ('[[fields]]\nname = "x"\nquantity = "volume"\nvib = "fdx7"\n', "fields[0]", "vib",
     "not hex bytes"),
    ('[[fields]]\nname = "x"\nquantity = "volume"\nvif = 0x80\n', "fields[0]", "vif",
     "outside 0-127"),
    ('[[fields]]\nname = "x"\nquantity = "volume"\nquantitty = "volume"\n', "fields[0]",
     "quantitty", "unknown key quantitty"),
    ('[[fields]]\nname = "x"\nformula = "y +"\n', "fields[0]", "formula",
     "expression ends too early (at position 3)"),
    ('[[fields]]\nname = "x"\nformula = "y + 1"\n', "fields[0]", "formula",
     "formula reads 'y', which no field gives"),
    ('[[fields]]\nname = "x"\nformula = "1"\nquantity = "volume"\n', "fields[0]", "formula",
     "a formula field matches no record"),
    ('[[fields]]\nname = "a"\nformula = "b"\n[[fields]]\nname = "b"\nformula = "a"\n',
     "fields[0]", "formula", "formulas read each other in a cycle: a -> b -> a"),
    ('[[fields]]\nname = "a"\nquantity = "volume"\n[[fields]]\nname = "a"\nquantity = "energy"\n',
     "fields[1]", "name", "field 'a' is also given by fields[0]"),
    ('[[status]]\nbits = { "0x01" = "DRY" }\n', "status[0]", None, "give exactly one source"),
    ('[[status]]\nheader = true\n', "status[0]", None, "give either bits or values"),
    ('[[status]]\nheader = true\nbits = { "x1" = "DRY" }\n', "status[0]", "bits",
     "'x1' is not an integer"),
    ('[[status]]\nheader = true\nbits = { "0x01" = "A" }\nmask = 3\n', "status[0]", "mask",
     "belongs to a values table"),
    ('[[status]]\nfield = "nothing"\nvalues = { "1" = "A" }\n', "status[0]", "field",
     "no field named 'nothing'"),
    ('[[layouts]]\nfrom = "payload"\n', "layouts[0]", "items", "missing"),
    ('[[fields]]\nname = "x"\nquantity = "volume"\nhidden = true\n', "fields[0]", "hidden",
     "hidden field 'x' is read by no formula, date or status table"),
    ('[[fields]]\nname = "x"\nquantity = "volume"\nhidden = "yes"\n', "fields[0]", "hidden",
     "must be"),
    ('[[fields]]\nname = "x"\nquantity = "volume"\nhidden = true\n[[fields]]\nname = "y"\n'
     'formula = "1"\nhidden = true\n', "fields[0]", "hidden", "read by no formula"),
    ('[[status]]\nheader = true\nvalues = { "0x01" = "A" }\nnone = ""\n', "status[0]", "none",
     "belongs to a bits table"),
    ('[[status]]\nheader = true\nbits = { "0x01" = "A" }\ninto = ["a", "a"]\n', "status[0]",
     "into", "give one field, or several different ones"),
    ('[[status]]\nheader = true\nbits = { "0x01" = "A" }\ninto = []\n', "status[0]",
     "into", "give one field"),
    ('[[status]]\nheader = true\nbits = { "0x01" = "A" }\ninto = ["a", "b c"]\n', "status[0]",
     "into", "'b c': use letters"),
    ('[[layouts]]\nfrom = "manufacturer_data"\ntransform = "apator_aes_slice"\n'
     'items = [{ quantity = "a", length = 1 }]\n', "layouts[0]", "from",
     "transform 'apator_aes_slice' needs the meter's key: it reads the payload"),
    ('[[fields]]\nname = "x"\nquantity = "volume"\nstorage = "0-600"\nn_start = 0\n'
     'tariff = "0-1"\n', "fields[0]", "tariff", "expands into more than 1000 fields"),
])
def test_faults_name_file_table_and_key(tmp_path: Path, body: str, table: str,
                                        key: str | None, message: str) -> None:
    path = write(tmp_path, "meter", body)
    with pytest.raises(ProfileError) as caught:
        load_meter_profile(path)
    error = caught.value
    assert message in str(error)
    assert (error.file, error.table, error.key) == (str(path), table, key)


@pytest.mark.parametrize(("head", "table", "key", "message"), [
    ('kind = "modbus"\n', "", "kind", "this is a 'modbus' profile"),
    ('kind = "meter"\n[profile]\nname = "other"\ndescription = "x"\n[detect]\n'
     'manufacturer = "KAM"\n', "profile", "name", "must equal the file's name 'meter'"),
    ('kind = "meter"\n[profile]\nname = "meter"\ndescription = "x"\n[detect]\n'
     'manufacturer = "kam"\n', "detect", "manufacturer", "not a three-letter"),
    ('kind = "meter"\n[profile]\nname = "meter"\ndescription = "x"\n[detect]\n'
     'manufacturer = "KAM"\nversion = []\n', "detect", "version", "an empty list"),
    ('kind = "meter"\n[profile]\nname = "meter"\ndescription = "x"\n[detect]\n'
     'manufacturer = "KAM"\nprefix = "0g"\n', "detect", "prefix", "not hex bytes"),
    ('kind = "meter"\n[profile]\nname = "meter"\n[detect]\nmanufacturer = "KAM"\n',
     "profile", "description", "missing"),
])
def test_header_faults(tmp_path: Path, head: str, table: str, key: str,
                       message: str) -> None:
    path = tmp_path / "meter.toml"
    path.write_text(head, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_meter_profile(path)
    assert message in str(caught.value)
    assert (caught.value.table, caught.value.key) == (table, key)


DETECT = '''kind = "meter"
[profile]
name = "{name}"
description = "test meter"
'''


def test_overlapping_profiles_are_refused_at_load_time(tmp_path: Path) -> None:
    write(tmp_path, "first", '[detect]\nmanufacturer = "ABC"\nversion = "1-5"\n', DETECT)
    write(tmp_path, "second", '[detect]\nmanufacturer = ["ABC", "DEF"]\ndevice_type = 7\n',
          DETECT)
    with pytest.raises(ProfileError, match="can match the same meter and neither is more "
                                           "specific") as caught:
        load_meter_profiles(tmp_path, shipped=False)
    assert caught.value.table == "detect"
    assert "first" in str(caught.value) and "second" in str(caught.value)


def test_disjoint_and_nested_profiles_load_and_the_most_specific_wins(tmp_path: Path) -> None:
    write(tmp_path, "family", '[detect]\nmanufacturer = "ABC"\n', DETECT)
    write(tmp_path, "model", '[detect]\nmanufacturer = "ABC"\nversion = "1-5"\n', DETECT)
    write(tmp_path, "variant", '[detect]\nmanufacturer = "ABC"\nversion = 3\nprefix = "2f2f"\n',
          DETECT)
    write(tmp_path, "other", '[detect]\nmanufacturer = "ABC"\nversion = 9\ndevice_type = 7\n',
          DETECT)
    library = load_meter_profiles(tmp_path, shipped=False)

    def name(**kwargs: object) -> str | None:
        found = library.find("ABC", **kwargs)  # type: ignore[arg-type]
        return None if found is None else found.name

    assert name(version=3, payload=b"\x2f\x2f\x04") == "variant"
    assert name(version=3, payload=b"\x04") == "model"
    assert name(version=6) == "family"
    assert name(version=9, device_type=7) == "other"
    assert name(version=9, device_type=6) == "family"
    assert library.find("XYZ", version=3) is None
    assert pickle.loads(pickle.dumps(library)).find("ABC", version=3).name == "model"


def test_prefixes_that_differ_do_not_overlap(tmp_path: Path) -> None:
    write(tmp_path, "one", '[detect]\nmanufacturer = "ABC"\nprefix = "01"\n', DETECT)
    write(tmp_path, "two", '[detect]\nmanufacturer = "ABC"\nprefix = "02"\n', DETECT)
    assert len(load_meter_profiles(tmp_path, shipped=False)) == 2


def test_a_users_profile_replaces_the_shipped_one_of_its_name(tmp_path: Path) -> None:
    shipped = shipped_profiles("meter")[0]
    write(tmp_path, shipped.stem, '[detect]\nmanufacturer = "ZZZ"\n', DETECT)
    library = load_meter_profiles(tmp_path)
    assert len(library) == len(shipped_profiles("meter"))
    replaced = [profile for profile in library.profiles if profile.name == shipped.stem]
    assert replaced[0].file == str(tmp_path / shipped.name)


def test_duplicate_names_and_missing_places_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such profile file or folder"):
        load_meter_profiles(tmp_path / "absent")
    first = write(tmp_path, "same", '[detect]\nmanufacturer = "ABC"\n', DETECT)
    with pytest.raises(ProfileError, match="two profiles are named 'same'"):
        MeterProfiles([load_meter_profile(first), load_meter_profile(first)])
