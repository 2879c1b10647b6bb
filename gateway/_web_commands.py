"""``meterkit web-user FILE NAME --level admin|viewer``: add or replace a user of the page.

The password is read from the terminal (twice), or from stdin's first line when stdin is
not a terminal, never from the command line (it would land in shell histories and in
the process list).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

# The users file's levels (gateway.web.LEVELS; repeated so that the command line parses
# without the web extra installed).
LEVELS = ("viewer", "admin")


class _Refused(Exception):
    pass


def register(commands: Any) -> None:
    """Add ``web-user`` to the ``meterkit`` command line."""
    parser = commands.add_parser(
        "web-user", help="add or replace a user of the web page (salted scrypt hash)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("users_file", type=Path, help="the users file (created when missing)")
    parser.add_argument("name", help="the user name")
    parser.add_argument("--level", choices=LEVELS, default="viewer",
                        help="viewer: read the page; admin: also acknowledge alarms and "
                             "download backups (default: viewer)")
    parser.set_defaults(handler=_web_user)


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise _Refused("the two passwords differ")
    return first


def _web_user(args: argparse.Namespace) -> int:
    """Write the user; 0 on success, 2 with a message on stderr otherwise."""
    try:
        from gateway.web import UsersFileError, save_user
    except ImportError as error:
        print(f"meterkit web-user: {error}", file=sys.stderr)
        return 2
    try:
        password = _read_password()
        if len(password) < 8:
            raise _Refused("the password needs at least 8 characters")
        save_user(args.users_file, args.name, args.level, password)
    except (_Refused, UsersFileError) as error:
        print(f"meterkit web-user: {error}", file=sys.stderr)
        return 2
    print(f"{args.users_file}: {args.name} ({args.level}) saved")
    return 0
