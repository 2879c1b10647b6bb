"""Fuzz seeds: real telegrams from ../shared/corpus, and valid inputs made by the packages.

Corpus-based seeds skip the calling test with a message when the corpus is absent.
Seeds are read once per process and never copied into the repository.
"""

from __future__ import annotations

import functools
import json
import re
from decimal import Decimal
from typing import Any

import alarms
import mbus
import s0

from .harness import corpus_folder


def _hex(text: str) -> bytes:
    return bytes.fromhex(re.sub(r"\s+", "", text))


@functools.cache
def _libmbus_frames() -> tuple[bytes, ...]:
    folder = corpus_folder("libmbus")
    frames: list[bytes] = []
    for path in sorted(folder.glob("*/*.hex")):
        try:
            frames.append(_hex(path.read_text(encoding="utf-8")))
        except ValueError:  # an unsupported-frames file that is not even hex
            continue
    return tuple(frames)


def libmbus_frames() -> list[bytes]:
    """Every libmbus test, error and unsupported frame."""
    return list(_libmbus_frames())


@functools.cache
def _wmbus_lines() -> tuple[dict[str, Any], ...]:
    path = corpus_folder("wmbus") / "dev.jsonl"
    return tuple(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip())


def wmbus_frames() -> list[bytes]:
    """The wireless telegrams of the dev corpus (with the compact frames' priors)."""
    frames: list[bytes] = []
    for line in _wmbus_lines():
        frames.extend(bytes.fromhex(prior) for prior in line.get("prior_telegrams") or [])
        frames.append(bytes.fromhex(line["telegram"]))
    return frames


def wmbus_keys() -> dict[str, str]:
    """Meter ID -> key (hex) of the corpus lines that have one."""
    return {line["id"]: line["key"] for line in _wmbus_lines()
            if line.get("key") not in (None, "NOKEY") and line.get("id")}


@functools.cache
def _documents() -> tuple[dict[str, Any], ...]:
    documents = []
    for frame in _libmbus_frames():
        try:
            documents.append(mbus.decode(frame).to_dict())
        except mbus.MBusError:
            continue
    return tuple(documents)


def documents() -> list[dict[str, Any]]:
    """``mbus decode --json`` documents of the decodable libmbus frames."""
    return list(_documents())


@functools.cache
def s0_states() -> tuple[dict[str, Any], ...]:
    """Saved states of a counter and of one channel after bouncing pulses."""
    config = s0.ChannelConfig(imp_per_unit=1000, unit="kWh", rollover=Decimal("99999.999"))
    counter = s0.S0Counter({"grid": config, "pv": s0.ChannelConfig(imp_per_unit=500)})
    channel = s0.Channel(config, name="grid")
    time = 0.0
    for _ in range(20):
        for offset, level in ((0.0, 1), (0.001, 0), (0.002, 1), (0.060, 0)):
            counter.feed_edge("grid", time + offset, level)
            channel.feed_edge(time + offset, level)
        time += 1.8
    counter.advance(time)
    channel.advance(time)
    return (json.loads(json.dumps(counter.save())), json.loads(json.dumps(channel.save())))


ALARM_RULES = '''
[[rule]]
point = "tank.level"
kind = "upper"
limit = 80
hysteresis = 2
raise_delay = 5
severity = "major"
alarm_id = "tank.hi"
alarm_class = "process"
raise_text = "{point} high: {value} >= {limit}"
clear_text = "{point} normal: {value:.1f}"

[[rule]]
point = "tank.level"
kind = "lower"
limit = 10
severity = "minor"
alarm_id = "tank.lo"

[[rule]]
point = "tank.level"
kind = "stale"
timeout = 60
severity = "minor"
alarm_id = "tank.stale"
raise_text = "no data from {point} for {timeout} s"
'''

ALARM_SAMPLES = """time,point,value
0,tank.level,70
10,tank.level,81
12,tank.level,83
20,tank.level,79
30,tank.level,77.5
31,tank.level,5
200,tank.level,50
"""


@functools.cache
def alarm_run() -> tuple[dict[str, Any], tuple[str, ...]]:
    """The saved state of an engine mid-run and the JSON of its notifications."""
    rules = alarms.rules_from_toml(ALARM_RULES)
    engine = alarms.Engine(rules, start_time=0.0)
    notifications: list[alarms.Notification] = []
    samples = list(alarms.read_samples(ALARM_SAMPLES))
    for time, point, value in samples[:5]:
        notifications += engine.advance(time) + engine.feed(point, value, time)
    state = json.loads(json.dumps(engine.save_state()))
    for time, point, value in samples[5:]:
        notifications += engine.advance(time) + engine.feed(point, value, time)
    notifications += engine.advance(400.0)
    return state, tuple(notification.to_json() for notification in notifications)
