"""Rules from TOML (``[[rule]]`` tables) and samples from CSV (``time,point,value``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ._errors import InputError, RuleError
from ._parsing import MAX_DOCUMENT_BYTES, brief, csv_rows, load_toml, parse_number
from ._rules import LimitRule, Rule, StaleRule

__all__ = [
    "RULE_KEYS",
    "load_rules",
    "read_samples",
    "rule_from_mapping",
    "rules_from_toml",
]

_COMMON_KEYS = (
    "point",
    "kind",
    "severity",
    "alarm_id",
    "alarm_class",
    "raise_text",
    "clear_text",
    # beyond the key list: X.733 details and ISA-18.2 latching
    "event_type",
    "probable_cause",
    "specific_problem",
    "latch",
)
_LIMIT_KEYS = ("limit", "hysteresis", "raise_delay", "clear_delay", "inclusive")
_STALE_KEYS = ("timeout",)
#: Every key a ``[[rule]]`` table may hold.
RULE_KEYS: tuple[str, ...] = (*_COMMON_KEYS, *_LIMIT_KEYS, *_STALE_KEYS)


def rule_from_mapping(data: Mapping[str, Any], *, index: int | None = None) -> Rule:
    """Build a rule from one ``[[rule]]`` table (or any mapping with its keys).

    ``kind`` is ``upper``, ``lower`` or ``stale``; unknown keys and keys that
    do not apply to the kind raise :class:`alarms.RuleError`.
    """
    if not isinstance(data, Mapping):
        raise RuleError(f"expected a table, got {type(data).__name__}", index=index)
    unknown = sorted(str(key) for key in data if key not in RULE_KEYS)
    if unknown:
        raise RuleError(
            f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(RULE_KEYS)}",
            field=unknown[0],
            index=index,
        )
    for required in ("point", "kind"):
        if required not in data:
            raise RuleError("missing", field=required, index=index)
    kind = data["kind"]
    if kind == "stale":
        misplaced = [key for key in _LIMIT_KEYS if key in data]
        required_key = "timeout"
        factory: Callable[..., Rule] = StaleRule
    elif kind in ("upper", "lower"):
        misplaced = [key for key in _STALE_KEYS if key in data]
        required_key = "limit"
        factory = LimitRule
    else:
        raise RuleError(
            f"must be upper, lower or stale, got {brief(kind)}", field="kind", index=index
        )
    if misplaced:
        raise RuleError(f"does not apply to {kind} rules", field=misplaced[0], index=index)
    if required_key not in data:
        raise RuleError(f"missing (required for {kind} rules)", field=required_key, index=index)
    arguments = {key: value for key, value in data.items() if key != "kind" or kind != "stale"}
    try:
        return factory(**arguments)
    except RuleError as exc:
        raise RuleError(exc.message, field=exc.field, index=index) from None


def rules_from_toml(text: str, *, source: str = "RULES.toml") -> list[Rule]:
    """Parse a rules file: a list of ``[[rule]]`` tables (see :data:`RULE_KEYS`)."""
    document = load_toml(text, source=source)
    extra = sorted(key for key in document if key != "rule")
    if extra:
        raise InputError(
            f"unexpected top-level key(s) {', '.join(extra)}; rules go in [[rule]] tables",
            source=source,
        )
    tables = document.get("rule", [])
    if not isinstance(tables, list):
        raise InputError("'rule' must be an array of tables: write [[rule]]", source=source)
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, table in enumerate(tables):
        try:
            rule = rule_from_mapping(table, index=index)
        except RuleError as exc:
            raise InputError(str(exc), source=source) from None
        if rule.alarm_id in seen:
            raise InputError(f"rule {index}: duplicate alarm id {rule.alarm_id!r}", source=source)
        seen.add(rule.alarm_id)
        rules.append(rule)
    return rules


def load_rules(path: str | Path) -> list[Rule]:
    """Read a rules file from disk (:func:`rules_from_toml`)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc}", source=str(path)) from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InputError(f"larger than {MAX_DOCUMENT_BYTES} bytes", source=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text at byte offset {exc.start}: {exc.reason}", source=str(path)
        ) from None
    return rules_from_toml(text, source=str(path))


def _number(text: str, what: str, source: str, line: int) -> float:
    value = parse_number(text)
    if value is None:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise InputError(
            f"{what} is not a number (finite, in decimal notation): {shown!r}",
            source=source,
            line=line,
        )
    return value


def read_samples(
    lines: Iterable[str] | str, *, source: str = "SAMPLES.csv"
) -> Iterator[tuple[float, str, float]]:
    """Yield ``(time, point, value)`` from CSV text with the header ``time,point,value``.

    Times must not decrease. Blank lines are skipped. Errors name the line.
    """
    header_seen = False
    last_time = -math.inf
    for line, row in csv_rows(lines, source=source):
        if not row or all(not cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        if not header_seen:
            cells[0] = cells[0].lstrip("\ufeff")
            if cells != ["time", "point", "value"]:
                raise InputError(
                    f"the header must be time,point,value, got {','.join(row)!r}",
                    source=source,
                    line=line,
                )
            header_seen = True
            continue
        if len(cells) != 3:
            raise InputError(
                f"expected 3 columns (time,point,value), got {len(cells)}", source=source, line=line
            )
        time = _number(cells[0], "time", source, line)
        if time < last_time:
            raise InputError(
                f"time {time:g} is before the previous sample's {last_time:g}; sort the samples",
                source=source,
                line=line,
            )
        if not cells[1]:
            raise InputError("point is empty", source=source, line=line)
        last_time = time
        yield time, cells[1], _number(cells[2], "value", source, line)
    if not header_seen:
        raise InputError("empty file: expected the header time,point,value", source=source)
