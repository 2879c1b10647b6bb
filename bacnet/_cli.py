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
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from profiles import PointReading, ProfileError

from ._errors import BacnetError
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
    serve.add_argument("--points", required=True, metavar="FILE", help="point-list file")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``bacnet`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return asyncio.run(_serve(args, sys.stdin, sys.stdout, sys.stderr))
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

    points = load_point_list(args.points)
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
