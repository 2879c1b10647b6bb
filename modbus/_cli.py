"""The ``modbus`` command line: ``read``, ``maps``, ``scan``, ``probe``, ``serve``.

Exit status: 0 on success, 1 when the device fails (no answer, exception responses) or
cannot be reached, 2 for usage errors (bad URL, bad map).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeAlias

from ._errors import MapError, ModbusError, UrlError
from ._jsonl import reading_to_json
from ._load import load_map, shipped_maps
from ._map import TABLES
from ._plan import ReadRequest

__all__ = ["build_parser", "main"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
SIGPIPE_STATUS = 141
USAGE = 2


def _quiet_pymodbus() -> None:
    # pymodbus logs every timeout and refused connection; the commands report those
    # themselves, in one line.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


def _unit_range(text: str) -> range:
    first, _, last = text.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not N or N-M") from None
    if not 0 <= low <= high <= 255:
        raise argparse.ArgumentTypeError(f"{text!r}: unit ids are 0..255")
    return range(low, high + 1)


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="tcp://HOST:PORT, rtu:///dev/ttyUSB0?baudrate=9600&parity=E "
                                    "or a pyserial URL (socket://HOST:PORT: RTU over TCP)")
    parser.add_argument("--timeout", type=float, default=1.0, metavar="SECONDS",
                        help="wait this long for each answer (default 1)")
    parser.add_argument("--retries", type=int, default=1,
                        help="send a request without answer again this often (default 1)")


def _read(args: argparse.Namespace) -> int:
    from ._client import ModbusClient

    register_map = load_map(args.map)
    client = ModbusClient(args.url, timeout=args.timeout, retries=args.retries)
    unit = register_map.unit_id if args.unit_id is None else args.unit_id

    async def run() -> int:
        try:
            result = await client.read_map(register_map, unit_id=unit)
        finally:
            client.close()
        meter_id = args.meter_id or f"{client.url}/{unit}"
        if result.status.state == "unreachable":
            print(f"modbus read: {meter_id}: unreachable: {result.status.message}",
                  file=sys.stderr)
            return 1
        if args.json:
            for reading in result.readings:
                document = reading_to_json(reading, meter_id=meter_id, map=register_map.name)
                sys.stdout.write(json.dumps(document) + "\n")
        else:
            width = max((len(r.point) for r in result.readings), default=0)
            for reading in result.readings:
                value = "-" if reading.value is None else str(reading.value)
                flags = f"  [{', '.join(reading.quality)}]" if reading.quality else ""
                unit_text = f" {reading.unit}" if reading.unit else ""
                sys.stdout.write(f"{reading.point:<{width}}  {value}{unit_text}{flags}\n")
        if result.status.state != "ok":
            print(f"modbus read: {meter_id}: {result.status.state}: {result.status.message}",
                  file=sys.stderr)
            return 1
        return 0

    return asyncio.run(run())


def _maps(args: argparse.Namespace) -> int:
    for name in shipped_maps():
        sys.stdout.write(name + "\n")
    return 0


def _scan(args: argparse.Namespace) -> int:
    from ._client import ModbusClient

    client = ModbusClient(args.url, timeout=args.timeout, retries=0)
    probe = ReadRequest(args.table, args.address, 1, ())

    async def run() -> int:
        found = []
        try:
            await client.connect()
            for unit in args.units:
                if await client.answers(unit, probe):
                    found.append(unit)
                    sys.stdout.write(f"{unit}\n")
                    sys.stdout.flush()
        finally:
            client.close()
        print(f"modbus scan: {len(found)} of {len(args.units)} unit ids answered",
              file=sys.stderr)
        return 0

    return asyncio.run(run())


def _probe(args: argparse.Namespace) -> int:
    from ._client import ModbusClient
    from ._probe import interpretations

    client = ModbusClient(args.url, timeout=args.timeout, retries=args.retries)
    request = ReadRequest(args.table, args.address, args.count, ())

    async def run() -> int:
        try:
            await client.connect()
            registers = await client.read(request, args.unit_id)
        finally:
            client.close()
        for candidate in interpretations([int(r) for r in registers], args.address):
            if args.json:
                sys.stdout.write(json.dumps(candidate.to_dict()) + "\n")
            else:
                layout = f"{candidate.word_order}/{candidate.byte_order}"
                sys.stdout.write(f"{args.table} {candidate.address:5d}  {candidate.type:<8} "
                                 f"{layout:<13} {candidate.value!r}\n")
        return 0

    return asyncio.run(run())


def _listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``modbus`` command."""
    parser = argparse.ArgumentParser(prog="modbus", description="Modbus TCP/RTU for metering.")
    commands = parser.add_subparsers(dest="command", required=True)

    read = commands.add_parser("read", help="read a device by its register map")
    _connection_options(read)
    read.add_argument("--map", required=True, metavar="NAME|FILE",
                      help="a shipped map's name (see `modbus maps`) or a map file")
    read.add_argument("--unit-id", type=int, choices=range(256), metavar="N",
                      help="the device's unit id (default: the map's, usually 1)")
    read.add_argument("--meter-id", metavar="ID",
                      help="the meter_id of the JSON readings (default: URL/UNIT)")
    read.add_argument("--json", action="store_true",
                      help="one JSON reading per line, as `exporters csv/xml/mqtt` read them")
    read.set_defaults(handler=_read)

    maps = commands.add_parser("maps", help="list the shipped register maps")
    maps.set_defaults(handler=_maps)

    scan = commands.add_parser("scan", help="list the unit ids that answer")
    _connection_options(scan)
    scan.set_defaults(timeout=0.3)
    scan.add_argument("--units", type=_unit_range, default=range(1, 248), metavar="N-M",
                      help="unit ids to try (default 1-247)")
    scan.add_argument("--table", choices=TABLES, default="holding",
                      help="the table of the register read (default holding)")
    scan.add_argument("--address", type=int, default=0,
                      help="the address read (default 0); any answer, an exception "
                           "response too, counts as present")
    scan.set_defaults(handler=_scan)

    probe = commands.add_parser(
        "probe", help="show what a run of registers could mean (undocumented devices)")
    _connection_options(probe)
    probe.add_argument("--unit-id", type=int, choices=range(256), default=1, metavar="N")
    probe.add_argument("--table", choices=("input", "holding"), default="holding")
    probe.add_argument("--address", type=int, required=True)
    probe.add_argument("--count", type=int, default=10, choices=range(1, 126), metavar="N",
                       help="registers to read (1-125, default 10)")
    probe.add_argument("--json", action="store_true", help="one JSON object per candidate")
    probe.set_defaults(handler=_probe)

    serve = commands.add_parser("serve", help="publish readings as a Modbus TCP server")
    serve.add_argument("--map", required=True, metavar="NAME|FILE",
                       help="the register map to publish")
    serve.add_argument("--listen", type=_listen_address, default=("127.0.0.1", 502),
                       metavar="HOST:PORT", help="where to listen (default 127.0.0.1:502)")
    serve.add_argument("--serial", metavar="URL",
                       help="serve Modbus RTU on a serial line instead of TCP: "
                            "rtu:///dev/ttyS0?baudrate=9600&parity=E")
    serve.add_argument("--max-sessions", type=int, default=8, metavar="N",
                       help="parallel TCP sessions; more are refused (default 8)")
    serve.add_argument("--unit-id", type=int, choices=range(256), metavar="N",
                       help="answer this unit id only (default: any)")
    serve.add_argument("--stale-after", type=float, default=None, metavar="SECONDS",
                       help="a point not updated for this long is stale")
    serve.add_argument("--bad-quality", choices=("exception", "no_value", "last_value"),
                       default="exception",
                       help="what a point of bad quality answers (default: exception 11)")
    serve.add_argument("--readings", metavar="FILE", default="-",
                       help="JSON readings, one per line (exporters' reading objects with "
                            "metadata.point, or {point, value, quality}); - for stdin")
    serve.set_defaults(handler=_serve)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from ._serve_cli import serve_command

    return serve_command(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``modbus`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_pymodbus()
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        status = handler(args)
        sys.stdout.flush()
    except (MapError, UrlError) as exc:
        print(f"modbus {args.command}: {exc}", file=sys.stderr)
        return USAGE
    except ModbusError as exc:
        print(f"modbus {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return SIGPIPE_STATUS
    return status

