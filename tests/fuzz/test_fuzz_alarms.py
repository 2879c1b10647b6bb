"""alarms under hostile input: samples CSV, saved engine state, notifications as JSON,
and rule files whose texts are format templates."""

from __future__ import annotations

import json
import sys

from hypothesis import given
from hypothesis import strategies as st

import alarms

from .harness import check
from .mutations import mutated_json, mutated_text, mutated_value
from .seeds import ALARM_RULES, ALARM_SAMPLES, alarm_run

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tomli is a core dependency before Python 3.11
    import tomli as tomllib


@given(data=st.data())
def test_samples_csv(data: st.DataObject) -> None:
    text = data.draw(mutated_text([ALARM_SAMPLES]))
    rules = alarms.rules_from_toml(ALARM_RULES)

    def replay() -> None:
        alarms.replay(rules, alarms.read_samples(text))

    check("alarms.read_samples + replay", text, replay, (alarms.AlarmsError,))


@given(data=st.data())
def test_saved_state(data: st.DataObject) -> None:
    state, _ = alarm_run()
    text = data.draw(mutated_json([state]))
    try:
        saved = json.loads(text)  # a state file the caller's JSON reader accepts
    except (ValueError, RecursionError):
        return
    rules = alarms.rules_from_toml(ALARM_RULES)

    def restore() -> None:
        engine = alarms.Engine.from_state(rules, saved)
        engine.advance(1000.0)
        engine.feed("tank.level", 99.0, 1001.0)
        engine.advance(2000.0)
        json.dumps(engine.save_state())

    check("alarms.Engine.from_state", text, restore, (alarms.AlarmsError,))


@given(data=st.data())
def test_notification_from_json(data: st.DataObject) -> None:
    _, notifications = alarm_run()
    text = data.draw(mutated_json([json.loads(n) for n in notifications]))

    def parse() -> None:
        notification = alarms.notification_from_json(text)
        notification.to_json()
        alarms.notification_to_xml(notification)

    check("alarms.notification_from_json", text, parse, (alarms.AlarmsError,))


@given(data=st.data())
def test_rule_file_and_templates(data: st.DataObject) -> None:
    """Rules from TOML (texts are templates); the engine then renders them."""
    rule_tables = tomllib.loads(ALARM_RULES)["rule"]
    if data.draw(st.booleans()):
        text = data.draw(mutated_text([ALARM_RULES]))
    else:  # structure-aware: hostile values inside the tables, written back as TOML
        text = _toml(data.draw(mutated_value([rule_tables], max_mutations=3)))

    def run() -> None:
        rules = alarms.rules_from_toml(text)
        alarms.replay(rules, alarms.read_samples(ALARM_SAMPLES), until=500.0)

    check("alarms.rules_from_toml + templates", text, run, (alarms.AlarmsError,))


def _toml(tables: object) -> str:
    """The mutated tables as ``[[rule]]`` TOML (JSON literals are valid TOML values for
    strings, numbers and booleans; anything else is written as a JSON string)."""
    if not isinstance(tables, list):
        tables = [tables]
    out = []
    for table in tables:
        out.append("[[rule]]")
        if isinstance(table, dict):
            for key, value in table.items():
                if isinstance(value, (str, int, bool)) or (
                        isinstance(value, float) and value == value and abs(value) != float("inf")):
                    literal = json.dumps(value)
                else:
                    literal = json.dumps(json.dumps(value))
                out.append(f"{json.dumps(key)} = {literal}")
    return "\n".join(out) + "\n"
