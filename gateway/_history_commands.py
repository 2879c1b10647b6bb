"""``meterkit history``, ``meterkit backup`` and ``meterkit restore`` (owner: history)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from datetime import datetime, timezone
from typing import Any

from profiles import Reading

from . import backup
from .history import HistoryError, SQLiteHistory, reading_to_dict

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the history, backup and restore sub-commands to ``commands``."""
    history = commands.add_parser(
        "history", help="print one point's stored readings",
        description="Print one point's readings from the history file, oldest first, "
                    "with since <= time < until. Times are ISO 8601; without an offset "
                    "they are UTC.")
    history.add_argument("point", metavar="POINT", help="the point's name")
    history.add_argument("--since", metavar="TIME", help="first time (default: the first)")
    history.add_argument("--until", metavar="TIME", help="end time, excluded (default: none)")
    history.add_argument("--history", metavar="FILE", default="history.sqlite",
                         help="the history file (default: history.sqlite)")
    output = history.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object per line")
    output.add_argument("--csv", action="store_true", help="CSV with a header line")
    history.set_defaults(handler=_history)

    save = commands.add_parser(
        "backup", help="write the configuration into an encrypted archive",
        description="Write the configuration folder (site file, keys, profiles, users; "
                    "not SQLite databases, hidden files or links) into one archive "
                    "encrypted with AES-256-GCM under a key derived by scrypt from the "
                    "passphrase in the environment variable VAR.")
    save.add_argument("out", metavar="OUT", help="the archive to write")
    _passphrase_option(save)
    save.add_argument("--config", metavar="DIR", default=".",
                      help="the configuration folder (default: the current folder)")
    save.add_argument("--exclude", metavar="PATTERN", action="append", default=[],
                      help="leave out files whose relative name matches (repeatable)")
    save.set_defaults(handler=_backup)

    restore = commands.add_parser(
        "restore", help="restore the configuration from an encrypted archive",
        description="Check the archive with the passphrase, then write its files into "
                    "DIR. A wrong passphrase or a modified archive changes nothing.")
    restore.add_argument("archive", metavar="IN", help="the archive to read")
    _passphrase_option(restore)
    restore.add_argument("--to", metavar="DIR", default=".",
                         help="where to write the files (default: the current folder)")
    restore.set_defaults(handler=_restore)


def _passphrase_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--passphrase-env", metavar="VAR", required=True,
                        help="the environment variable holding the passphrase")


def _fail(command: str, message: str, status: int = 1) -> int:
    print(f"meterkit {command}: {message}", file=sys.stderr)
    return status


def _time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        time = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{option} {text!r} is not an ISO 8601 time") from None
    return time if time.utcoffset() is not None else time.replace(tzinfo=timezone.utc)


def _history(args: argparse.Namespace) -> int:
    try:
        since, until = _time(args.since, "--since"), _time(args.until, "--until")
    except ValueError as error:
        return _fail("history", str(error), 2)
    try:
        with SQLiteHistory(args.history, create=False) as history:
            readings = history.readings(args.point, since, until)
            known = args.point in history.points()
    except HistoryError as error:
        return _fail("history", str(error))
    if not known:
        return _fail("history", f"{args.history}: no point {args.point!r}")
    if args.json:
        for reading in readings:
            print(json.dumps(reading_to_dict(reading), ensure_ascii=False))
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["point", "time", "value", "unit", "quantity", "quality"])
        for reading in readings:
            row = reading_to_dict(reading)
            writer.writerow([row["point"], row["time"], _text(row["value"]), row["unit"],
                             row["quantity"], ";".join(row["quality"])])
    else:
        for reading in readings:
            print(_line(reading))
    return 0


def _text(value: object) -> str:
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _line(reading: Reading) -> str:
    row = reading_to_dict(reading)
    text = f"{row['time']}  {_text(row['value'])}"
    if row["unit"]:
        text += f" {row['unit']}"
    if row["quality"]:
        text += f"  [{', '.join(row['quality'])}]"
    return text


def _passphrase(command: str, variable: str) -> str | None:
    value = os.environ.get(variable)
    if not value:
        _fail(command, f"the environment variable {variable} is not set or empty", 2)
        return None
    return value


def _backup(args: argparse.Namespace) -> int:
    passphrase = _passphrase("backup", args.passphrase_env)
    if passphrase is None:
        return 2
    try:
        names = backup.create_backup(args.config, args.out, passphrase, exclude=args.exclude)
    except backup.BackupError as error:
        return _fail("backup", str(error))
    print(f"{args.out}: {len(names)} files, AES-256-GCM: {', '.join(names)}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    passphrase = _passphrase("restore", args.passphrase_env)
    if passphrase is None:
        return 2
    try:
        paths = backup.restore_backup(args.archive, passphrase, args.to)
    except backup.BackupError as error:
        return _fail("restore", f"{args.archive}: {error}; nothing was changed")
    print(f"restored {len(paths)} files into {args.to}: "
          f"{', '.join(str(path) for path in paths)}")
    return 0
