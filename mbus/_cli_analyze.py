"""``mbus analyze``: one frame's layers and records, and how profiles named them."""

from __future__ import annotations

import argparse
import sys

import profiles

from ._analyze import analysis_lines, starting_profile_path, write_starting_profile
from ._cli_decode import parse_hex
from ._errors import MBusError
from ._frames import LongFrame
from ._meter import meter_profiles
from ._telegram import _meter_source, decode

__all__ = ["register_analyze_command"]


def _cmd_analyze(args: argparse.Namespace) -> int:
    try:
        library = meter_profiles(profiles.profiles_option(args))
        telegram = decode(parse_hex(" ".join(args.hex)), profiles=False)
    except (profiles.ProfileError, argparse.ArgumentTypeError, MBusError) as error:
        print(f"mbus analyze: {error}", file=sys.stderr)
        return 2
    frame = telegram.frame
    if not isinstance(frame, LongFrame) or frame.ci not in (0x72, 0x76, 0x7A, 0x78, 0x73, 0x77):
        print("mbus analyze: not a meter's response (a long frame with CI 72, 76, 7A, 78, "
              "73 or 77)", file=sys.stderr)
        return 1
    lines = ["frame: " + " ".join(f"{key}={value}" for key, value in frame.to_dict().items())]
    if telegram.header is not None:
        lines.append("header: " + " ".join(f"{key}={value}" for key, value
                                           in telegram.header.to_dict().items()))
    source = _meter_source(telegram)
    lines += analysis_lines(library, source)
    if args.write_profile is not None:
        write_starting_profile(args.write_profile, source)
        lines.append(f"starting profile written to {args.write_profile}")
    print("\n".join(lines))
    return 0


def register_analyze_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]
                             ) -> None:
    """Add ``analyze`` to the ``mbus`` parser."""
    analyze = commands.add_parser(
        "analyze", help="show a frame's records with their bytes and how profiles named them",
        description="Decode one M-Bus response frame given as hex and show its layers, each "
                    "record with its bytes, which meter profile matched and why, the named "
                    "fields, and the records no field used; --write-profile writes a "
                    "starting profile for the meter.")
    analyze.add_argument("hex", nargs="+", help="hex bytes of one frame")
    analyze.add_argument("--write-profile", type=starting_profile_path, metavar="FILE",
                         help="write a starting meter profile (NAME.toml) for this meter")
    profiles.add_profile_options(analyze)
    analyze.set_defaults(handler=_cmd_analyze)
