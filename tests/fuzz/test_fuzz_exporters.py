"""exporters under hostile input: JSON readings and documents, CSV and XML written and read
back, the spool's recovery of a tampered directory, and the ``exporters csv``/``xml`` CLI."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import exporters
from exporters.__main__ import main as exporters_main

from .harness import check, run_cli
from .mutations import mutated_bytes, mutated_json, mutated_text
from .seeds import documents

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


@functools.cache
def _readings() -> tuple[exporters.Reading, ...]:
    readings: list[exporters.Reading] = []
    for document in documents()[:40]:
        with contextlib.suppress(exporters.ExportError):  # application errors: no records
            readings += exporters.readings_from_document(document, timestamp=NOW)
    return tuple(readings)


def json_seeds() -> list[Any]:
    """Telegram documents and reading objects, as the CLI reads them."""
    readings = [json.loads(json.dumps(reading.to_dict(), default=str))
                for reading in _readings()[:40]]
    return [*documents()[:40], *readings, readings[:3]]


def _utf8_sink() -> io.TextIOWrapper:
    """A text stream as strict about encoding as a UTF-8 file."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")


@st.composite
def json_stream(draw: st.DrawFn) -> bytes:
    values = draw(st.lists(mutated_json(json_seeds()), min_size=1, max_size=4))
    separator = draw(st.sampled_from(["\n", "", " ", "\r\n"]))
    raw = separator.join(values).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 5)) == 0:
        raw = draw(mutated_bytes([raw], max_mutations=2))
    return raw


@given(data=st.data())
def test_json_readings_to_csv_and_xml(data: st.DataObject) -> None:
    raw = data.draw(json_stream())
    profile = data.draw(st.sampled_from(sorted(exporters.CSV_PROFILES)))

    def export() -> None:
        readings = list(exporters.read_json_readings(io.BytesIO(raw), timestamp=NOW))
        exporters.write_csv(readings, _utf8_sink(), profile=profile)
        exporters.write_xml(readings, _utf8_sink(), created=NOW)

    check("exporters JSON readings -> CSV/XML", raw, export, (exporters.ExportError,))


@functools.cache
def _written(kind: str) -> tuple[str, ...]:
    out = []
    for profile in sorted(exporters.CSV_PROFILES) if kind == "csv" else [""]:
        sink = io.StringIO()
        if kind == "csv":
            exporters.write_csv(list(_readings()[:30]), sink, profile=profile)
        else:
            exporters.write_xml(list(_readings()[:30]), sink, created=NOW)
        out.append(sink.getvalue())
    return tuple(out)


@given(data=st.data())
def test_read_csv(data: st.DataObject) -> None:
    raw = data.draw(mutated_text(list(_written("csv")))).encode("utf-8", "surrogatepass")
    if data.draw(st.integers(0, 5)) == 0:
        raw = data.draw(mutated_bytes([raw], max_mutations=2))

    def read() -> None:
        stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline="")
        list(exporters.read_csv(stream))

    check("exporters.read_csv", raw, read, (exporters.ExportError,))


@given(data=st.data())
def test_read_xml(data: st.DataObject) -> None:
    raw = data.draw(mutated_text(list(_written("xml")))).encode("utf-8", "surrogatepass")
    if data.draw(st.integers(0, 5)) == 0:
        raw = data.draw(mutated_bytes([raw], max_mutations=2))
    check("exporters.read_xml", raw, lambda: list(exporters.read_xml(io.BytesIO(raw))),
          (exporters.ExportError,))


class _Transport:
    def __init__(self, ok: bool) -> None:
        self.ok = ok

    def deliver(self, entry: exporters.SpoolEntry) -> None:
        if not self.ok:
            raise exporters.DeliveryError("peer down")

    def already_delivered(self, entry: exporters.SpoolEntry) -> bool:
        return False

    def close(self) -> None:
        pass


@functools.cache
def _retry_seed() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        spool = exporters.Spool(directory, durable=False)
        entry = spool.put("readings.csv", b"meter_id,value\n1,2\n")
        spool.deliver(_Transport(ok=False))
        text = (Path(directory) / "journal" / f"{entry.entry_id}.retry").read_text()
    seed: dict[str, Any] = json.loads(text)
    return seed


@given(data=st.data())
def test_spool_recovers_a_tampered_directory(data: st.DataObject) -> None:
    """A spool opened on a directory with hostile names and journal files delivers or
    reports; no entry is left with a schedule that can never come (NaN, infinity)."""
    retry = data.draw(mutated_json([_retry_seed()]))
    markers = data.draw(st.sets(st.sampled_from(["sending", "done", "retry"])))
    name_mutation = data.draw(mutated_text(["20261124T080000123456Z-0123456789abcdef--x.csv"],
                                           max_mutations=2))
    ok = data.draw(st.booleans())

    def reopen() -> None:
        with tempfile.TemporaryDirectory() as directory:
            spool = exporters.Spool(directory, durable=False, clock=lambda: 1.8e9)
            entry = spool.put("readings.csv", b"meter_id,value\n1,2\n")
            journal = Path(directory) / "journal"
            for kind in markers:
                (journal / f"{entry.entry_id}.{kind}").write_text(
                    retry if kind == "retry" else "", encoding="utf-8", errors="surrogatepass")
            if "/" not in name_mutation and "\x00" not in name_mutation and name_mutation:
                odd = Path(directory) / "outbox" / name_mutation
                with contextlib.suppress(OSError, UnicodeEncodeError):  # a name refused
                    odd.write_bytes(b"x")
            reopened = exporters.Spool(directory, durable=False, clock=lambda: 1.8e9)
            wakeup = reopened.next_wakeup()
            assert wakeup is None or math.isfinite(wakeup), f"next_wakeup() is {wakeup}"
            reopened.deliver(_Transport(ok), now=1.8e9 + 10**7)
            reopened.entries()

    check("exporters.Spool recovery", (retry, sorted(markers), name_mutation), reopen,
          (exporters.ExportError,))


@given(data=st.data())
def test_csv_and_xml_commands(data: st.DataObject) -> None:
    stdin = data.draw(json_stream())
    command = data.draw(st.sampled_from(["csv", "xml"]))
    argv = [command, *data.draw(st.sampled_from([[], ["--timestamp", "2026-11-24T08:00:00Z"],
                                                 ["--strict"]]))]
    if command == "csv":
        argv += data.draw(st.sampled_from([[], ["--profile", "de"], ["--bom"]]))
    check(f"exporters {command} (CLI)", stdin, lambda: run_cli(exporters_main, argv, stdin), ())
