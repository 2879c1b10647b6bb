"""Hostile input: every loader and entry point raises only alarms' own errors.

First the findings of the mutation campaign of issue 10, each pinned; then
hypothesis properties that seed every loader with a valid document and mutate
it (structure-aware for mappings, character-level for text), and that feed the
engine arbitrary values.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from alarms import (
    AlarmsError,
    Engine,
    InputError,
    LimitRule,
    RuleError,
    StaleRule,
    StateFormatError,
    TimeError,
    load_rules,
    notification_from_dict,
    notification_from_json,
    notification_from_xml,
    notification_to_xml,
    notifications_from_xml,
    notifications_to_xml,
    read_samples,
    replay,
    replay_line,
    rule_from_mapping,
    rules_from_toml,
)
from alarms.__main__ import main
from tests import mutations
from tests.mutations import mutated_bytes, mutated_text

RULES_TOML = """
[[rule]]
point = "tank"
kind = "upper"
limit = 80
hysteresis = 2
raise_delay = 5
clear_delay = 1
severity = "major"
alarm_id = "tank.hi"
raise_text = "{point} high: {value:.1f} >= {limit}"

[[rule]]
point = "tank"
kind = "lower"
limit = 10
latch = true
alarm_id = "tank.lo"

[[rule]]
point = "tank"
kind = "stale"
timeout = 60
alarm_id = "tank.stale"
"""

SAMPLES_CSV = "time,point,value\n0,tank,70\n10,tank,81\n16,tank,83\n20,tank,5\n30,tank,77.5\n"


def _rules() -> list[Any]:
    return rules_from_toml(RULES_TOML)


def _busy_engine() -> Engine:
    """An engine with every kind of saved detail: raised, latched, shelved, pending, noted."""
    engine = Engine(_rules(), start_time=0.0)
    engine.feed("tank", 85.0, 1.0)
    engine.advance(7.0)
    engine.feed("tank", 5.0, 8.0)
    engine.acknowledge("tank.hi", 9.0, reason="seen")
    engine.shelve("tank.lo", 9.5, reason="maintenance", duration=100.0)
    engine.feed("tank", 50.0, 9.7)
    engine.advance(9.8)
    engine.feed("tank", 85.0, 10.0)  # the raise delay runs until 15
    with contextlib.suppress(AlarmsError):  # refused: the raise at 15 waits undelivered
        engine.reset("tank.hi", 16.0)
    return engine


SAVED_STATE = json.loads(json.dumps(_busy_engine().save_state()))
NOTIFICATIONS = list(replay(_rules(), read_samples(SAMPLES_CSV), until=200.0))
NOTIFICATION_DICT = NOTIFICATIONS[0].to_dict()
CLEARED_DICT = next(n.to_dict() for n in NOTIFICATIONS if n.event == "cleared")
NOTIFICATION_JSON = NOTIFICATIONS[0].to_json()
NOTIFICATION_XML = notification_to_xml(NOTIFICATIONS[0])
NOTIFICATIONS_XML = notifications_to_xml(NOTIFICATIONS)


def test_seeds_are_valid() -> None:
    """The mutations below start from documents that load."""
    assert len(NOTIFICATIONS) >= 4
    Engine.from_state(_rules(), SAVED_STATE)
    assert SAVED_STATE["undelivered"] and SAVED_STATE["alarms"]["tank.lo"]["shelved"]
    assert notification_from_json(NOTIFICATION_JSON) == NOTIFICATIONS[0]
    assert notifications_from_xml(NOTIFICATIONS_XML) == NOTIFICATIONS


# -- the findings of issue 10, pinned -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "time,point,value\n0,p," + "1" * 131073 + "\n",
        'time,point,value\n0,"' + "p" * 140000 + '",1\n',
        "time,point,value\n0,p\rq,1\n",
        "time,point,value\n0," + "p\r" * 3 + ",1\n",
    ],
    ids=["field-over-131072", "quoted-field-over-131072", "bare-cr", "bare-crs"],
)
def test_samples_csv_faults_name_the_line(text: str) -> None:
    with pytest.raises(InputError) as caught:
        list(read_samples(io.StringIO(text, newline=""), source="s.csv"))
    assert caught.value.line == 2 and caught.value.source == "s.csv"


def test_samples_csv_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(b"time,point,value\n0,p,1\n1,\xff,2\n")
    with path.open(encoding="utf-8", newline="") as handle, pytest.raises(InputError) as caught:
        list(read_samples(handle, source="s.csv"))
    assert "UTF-8" in str(caught.value)


@pytest.mark.parametrize("number", [10**309, -(10**309), 10**400])
def test_saved_state_with_a_number_beyond_float_is_refused(number: int) -> None:
    state = copy.deepcopy(SAVED_STATE)
    state["points"]["tank"]["value"] = number
    with pytest.raises(StateFormatError) as caught:
        Engine.from_state(_rules(), state)
    assert caught.value.field == "points.tank.value"


@pytest.mark.parametrize(
    ("text", "offset"),
    [("[" * 1000, 32), ('{"now": ' + "9" * 400 + "}", 8), (b'{"now": "\xff"}', 9)],
)
def test_saved_state_text_is_read_within_bounds(text: str | bytes, offset: int) -> None:
    with pytest.raises(StateFormatError) as caught:
        Engine.from_state(_rules(), text)
    assert caught.value.offset == offset
    restored = Engine.from_state(_rules(), json.dumps(SAVED_STATE))
    assert restored.save_state() == SAVED_STATE


def test_the_json_scan_reads_an_unterminated_string_once() -> None:
    """Scanning for nesting stays linear: a run of '"\\' is one token to the end of the
    text, not a fresh scan from every quote (which made 200 kB take minutes)."""
    from alarms._parsing import _JSON_TOKENS

    text = '"\\' * 1000
    assert [match.span() for match in _JSON_TOKENS.finditer(text)] == [(0, 2000)]
    assert [m.group() for m in _JSON_TOKENS.finditer('["a\\"b", [1]]')] == [
        "[", '"a\\"b"', "[", "1", "]", "]"
    ]
    with pytest.raises(StateFormatError, match="not JSON"):
        notification_from_json('{"a": [' + '"\\' * 500_000)


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_notification_json_nested_deep_is_refused_with_its_offset(depth: int) -> None:
    with pytest.raises(StateFormatError) as caught:
        notification_from_json("[" * depth + "]" * depth)
    assert caught.value.offset == 32  # the first bracket beyond 32 levels


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ('{"notification_id": ' + "1" * 4301 + "}", 20),
        ('{"event_time": 1e999}', 15),
        ('{"event_time": NaN}', 15),
        ('{"event_time": -Infinity}', 15),
    ],
)
def test_notification_json_numbers_out_of_range_are_refused(text: str, offset: int) -> None:
    with pytest.raises(StateFormatError) as caught:
        notification_from_json(text)
    assert caught.value.offset == offset


def test_notification_json_offsets_count_bytes_for_bytes_input() -> None:
    text = '{"point": "\u00e9\u00e9", "x": ' + "[" * 40 + "]" * 40 + "}"
    with pytest.raises(StateFormatError) as from_text:
        notification_from_json(text)
    with pytest.raises(StateFormatError) as from_bytes:
        notification_from_json(text.encode("utf-8"))
    assert (from_text.value.offset, from_bytes.value.offset) == (52, 54)  # two 2-byte chars
    with pytest.raises(StateFormatError) as not_utf8:
        notification_from_json(b'{"point": "\xff"}')
    assert not_utf8.value.offset == 11


@pytest.mark.parametrize(
    "template",
    ["{value:>999999999}", "{value:.999999999f}", "{point:>201}", "{value:>" + "9" * 5000 + "}"],
)
def test_template_widths_are_bounded_at_load(template: str) -> None:
    with pytest.raises(RuleError) as caught:
        LimitRule(point="p", kind="upper", limit=1, raise_text=template)
    assert caught.value.field == "raise_text"
    LimitRule(point="p", kind="upper", limit=1, raise_text="{value:>200.3f}")  # the bound itself


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("x = " + "[" * 2000 + "]" * 2000, "nested too deep"),
        ("x = " + "1" * 5000, "TOML"),
        ('[[rule]]\npoint = "p"\nkind = "upper"\nlimit = ' + "9" * 400, "limit"),
        ('[[rule]]\npoint = "p"\nkind = "stale"\ntimeout = ' + "9" * 400, "timeout"),
        ('[[rule]]\npoint = "p"\nkind = "upper"\nlimit = 1e999', "limit"),
    ],
)
def test_toml_faults_are_input_errors(toml: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        rules_from_toml(toml)


def test_rules_file_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_bytes(b'[[rule]]\npoint = "\xff"\n')
    with pytest.raises(InputError, match="byte offset 18"):
        load_rules(path)


@pytest.mark.parametrize(
    "document",
    [
        NOTIFICATION_XML.replace(b"<notificationId>1<", b"<notificationId>" + b"1" * 5000 + b"<"),
        b'<?xml version="1.0" encoding="UTV-8"?><a/>',
        NOTIFICATION_XML.decode("utf-8").replace("<point>", "<point>\ud800"),
        NOTIFICATION_XML.replace(b"<eventTime>", b"<eventTime>1_0"),
        NOTIFICATION_XML.replace(b"<eventTime>", b"<eventTime>" + b"9" * 400),
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><x/>'.encode(
            "utf-16"
        ),
        b"\xff\xfe<\x00a\x00/\x00>\x00",
    ],
    ids=[
        "huge-id", "unknown-encoding", "lone-surrogate", "underscore", "huge-float", "utf16-dtd",
        "utf16",
    ],
)
def test_xml_faults_are_state_format_errors(document: bytes | str) -> None:
    with pytest.raises(StateFormatError):
        notification_from_xml(document)


def test_xml_writer_replaces_lone_surrogates_so_its_output_reads_back() -> None:
    notification = notification_from_dict({**NOTIFICATION_DICT, "point": "tank\ud800"})
    assert notification_from_xml(notification_to_xml(notification)).point == "tank\ufffd"


@pytest.mark.parametrize("now", [10**309, -(10**309), float("nan"), math.inf, "1", [1.0]])
def test_engine_times_that_are_not_finite_floats_are_time_errors(now: object) -> None:
    engine = Engine(_rules())
    for call in (
        lambda: engine.feed("tank", 1.0, now),  # type: ignore[arg-type]
        lambda: engine.advance(now),  # type: ignore[arg-type]
        lambda: engine.acknowledge("tank.hi", now),  # type: ignore[arg-type]
        lambda: Engine(_rules(), start_time=now),  # type: ignore[arg-type]
    ):
        with pytest.raises(TimeError):
            call()


def test_an_int_time_is_kept_as_a_float() -> None:
    engine = Engine(_rules())
    engine.feed("tank", 1.0, 5)
    assert type(engine.now) is float


@pytest.mark.parametrize("limit", [10**309, 0, -1.0, math.nan])
def test_max_shelve_beyond_float_is_a_rule_error(limit: object) -> None:
    with pytest.raises(RuleError):
        Engine(_rules(), max_shelve=limit)  # type: ignore[arg-type]


# -- mutation strategies -------------------------------------------------------------------

STRINGS = [
    "raised", "cleared", "normal", "active", "unacknowledged", "timed", "one_shot", "major",
    "upper", "stale", "tank", "tank.hi", "qualityOfServiceAlarm", "meterkit.alarms.state",
]  # fmt: skip
junk = mutations.junk(STRINGS)


def mutated(seed: Any) -> st.SearchStrategy[Any]:
    return mutations.mutated(seed, STRINGS)


# METERKIT_FUZZ_EXAMPLES=5000 for a longer campaign than the suite's
FUZZ = settings(
    max_examples=int(os.environ.get("METERKIT_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _exercise(engine: Engine) -> None:
    """A restored engine must keep working (or refuse with our errors) afterwards."""
    now = engine.now if engine.now is not None else 0.0
    engine.next_deadline()
    engine.active_alarms()
    json.dumps(engine.save_state())
    for alarm_id in ("tank.hi", "tank.lo", "tank.stale"):
        with contextlib.suppress(AlarmsError):
            engine.acknowledge(alarm_id, now)
        with contextlib.suppress(AlarmsError):
            engine.reset(alarm_id, now)
        with contextlib.suppress(AlarmsError):
            engine.unshelve(alarm_id, now)
    engine.feed("tank", 50.0, now + 1)
    engine.feed("tank", 95.0, now + 2)
    engine.feed("tank", 1.0, now + 3)
    engine.advance(now + 10_000)
    for notification in engine.advance(now + 20_000):
        notification_to_xml(notification)


# -- loaders: only our errors, whatever the input -------------------------------------------


@FUZZ
@given(mutated(SAVED_STATE))
def test_restoring_mutated_state_raises_only_state_format_errors(state: Any) -> None:
    try:
        engine = Engine.from_state(_rules(), state, strict=False)
    except StateFormatError:
        event("refused")
        return
    event("restored")
    _exercise(engine)


@FUZZ
@given(mutated_text(json.dumps(SAVED_STATE)))
def test_restoring_mutated_state_text_raises_only_our_errors(text: str) -> None:
    """A state file read back as text goes through the package's bounded JSON loader."""
    try:
        engine = Engine.from_state(_rules(), text, strict=False)
    except StateFormatError:
        event("refused")
        return
    event("restored")
    _exercise(engine)


@FUZZ
@given(st.one_of(mutated(NOTIFICATION_DICT), mutated(CLEARED_DICT)))
def test_mutated_notification_dicts_raise_only_state_format_errors(data: Any) -> None:
    with contextlib.suppress(StateFormatError):
        notification = notification_from_dict(data)
        assert notification_from_json(notification.to_json()) == notification
        notification_to_xml(notification)


@FUZZ
@given(st.one_of(mutated_text(NOTIFICATION_JSON), mutated_bytes(NOTIFICATION_JSON.encode())))
@example("[" * 1000 + "]" * 1000)
@example('{"a": ' + "1" * 4301 + "}")
@example(b"\xff")
def test_mutated_notification_json_raises_only_state_format_errors(text: str | bytes) -> None:
    with contextlib.suppress(StateFormatError):
        notification_from_json(text)


@FUZZ
@given(
    st.one_of(
        mutated_bytes(NOTIFICATION_XML),
        mutated_text(NOTIFICATION_XML.decode("utf-8")),
        mutated_bytes(NOTIFICATIONS_XML),
    )
)
def test_mutated_xml_raises_only_state_format_errors(document: str | bytes) -> None:
    with contextlib.suppress(StateFormatError):
        notification_from_xml(document)
    with contextlib.suppress(StateFormatError):
        for notification in notifications_from_xml(document):
            assert notification_from_xml(notification_to_xml(notification)) == notification


@FUZZ
@given(st.one_of(mutated(_rules()[0].to_dict()), mutated(_rules()[2].to_dict()), junk))
def test_mutated_rule_tables_raise_only_rule_errors(table: Any) -> None:
    with contextlib.suppress(RuleError):
        rule = rule_from_mapping(table)
        Engine([rule]).feed(rule.point, 1e300, 0.0)


@FUZZ
@given(mutated_text(RULES_TOML))
@example("x = " + "[" * 5000 + "]" * 5000)
@example("x = " + "1" * 5000)
def test_mutated_rules_toml_raises_only_input_errors(text: str) -> None:
    with contextlib.suppress(InputError):
        rules = rules_from_toml(text)
        list(replay(rules, read_samples(SAMPLES_CSV), until=500.0))


@FUZZ
@given(mutated_text(SAMPLES_CSV))
def test_mutated_samples_raise_only_input_errors(text: str) -> None:
    with contextlib.suppress(AlarmsError):
        for notification in replay(_rules(), read_samples(io.StringIO(text, newline=""))):
            json.dumps(replay_line(notification))


@FUZZ
@given(st.lists(st.tuples(junk, junk, junk), max_size=5), st.one_of(st.none(), junk))
def test_replay_of_junk_samples_raises_only_our_errors(samples: Any, until: Any) -> None:
    with contextlib.suppress(AlarmsError):
        replay(_rules(), samples, until=until)


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(mutated_bytes(RULES_TOML.encode()), st.just(RULES_TOML.encode())),
    st.one_of(mutated_bytes(SAMPLES_CSV.encode()), st.just(SAMPLES_CSV.encode())),
    st.lists(st.sampled_from(["--json", "--until", "1e308", "nan", "-5", "x"]), max_size=3),
)
def test_cli_exits_with_a_status_on_mutated_files(
    rules: bytes, samples: bytes, options: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        rules_path = Path(directory, "r.toml")
        samples_path = Path(directory, "s.csv")
        rules_path.write_bytes(rules)
        samples_path.write_bytes(samples)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                status = main(["replay", str(rules_path), str(samples_path), *options])
            except SystemExit as exc:  # argparse refusing the options
                status = exc.code  # type: ignore[assignment]
    assert status in (0, 1, 2)


@FUZZ
@given(st.data())
def test_engine_calls_with_junk_raise_only_our_errors(data: st.DataObject) -> None:
    engine = Engine([*_rules(), StaleRule(point="other", timeout=1.0)], start_time=0.0)
    now = 0.0
    for _ in range(data.draw(st.integers(1, 8))):
        now += data.draw(st.sampled_from([0.0, 0.5, 5.0, 100.0]))
        call = data.draw(st.sampled_from(["feed", "advance", "shelve", "acknowledge", "status"]))
        argument = data.draw(st.one_of(junk, st.sampled_from(["tank", "tank.hi", "tank.lo"])))
        value = data.draw(st.one_of(junk, st.floats(-100, 200)))
        with contextlib.suppress(AlarmsError):
            if call == "feed":
                engine.feed(argument, value, data.draw(st.one_of(st.just(now), junk)))
            elif call == "advance":
                engine.advance(data.draw(st.one_of(st.just(now), junk)))
            elif call == "shelve":
                engine.shelve(argument, now, reason=data.draw(junk), duration=value)
            elif call == "acknowledge":
                engine.acknowledge(argument, now, reason=data.draw(junk))
            else:
                engine.status(argument)
    _exercise(engine)
