"""The archive: a header, then AES-256-GCM over a tar of the configuration files.

Layout (big-endian)::

    offset  size  field
         0     8  magic b"MKBACKUP"
         8     1  format version (1)
         9     1  scrypt log2(n)   (14..20)
        10     1  scrypt r         (1..16)
        11     1  scrypt p         (1..4)
        12    16  salt
        28    12  GCM nonce
        40    16  passphrase check: HMAC-SHA256(check key, bytes 0..39), first 16 bytes
        56     -  AES-256-GCM ciphertext and 16-byte tag of a tar (gzip), the header as
                  associated data

scrypt turns the passphrase into 64 bytes: the AES key, then the check key. The check
tells a wrong passphrase from a modified archive (GCM alone cannot); it costs an
attacker the same scrypt work as a GCM trial, so it weakens nothing.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import io
import os
import secrets
import struct
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ._errors import ArchiveModifiedError, BackupError, BackupFormatError, WrongPassphraseError

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "collect_config",
    "create_backup",
    "decrypt_backup",
    "encrypt_backup",
    "read_backup",
    "restore_backup",
]

MAGIC = b"MKBACKUP"
FORMAT_VERSION = 1
_HEADER = struct.Struct(">8sBBBB16s12s16s")
_CHECKED = 40  # header bytes the passphrase check covers
SCRYPT_LOG2_N = 15  # 32 MiB of memory, about 0.1 s per derivation
SCRYPT_R = 8
SCRYPT_P = 1
MAX_TOTAL = 64 * 1024 * 1024
"""Bytes of configuration at most (in, and out after decryption): configuration is small;
more means data (exports, histories) was caught, or a hostile archive."""
_SQLITE_MAGIC = b"SQLite format 3\x00"
_DATA_SUFFIXES = ("-wal", "-shm", "-journal")


def _passphrase_bytes(passphrase: str | bytes) -> bytes:
    data = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
    if not data:
        raise BackupError("the passphrase is empty")
    return data


def _keys(passphrase: bytes, salt: bytes, log2_n: int, r: int, p: int) -> tuple[bytes, bytes]:
    derived = Scrypt(salt=salt, length=64, n=2**log2_n, r=r, p=p).derive(passphrase)
    return derived[:32], derived[32:]


def _check(check_key: bytes, header: bytes) -> bytes:
    return hmac.new(check_key, header[:_CHECKED], hashlib.sha256).digest()[:16]


def _check_name(name: str) -> str:
    """A member name: a relative POSIX path without ``.``/``..`` parts, else BackupError."""
    path = PurePosixPath(name)
    if (not name or "\\" in name or "\x00" in name or path.is_absolute()
            or any(part in ("", ".", "..") for part in name.split("/"))):
        raise BackupError(f"unsafe file name {name!r} in the archive")
    return name


def encrypt_backup(files: Mapping[str, bytes], passphrase: str | bytes, *,
                   log2_n: int = SCRYPT_LOG2_N) -> bytes:
    """The archive of ``files`` (relative POSIX name -> content), encrypted."""
    secret = _passphrase_bytes(passphrase)
    total = 0
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            data = files[name]
            total += len(data)
            info = tarfile.TarInfo(_check_name(name))
            info.size, info.mode = len(data), 0o600
            archive.addfile(info, io.BytesIO(data))
    if total > MAX_TOTAL:
        raise BackupError(f"{total} bytes of configuration is more than {MAX_TOTAL}: data "
                          "files were caught (leave them out with --exclude)")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    cipher_key, check_key = _keys(secret, salt, log2_n, SCRYPT_R, SCRYPT_P)
    unchecked = _HEADER.pack(MAGIC, FORMAT_VERSION, log2_n, SCRYPT_R, SCRYPT_P, salt, nonce,
                             bytes(16))
    header = unchecked[:_CHECKED] + _check(check_key, unchecked)
    return header + AESGCM(cipher_key).encrypt(nonce, tar_bytes.getvalue(), header)


def decrypt_backup(data: bytes, passphrase: str | bytes) -> dict[str, bytes]:
    """The files of an archive made by :func:`encrypt_backup`.

    Raises :class:`BackupFormatError` (not an archive, truncated, unknown version or
    parameters), :class:`WrongPassphraseError` or :class:`ArchiveModifiedError`.
    """
    secret = _passphrase_bytes(passphrase)
    if len(data) < _HEADER.size + 16:
        raise BackupFormatError(f"truncated: {len(data)} bytes, a backup has at least "
                                f"{_HEADER.size + 16}", offset=len(data))
    magic, version, log2_n, r, p, salt, nonce, check = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise BackupFormatError("not a meterkit backup (no MKBACKUP magic)", offset=0)
    if version != FORMAT_VERSION:
        raise BackupFormatError(f"format version {version} is not {FORMAT_VERSION}", offset=8)
    for offset, value, low, high, name in ((9, log2_n, 14, 20, "scrypt log2(n)"),
                                           (10, r, 1, 16, "scrypt r"), (11, p, 1, 4, "scrypt p")):
        if not low <= value <= high:
            raise BackupFormatError(f"{name} {value} outside {low}..{high}", offset=offset)
    header = data[:_HEADER.size]
    cipher_key, check_key = _keys(secret, salt, log2_n, r, p)
    if not hmac.compare_digest(check, _check(check_key, header)):
        raise WrongPassphraseError("wrong passphrase (or the archive's header was modified)")
    try:
        plain = AESGCM(cipher_key).decrypt(nonce, data[_HEADER.size:], header)
    except InvalidTag:
        raise ArchiveModifiedError("the archive was modified (authentication failed); "
                                   "nothing of it is used") from None
    return _untar(plain)


def _untar(plain: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as archive:
            for member in archive:
                if not member.isfile():
                    raise BackupError(f"{member.name!r} in the archive is not a plain file")
                name = _check_name(member.name)
                if name in files:
                    raise BackupError(f"{name!r} is twice in the archive")
                total += member.size
                if total > MAX_TOTAL:
                    raise BackupError(f"the archive unpacks to more than {MAX_TOTAL} bytes")
                handle = archive.extractfile(member)
                assert handle is not None
                files[name] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"the archive's content is not readable: {error}") from None
    return files


def collect_config(folder: str | Path, *, exclude: Sequence[str] = (),
                   skip: Sequence[Path] = ()) -> dict[str, bytes]:
    """The configuration files below ``folder``: relative POSIX name -> content.

    Every regular file, except hidden ones (a name part starting with ``.``), symbolic
    links, SQLite databases and their journals (the history is data, not configuration),
    meterkit backups, files named in ``skip`` and names matching an ``exclude`` pattern
    (shell patterns over the relative name, ``*`` also matching ``/``).
    """
    root = Path(folder)
    if not root.is_dir():
        raise BackupError(f"{root}: not a folder")
    skipped = {path.resolve() for path in skip}
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if (any(part.startswith(".") for part in path.relative_to(root).parts)
                or path.is_symlink() or not path.is_file() or path.resolve() in skipped
                or name.endswith(_DATA_SUFFIXES)
                or any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude)):
            continue
        try:
            data = path.read_bytes()
        except OSError as error:
            raise BackupError(f"{path}: {error.strerror}") from None
        if data.startswith((_SQLITE_MAGIC, MAGIC)):
            continue
        total += len(data)
        if total > MAX_TOTAL:
            raise BackupError(f"more than {MAX_TOTAL} bytes below {root}: data files were "
                              "caught (leave them out with --exclude)")
        files[name] = data
    return files


def create_backup(folder: str | Path, out: str | Path, passphrase: str | bytes, *,
                  exclude: Sequence[str] = ()) -> list[str]:
    """Write the configuration of ``folder`` encrypted to ``out``; return the names.

    ``out`` is written whole or not at all (a temporary file renamed into place).
    """
    target = Path(out)
    files = collect_config(folder, exclude=exclude, skip=[target])
    if not files:
        raise BackupError(f"{folder}: no configuration files to back up")
    data = encrypt_backup(files, passphrase)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise BackupError(f"{target}: {error.strerror}") from None
    return sorted(files)


def read_backup(archive: str | Path, passphrase: str | bytes) -> dict[str, bytes]:
    """The files of the archive file ``archive`` (see :func:`decrypt_backup`)."""
    try:
        data = Path(archive).read_bytes()
    except OSError as error:
        raise BackupError(f"{archive}: {error.strerror}") from None
    return decrypt_backup(data, passphrase)


def restore_backup(archive: str | Path, passphrase: str | bytes,
                   to: str | Path) -> list[Path]:
    """Write the archive's files below ``to``; return their paths.

    The whole archive is decrypted and checked before the first write, so a wrong
    passphrase or a modified archive changes nothing. Files are written beside their
    place, then renamed over it (mode 0600: configuration holds keys); files of ``to``
    that are not in the archive stay as they are.
    """
    files = read_backup(archive, passphrase)
    root = Path(to)
    if root.exists() and not root.is_dir():
        raise BackupError(f"{root}: not a folder")
    targets = {name: root.joinpath(*name.split("/")) for name in sorted(files)}
    for target in targets.values():
        if target.is_dir() or any(parent.exists() and not parent.is_dir()
                                  for parent in target.parents):
            raise BackupError(f"{target}: a folder and a file would share this name; "
                              "restore it elsewhere (--to)")
    created: list[Path] = []
    written: list[tuple[Path, Path]] = []
    try:
        for name, target in targets.items():
            data = files[name]
            for parent in reversed(target.parents):
                if not parent.exists():
                    parent.mkdir()
                    created.append(parent)
            temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
            written.append((temporary, target))
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
    except OSError as error:
        for temporary, _ in written:
            temporary.unlink(missing_ok=True)
        for folder in reversed(created):
            folder.rmdir()
        raise BackupError(f"{root}: {error.strerror}") from None
    for temporary, target in written:
        os.replace(temporary, target)
    return [target for _, target in written]
