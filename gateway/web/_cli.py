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

from ._users import LEVELS, UsersFileError, save_user

__all__ = ["add_web_user_command", "run_web_user"]


def add_web_user_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``web-user`` on the ``meterkit`` command line."""
    parser = commands.add_parser(
        "web-user", help="add or replace a user of the web page (salted scrypt hash)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("users_file", type=Path, help="the users file (created when missing)")
    parser.add_argument("name", help="the user name")
    parser.add_argument("--level", choices=LEVELS, default="viewer",
                        help="viewer: read the page; admin: also acknowledge alarms and "
                             "download backups (default: viewer)")
    parser.set_defaults(handler=run_web_user)


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise UsersFileError("the two passwords differ")
    return first


def run_web_user(args: argparse.Namespace) -> int:
    """Write the user; 0 on success, 2 with a message on stderr otherwise."""
    try:
        password = _read_password()
        if len(password) < 8:
            raise UsersFileError("the password needs at least 8 characters")
        save_user(args.users_file, args.name, args.level, password)
    except UsersFileError as error:
        print(f"meterkit web-user: {error}", file=sys.stderr)
        return 2
    print(f"{args.users_file}: {args.name} ({args.level}) saved")
    return 0
