"""Rule validation, text templates and the TOML/CSV inputs."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

from alarms import (
    Engine,
    EventType,
    InputError,
    LimitRule,
    RuleError,
    Severity,
    StaleRule,
    load_rules,
    read_samples,
    rule_from_mapping,
    rules_from_toml,
)
from alarms import _parsing as parsing


def test_defaults() -> None:
    rule = LimitRule(point="tank", kind="upper", limit=80)
    assert rule.alarm_id == "tank.upper"
    assert rule.specific_problem == "upper limit"
    assert rule.severity is Severity.WARNING
    assert rule.event_type is EventType.QUALITY_OF_SERVICE
    assert rule.probable_cause == "thresholdCrossed"
    assert rule.inclusive and not rule.latch
    stale = StaleRule(point="m1", timeout=60)
    assert (stale.alarm_id, stale.kind) == ("m1.stale", "stale")
    assert stale.event_type is EventType.COMMUNICATIONS
    assert stale.probable_cause == "lossOfSignal"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"limit": float("nan")}, "limit"),
        ({"limit": "80"}, "limit"),
        ({"limit": True}, "limit"),
        ({"hysteresis": -1}, "hysteresis"),
        ({"raise_delay": -0.1}, "raise_delay"),
        ({"clear_delay": float("inf")}, "clear_delay"),
        ({"kind": "sideways"}, "kind"),
        ({"point": ""}, "point"),
        ({"severity": "cleared"}, "severity"),
        ({"severity": "indeterminate"}, "severity"),
        ({"severity": "huge"}, "severity"),
        ({"event_type": "fooAlarm"}, "event_type"),
        ({"inclusive": "yes"}, "inclusive"),
        ({"raise_text": "{value.real}"}, "raise_text"),
        ({"raise_text": "{timeout}"}, "raise_text"),
        ({"clear_text": "{point:.2f}"}, "clear_text"),
        ({"clear_text": "{"}, "clear_text"),
        ({"clear_text": "{0}"}, "clear_text"),
        ({"raise_text": "{value:{limit}}"}, "raise_text"),
    ],
)
def test_bad_limit_rules_name_the_field(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(RuleError) as caught:
        LimitRule(**{"point": "p", "kind": "upper", "limit": 1, **arguments})
    assert caught.value.field == field
    assert field in str(caught.value)


def test_unknown_placeholder_lists_the_allowed_ones() -> None:
    with pytest.raises(RuleError, match=r"\{hysteresis\}"):
        StaleRule(point="p", timeout=5, raise_text="{hysteresis}")
    with pytest.raises(RuleError, match="timeout"):
        StaleRule(point="p", timeout=0)


def test_duplicate_alarm_ids_are_refused() -> None:
    with pytest.raises(RuleError, match="duplicate") as caught:
        Engine([LimitRule(point="p", kind="upper", limit=1), LimitRule(point="p", kind="upper",
                                                                       limit=2)])
    assert caught.value.index == 1


RULES_TOML = """
[[rule]]
point = "boiler.flow"
kind = "upper"
limit = 90
hysteresis = 2.5
raise_delay = 10
clear_delay = 30
severity = "major"
alarm_id = "boiler.flow.hi"
alarm_class = "process"
raise_text = "{point} too hot: {value} >= {limit}"
clear_text = "{point} back to {value}"

[[rule]]
point = "boiler.flow"
kind = "upper"
limit = 98
severity = "critical"
alarm_id = "boiler.flow.hihi"
inclusive = false

[[rule]]
point = "boiler.flow"
kind = "lower"
limit = 5

[[rule]]
point = "m1"
kind = "stale"
timeout = 900
severity = "minor"
latch = true
"""


def test_rules_from_toml() -> None:
    rules = rules_from_toml(RULES_TOML)
    assert [rule.alarm_id for rule in rules] == [
        "boiler.flow.hi",
        "boiler.flow.hihi",
        "boiler.flow.lower",
        "m1.stale",
    ]
    first = rules[0]
    assert isinstance(first, LimitRule)
    assert (first.limit, first.hysteresis, first.raise_delay, first.clear_delay) == (
        90,
        2.5,
        10,
        30,
    )
    assert first.severity is Severity.MAJOR and first.alarm_class == "process"
    assert isinstance(rules[1], LimitRule) and not rules[1].inclusive
    assert isinstance(rules[3], StaleRule) and rules[3].timeout == 900 and rules[3].latch
    # to_dict gives back a table that builds the same rule
    assert [rule_from_mapping(rule.to_dict()) for rule in rules] == rules


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rule]]\npoint = "p"\nkind = "upper"\n', "limit"),
        ('[[rule]]\npoint = "p"\nkind = "stale"\n', "timeout"),
        ('[[rule]]\npoint = "p"\nkind = "upper"\nlimit = 1\ntimeout = 5\n', "timeout"),
        ('[[rule]]\npoint = "p"\nkind = "stale"\ntimeout = 5\nlimit = 1\n', "limit"),
        ('[[rule]]\npoint = "p"\nkind = "upper"\nlimit = 1\ncolour = "red"\n', "colour"),
        ('[[rule]]\nkind = "upper"\nlimit = 1\n', "point"),
        ('[[rule]]\npoint = "p"\nlimit = 1\n', "kind"),
        ('[[rule]]\npoint = "p"\nkind = "upper"\nlimit = "high"\n', "limit"),
        ('rule = 5\n', "array of tables"),
        ('[limits]\nx = 1\n', "top-level"),
        ("[[rule]\n", "TOML"),
        ('[[rule]]\npoint = "p"\nkind = "upper"\nlimit = 1\n' * 2, "duplicate"),
    ],
)
def test_bad_rules_files(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        rules_from_toml(text, source="r.toml")
    assert str(caught.value).startswith("r.toml: ")


def test_load_rules_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULES_TOML, encoding="utf-8")
    assert len(load_rules(path)) == 4
    with pytest.raises(InputError, match="cannot read"):
        load_rules(tmp_path / "missing.toml")


def test_python_310_without_tomli_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 10, 12, "final", 0))

    def no_tomli() -> object:
        raise ImportError("tomli")

    monkeypatch.setattr(parsing, "_import_tomli", no_tomli)
    with pytest.raises(InputError, match="pip install tomli"):
        rules_from_toml(RULES_TOML)


def test_python_310_uses_tomli_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    # tomllib stands in for tomli, its origin; on 3.10 tomli itself is a dependency
    toml_module = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    monkeypatch.setattr(sys, "version_info", (3, 10, 12, "final", 0))
    monkeypatch.setattr(parsing, "_import_tomli", lambda: toml_module)
    assert len(rules_from_toml(RULES_TOML)) == 4


def test_read_samples() -> None:
    text = "time,point,value\n0,a,1.5\n\n2.5, b ,-3\n2.5,a,7e2\n"
    assert list(read_samples(text)) == [(0.0, "a", 1.5), (2.5, "b", -3.0), (2.5, "a", 700.0)]
    assert list(read_samples("\ufefftime,point,value\n")) == []


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", None, "empty"),
        ("t,p,v\n", 1, "header"),
        ("time,point,value\n1,a\n", 2, "3 columns"),
        ("time,point,value\nx,a,1\n", 2, "time is not a number"),
        ("time,point,value\n1,a,nan\n", 2, "finite"),
        ("time,point,value\n1,a,1\n0.5,a,1\n", 3, "before"),
        ("time,point,value\n1,,1\n", 2, "point"),
    ],
)
def test_bad_samples_name_the_line(text: str, line: int | None, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        list(read_samples(text, source="s.csv"))
    assert caught.value.line == line
