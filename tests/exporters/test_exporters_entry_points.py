"""Every entry point of the formats half keeps its contract under hostile input (issue 10,
section 2): arbitrary and mutated input gives results or the package's own errors, never
another exception. Known bad inputs found by an outside fuzzing campaign are pinned with
``@example``. (Linear cost is shown structurally in test_exporters_json_limits.py.)
"""

from __future__ import annotations

import base64
import contextlib
import io
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from exporters import (
    CsvWriter,
    CyclicSchedule,
    CyclicTimer,
    ExportError,
    Reading,
    XmlWriter,
    ha_discovery_messages,
    load_certificate,
    load_private_key,
    mqtt_messages,
    read_csv,
    read_json_readings,
    read_xml,
    readings_from_json,
    render_topic,
    validate_xml,
)
from exporters._cli import main

from .strategies_formats import (
    hostile_readings,
    hostile_scalars,
    hostile_text,
    hostile_timestamps,
    readings,
)

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
# The example count comes from the loaded profile (default 100; the fuzz profile of
# tests/conftest.py runs FUZZ_EXAMPLES), so a long campaign runs these same tests.
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

GOOD_DOCUMENT = (
    '{"header": {"id": "12345678", "manufacturer": "KAM", "status": 4}, "records": ['
    '{"quantity": "energy", "unit": "Wh", "value": 1234.5, "storage": 0, "dif": "04"}, '
    '{"quantity": "datetime", "unit": "", "value": "2026-11-24T09:15:00", "storage": 0}]}'
)
GOOD_READING = (
    '{"meter_id": "7", "quantity": "volume", "value": "0.5", "value_type": "decimal", '
    '"unit": "m3", "timestamp": "2026-11-24T08:00:00Z", "metadata": {"k": "v"}}'
)
SEED_JSON = GOOD_DOCUMENT + "\n" + GOOD_READING + "\n"
# Pieces a mutation splices in: structure, escapes, limits, encodings.
SPLICES = [
    "[", "{", "]", "}", '"', ",", ":", "\\", "\\ud800", "\\udfff", "9" * 4301, "1e999999",
    "NaN", "-Infinity", "[" * 990, "\n", "\x00", "\xff", "é", "9999-12-31T23:59:59-14:00",
    '"error": "x"', '"records": 5', '"header": []', '"timestamp": 1', '"value": {}',
]  # fmt: skip


class Duck:
    """A ReadingLike object with whatever attributes it was given."""

    def __init__(self, attributes: dict[str, Any]) -> None:
        self.__dict__.update(attributes)


def mutate(seed: str, data: st.DataObject, splices: list[str] = SPLICES) -> str:
    text = seed
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 6))
        splice = data.draw(st.sampled_from(splices) | st.text(max_size=3))
        text = text[:at] + splice + text[at + cut :]
    return text


# --- JSON documents and readings -----------------------------------------------------------


@given(st.binary(max_size=400))
@example(b'{"header": {"id": "1", "medium": ' + b"[" * 990 + b"]" * 990 + b'}, "records": []}')
@example(b'{"header": {"id": "1"}, "records": [{"quantity": "q", "value": ' + b"9" * 4301 + b"}]}")
@example(b'{"meter_id": "\\ud800", "quantity": "q", "value": 1, "unit": ""}')
@example(b"\xff\xfe{}")
@example(b'{"line": 1, "error": "bad"}')
@FUZZ
def test_json_streams_of_bytes(data: bytes) -> None:
    with contextlib.suppress(ExportError):
        list(read_json_readings(io.BytesIO(data), timestamp=T0))


@given(st.data())
@FUZZ
def test_mutated_json_documents_and_readings(data: st.DataObject) -> None:
    text = mutate(SEED_JSON, data)
    with contextlib.suppress(ExportError):
        list(read_json_readings(io.StringIO(text), timestamp=T0))
    with contextlib.suppress(ExportError):
        list(read_json_readings(io.BytesIO(text.encode("utf-8", "surrogatepass"))))


json_like = st.recursive(
    hostile_scalars | st.booleans(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "header",
                    "records",
                    "id",
                    "value",
                    "quantity",
                    "status",
                    "storage",
                    "meter_id",
                    "unit",
                    "timestamp",
                    "flags",
                    "error",
                    "metadata",
                    "value_type",
                    "mantissa",
                    "exponent",
                    "function",
                ]
            )
            | hostile_text,
            inner,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@given(json_like)
@FUZZ
def test_python_values_given_to_readings_from_json(value: Any) -> None:
    with contextlib.suppress(ExportError):
        readings_from_json(value, timestamp=T0)


@given(st.dictionaries(st.sampled_from([*sorted(Reading.__dataclass_fields__), "value_type"]),
                       json_like, max_size=13))  # fmt: skip
@FUZZ
def test_reading_from_dict(data: dict[str, Any]) -> None:
    with contextlib.suppress(ExportError):
        Reading.from_dict(data)


# --- writers -------------------------------------------------------------------------------


@given(hostile_readings())
@example({"meter_id": "1", "quantity": "q", "value": 1, "unit": "\ud800", "timestamp": T0,
          "meter_name": None, "storage": 0, "tariff": 0, "subunit": 0,
          "function": "instantaneous", "status": (), "metadata": {}})  # fmt: skip
@example({"meter_id": "1", "quantity": "q", "value": 1, "unit": "",
          "timestamp": datetime(9999, 12, 31, 23, 59, 59,
                                tzinfo=timezone(-(T0 - T0.replace(hour=22)))),
          "meter_name": None, "storage": 0, "tariff": 0, "subunit": 0,
          "function": "instantaneous", "status": (), "metadata": {}})  # fmt: skip
@FUZZ
def test_writers_given_any_reading_like_object(attributes: dict[str, Any]) -> None:
    duck = Duck(attributes)
    for profile in ("default", "de"):
        out = io.StringIO(newline="")
        writer = CsvWriter(out, profile=profile)
        header = out.getvalue()
        try:
            writer.write(duck)  # type: ignore[arg-type]
        except ExportError:
            assert out.getvalue() == header  # nothing of a refused row was written
        out.getvalue().encode("utf-8")  # what was written can be stored as UTF-8
    out = io.StringIO()
    with XmlWriter(out) as xml, contextlib.suppress(ExportError):
        xml.write(duck)  # type: ignore[arg-type]
    out.getvalue().encode("utf-8")


@given(st.dictionaries(hostile_text, json_like, max_size=4) | hostile_scalars)
@FUZZ
def test_xml_alarm_writer_given_anything(alarm: Any) -> None:
    out = io.StringIO()
    with XmlWriter(out) as xml, contextlib.suppress(ExportError):
        xml.write_alarm(alarm)
    out.getvalue().encode("utf-8")


@given(readings(), st.text(max_size=20), hostile_readings())
@FUZZ
def test_mqtt_message_building(good: Reading, template: str, attributes: dict[str, Any]) -> None:
    with contextlib.suppress(ExportError):
        render_topic(template, good)
    with contextlib.suppress(ExportError):
        mqtt_messages([Duck(attributes)])  # type: ignore[list-item]
    with contextlib.suppress(ExportError):
        ha_discovery_messages([Duck(attributes)])  # type: ignore[list-item]
    with contextlib.suppress(ExportError):
        mqtt_messages([good], topic=template)
    mqtt_messages([good])
    ha_discovery_messages([good])


@given(
    st.integers(-(10**20), 10**20) | hostile_scalars,
    st.text(max_size=20) | hostile_text,
    st.lists(hostile_timestamps | hostile_scalars, min_size=2, max_size=2),
    st.integers(-5, 10**9) | hostile_scalars,
    st.text(max_size=10),
)
@example(15, "{meter}", [datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc)] * 2, 96, "m")
@example(15, "{meter}", [T0, datetime(9999, 12, 1, tzinfo=timezone.utc)], 10**9, "m")
@example(15, "{meter}", [T0, T0], "x", "m")
@FUZZ
def test_cyclic_schedule_and_timer_given_anything(
    minutes: Any, template: Any, times: list[Any], catch_up: Any, meter: str
) -> None:
    try:
        schedule = CyclicSchedule(minutes=minutes, template=template)
    except ExportError:
        schedule = CyclicSchedule(minutes=15)
    with contextlib.suppress(ExportError):
        schedule.file_name(schedule.period_at(times[0]), meter=meter)
    with contextlib.suppress(ExportError):
        timer = CyclicTimer(schedule, now=times[0], max_catch_up=catch_up)
        assert len(timer.poll(times[1])) <= catch_up


@given(
    st.binary(max_size=200)
    | st.binary(max_size=120).map(
        lambda body: (
            b"-----BEGIN CERTIFICATE-----\n"
            + base64.encodebytes(body)
            + b"-----END CERTIFICATE-----\n"
        )
    ),
    st.none() | st.binary(max_size=8),
)
@example(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", None)
@FUZZ
def test_smime_loaders_given_any_bytes(data: bytes, password: bytes | None) -> None:
    with contextlib.suppress(ExportError):
        load_certificate(data)
    with contextlib.suppress(ExportError):
        load_private_key(data, password=password)


# --- readers -------------------------------------------------------------------------------

CSV_SEED = (
    "meter_id;meter_name;quantity;value;value_type;unit;timestamp;storage;tariff;subunit;"
    "function;status;metadata\r\n"
    "12345678;;energy;1234,5;decimal;Wh;2026-11-24T08:15:00Z;0;0;0;instantaneous;ok;"
    '"{""k"":""v""}"\r\n'
)
CSV_SPLICES = [
    ";", '"', "\r", "\n", "\r\n", "\x00", "\ud800", "9" * 4301, "1E+999999",
    "9999-12-31T23:59:59-14:00", "[" * 990, '{""a"":' * 70, "x" * 140_000, "=1+1", "'",
]  # fmt: skip


@given(st.data())
@FUZZ
def test_mutated_csv(data: st.DataObject) -> None:
    text = mutate(CSV_SEED, data, CSV_SPLICES)
    with contextlib.suppress(ExportError):
        list(read_csv(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("cell", "column"),
    [
        ("9999-12-31T23:59:59-14:00", "timestamp"),
        ('"{""a"":' + "[" * 990 + "]" * 990 + '}"', "metadata"),
        ('"{""a"": ' + "9" * 4301 + '}"', "metadata"),
        ("x" * 140_000, "unit"),
        ("\ud800", "unit"),
    ],
)
def test_csv_cells_found_by_fuzzing(cell: str, column: str) -> None:
    header, row = CSV_SEED.split("\r\n")[:2]
    cells = row.split(";")
    position = header.split(";").index(column)
    cells[position] = cell
    cells[-1] = cells[-1] if column == "metadata" else ""
    text = header + "\r\n" + ";".join(cells) + "\r\n"
    with pytest.raises(ExportError) as caught:
        list(read_csv(io.StringIO(text, newline="")))
    assert caught.value.line == 2


class BadText(io.StringIO):
    """A text stream whose decoding fails half way, as a file opened as UTF-8 does on
    Latin-1 bytes."""

    def readline(self, size: int = -1, /) -> str:  # type: ignore[override]
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    def read(self, size: int | None = -1, /) -> str:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")


def test_readers_given_a_stream_that_cannot_decode() -> None:
    with pytest.raises(ExportError, match="cannot decode its bytes as utf-8"):
        list(read_csv(BadText()))
    with pytest.raises(ExportError, match="cannot decode its bytes as utf-8"):
        list(read_xml(BadText()))
    with pytest.raises(ExportError, match="cannot decode its bytes as utf-8"):
        list(read_json_readings(BadText()))


XML_SEED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<export xmlns="urn:meterkit:exporters:1" '
    'version="1" created="2026-11-24T08:00:00Z">\n'
    '<reading meter_id="1" quantity="energy" unit="Wh" timestamp="2026-11-24T08:15:00Z" '
    'storage="0" tariff="0" subunit="0" function="instantaneous">'
    '<decimal>1.5</decimal><meta key="k">v</meta></reading>\n'
    '<alarm><field name="n" type="json">{"a": [1, 2.5]}</field>'
    '<field name="t" type="datetime">2026-11-24T08:00:00Z</field></alarm>\n</export>\n'
)
XML_SPLICES = [
    "<", ">", "/", '"', "&", "&amp;", "&#0;", "&#xD800;", "UTV-8", "utf-16", "ISO-8859-1",
    "9" * 4301, "[" * 990, "9999-12-31T23:59:59-14:00", "<!DOCTYPE x>", "\x00", "\ud800",
]  # fmt: skip


@given(st.data(), st.booleans())
@FUZZ
def test_mutated_xml(data: st.DataObject, as_bytes: bool) -> None:
    text = mutate(XML_SEED, data, XML_SPLICES)
    source: Any = (
        io.BytesIO(text.encode("utf-8", "surrogatepass")) if as_bytes else io.StringIO(text)
    )
    with contextlib.suppress(ExportError):
        list(read_xml(source))
    with contextlib.suppress(ExportError):
        validate_xml(io.BytesIO(text.encode("utf-8", "surrogatepass")))


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0" encoding="UTV-8"?><export/>',
        XML_SEED.replace("UTF-8", "UTV-8").encode(),
        XML_SEED.replace("<meta key", "<meta key2").encode(),
        XML_SEED.replace('{"a": [1, 2.5]}', "[" * 990 + "]" * 990).encode(),
        XML_SEED.replace('{"a": [1, 2.5]}', "9" * 4301).encode(),
        XML_SEED.replace("2026-11-24T08:15:00Z", "9999-12-31T23:59:59-14:00").encode(),
    ],
)
def test_xml_documents_found_by_fuzzing(document: bytes) -> None:
    with pytest.raises(ExportError):
        list(read_xml(io.BytesIO(document)))
    if b"UTV-8" not in document:  # text was decoded already: its declaration does not count
        with pytest.raises(ExportError):
            list(read_xml(io.StringIO(document.decode())))


def test_read_xml_names_an_unknown_encoding() -> None:
    with pytest.raises(ExportError, match="encoding Python does not know") as caught:
        list(read_xml(io.BytesIO(b'<?xml version="1.0" encoding="UTV-8"?><export/>')))
    assert (caught.value.line, caught.value.field) == (1, "encoding")


def test_read_xml_of_text_with_a_lone_surrogate() -> None:
    with pytest.raises(ExportError, match="not text") as caught:
        list(read_xml(io.StringIO(XML_SEED.replace('<meta key="k">v', '<meta key="k">\ud800'))))
    assert caught.value.line == 3


# --- the command line ------------------------------------------------------------------------


def run_cli(argv: list[str], stdin: bytes) -> tuple[int, str, str]:
    """main() with stdin, stdout and stderr as byte streams, as a shell gives them."""
    saved = sys.stdin, sys.stdout, sys.stderr
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", newline="")
    err = io.TextIOWrapper(err_bytes, encoding="utf-8")  # strict: messages must be text
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    sys.stdout, sys.stderr = out, err
    try:
        code = main(argv)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    out.flush()
    err.flush()
    return code, out_bytes.getvalue().decode(), err_bytes.getvalue().decode()


@given(st.data(), st.sampled_from(["csv", "xml"]))
@FUZZ
def test_cli_on_mutated_input(data: st.DataObject, command: str) -> None:
    text = mutate(SEED_JSON, data)
    code, out, err = run_cli([command, "--timestamp", "now"], text.encode("utf-8", "surrogatepass"))
    assert code in (0, 1), err
    if code == 1:
        assert out == ""  # all or nothing
        assert err.startswith(f"exporters {command}: error: ") and err.count("\n") == 1
    assert "Traceback" not in err


@given(st.binary(max_size=300), st.sampled_from(["csv", "xml"]))
@example(b'{"meter_id": "1", "quantity": "q", "value": 1, "unit": ""}\n\xff', "csv")
@FUZZ
def test_cli_on_arbitrary_bytes(stdin: bytes, command: str) -> None:
    code, out, err = run_cli([command], stdin)
    assert code in (0, 1), err
    if code == 1:
        assert out == ""


@given(st.binary(max_size=300), st.data(), st.booleans())
@FUZZ
def test_cli_validate_on_any_file(noise: bytes, data: st.DataObject, mutated: bool) -> None:
    content = (
        mutate(XML_SEED, data, XML_SPLICES).encode("utf-8", "surrogatepass") if mutated else noise
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.xml"
        path.write_bytes(content)
        code, out, err = run_cli(["validate", str(path)], b"")
    assert code in (0, 1), err
    assert (code == 0) == (out == f"{path}: valid\n")
