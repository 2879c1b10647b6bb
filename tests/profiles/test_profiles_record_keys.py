"""A layout item's invalid: its no-value pattern gives no record."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiles import MeterFields, ProfileError, apply_profile, load_meter_profile

HEAD = 'kind = "meter"\n[profile]\nname = "meter"\ndescription = "x"\n' \
       '[detect]\nmanufacturer = "ABC"\n'


def layout_fields(tmp_path: Path, items: str, payload: bytes) -> MeterFields:
    path = tmp_path / "meter.toml"
    path.write_text(HEAD + '''
[[layouts]]
from = "payload"
items = [ ''' + items + ''' ]
[[fields]]
name = "value_{storage}"
quantity = "value"
origin = "layout"
storage = "0-3"
''', encoding="utf-8")
    return apply_profile(load_meter_profile(path), [], lambda index: None, payload=payload)


def test_an_items_invalid_pattern_gives_no_value(tmp_path: Path) -> None:
    result = layout_fields(
        tmp_path, '{ repeat = 3, group = [ { quantity = "value", length = 3, '
                  'invalid = 0xffffff } ] }, { quantity = "value", storage = 3, length = 2, '
                  'type = "int", invalid = -32768 }',
        bytes.fromhex("010000ffffff020000" "0080"))
    assert result.values == {"value_0": 1, "value_2": 2, "status": "OK"}


def test_invalid_is_for_integers_only(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="only uint and int items") as caught:
        layout_fields(tmp_path, '{ quantity = "value", length = 2, type = "bcd", '
                                'invalid = 0 }', b"")
    assert caught.value.key == "invalid"
