"""CSV and XML writing speed (readings/s) beside plain stdlib baselines, plus peak memory.

Run: ``python -m benchmarks exporters_formats``. Same readings, same run, same sink (a text
stream that discards what it gets, so only the writers are measured). Ratios are our time
divided by the baseline's time (the issue's target: at most 1.5). Peak memory is measured
with tracemalloc while streaming generated readings, at two sizes, to show that it does not
grow with the count.

Baselines, written the plain way one would without this package:

- ``csv.writer``: one row of the same thirteen fields per reading (``str(value)``,
  ``isoformat()`` timestamp, joined status, JSON metadata).
- ``xml.etree`` incremental: one ``Element`` per reading with the same attributes, value and
  meta children, serialised with ``ElementTree.tostring`` and written one after another.
- ``XMLGenerator`` (``xml.sax.saxutils``): start/characters/end events per reading.

JSON input (``read_json_readings``, what ``exporters csv`` reads): seconds per MB of
telegram documents laid out one per line, all on one line, and pretty-printed, at 1 MB and
4 MB, so that a cost growing faster than the input shows as a growing s/MB. Baseline: plain
``json.loads(line, parse_float=Decimal)`` per line (no limits, no readings built).
"""

from __future__ import annotations

import csv
import io
import json
import time
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from exporters import CsvWriter, Reading, XmlWriter, iter_json_values, read_json_readings

COUNT = 50_000
REPEATS = 3
NAMESPACE = "urn:meterkit:exporters:1"
T0 = datetime(2026, 11, 24, 0, 0, tzinfo=timezone.utc)


class Sink(io.TextIOBase):
    """A text stream that counts characters and forgets them."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def generate(count: int) -> Iterator[Reading]:
    """Readings shaped like a logger's: telegrams of 10 records sharing one timestamp."""
    quantities = (
        ("energy", "Wh"),
        ("volume", "m3"),
        ("power", "W"),
        ("flow_temperature", "degC"),
        ("return_temperature", "degC"),
    )
    stamp = T0
    for number in range(count):
        if number % 10 == 0:
            stamp = T0 + timedelta(minutes=number // 10)
        quantity, unit = quantities[number % 5]
        kind = number % 3
        value: Decimal | int | float = (
            Decimal(number) / 1000 if kind == 0 else number if kind == 1 else number * 0.25
        )
        yield Reading(
            meter_id=f"{number // 10 % 1000:08d}",
            quantity=quantity,
            value=value,
            unit=unit,
            timestamp=stamp,
            storage=number % 2,
            metadata={"medium": "heat"} if number % 4 == 0 else {},
        )


def ours_csv(readings: list[Reading], sink: Sink) -> None:
    CsvWriter(sink).write_many(readings)


def baseline_csv(readings: list[Reading], sink: Sink) -> None:
    writer = csv.writer(sink, lineterminator="\r\n")
    writer.writerow(("meter_id", "meter_name", "quantity", "value", "value_type", "unit",
                     "timestamp", "storage", "tariff", "subunit", "function", "status",
                     "metadata"))  # fmt: skip
    for r in readings:
        writer.writerow(
            (
                r.meter_id,
                r.meter_name or "",
                r.quantity,
                str(r.value),
                type(r.value).__name__,
                r.unit,
                r.timestamp.isoformat(),
                r.storage,
                r.tariff,
                r.subunit,
                r.function,
                " ".join(r.status),
                json.dumps(dict(r.metadata)) if r.metadata else "",
            )
        )


def ours_xml(readings: list[Reading], sink: Sink) -> None:
    with XmlWriter(sink) as writer:
        writer.write_many(readings)


NO_ATTRIBUTES: AttributesImpl[str] = AttributesImpl({})
_VALUE_TAGS = {Decimal: "decimal", int: "integer", float: "float", str: "string"}


def baseline_etree(readings: list[Reading], sink: Sink) -> None:
    sink.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    sink.write(f'<export xmlns="{NAMESPACE}" version="1">\n')
    for r in readings:
        attrs = {
            "meter_id": r.meter_id,
            "quantity": r.quantity,
            "unit": r.unit,
            "timestamp": r.timestamp.isoformat(),
            "storage": str(r.storage),
            "tariff": str(r.tariff),
            "subunit": str(r.subunit),
            "function": r.function,
        }
        element = ET.Element("reading", attrs)
        ET.SubElement(element, _VALUE_TAGS[type(r.value)]).text = str(r.value)
        for key, item in r.metadata.items():
            ET.SubElement(element, "meta", {"key": key}).text = item
        sink.write(ET.tostring(element, encoding="unicode"))
        sink.write("\n")
    sink.write("</export>\n")


def baseline_saxgen(readings: list[Reading], sink: Sink) -> None:
    out = XMLGenerator(sink, encoding="utf-8")
    out.startDocument()
    out.startElement("export", AttributesImpl({"xmlns": NAMESPACE, "version": "1"}))
    for r in readings:
        out.startElement(
            "reading",
            AttributesImpl({
                "meter_id": r.meter_id,
                "quantity": r.quantity,
                "unit": r.unit,
                "timestamp": r.timestamp.isoformat(),
                "storage": str(r.storage),
                "tariff": str(r.tariff),
                "subunit": str(r.subunit),
                "function": r.function,
            }),
        )
        tag = _VALUE_TAGS[type(r.value)]
        out.startElement(tag, NO_ATTRIBUTES)
        out.characters(str(r.value))
        out.endElement(tag)
        for key, item in r.metadata.items():
            out.startElement("meta", AttributesImpl({"key": key}))
            out.characters(item)
            out.endElement("meta")
        out.endElement("reading")
    out.endElement("export")
    out.endDocument()


Writer = Callable[[list[Reading], Sink], None]


def best_time(writer: Writer, readings: list[Reading]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        sink = Sink()
        start = time.perf_counter()
        writer(readings, sink)
        best = min(best, time.perf_counter() - start)
    return best


Streamer = Callable[[Sink], Callable[[Iterator[Reading]], object]]


def peak_kib(make_writer: Streamer, count: int) -> float:
    tracemalloc.start()
    try:
        make_writer(Sink())(generate(count))
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def _csv_streamer(sink: Sink) -> Callable[[Iterator[Reading]], object]:
    return CsvWriter(sink).write_many


def _xml_streamer(sink: Sink) -> Callable[[Iterator[Reading]], object]:
    return XmlWriter(sink).write_many


DOCUMENT = {
    "header": {"id": "12345678", "manufacturer": "KAM", "version": 8, "medium": "heat",
               "access_number": 5, "status": 0, "signature": 0},
    "records": [
        {"function": "instantaneous", "storage": storage, "tariff": 0, "subunit": 0,
         "quantity": quantity, "unit": unit, "value": value, "dif": "04", "vif": "06",
         "data": "e7910000", "coding": "int32"}
        for storage in (0, 1)
        for quantity, unit, value in (("energy", "Wh", 37351000), ("volume", "m3", 561.08),
                                      ("power", "W", 1234))
    ],
    "timestamp": "2026-11-24T08:15:00Z",
}  # fmt: skip


def json_input(megabytes: int, layout: str) -> str:
    one = json.dumps(DOCUMENT, indent=2 if layout == "pretty" else None)
    count = megabytes * 1_000_000 // len(one) + 1
    return (" " if layout == "one line" else "\n").join([one] * count) + "\n"


def seconds_per_mb(text: str, parse: Callable[[str], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        parse(text)
        best = min(best, time.perf_counter() - start)
    return best / (len(text.encode()) / 1e6)


def ours_json(text: str) -> object:
    return sum(1 for _ in read_json_readings(io.StringIO(text)))


def baseline_json_lines(text: str) -> object:
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line]


def json_report() -> None:
    print("JSON documents in (read_json_readings), best of 3, seconds per MB:")
    for layout in ("one per line", "one line", "pretty"):
        figures = [seconds_per_mb(json_input(size, layout), ours_json) for size in (1, 4)]
        print(f"  {layout:<14} 1 MB: {figures[0]:.3f} s/MB   4 MB: {figures[1]:.3f} s/MB")
    text = json_input(4, "one per line")
    loader = seconds_per_mb(text, lambda t: sum(1 for _ in iter_json_values(io.StringIO(t))))
    plain = seconds_per_mb(text, baseline_json_lines)
    print(f"  the loader alone (iter_json_values, limits, no readings), 4 MB: {loader:.3f} s/MB")
    print(f"  baseline json.loads per line (no limits, no readings), 4 MB: {plain:.3f} s/MB")


def main() -> None:
    json_report()
    readings = list(generate(COUNT))
    print(f"{COUNT} readings, best of {REPEATS} runs, written to a discarding text sink")
    rows = [
        ("CSV   exporters.CsvWriter", ours_csv, None),
        ("CSV   baseline csv.writer", baseline_csv, "CSV   exporters.CsvWriter"),
        ("XML   exporters.XmlWriter", ours_xml, None),
        ("XML   baseline xml.etree incremental", baseline_etree, "XML   exporters.XmlWriter"),
        ("XML   baseline sax XMLGenerator", baseline_saxgen, "XML   exporters.XmlWriter"),
    ]
    times: dict[str, float] = {}
    for name, writer, _ in rows:
        times[name] = best_time(writer, readings)
    for name, _, ours in rows:
        rate = COUNT / times[name]
        line = f"  {name:<40} {rate:>12,.0f} readings/s"
        if ours is not None:
            ratio = times[ours] / times[name]
            line += f"   exporters time / baseline time = {ratio:.2f}"
        print(line)
    for label, streamer in (("CSV", _csv_streamer), ("XML", _xml_streamer)):
        small = peak_kib(streamer, 10_000)
        large = peak_kib(streamer, 100_000)
        print(
            f"  {label} streaming peak memory (tracemalloc): {small:,.0f} KiB for 10,000 "
            f"readings, {large:,.0f} KiB for 100,000"
        )


if __name__ == "__main__":
    main()
