"""gateway.backup: the encrypted configuration archive, and what restore refuses."""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import sqlite3
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from gateway.backup import (
    ArchiveModifiedError,
    BackupError,
    BackupFormatError,
    WrongPassphraseError,
    collect_config,
    create_backup,
    decrypt_backup,
    encrypt_backup,
    read_backup,
    restore_backup,
)

PASSPHRASE = "correct horse battery staple"
FILES = {
    "site.toml": b'[site]\nname = "flat3"\n',
    "keys.csv": b"id,key\n12345678,000102030405060708090A0B0C0D0E0F\n",
    "profiles/heat.toml": b'kind = "meter"\n',
    "users.toml": "[users.anna]\nhash = \"\u00e4\"\n".encode(),
}


def config_folder(root: Path) -> Path:
    folder = root / "config"
    for name, data in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_backup_and_restore_give_the_same_files(tmp_path: Path) -> None:
    folder = config_folder(tmp_path)
    names = create_backup(folder, tmp_path / "config.mkb", PASSPHRASE)
    assert names == sorted(FILES)
    restored = restore_backup(tmp_path / "config.mkb", PASSPHRASE, tmp_path / "restored")
    assert sorted(p.relative_to(tmp_path / "restored").as_posix() for p in restored) == names
    assert snapshot(tmp_path / "restored") == FILES
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in restored)


def test_the_archive_is_aes_256_gcm_under_an_scrypt_key(tmp_path: Path) -> None:
    """Decrypted independently of our reader, from the layout the module documents."""
    data = encrypt_backup({"site.toml": b"x"}, PASSPHRASE)
    assert data[:8] == b"MKBACKUP" and data[8] == 1
    log2_n, r, p = data[9], data[10], data[11]
    salt, nonce = data[12:28], data[28:40]
    key = Scrypt(salt=salt, length=64, n=2**log2_n, r=r, p=p).derive(PASSPHRASE.encode())[:32]
    plain = AESGCM(key).decrypt(nonce, data[56:], data[:56])
    assert plain[:2] == b"\x1f\x8b"  # a gzip stream (of the tar)
    assert b"site.toml" not in data  # names are encrypted too


def test_what_a_configuration_folder_leaves_out(tmp_path: Path) -> None:
    folder = config_folder(tmp_path)
    history = folder / "data" / "history.sqlite"
    history.parent.mkdir()
    with sqlite3.connect(history) as db:
        db.execute("CREATE TABLE t (x)")
    (folder / "data" / "history.sqlite-wal").write_bytes(b"wal")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_bytes(b"x")
    (folder / "link.toml").symlink_to(folder / "site.toml")
    (folder / "exports").mkdir()
    (folder / "exports" / "readings.csv").write_bytes(b"a,b\n")
    create_backup(folder, folder / "old.mkb", PASSPHRASE)  # a backup inside the folder
    assert sorted(collect_config(folder, exclude=["exports/*"])) == sorted(FILES)


def test_a_wrong_passphrase_changes_nothing(tmp_path: Path) -> None:
    folder = config_folder(tmp_path)
    create_backup(folder, tmp_path / "config.mkb", PASSPHRASE)
    (folder / "site.toml").write_bytes(b"edited since")
    before = snapshot(folder)
    with pytest.raises(WrongPassphraseError, match="wrong passphrase"):
        restore_backup(tmp_path / "config.mkb", "Correct horse battery staple", folder)
    assert snapshot(folder) == before


@pytest.mark.parametrize("offset", [56, 57, 100, -17, -1])
def test_a_modified_archive_changes_nothing(tmp_path: Path, offset: int) -> None:
    folder = config_folder(tmp_path)
    create_backup(folder, tmp_path / "config.mkb", PASSPHRASE)
    data = bytearray((tmp_path / "config.mkb").read_bytes())
    data[offset] ^= 0x01
    (tmp_path / "config.mkb").write_bytes(bytes(data))
    with pytest.raises(ArchiveModifiedError, match="modified"):
        restore_backup(tmp_path / "config.mkb", PASSPHRASE, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


@pytest.mark.parametrize("offset", [12, 30, 45])
def test_a_modified_header_is_refused(offset: int) -> None:
    data = bytearray(encrypt_backup(FILES, PASSPHRASE))
    data[offset] ^= 0x80
    with pytest.raises((WrongPassphraseError, ArchiveModifiedError)):
        decrypt_backup(bytes(data), PASSPHRASE)


@pytest.mark.parametrize(("data", "offset", "message"), [
    (b"", 0, "truncated"),
    (b"MKBACKUP" + bytes(80), 8, "format version 0"),
    (b"PK\x03\x04" + bytes(100), 0, "not a meterkit backup"),
    (b"MKBACKUP\x01\x1f\x08\x01" + bytes(80), 9, "scrypt log2"),
    (b"MKBACKUP\x01\x0f\x08\x09" + bytes(80), 11, "scrypt p"),
])
def test_other_files_are_not_backups(data: bytes, offset: int, message: str) -> None:
    with pytest.raises(BackupFormatError, match=message) as caught:
        decrypt_backup(data, PASSPHRASE)
    assert caught.value.offset == offset


def test_every_truncation_is_refused() -> None:
    data = encrypt_backup({"a": b"b"}, PASSPHRASE, log2_n=14)
    for length in range(0, len(data), 7):
        with pytest.raises(BackupError):
            decrypt_backup(data[:length], PASSPHRASE)


@pytest.mark.parametrize("name", ["/etc/passwd", "../up", "a/../../b", "a//b", "./a", "a\\b",
                                  ""])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(BackupError, match="unsafe file name"):
        encrypt_backup({name: b"x"}, PASSPHRASE, log2_n=14)


def test_empty_passphrase_and_empty_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="passphrase is empty"):
        encrypt_backup({"a": b"b"}, "")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackupError, match="no configuration files"):
        create_backup(tmp_path / "empty", tmp_path / "x.mkb", PASSPHRASE)
    with pytest.raises(BackupError, match="not a folder"):
        create_backup(tmp_path / "missing", tmp_path / "x.mkb", PASSPHRASE)
    with pytest.raises(BackupError, match="No such file"):
        read_backup(tmp_path / "missing.mkb", PASSPHRASE)


def test_a_restore_that_cannot_place_a_file_writes_nothing(tmp_path: Path) -> None:
    folder = config_folder(tmp_path)
    create_backup(folder, tmp_path / "config.mkb", PASSPHRASE)
    target = tmp_path / "target"
    target.mkdir()
    (target / "profiles").write_bytes(b"a file where the archive has a folder")
    with pytest.raises(BackupError, match="share this name"):
        restore_backup(tmp_path / "config.mkb", PASSPHRASE, target)
    assert snapshot(target) == {"profiles": b"a file where the archive has a folder"}


def craft(tar: bytes, passphrase: str = PASSPHRASE) -> bytes:
    """An archive around any ``tar`` bytes, built from the documented layout alone."""
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    derived = Scrypt(salt=salt, length=64, n=2**14, r=8, p=1).derive(passphrase.encode())
    start = b"MKBACKUP" + bytes([1, 14, 8, 1]) + salt + nonce
    header = start + hmac.new(derived[32:], start, hashlib.sha256).digest()[:16]
    return header + AESGCM(derived[:32]).encrypt(nonce, tar, header)


def tar_of(*members: tarfile.TarInfo) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in members:
            archive.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    return buffer.getvalue()


def test_an_authentic_archive_with_hostile_content_is_refused() -> None:
    """Someone who knows the passphrase still cannot write outside the target."""
    assert decrypt_backup(craft(tar_of(tarfile.TarInfo("site.toml"))), PASSPHRASE) == {
        "site.toml": b""}
    escape = tarfile.TarInfo("../../etc/cron.d/x")
    with pytest.raises(BackupError, match="unsafe file name"):
        decrypt_backup(craft(tar_of(escape)), PASSPHRASE)
    link = tarfile.TarInfo("keys.csv")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    with pytest.raises(BackupError, match="not a plain file"):
        decrypt_backup(craft(tar_of(link)), PASSPHRASE)
    twice = tarfile.TarInfo("a")
    with pytest.raises(BackupError, match="twice"):
        decrypt_backup(craft(tar_of(twice, twice)), PASSPHRASE)
    with pytest.raises(BackupError, match="not readable"):
        decrypt_backup(craft(b"not a tar at all"), PASSPHRASE)
