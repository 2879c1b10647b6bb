"""The users file of the web page: names, levels and salted scrypt password hashes.

The file is TOML, one table per user::

    [users.alice]
    level = "admin"        # or "viewer"
    password = "scrypt$16384$8$1$<salt>$<hash>"

``meterkit web-user FILE NAME --level admin`` writes an entry (the password is read from
the terminal or stdin, never from the command line). Hashes come from the standard
library's :func:`hashlib.scrypt` with a random 16-byte salt per user; verification
compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tomli is a core dependency before Python 3.11
    import tomli as tomllib

__all__ = ["LEVELS", "User", "UsersFileError", "hash_password", "load_users", "save_user",
           "verify_password"]

LEVELS = ("viewer", "admin")
_SCHEME = "scrypt"
# RFC 7914's interactive-login parameters: about 50 ms and 16 MiB per check here.
_N, _R, _P = 16384, 8, 1


class UsersFileError(ValueError):
    """The users file cannot be read; the message names the file, table and key."""


@dataclass(frozen=True, slots=True)
class User:
    """One user of the web page."""

    name: str
    level: str
    password_hash: str

    @property
    def is_admin(self) -> bool:
        """Admins may acknowledge alarms and download backups."""
        return self.level == "admin"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash of ``password`` in the users file's text form."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"{_SCHEME}${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def _parse_hash(text: str) -> tuple[int, int, int, bytes, bytes]:
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != _SCHEME:
        raise ValueError("expected scrypt$N$r$p$salt$hash")
    n, r, p = (int(part) for part in parts[1:4])
    if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise ValueError("scrypt parameters out of range")
    salt = base64.b64decode(parts[4], validate=True)
    digest = base64.b64decode(parts[5], validate=True)
    if len(salt) < 16 or not 16 <= len(digest) <= 64:
        raise ValueError("salt or hash too short")
    return n, r, p, salt, digest


def verify_password(password: str, password_hash: str) -> bool:
    """True when ``password`` matches ``password_hash`` (constant-time comparison)."""
    try:
        n, r, p, salt, expected = _parse_hash(password_hash)
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                            dklen=len(expected), maxmem=256 * 1024 * 1024)
    return hmac.compare_digest(digest, expected)


def load_users(path: Path) -> dict[str, User]:
    """Read and check the users file; errors name the file, the table and the key."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsersFileError(f"{path}: cannot read the users file: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsersFileError(f"{path}: not a TOML file: {error}") from None
    unknown = sorted(set(document) - {"users"})
    if unknown:
        raise UsersFileError(
            f"{path}: unknown top-level key {unknown[0]!r} (expected [users.NAME])")
    tables = document.get("users", {})
    if not isinstance(tables, dict):
        raise UsersFileError(f"{path}: 'users' must be a table of [users.NAME] tables")
    users: dict[str, User] = {}
    for name, table in tables.items():
        where = f"{path}: [users.{name}]"
        if not isinstance(table, dict):
            raise UsersFileError(f"{where}: must be a table with keys level and password")
        extra = sorted(set(table) - {"level", "password"})
        if extra:
            raise UsersFileError(f"{where}: unknown key {extra[0]!r}")
        level = table.get("level")
        if level not in LEVELS:
            raise UsersFileError(f"{where}: key 'level' must be one of {', '.join(LEVELS)}")
        password = table.get("password")
        if not isinstance(password, str):
            raise UsersFileError(f"{where}: key 'password' must be a hash text "
                                 "(write it with `meterkit web-user`)")
        try:
            _parse_hash(password)
        except ValueError as error:
            raise UsersFileError(f"{where}: key 'password': {error}") from None
        users[name] = User(name, level, password)
    return users


def save_user(path: Path, name: str, level: str, password: str) -> None:
    """Add or replace one user in the users file (created when missing)."""
    if level not in LEVELS:
        raise UsersFileError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise UsersFileError(f"user name {name!r}: letters, digits, '-', '_' and '.' only")
    users = load_users(path) if path.exists() else {}
    users[name] = User(name, level, hash_password(password))
    lines = []
    for user in users.values():
        lines += [f"[users.{user.name}]", f'level = "{user.level}"',
                  f'password = "{user.password_hash}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    path.chmod(0o600)
