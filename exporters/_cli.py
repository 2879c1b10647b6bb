"""The ``exporters`` command line: ``csv``, ``xml``, ``validate`` and the delivery commands.

``exporters csv`` and ``exporters xml`` read telegram documents (``mbus decode --json``,
``wmbus decode --json``) or readings (``Reading.to_dict()`` objects) as JSON values on
stdin, one per line or pretty-printed one after another, and write the export to stdout or
to ``-o FILE``. A run is all or nothing: bad input writes nothing (see
``exporters._cli_input`` for that, the time rule and error objects). Exit status: 0 done,
1 bad input or invalid file, 2 bad usage.

Every subcommand stores its handler with ``parser.set_defaults(func=handler)``; a handler
takes the parsed ``argparse.Namespace`` and returns the exit status. The delivery
subcommands (``send``, ``upload``, ``mqtt``) come from ``exporters._transport_cli.register``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from datetime import datetime, timezone

from . import _transport_cli
from ._cli_input import (
    PROG,
    add_input_options,
    atomic_binary_output,
    atomic_output,
    stdin_readings,
)
from ._csv import CSV_PROFILES, CsvWriter
from ._errors import ExportError, SchemaValidationError
from ._parquet import ParquetFormatError, ParquetWriter
from ._xml import XmlWriter, validate_xml

__all__ = ["build_parser", "main"]

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``exporters`` command (with the delivery subcommands)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Export metering readings: CSV, XML (with XSD), delivery.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")

    csv_parser = subparsers.add_parser(
        "csv",
        help="JSON documents/readings on stdin -> CSV",
        description="Read telegram documents or readings as JSON on stdin and write CSV "
        "(header row, UTC ISO 8601 timestamps, RFC 4180).",
    )
    csv_parser.add_argument(
        "--profile",
        choices=sorted(CSV_PROFILES),
        default="default",
        help="'de': ';' separator and decimal comma (default: ',' and '.')",
    )
    csv_parser.add_argument(
        "--no-formula-guard",
        dest="formula_guard",
        action="store_false",
        help="do not prefix text starting with = + - @ with an apostrophe",
    )
    csv_parser.add_argument(
        "--bom", action="store_true", help="start the file with a UTF-8 byte order mark (Excel)"
    )
    add_input_options(csv_parser)
    csv_parser.set_defaults(func=_run_csv)

    xml_parser = subparsers.add_parser(
        "xml",
        help="JSON documents/readings on stdin -> XML",
        description="Read telegram documents or readings as JSON on stdin and write an XML "
        "export document (schema: exporters/readings.xsd).",
    )
    add_input_options(xml_parser)
    xml_parser.set_defaults(func=_run_xml)

    parquet_parser = subparsers.add_parser(
        "parquet",
        help="JSON documents/readings on stdin -> Parquet",
        description="Read telegram documents or readings as JSON on stdin and write Parquet "
        "(the CSV columns plus value_text, manufacturer, medium, profile; value as "
        "decimal128(38, 9)); streamed in row groups. Needs pyarrow (meterkit[data]).",
    )
    parquet_parser.add_argument(
        "--row-group-size",
        type=int,
        default=65536,
        metavar="N",
        help="readings per row group, the most held in memory (default 65536)",
    )
    add_input_options(parquet_parser)
    parquet_parser.set_defaults(func=_run_parquet)

    validate_parser = subparsers.add_parser(
        "validate",
        help="check XML files against the shipped XSD",
        description="Check export documents against the shipped XSD (needs lxml).",
    )
    validate_parser.add_argument("files", nargs="+", metavar="FILE.xml")
    validate_parser.set_defaults(func=_run_validate)

    _transport_cli.register(subparsers)
    return parser


def _run_csv(args: argparse.Namespace) -> int:
    readings = stdin_readings(args, "csv")
    with atomic_output(args.output) as stream:
        if args.bom:
            stream.write("\ufeff")
        writer = CsvWriter(stream, profile=args.profile, formula_guard=args.formula_guard)
        count = writer.write_many(readings)
        writer.close()
    if args.output:
        print(f"{PROG} csv: wrote {count} readings to {args.output}", file=sys.stderr)
    return 0


def _run_xml(args: argparse.Namespace) -> int:
    readings = stdin_readings(args, "xml")
    with atomic_output(args.output) as stream:
        writer = XmlWriter(stream, created=datetime.now(timezone.utc).replace(microsecond=0))
        count = writer.write_many(readings)
        writer.close()
    if args.output:
        print(f"{PROG} xml: wrote {count} readings to {args.output}", file=sys.stderr)
    return 0


def _run_parquet(args: argparse.Namespace) -> int:
    if args.row_group_size < 1:
        raise ParquetFormatError("must be at least 1", field="--row-group-size")
    readings = stdin_readings(args, "parquet")
    with atomic_binary_output(args.output) as stream, ParquetWriter(
        stream, row_group_size=args.row_group_size
    ) as writer:
        count = writer.write_many(readings)
    if args.output:
        print(f"{PROG} parquet: wrote {count} readings to {args.output}", file=sys.stderr)
    return 0


def _run_validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            validate_xml(path)
        except SchemaValidationError as exc:
            status = 1
            for error in exc.errors:
                print(f"{path}:{error}", file=sys.stderr)
            print(f"{path}: invalid", file=sys.stderr)
            continue
        except ExportError as exc:
            status = 1
            print(f"{path}: {exc}", file=sys.stderr)
            continue
        print(f"{path}: valid")
    return status


def main(argv: list[str] | None = None) -> int:
    """Run the ``exporters`` command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return func(args)
    except ExportError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (e.g. piped into head): stop quietly.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        # A file that cannot be created or read: one line, not a traceback.
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 1
