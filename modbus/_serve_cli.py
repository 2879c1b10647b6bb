"""``modbus serve``: publish JSON readings (a file or stdin) as a Modbus TCP server.

Each input line is one JSON object: a reading as ``modbus read --json`` and ``exporters``
write it (the point is ``metadata.point``), or the short form ``{"point": NAME, "value":
V, "quality": [...]}``. Lines naming no point of the map are counted and skipped; a line
that is not such an object is reported on stderr and skipped. A file is published whole
before the server listens; stdin is read while it serves. The server keeps serving after
the input ends, until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from profiles import PointReading

from ._load import load_map
from ._server import ModbusServer

__all__ = ["reading_from_json", "serve_command"]


def _value(data: Mapping[str, Any]) -> object:
    value = data.get("value")
    kind = data.get("value_type")
    if isinstance(value, str) and kind in ("decimal", None):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        return number if number.is_finite() else value
    if isinstance(value, float) and kind is None:
        return Decimal(repr(value))
    return value


def reading_from_json(data: object, when: datetime) -> PointReading:
    """A reading from one JSON object (see the module text).

    Raises:
        ValueError: not a reading object, or no point name.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"a reading is a JSON object, not {type(data).__name__}")
    metadata = data.get("metadata")
    point = data.get("point")
    if point is None and isinstance(metadata, Mapping):
        point = metadata.get("point")
    if not isinstance(point, str) or not point:
        raise ValueError("no point name (key point, or metadata.point)")
    quality = data.get("quality", data.get("status", []))
    if not isinstance(quality, list) or not all(isinstance(q, str) for q in quality):
        raise ValueError("quality (or status) must be a list of flags")
    value = _value(data)
    if value is not None and not isinstance(value, (Decimal, int, float, str, bool)):
        raise ValueError(f"value must be a number or text, not {type(value).__name__}")
    return PointReading(point=point, time=when, value=value,
                        unit=str(data.get("unit", "")), quantity=str(data.get("quantity", "")),
                        quality=tuple(quality))


def _feed(server: ModbusServer, path: str) -> None:
    if path == "-":
        _feed_lines(server, sys.stdin)
        return
    try:
        with open(path, encoding="utf-8") as stream:
            _feed_lines(server, stream)
    except OSError as exc:
        print(f"modbus serve: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)


def _feed_lines(server: ModbusServer, stream: TextIO) -> None:
    skipped = 0
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            reading = reading_from_json(json.loads(line), datetime.now(timezone.utc))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            print(f"modbus serve: line {number}: {exc}", file=sys.stderr)
            continue
        if not server.update(reading):
            skipped += 1
    if skipped:
        print(f"modbus serve: {skipped} reading(s) named no point of the map", file=sys.stderr)


def serve_command(args: argparse.Namespace) -> int:
    """Run ``modbus serve`` until interrupted."""
    register_map = load_map(args.map)
    server = ModbusServer(register_map, listen=args.listen, serial=args.serial,
                          unit_id=args.unit_id,
                          max_sessions=args.max_sessions, bad_quality=args.bad_quality,
                          stale_after=args.stale_after)

    if args.readings != "-":
        # A file is published whole before the first client can connect.
        _feed(server, args.readings)

    async def run() -> int:
        await server.start()
        where = args.serial if args.serial else f"{args.listen[0]}:{server.port}"
        print(f"modbus serve: {register_map.name} on {where}", file=sys.stderr, flush=True)
        if args.readings == "-":
            threading.Thread(target=_feed, args=(server, "-"), daemon=True,
                             name="modbus-serve-input").start()
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()
        return 0

    return asyncio.run(run())
