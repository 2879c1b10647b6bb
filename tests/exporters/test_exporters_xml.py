"""XML export (issue 6, "XML: ..."): schema shipped as XSD, every output validated with lxml,
streaming writer, round-trip reader, alarm notifications in the same schema."""

from __future__ import annotations

import contextlib
import enum
import io
import json
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from exporters import (
    XML_NAMESPACE,
    AlarmRecord,
    ExportError,
    Reading,
    SchemaValidationError,
    XmlFormatError,
    XmlWriter,
    read_xml,
    validate_xml,
    write_xml,
    xml_schema,
)

from .strategies_formats import XML_TEXT_CHARS, readings, same_exactly

UTC = timezone.utc
T0 = datetime(2026, 11, 24, 8, 15, tzinfo=UTC)
NS = {"m": XML_NAMESPACE}
SCHEMA = etree.XMLSchema(etree.fromstring(xml_schema()))


def make(**changes: Any) -> Reading:
    values: dict[str, Any] = {
        "meter_id": "12345678",
        "quantity": "energy",
        "value": Decimal("1234.5"),
        "unit": "Wh",
        "timestamp": T0,
    }
    values.update(changes)
    return Reading(**values)


def check(text: str) -> etree._Element:
    """Parse with lxml and validate against the shipped XSD: every output goes through here."""
    root = etree.fromstring(text.encode("utf-8"))
    assert SCHEMA.validate(root), SCHEMA.error_log
    return root


def render(items: list[Reading], alarms: Sequence[object] = (), **options: Any) -> str:
    out = io.StringIO()
    write_xml(items, out, alarms=alarms, **options)
    text = out.getvalue()
    check(text)
    return text


def read_back(text: str) -> list[Reading | AlarmRecord]:
    return list(read_xml(io.BytesIO(text.encode("utf-8"))))


def test_the_xsd_is_shipped_in_the_package() -> None:
    path = Path(__file__).resolve().parents[2] / "exporters" / "readings.xsd"
    assert path.read_bytes() == xml_schema()
    assert etree.fromstring(xml_schema()).get("targetNamespace") == XML_NAMESPACE


def test_document_shape() -> None:
    text = render([make(meter_name="Flat 3", status=("power_low",), metadata={"medium": "heat"})],
                  created=T0)  # fmt: skip
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = check(text)
    assert root.tag == f"{{{XML_NAMESPACE}}}export"
    assert root.get("version") == "1"
    assert root.get("created") == "2026-11-24T08:15:00Z"
    [reading] = root.findall("m:reading", NS)
    assert {str(k): str(v) for k, v in reading.attrib.items()} == {
        "meter_id": "12345678",
        "meter_name": "Flat 3",
        "quantity": "energy",
        "unit": "Wh",
        "timestamp": "2026-11-24T08:15:00Z",
        "storage": "0",
        "tariff": "0",
        "subunit": "0",
        "function": "instantaneous",
        "status": "power_low",
    }
    assert reading.findtext("m:decimal", namespaces=NS) == "1234.5"
    assert reading.find("m:meta", NS).get("key") == "medium"  # type: ignore[union-attr]
    assert reading.findtext("m:meta", namespaces=NS) == "heat"


@pytest.mark.parametrize(
    ("value", "tag", "text"),
    [
        (Decimal("1E+3"), "decimal", "1000"),
        (Decimal("0.0010"), "decimal", "0.0010"),
        (-12, "integer", "-12"),
        (2.5e-7, "float", "2.5e-07"),
        (1e16, "float", "1e+16"),
        ("a < b & c", "string", "a < b & c"),
    ],
)
def test_value_elements(value: object, tag: str, text: str) -> None:
    root = check(render([make(value=value)]))
    element = root.find("m:reading", NS)[0]  # type: ignore[index]
    assert element.tag == f"{{{XML_NAMESPACE}}}{tag}"
    assert element.text == text


def test_special_characters_survive() -> None:
    item = make(meter_name='a "b" <c> & d\te\nf\rg', value=" x\r\ny ", metadata={"k": "\r\n\t"})
    text = render([item])
    assert read_back(text) == [item]
    root = check(text)
    assert root[0].get("meter_name") == item.meter_name  # lxml agrees, not just our reader


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\x0c", "\ufffe"])
def test_characters_xml_cannot_carry_are_refused(bad: str) -> None:
    out = io.StringIO()
    with XmlWriter(out) as writer:
        with pytest.raises(XmlFormatError) as info:
            writer.write(make(meter_name="esc" + bad))
        assert info.value.field == "meter_name"
        with pytest.raises(XmlFormatError):
            writer.write(make(value="x" + bad))
    check(out.getvalue())  # nothing half-written


def test_timestamps_are_utc() -> None:
    cet = timezone(timedelta(hours=1))
    root = check(render([make(timestamp=datetime(2026, 1, 1, 0, 30, tzinfo=cet))]))
    assert root[0].get("timestamp") == "2025-12-31T23:30:00Z"


def test_empty_document_is_valid() -> None:
    assert read_back(render([])) == []


def test_writer_closes_the_document_when_an_error_ends_the_block() -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), XmlWriter(out) as writer:
        writer.write(make())
        raise RuntimeError("source failed")
    assert len(read_back(out.getvalue())) == 1
    check(out.getvalue())
    with pytest.raises(XmlFormatError, match="closed"):
        writer.write(make())


@given(st.lists(readings(XML_TEXT_CHARS), max_size=6))
@settings(max_examples=150, deadline=None)
def test_round_trip_and_every_output_is_valid(items: list[Reading]) -> None:
    text = render(items)
    back = read_back(text)
    assert len(back) == len(items)
    assert all(
        isinstance(b, Reading) and same_exactly(a, b) for a, b in zip(items, back, strict=True)
    )


# --- alarms -------------------------------------------------------------------------------


class Severity(enum.Enum):
    MAJOR = "major"


@dataclass(frozen=True)
class DataclassAlarm:
    alarm_id: str
    severity: Severity
    time: datetime
    value: Decimal
    correlated: tuple[int, ...] = ()
    threshold: dict[str, Any] = field(default_factory=dict)


class ToDictAlarm:
    def to_dict(self) -> dict[str, Any]:
        return {"notification_id": 17, "event": "cleared", "acknowledged": True, "text": None}


class SlotsAlarm:
    __slots__ = ("point", "ratio")

    def __init__(self) -> None:
        self.point = "T1"
        self.ratio = 0.5


def test_alarms_from_any_source_share_the_schema() -> None:
    alarms: list[object] = [
        {"alarm_id": "T1-high", "time": T0, "value": Decimal("81.5"), "severity": "major"},
        DataclassAlarm(alarm_id="T1", severity=Severity.MAJOR, time=T0, value=Decimal("3"),
                       correlated=(1, 2), threshold={"limit": Decimal("80"), "hysteresis": 2}),
        ToDictAlarm(),
        SlotsAlarm(),
    ]  # fmt: skip
    text = render([make()], alarms)
    back = read_back(text)
    assert back[0] == make()
    records = back[1:]
    assert all(isinstance(r, AlarmRecord) for r in records)
    fields = [dict(r.fields) for r in records]  # type: ignore[union-attr]
    assert fields[0] == {"alarm_id": "T1-high", "time": T0, "value": Decimal("81.5"),
                         "severity": "major"}  # fmt: skip
    assert fields[1] == {
        "alarm_id": "T1",
        "severity": "major",
        "time": T0,
        "value": Decimal("3"),
        "correlated": [1, 2],
        "threshold": {"limit": "80", "hysteresis": 2},
    }
    assert fields[2] == {"notification_id": 17, "event": "cleared", "acknowledged": True,
                         "text": None}  # fmt: skip
    assert fields[3] == {"point": "T1", "ratio": 0.5}
    root = check(text)
    types = [f.get("type") for f in root.findall("m:alarm/m:field", NS)]
    assert types[:4] == ["string", "datetime", "decimal", "string"]
    assert "json" in types and "boolean" in types and "null" in types
    # AlarmRecord.to_dict is JSON-ready.
    record = records[1]
    assert isinstance(record, AlarmRecord)
    assert json.loads(json.dumps(record.to_dict()))["time"] == "2026-11-24T08:15:00Z"


alarm_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(XML_TEXT_CHARS, max_size=10),
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    st.lists(st.integers(), max_size=3),
)


@given(st.dictionaries(st.text(XML_TEXT_CHARS, min_size=1, max_size=8), alarm_values, max_size=6))
@settings(max_examples=150, deadline=None)
def test_alarm_round_trip(alarm: dict[str, Any]) -> None:
    text = render([], [alarm])
    [record] = read_back(text)
    assert isinstance(record, AlarmRecord)
    assert dict(record.fields) == alarm
    assert list(record.fields) == list(alarm)


@pytest.mark.parametrize(
    "alarm",
    [
        {"time": datetime(2026, 1, 1)},  # naive
        {"": 1},
        {1: "x"},
        {"value": Decimal("NaN")},
        {"bad": "\x00"},
    ],
)
def test_bad_alarms_are_refused(alarm: dict[Any, Any]) -> None:
    with pytest.raises(XmlFormatError):
        render([], [alarm])


# --- reader -------------------------------------------------------------------------------

HEAD = f'<export xmlns="{XML_NAMESPACE}" version="1">'
GOOD = (
    '<reading meter_id="1" quantity="q" unit="u" timestamp="2026-11-24T08:15:00Z">'
    "<integer>5</integer></reading>"
)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "<export/>",
        f'<export xmlns="{XML_NAMESPACE}" version="2"></export>',
        HEAD + "<foo/></export>",
        HEAD + GOOD.replace("<integer>5</integer>", "") + "</export>",
        HEAD + GOOD.replace("5", "5.5") + "</export>",
        HEAD + GOOD.replace("</integer>", "</integer><integer>6</integer>") + "</export>",
        HEAD + GOOD.replace("Z", "") + "</export>",
        HEAD + GOOD.replace('unit="u" ', "") + "</export>",
        HEAD + GOOD.replace('unit="u"', 'unit="u" colour="red"') + "</export>",
        HEAD + GOOD.replace('unit="u"', 'unit="u" storage="-1"') + "</export>",
        HEAD + GOOD.replace("</integer>", '</integer><meta key="a">1</meta><meta key="a">2</meta>')
        + "</export>",
        HEAD + GOOD,  # truncated
        HEAD + "text</export>",
        HEAD + '<alarm><field name="x" type="integer">x</field></alarm></export>',
        HEAD + '<alarm><field name="x" type="complex">1</field></alarm></export>',
        '<!DOCTYPE export [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        + HEAD
        + GOOD.replace('meter_id="1"', 'meter_id="&b;"')
        + "</export>",
    ],
)
def test_reader_refuses_bad_documents_with_its_own_error(text: str) -> None:
    with pytest.raises(XmlFormatError):
        read_back(text)


def test_reader_reads_text_streams_and_long_documents() -> None:
    items = [make(meter_id=str(n), value=n) for n in range(3000)]  # > one 64 KiB chunk
    text = render(items)
    assert len(text) > 3 * 65536
    assert list(read_xml(io.StringIO(text))) == items


def test_reader_accepts_hand_written_documents_with_defaults() -> None:
    [r] = read_back(HEAD + GOOD + "</export>")
    assert r == Reading(meter_id="1", quantity="q", value=5, unit="u", timestamp=T0)


# --- validate_xml ---------------------------------------------------------------------------


def test_validate_accepts_writer_output(tmp_path: Path) -> None:
    path = tmp_path / "ok.xml"
    with path.open("w", encoding="utf-8") as stream:
        write_xml([make(), make(value="x")], stream, alarms=[{"a": 1}])
    validate_xml(path)
    with path.open("rb") as stream:
        validate_xml(stream)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (GOOD.replace('unit="u"', 'unit="u" storage="-1"'), "storage"),
        (GOOD.replace("Z", ""), "timestamp"),
        (GOOD.replace("</integer>", "</integer><integer>6</integer>"), "integer"),
        (GOOD.replace("</integer>", '</integer><meta key="a"/><meta key="a"/>'), "meta"),
        (GOOD.replace("<integer>5</integer>", "<float>INF</float>"), "float"),
        ('<alarm><field name="x" type="integer">1</field><field name="x" type="null"/></alarm>',
         "field"),
    ],
)  # fmt: skip
def test_validate_reports_schema_violations_with_lines(
    tmp_path: Path, body: str, needle: str
) -> None:
    path = tmp_path / "bad.xml"
    path.write_text('<?xml version="1.0"?>\n' + HEAD + "\n" + body + "\n</export>\n")
    with pytest.raises(SchemaValidationError) as info:
        validate_xml(path)
    assert info.value.errors
    assert info.value.line == 3
    assert needle in info.value.errors[0]
    assert isinstance(info.value, ExportError)


def test_validate_reports_malformed_xml(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_text(HEAD + GOOD)
    with pytest.raises(SchemaValidationError):
        validate_xml(path)


def test_validate_missing_file_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError):
        validate_xml(tmp_path / "missing.xml")


# --- streaming memory -----------------------------------------------------------------------


class _Sink(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def _generated(count: int) -> Iterator[Reading]:
    for number in range(count):
        yield make(meter_id=f"{number % 5000:08d}", value=Decimal(number) / 100,
                   timestamp=T0 + timedelta(minutes=number))  # fmt: skip


def _peak(count: int) -> int:
    tracemalloc.start()
    try:
        with XmlWriter(_Sink()) as writer:
            writer.write_many(_generated(count))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_memory_does_not_grow_with_the_reading_count() -> None:
    small, large = _peak(2_000), _peak(20_000)
    # The escape cache is bounded; the writer keeps no reading.
    assert large < small + 256 * 1024


def test_validate_refuses_entity_expansion_bombs(tmp_path: Path) -> None:
    entities = '<!ENTITY a0 "aaaaaaaaaa">' + "".join(
        f'<!ENTITY a{i} "' + f"&a{i - 1};" * 10 + '">' for i in range(1, 10)
    )
    path = tmp_path / "laughs.xml"
    path.write_text(
        f"<?xml version='1.0'?><!DOCTYPE export [{entities}]>"
        + HEAD
        + GOOD.replace('meter_id="1"', 'meter_id="&a9;"')
        + "</export>"
    )
    with pytest.raises(SchemaValidationError):
        validate_xml(path)
    with pytest.raises(XmlFormatError, match="document type"):
        read_back(path.read_text())


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_arbitrary_bytes_read_or_raise_only_xml_format_error(data: bytes) -> None:
    with contextlib.suppress(XmlFormatError):
        list(read_xml(io.BytesIO(data)))


_SAMPLE = (
    HEAD
    + GOOD.replace("</integer>", '</integer><meta key="k">v</meta>')
    + '<alarm><field name="n" type="integer">1</field></alarm></export>'
)


@given(
    st.integers(min_value=0, max_value=len(_SAMPLE)),
    st.integers(min_value=0, max_value=8),
    st.text(st.sampled_from('<>/="x1-Z:& '), max_size=6),
)
@settings(max_examples=200, deadline=None)
def test_mutated_documents_read_or_raise_only_xml_format_error(
    at: int, cut: int, insert: str
) -> None:
    text = _SAMPLE[:at] + insert + _SAMPLE[at + cut :]
    try:
        items = list(read_xml(io.BytesIO(text.encode())))
    except XmlFormatError:
        return
    # Whatever the reader accepted is also valid by the schema or at least writable again.
    out = io.StringIO()
    with XmlWriter(out) as writer:
        for item in items:
            if isinstance(item, Reading):
                writer.write(item)
            else:
                writer.write_alarm(item.fields)
    check(out.getvalue())


def test_notifications_of_the_alarms_package_fit_the_schema() -> None:
    """Objects from another source (here meterkit's own alarm engine) need only to_dict()."""
    import alarms  # a package of this repository: its absence is a failure, not a skip

    engine = alarms.Engine([alarms.LimitRule(point="tank", kind="upper", limit=80,
                                             hysteresis=2)])  # fmt: skip
    raised = engine.feed("tank", 81.0, now=10.0)
    notifications = [*raised, *engine.feed("tank", 70.0, now=20.0)]
    assert len(notifications) == 2
    text = render([], notifications)
    records = read_back(text)
    assert [dict(r.fields) for r in records] == [  # type: ignore[union-attr]
        n.to_dict() for n in notifications
    ]
