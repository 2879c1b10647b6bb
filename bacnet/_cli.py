"""The ``bacnet`` command: ``serve`` publishes a point list as a BACnet/IP device; ``discover``,
``pics`` and ``read`` query devices. Results are JSON on standard output; errors are one
line on standard error (exit 1: a device or file problem, 2: bad usage)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from profiles import PointReading, ProfileError, find_profile

from ._errors import BacnetError, ConfigurationError
from ._points import load_point_list

__all__ = ["main"]

MAX_LINE = 65536  # a reading line longer than this is refused, not buffered


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bacnet", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="publish a point list as a BACnet/IP device",
        description="Publish the points of a point list as Analog Inputs of a BACnet/IP "
                    "device. Readings come as JSON lines on standard input "
                    '({"point": ..., "value": ..., "unit": ..., "time": ..., "quality": [...]}).'
                    " Runs until interrupted.")
    serve.add_argument("--points", required=True, metavar="FILE",
                       help="point-list file, or the name of a shipped one (heat-meter)")
    serve.add_argument("--address", metavar="ADDR/PREFIX[:PORT]",
                       help="this interface's address and prefix, e.g. 192.168.1.10/24:47808 "
                            "(default: the host's first non-loopback interface, port 47808)")
    serve.add_argument("--instance", type=int, metavar="N",
                       help="device instance (default: [device] instance of the point list)")
    serve.add_argument("--name", help="device object name")
    serve.add_argument("--bbmd", action="store_true",
                       help="act as a BBMD (accepts foreign-device registrations)")
    serve.add_argument("--bbmd-peer", action="append", default=[], metavar="ADDR:PORT",
                       help="another BBMD of the broadcast distribution table (repeatable)")
    serve.add_argument("--foreign", metavar="BBMD_ADDR:PORT",
                       help="register as a foreign device with this BBMD")
    serve.add_argument("--foreign-ttl", type=int, default=900, metavar="SECONDS")

    discover = commands.add_parser(
        "discover", help="find devices with Who-Is",
        description="Who-Is scan: a global broadcast, or directed to --address. Prints a "
                    "table (--json: a JSON list) of instance, address, vendor, model, name.")
    discover.add_argument("--range", metavar="LOW-HIGH", help="device instance range")
    discover.add_argument("--address", action="append", default=[], metavar="ADDR[:PORT]",
                          help="ask this address only (repeatable)")
    discover.add_argument("--wait", type=float, default=3.0, metavar="SECONDS",
                          help="how long to collect I-Am answers (default 3)")
    discover.add_argument("--json", action="store_true", help="JSON instead of a table")
    _client_options(discover)

    pics = commands.add_parser(
        "pics", help="detailed scan of one device",
        description="Read the object list and every object's readable properties "
                    "(ReadPropertyMultiple where supported, ReadProperty otherwise); print "
                    "them as JSON and, with --points, write a starting point-list file.")
    pics.add_argument("address", metavar="ADDR[:PORT]")
    pics.add_argument("--instance", type=int, help="device instance (default: ask Who-Is)")
    pics.add_argument("--points", metavar="FILE", help="write a starting point list here")
    pics.add_argument("--no-rpm", action="store_true",
                      help="ReadProperty only, property by property")
    _client_options(pics)

    read = commands.add_parser("read", help="ReadProperty of one property",
                               description="Read one property; prints it as JSON.")
    read.add_argument("address", metavar="ADDR[:PORT]")
    read.add_argument("object", metavar="OBJECT", help="e.g. analog-input,1")
    read.add_argument("property", metavar="PROPERTY", help="e.g. present-value")
    read.add_argument("--index", type=int, help="array index")
    _client_options(read)
    return parser


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--interface", metavar="ADDR/PREFIX[:PORT]",
                        help="this side's address (default: 127.0.0.1/8 with a free port for "
                             "loopback targets, else the first non-loopback interface, port "
                             "47808, where broadcast answers arrive)")
    parser.add_argument("--timeout", type=float, default=1.0, metavar="SECONDS",
                        help="answer timeout per try (default 1)")
    parser.add_argument("--retries", type=int, default=1, help="retries after a timeout")


def main(argv: list[str] | None = None) -> int:
    """Run the ``bacnet`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return asyncio.run(_serve(args, sys.stdin, sys.stdout, sys.stderr))
        return asyncio.run(_client_command(args, sys.stdout))
    except (BacnetError, ProfileError) as error:
        print(f"bacnet {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


async def _serve(args: argparse.Namespace, stdin: TextIO, stdout: TextIO,
                 stderr: TextIO) -> int:
    from ._server import BacnetServer
    from ._stack import default_interface

    points = load_point_list(find_profile(args.points, "bacnet"))
    address = args.address or default_interface()
    server = BacnetServer(points, address=address, instance=args.instance, name=args.name,
                          bbmd=args.bbmd, bbmd_peers=args.bbmd_peer,
                          foreign_bbmd=args.foreign, foreign_ttl=args.foreign_ttl)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    async with server:
        print(json.dumps({"serving": f"device,{server.instance}", "name": server.name,
                          "address": server.interface, "points": len(points.points)}),
              file=stdout, flush=True)
        reader = asyncio.StreamReader(limit=MAX_LINE)
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
        except (ValueError, OSError):
            reader.feed_eof()  # no readable standard input: serve what we have
        feeding = asyncio.ensure_future(_feed(server, reader, stderr))
        await stop.wait()
        feeding.cancel()
    return 0


async def _client_command(args: argparse.Namespace, stdout: TextIO) -> int:
    from ._client import BacnetClient
    from ._stack import default_interface

    targets = [args.address] if isinstance(args.address, str) else list(args.address)
    interface = args.interface
    if interface is None:
        loopback = bool(targets) and all(t.startswith("127.") for t in targets)
        interface = "127.0.0.1/8:0" if loopback else f"{default_interface()}:47808"
    async with BacnetClient(address=interface, apdu_timeout=args.timeout,
                            retries=args.retries) as client:
        if args.command == "read":
            value = await client.read(args.address, args.object, args.property, args.index)
            print(json.dumps({"address": args.address, "object": args.object,
                              "property": args.property, "value": value}), file=stdout)
        elif args.command == "discover":
            low = high = None
            if args.range:
                low, high = _range(args.range)
            devices = await client.discover(low=low, high=high, addresses=targets,
                                            timeout=args.wait)
            if args.json:
                print(json.dumps([d.to_dict() for d in devices]), file=stdout)
            else:
                _table(stdout, [("instance", "address", "vendor", "model", "name")] + [
                    (str(d.instance), d.address, d.vendor, d.model, d.name) for d in devices])
        else:
            pics = await client.pics(args.address, instance=args.instance,
                                     use_rpm=not args.no_rpm)
            if args.points:
                with open(args.points, "w", encoding="utf-8") as file:
                    file.write(pics.point_list().to_toml())
            print(json.dumps(pics.to_dict()), file=stdout)
    return 0


def _range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        bounds = int(low), int(high)
    except ValueError:
        raise ConfigurationError(f"--range {text!r}: give LOW-HIGH, e.g. 1000-1999") from None
    if not 0 <= bounds[0] <= bounds[1] <= 4194303:
        raise ConfigurationError(f"--range {text!r}: need 0 <= LOW <= HIGH <= 4194303")
    return bounds


def _table(stdout: TextIO, rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip(), file=stdout)


async def _feed(server: Any, reader: asyncio.StreamReader, stderr: TextIO) -> None:
    number = 0
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # longer than MAX_LINE
            print(f"bacnet serve: stdin line {number + 1}: longer than {MAX_LINE} bytes",
                  file=stderr, flush=True)
            return
        if not line:
            return
        number += 1
        try:
            server.publish(_reading(line))
        except (ValueError, KeyError, TypeError, BacnetError) as error:
            print(f"bacnet serve: stdin line {number}: {error}", file=stderr, flush=True)


def _reading(line: bytes) -> PointReading:
    """A reading from one JSON line; numbers stay exact (parsed as Decimal)."""
    data = json.loads(line, parse_float=Decimal)
    if not isinstance(data, dict):
        raise ValueError("a reading is a JSON object")
    value = data.get("value")
    if isinstance(value, str):
        with contextlib.suppress(InvalidOperation):
            value = Decimal(value)
    time_text = data.get("time")
    time = (datetime.fromisoformat(time_text) if isinstance(time_text, str)
            else datetime.now(timezone.utc))
    if time.tzinfo is None:
        raise ValueError(f"time {time_text!r} has no timezone")
    quality = data.get("quality", [])
    if not isinstance(quality, list) or not all(isinstance(q, str) for q in quality):
        raise ValueError("quality must be a list of flags")
    return PointReading(point=str(data["point"]), time=time, value=value,
                        unit=str(data.get("unit", "")), quantity=str(data.get("quantity", "")),
                        quality=tuple(quality))
