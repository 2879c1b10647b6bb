"""Command line: ``wmbus decode``, ``wmbus listen`` and ``wmbus gateway``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

import mbus
import mbus.records
import profiles
from mbus._parallel import jobs_argument

from ._decoder import Decoder, Telegram
from ._dongles import DONGLES, clean_hex
from ._errors import WMBusError
from ._keys import KeyStore, parse_key
from ._receiver import Event, Receiver, SecurityViolation, TelegramFailed, TelegramReceived

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``wmbus`` command."""
    parser = argparse.ArgumentParser(
        prog="wmbus", description="Wireless M-Bus (EN 13757-4) and OMS telegram decoder.")
    commands = parser.add_subparsers(dest="command", required=True)

    decode = commands.add_parser(
        "decode", help="decode telegrams given as hex",
        description="Decode telegrams given as hex: each argument is one telegram, or a file "
                    "with one telegram a line; no argument or '-' reads standard input. "
                    "Separators _ | # : and spaces are ignored.")
    decode.add_argument("telegrams", nargs="*", metavar="HEX")
    _key_options(decode)
    decode.add_argument("--json", action="store_true", help="print one JSON object a line")
    decode.add_argument("--signatures", metavar="FILE",
                        help="format-signature cache (JSON) to read and update")
    decode.add_argument("--received-date", type=_day, metavar="YYYY-MM-DD",
                        help="the day the telegrams were received (default: today, UTC); "
                             "security mode 3 (DES) makes its IV from the meter's date")
    decode.add_argument("--jobs", type=jobs_argument, default=1, metavar="N",
                        help="decode in N processes (default 1); the output is the serial "
                             "run's, in input order, compact frames included")
    _already_decrypted_option(decode)
    profiles.add_profile_options(decode)

    analyze = commands.add_parser(
        "analyze", help="show a telegram's layers and records and how profiles named them",
        description="Decode one telegram given as hex and show its layers, each record with "
                    "its bytes, which meter profile matched and why, the named fields, and "
                    "the records no field used; --write-profile writes a starting profile "
                    "for the meter.")
    analyze.add_argument("telegram", metavar="HEX")
    _key_options(analyze)
    analyze.add_argument("--write-profile", type=mbus.records.starting_profile_path,
                         metavar="FILE",
                         help="write a starting meter profile (NAME.toml) for this meter")
    _already_decrypted_option(analyze)
    profiles.add_profile_options(analyze)

    listen = commands.add_parser(
        "listen", help="decode telegrams from a receiver",
        description="Read a receiver dongle or program and print decoded telegrams.")
    listen.add_argument("--url", required=True,
                        help="serial device or pyserial URL (socket://, rfc2217://, loop://),"
                             " '-' for standard input, file:PATH for a capture")
    listen.add_argument("--dongle", required=True, choices=sorted(DONGLES))
    listen.add_argument("--baud", type=int, help="serial speed (default: the dongle's)")
    listen.add_argument("--keys", metavar="FILE", help="key file (.csv, .json, .toml)")
    listen.add_argument("--json", action="store_true", help="print one JSON object a line")
    listen.add_argument("--duplicate-window", type=float, default=30.0, metavar="SECONDS")
    listen.add_argument("--count", type=int, help="stop after this many telegrams")
    _already_decrypted_option(listen)
    _state_option(listen)

    gateway = commands.add_parser(
        "gateway", help="answer a wired M-Bus master with the radio meters' latest data",
        description="Receive radio telegrams and present each meter as a wired M-Bus slave "
                    "(primary addresses 1-63 per virtual segment) on a bus port.")
    gateway.add_argument("--url", required=True, help="the radio receiver (as for listen)")
    gateway.add_argument("--dongle", required=True, choices=sorted(DONGLES))
    gateway.add_argument("--baud", type=int, help="radio serial speed (default: the dongle's)")
    gateway.add_argument("--bus", required=True, metavar="URL",
                         help="wired M-Bus port or pyserial URL the master talks to (8E1)")
    gateway.add_argument("--bus-baud", type=int, default=2400)
    gateway.add_argument("--segment", type=int, default=0,
                         help="virtual segment answered on this port (63 meters each)")
    gateway.add_argument("--keys", metavar="FILE", help="key file (.csv, .json, .toml)")
    _already_decrypted_option(gateway)
    _state_option(gateway)
    return parser


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _already_decrypted_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--already-decrypted", action="store_true",
        help="the input was decrypted earlier (a wmbusmeters log, a decrypting dongle): "
             "payloads in clear under security bits decode, marked decrypted_by input and "
             "not verified, instead of being refused when a key is known")


def _state_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state", metavar="FILE",
        help="receiver state (mode 7 message counters, authentication failures per meter) "
             "read at start and written when it changes, so replays are refused across "
             "restarts")


def _key_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--key", metavar="HEX",
                       help="AES-128 key (or 8-byte DES key) for every telegram")
    group.add_argument("--keys", metavar="FILE", help="key file (.csv, .json, .toml)")


def _inputs(items: list[str], stdin: TextIO) -> Iterator[str]:
    if not items:
        items = ["-"]
    for item in items:
        if item == "-":
            yield from (line for line in stdin if line.strip())
        elif os.path.isfile(item):
            with open(item, encoding="utf-8") as handle:
                yield from (line for line in handle if line.strip()
                            and not line.lstrip().startswith("//"))
        else:
            yield item


def _summary(telegram: Telegram) -> str:
    link = telegram.link
    security = telegram.security
    lines = [f"{telegram.manufacturer or '???'} {telegram.id or '????????'} "
             f"{link.medium_name or ''} (frame {link.format}, {link.function}, "
             f"CI 0x{telegram.ci:02x}, mode {security.mode}"
             + (f", decrypted by {security.decrypted_by}" if security.decrypted_by else "")
             + (", verified" if security.verified else ", not verified")
             + (f", MAC {'ok' if security.mac_ok else 'bad'}" if security.mac_ok is not None
                else "") + ")"]
    if link.trailing:
        lines.append(f"  trailing bytes after the frame: {link.trailing.hex()}")
    if telegram.meter is not None:
        lines.extend(f"  {line}" for line in telegram.meter.text_lines())
        lines.append("  records:")
    for record in telegram.records:
        where = []
        if record.storage:
            where.append(f"storage {record.storage}")
        if record.tariff:
            where.append(f"tariff {record.tariff}")
        if record.subunit:
            where.append(f"subunit {record.subunit}")
        extra = f" [{', '.join(where)}]" if where else ""
        function = "" if record.function == "instantaneous" else f" ({record.function})"
        value = record.to_dict()["value"]
        lines.append(f"  {record.quantity}{function}{extra}: {value} {record.unit}".rstrip())
    if telegram.record_error:
        lines.append(f"  records cut short: {telegram.record_error}")
    return "\n".join(lines)


def _print_json(document: dict[str, Any], out: TextIO) -> None:
    out.write(json.dumps(document) + "\n")


def _decode(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from ._compact import SignatureCache
    from ._parallel import decode_rendered, render_json, render_text

    key = parse_key(args.key) if args.key else None
    keys = KeyStore.load(args.keys) if args.keys else KeyStore()
    signatures = SignatureCache.load(args.signatures) if args.signatures and os.path.exists(
        args.signatures) else SignatureCache()
    received = args.received_date or dt.datetime.now(dt.timezone.utc).date()
    failures = 0
    for printed, error, failed in decode_rendered(
            _inputs(args.telegrams, stdin), render_json if args.json else render_text,
            jobs=args.jobs, keys=keys, key=key, signatures=signatures,
            already_decrypted=args.already_decrypted, received=received,
            profiles=profiles.profiles_option(args)):
        out.write(printed)
        err.write(error)
        failures += failed
    if args.signatures:
        signatures.save(args.signatures)
    return 1 if failures else 0


def _analyze(args: argparse.Namespace, out: TextIO) -> int:
    from ._decoder import _meter_source

    library = mbus.records.meter_profiles(profiles.profiles_option(args))
    key = parse_key(args.key) if args.key else None
    keys = KeyStore.load(args.keys) if args.keys else None
    decoder = Decoder(keys, already_decrypted=args.already_decrypted, profiles=False)
    try:
        telegram = decoder.decode(clean_hex(args.telegram), key)
    except ValueError as exc:
        raise WMBusError(str(exc)) from None
    document = telegram.to_dict()
    lines = [f"{layer}: " + " ".join(f"{name}={value}" for name, value in document[layer].items())
             for layer in ("link", "ell", "afl", "tpl", "security", "header")
             if isinstance(document.get(layer), dict)]
    lines.insert(1, f"ci: 0x{telegram.ci:02x}")
    source = _meter_source(telegram)
    lines += mbus.records.analysis_lines(library, source)
    if args.write_profile is not None:
        mbus.records.write_starting_profile(args.write_profile, source)
        lines.append(f"starting profile written to {args.write_profile}")
    out.write("\n".join(lines) + "\n")
    return 0


def _listen(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._serial import DEFAULT_BAUD, iter_events, open_stream

    keys = KeyStore.load(args.keys) if args.keys else None
    codec = DONGLES[args.dongle]()
    receiver = Receiver(Decoder(keys, already_decrypted=args.already_decrypted), codec=codec,
                        duplicate_window=args.duplicate_window)
    keep_state = _state_keeper(receiver, args.state)
    stream = open_stream(args.url, baud=args.baud or DEFAULT_BAUD.get(args.dongle, 9600))
    received = 0
    try:
        for event in iter_events(receiver, stream):
            keep_state(event)
            if isinstance(event, TelegramReceived):
                received += 1
                if args.json:
                    _print_json(event.to_dict(), out)
                else:
                    out.write(_summary(event.telegram) + "\n")
            elif isinstance(event, (TelegramFailed, SecurityViolation)):
                if args.json:
                    _print_json(event.to_dict(), out)
                else:
                    err.write(f"wmbus: {event.meter or 'frame'}: {event.error}\n")
            out.flush()
            if args.count is not None and received >= args.count:
                break
    except KeyboardInterrupt:
        pass
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return 0


def _state_keeper(receiver: Receiver, path: str | None) -> Callable[[Event], None]:
    """Load the receiver's state from ``path``; the callback saves it when an event changed it."""
    if path is None:
        return lambda event: None
    if os.path.exists(path):
        receiver.load_state(path)

    def keep(event: Event) -> None:
        counted = isinstance(event, TelegramReceived) and event.telegram.security.mac_ok
        if counted or isinstance(event, SecurityViolation):
            receiver.save_state(path)

    return keep


def _gateway(args: argparse.Namespace) -> int:
    from ._gateway import WirelessGateway
    from ._serial import DEFAULT_BAUD, open_stream, run_gateway

    keys = KeyStore.load(args.keys) if args.keys else None
    receiver = Receiver(Decoder(keys, already_decrypted=args.already_decrypted),
                        codec=DONGLES[args.dongle]())
    keep_state = _state_keeper(receiver, args.state)
    radio = open_stream(args.url, baud=args.baud or DEFAULT_BAUD.get(args.dongle, 9600))
    bus = open_stream(args.bus, baud=args.bus_baud, timeout=0.05, even_parity=True)
    try:
        run_gateway(WirelessGateway(), receiver, radio, bus, segment=args.segment,
                    on_event=keep_state)
    except KeyboardInterrupt:
        pass
    finally:
        bus.close()
        if radio is not sys.stdin.buffer:
            radio.close()
    return 0


def main(argv: Iterable[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None, stdin: TextIO | None = None) -> int:
    """Run the ``wmbus`` command; returns the exit status."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        if args.command == "decode":
            return _decode(args, out, err, stdin or sys.stdin)
        if args.command == "analyze":
            return _analyze(args, out)
        if args.command == "gateway":
            return _gateway(args)
        return _listen(args, out, err)
    except (WMBusError, OSError, profiles.ProfileError, argparse.ArgumentTypeError) as exc:
        err.write(f"wmbus: {exc}\n")
        return 2
