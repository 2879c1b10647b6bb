"""Key store: CSV, JSON and TOML key files; keys never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

import wmbus

KEY_A = "000102030405060708090A0B0C0D0E0F"
KEY_B = "F0E0D0C0B0A090807060504030201000"


@pytest.mark.parametrize("name, text", [
    ("keys.csv", f"# comment\nid,key,manufacturer\n12345678,{KEY_A},\n87654321,{KEY_B},KAM\n"),
    ("keys.csv", f"12345678,{KEY_A}\nKAM,87654321,{KEY_B}\n"),
    ("keys.json", f'{{"12345678": "{KEY_A}", "KAM.87654321": "{KEY_B}"}}'),
    ("keys.json", f'[{{"id": "12345678", "key": "{KEY_A}"}},'
                  f' {{"id": "87654321", "manufacturer": "KAM", "key": "{KEY_B}"}}]'),
    ("keys.toml", f'[keys]\n"12345678" = "{KEY_A}"\n"KAM.87654321" = "{KEY_B}"\n'),
    ("keys.toml", f'[[meter]]\nid = "12345678"\nkey = "{KEY_A}"\n'
                  f'[[meter]]\nid = "87654321"\nmanufacturer = "KAM"\nkey = "{KEY_B}"\n'),
])
def test_key_files(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    store = wmbus.KeyStore.load(path)
    assert store.lookup("12345678") == bytes.fromhex(KEY_A)
    assert store.lookup("12345678", "ELS") == bytes.fromhex(KEY_A)
    assert store.lookup("87654321", "KAM") == bytes.fromhex(KEY_B)
    assert store.lookup("87654321", "ELS") is None
    assert len(store) == 2


def test_default_key() -> None:
    store = wmbus.KeyStore({"*": KEY_A, "12345678": KEY_B})
    assert store.lookup("00000001") == bytes.fromhex(KEY_A)
    assert store.lookup("12345678") == bytes.fromhex(KEY_B)


def test_repr_and_errors_hide_keys(tmp_path: Path) -> None:
    store = wmbus.KeyStore({"12345678": KEY_A})
    assert KEY_A not in repr(store) and KEY_A not in str(store)
    assert list(store) == ["12345678"]
    path = tmp_path / "bad.csv"
    path.write_text("12345678,0011223344556677889900112233445\n")  # 31 digits
    with pytest.raises(wmbus.KeyStoreError) as info:
        wmbus.KeyStore.load(path)
    assert "0011223344" not in str(info.value) and "row 1" in str(info.value)


@pytest.mark.parametrize("entry, message", [
    ({"12345678": "zz" * 16}, "not hex"),
    ({"12345678": "00" * 15}, "16 bytes"),
    ({"123456789": KEY_A}, "up to 8 digits"),
    ({"K4M.12345678": KEY_A}, "three letters"),
])
def test_bad_entries(entry: dict[str, str], message: str) -> None:
    with pytest.raises(wmbus.KeyStoreError, match=message):
        wmbus.KeyStore(entry)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(wmbus.KeyStoreError, match="cannot read"):
        wmbus.KeyStore.load(tmp_path / "missing.csv")
    bad = tmp_path / "keys.json"
    bad.write_text("{")
    with pytest.raises(wmbus.KeyStoreError, match="not JSON"):
        wmbus.KeyStore.load(bad)
    other = tmp_path / "keys.yaml"
    other.write_text("")
    with pytest.raises(wmbus.KeyStoreError, match="unknown suffix"):
        wmbus.KeyStore.load(other)
