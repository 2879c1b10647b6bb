"""Bus commands of the ``mbus`` command line: read, scan, set-address, reset, simulate, bridge.

Added to the ``mbus`` parser by :func:`register_bus_commands`. Exit status: 0 on success,
1 with one line on stderr when the bus fails (timeout, collision, no meter) or
the port cannot be used, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from typing import Any, TypeAlias

from ._cli_decode import print_table
from ._errors import MBusError
from ._master_errors import AddressError, BusError
from ._requests import SecondaryAddress

__all__ = ["register_bus_commands"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _fail(command: str, error: BaseException) -> int:
    print(f"mbus {command}: {error}", file=sys.stderr)
    return 1


def _bus_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True,
                        help="pyserial URL: /dev/ttyUSB0, socket://host:port, rfc2217://...")
    parser.add_argument("--baud", type=int, default=2400, help="baud rate (default 2400)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="answer window, replacing the one computed from the baud rate")
    parser.add_argument("--retries", type=int, default=2,
                        help="repeats of a request whose answer was garbled (default 2)")


def _meter_options(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--address", type=int, metavar="N", help="primary address 0-250")
    which.add_argument("--secondary", metavar="ADDR",
                       help="secondary address, 16 hex digits (ID, manufacturer, version, "
                            "medium as libmbus prints it)")


def _meter(args: argparse.Namespace) -> int | SecondaryAddress:
    if args.secondary is not None:
        return SecondaryAddress.parse(args.secondary)
    if not 0 <= args.address <= 250:
        raise AddressError(f"{args.address} is not a primary address 0-250", field="address")
    return int(args.address)


def _open(args: argparse.Namespace, on_progress: Callable[[Any], None] | None = None) -> Any:
    from .transports import open_bus

    return open_bus(args.url, baud=args.baud, timeout=args.timeout, retries=args.retries,
                    on_progress=on_progress)


class _ProgressLine:
    """Progress on stderr: one rewritten line on a terminal, a few lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.count = 0

    def __call__(self, event: Any) -> None:
        probes = getattr(event, "probes", None)
        if probes is None:
            return
        self.count += 1
        text = f"probes {probes}, found {getattr(event, 'found', 0)}"
        if hasattr(event, "mask"):
            text += f", mask {event.mask}"
        if self.tty:
            sys.stderr.write("\r" + text.ljust(70))
            sys.stderr.flush()
        elif self.count % 50 == 0:
            print(text, file=sys.stderr)

    def end(self) -> None:
        if self.tty and self.count:
            sys.stderr.write("\n")


def _cmd_read(args: argparse.Namespace) -> int:
    try:
        meter = _meter(args)
        bus = _open(args)
        try:
            reading = bus.read(meter, max_telegrams=args.max_telegrams)
        finally:
            bus.close()
    except MBusError as error:
        return _fail("read", error)
    if args.json:
        sys.stdout.write(json.dumps(reading.to_dict()) + "\n")
    else:
        print_table(reading.telegram, sys.stdout)
        if len(reading.telegrams) > 1:
            print(f"({len(reading.telegrams)} telegrams merged)")
    return 0


def _cmd_scan(args: argparse.Namespace) -> int:
    progress = _ProgressLine()
    try:
        bus = _open(args, progress)
        try:
            if args.secondary:
                result = bus.scan_secondary(recheck_silence=args.recheck_silence)
                found: list[Any] = list(result.meters)
                unresolved = list(result.unresolved)
            else:
                found = list(bus.scan_primary(args.addresses))
                unresolved = []
        finally:
            bus.close()
            progress.end()
    except MBusError as error:
        return _fail("scan", error)
    for meter in found:
        if args.json:
            sys.stdout.write(json.dumps(meter.to_dict()) + "\n")
        elif args.secondary:
            data = meter.to_dict()
            print(f"secondary {data['secondary']}  {data['manufacturer']} v{data['version']} "
                  f"{data['medium']}  primary {data['primary']}")
        else:
            print(f"primary {meter.primary}" + ("  (answers collide)" if meter.collision else ""))
    if unresolved:
        first = unresolved[0]
        return _fail("scan", BusError(
            f"{len(found)} meter(s) found, but {len(unresolved)} selection(s) could not be "
            f"resolved, e.g. {first.mask}: {first.reason}"))
    if not found:
        return _fail("scan", BusError(
            f"no meter found ({bus.master.requests_sent} requests)"))
    print(f"{len(found)} meter(s) found in {bus.master.requests_sent} requests", file=sys.stderr)
    return 0


def _cmd_set_address(args: argparse.Namespace) -> int:
    try:
        if args.auto:
            bus = _open(args, _ProgressLine())
            try:
                result = bus.scan_secondary()
                # Meters at 0 (factory default) or sharing an address get a free one.
                counts: dict[int, int] = {}
                for found in result.meters:
                    counts[found.primary] = counts.get(found.primary, 0) + 1
                todo = [m.address for m in result.meters
                        if m.primary == 0 or counts[m.primary] > 1]
                free = [a for a in range(1, 251) if a not in counts]
                assignments = bus.assign_addresses(todo, free) if todo else ()
            finally:
                bus.close()
            failed = [a for a in assignments if a.error is not None]
            for assignment in assignments:
                sys.stdout.write(json.dumps(assignment.to_dict()) + "\n")
            if failed:
                return _fail("set-address", failed[0].error)
            return 0
        if args.new_address is None or (args.address is None and args.secondary is None):
            raise AddressError("give --address N or --secondary ADDR, and --new-address N "
                               "(or --auto)", field="arguments")
        meter = _meter(args)
        bus = _open(args)
        try:
            bus.set_primary_address(meter, args.new_address)
        finally:
            bus.close()
    except MBusError as error:
        return _fail("set-address", error)
    print(f"{meter} now has primary address {args.new_address}", file=sys.stderr)
    return 0


def _cmd_reset(args: argparse.Namespace) -> int:
    try:
        meter = _meter(args)
        bus = _open(args)
        try:
            bus.reset(meter, args.subcode)
        finally:
            bus.close()
    except MBusError as error:
        return _fail("reset", error)
    print(f"{meter}: application reset acknowledged", file=sys.stderr)
    return 0


def _address_range(text: str) -> range:
    first, sep, last = text.partition("-")
    try:
        low, high = int(first), int(last if sep else first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not A-B") from None
    if not 0 <= low <= high <= 250:
        raise argparse.ArgumentTypeError(f"{text!r}: addresses are 0-250, A <= B")
    return range(low, high + 1)


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


async def _serve_until_signal(server: Any, start: Callable[[], Any], banner: str) -> None:
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    port = await start()
    print(banner.format(port=port), file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()


def _cmd_simulate(args: argparse.Namespace) -> int:
    import asyncio  # here: decode and the serial commands do without it

    from .sim import Segment, SimulatorServer, load_meters, random_meters

    host, port = args.listen
    try:
        if args.meters_file:
            slaves = load_meters(args.meters_file)
        else:
            slaves = random_meters(args.meters, seed=args.seed, clustered=args.clustered,
                                   max_pages=args.max_pages, baud=args.baud)
    except MBusError as error:
        return _fail("simulate", error)
    server = SimulatorServer(Segment(slaves, baud=args.baud,
                                     drop_parity_errors=args.drop_parity_errors))
    try:
        asyncio.run(_serve_until_signal(
            server, lambda: server.start(host, port),
            f"mbus simulate: {len(slaves)} meters on {host}:{{port}} "
            f"(socket://{host}:{{port}})"))
    except OSError as error:
        return _fail("simulate", error)
    return 0


def _cmd_bridge(args: argparse.Namespace) -> int:
    import asyncio

    from .transports import Bridge

    host, port = args.listen
    bridge = Bridge(args.serial, baud=args.baud, idle_timeout=args.idle_timeout)
    try:
        asyncio.run(_serve_until_signal(
            bridge, lambda: bridge.start(host, port),
            f"mbus bridge: {args.serial} on {host}:{{port}}"))
    except (MBusError, OSError) as error:
        return _fail("bridge", error)
    return 0


def register_bus_commands(commands: Subparsers) -> None:
    """Add read, scan, set-address, reset, simulate and bridge to the ``mbus`` parser."""
    read = commands.add_parser("read", help="read a meter (all telegrams, merged)",
                               description="Multi-telegram read of one meter.")
    _bus_options(read)
    _meter_options(read)
    read.add_argument("--json", action="store_true", help="print the merged telegram as JSON")
    read.add_argument("--max-telegrams", type=int, default=16,
                      help="bound on follow-up telegrams (default 16)")
    read.set_defaults(handler=_cmd_read)

    scan = commands.add_parser("scan", help="find meters by primary or secondary address",
                               description="Scan primary addresses 0-250, or search all "
                                           "secondary addresses with --secondary.")
    _bus_options(scan)
    scan.add_argument("--secondary", action="store_true", help="secondary search")
    scan.add_argument("--json", action="store_true", help="one JSON object per meter")
    scan.add_argument("--recheck-silence", action="store_true",
                      help="secondary search: repeat unanswered selections (noisy buses)")
    scan.add_argument("--addresses", type=_address_range, default=range(251), metavar="A-B",
                      help="primary addresses to probe (default 0-250)")
    scan.set_defaults(handler=_cmd_scan)

    setter = commands.add_parser("set-address", help="write a meter's primary address",
                                 description="Write a primary address (VIF 0x7A), or with "
                                             "--auto give every meter a free one.")
    _bus_options(setter)
    which = setter.add_mutually_exclusive_group()
    which.add_argument("--address", type=int, metavar="N", help="current primary address")
    which.add_argument("--secondary", metavar="ADDR", help="secondary address (16 hex digits)")
    which.add_argument("--auto", action="store_true",
                       help="search all meters; those at address 0 or sharing one get "
                            "free addresses, verified by reading back")
    setter.add_argument("--new-address", type=int, metavar="N", help="new primary address")
    setter.set_defaults(handler=_cmd_set_address)

    reset = commands.add_parser("reset", help="application reset (CI 0x50)")
    _bus_options(reset)
    _meter_options(reset)
    reset.add_argument("--subcode", type=lambda text: int(text, 0), default=None,
                       help="reset subcode byte (e.g. 0x10)")
    reset.set_defaults(handler=_cmd_reset)

    simulate = commands.add_parser("simulate", help="serve a simulated segment over TCP",
                                   description="A segment of simulated meters on TCP "
                                               "(collisions as the bitwise AND of answers).")
    simulate.add_argument("--listen", type=_host_port, required=True, metavar="HOST:PORT")
    simulate.add_argument("--meters", type=int, default=10, help="number of meters (default 10)")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    simulate.add_argument("--meters-file", metavar="F.json", help="meters from a JSON file")
    simulate.add_argument("--drop-parity-errors", action="store_true",
                          help="drop characters whose parity a collision broke")
    simulate.add_argument("--clustered", action="store_true",
                          help="IDs clustered on shared prefixes")
    simulate.add_argument("--max-pages", type=int, default=1,
                          help="telegrams per readout, up to (default 1)")
    simulate.add_argument("--baud", type=int, default=2400, help="the segment's baud rate")
    simulate.set_defaults(handler=_cmd_simulate)

    bridge = commands.add_parser("bridge", help="share a serial M-Bus port over TCP",
                                 description="M-Bus over IP: one TCP client at a time.")
    bridge.add_argument("--serial", required=True, metavar="URL", help="serial port URL")
    bridge.add_argument("--listen", type=_host_port, required=True, metavar="HOST:PORT")
    bridge.add_argument("--baud", type=int, default=2400, help="baud rate (default 2400)")
    bridge.add_argument("--idle-timeout", type=float, default=300.0, metavar="SECONDS",
                        help="disconnect a silent client after this long (default 300)")
    bridge.set_defaults(handler=_cmd_bridge)
