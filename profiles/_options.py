"""The command-line options that choose meter profiles, shared by ``mbus`` and ``wmbus``."""

from __future__ import annotations

import argparse

from ._engine import MeterProfiles, load_meter_profiles

__all__ = ["add_profile_options", "profiles_option"]


def add_profile_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--profiles DIR`` (repeatable) and ``--no-profiles`` to a decoding command."""
    parser.add_argument("--profiles", action="append", default=[], metavar="DIR",
                        help="also use the meter profiles (*.toml) in DIR, or the profile "
                             "file DIR; a profile named like a shipped one replaces it "
                             "(repeatable; meterkit's shipped profiles are always on)")
    parser.add_argument("--no-profiles", action="store_true",
                        help="no meter profiles: no 'meter' part in the output")


def profiles_option(args: argparse.Namespace) -> MeterProfiles | bool:
    """What ``profiles=`` should be for parsed options: False, True (shipped profiles), or the
    shipped profiles with the user's. Raises :class:`ProfileError` for a profile that does
    not load."""
    if args.no_profiles:
        if args.profiles:
            raise argparse.ArgumentTypeError("--profiles and --no-profiles exclude each other")
        return False
    if not args.profiles:
        return True
    return load_meter_profiles(*args.profiles)
