"""A WebSource over plain lists, for the page's tests (the gateway's adapter reads its
history and alarms engine instead)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from gateway.web import AlarmView, LogEntry, PlotSeries, PointView

START = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.timezone.utc)


@dataclass
class MemorySource:
    """Points with readings every 15 minutes, alarms, and a log that records page events."""

    readings: dict[str, list[tuple[dt.datetime, Decimal]]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    open_alarms: list[AlarmView] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)
    config_text: str = "[site]\nname = \"test\"\n"
    backup_bytes: bytes | None = b"encrypted-archive"
    acknowledged_by: list[tuple[str, str]] = field(default_factory=list)

    def add(self, point: str, unit: str, time: dt.datetime, value: Decimal) -> None:
        self.units[point] = unit
        self.readings.setdefault(point, []).append((time, value))

    def current_values(self) -> list[PointView]:
        return [PointView(point, point.rsplit("/", 1)[0], rows[-1][1], self.units[point],
                          rows[-1][0]) for point, rows in self.readings.items()]

    def series(self, point: str, since: dt.datetime, until: dt.datetime) -> PlotSeries | None:
        if point not in self.readings:
            return None
        rows = [(t, v) for t, v in self.readings[point] if since <= t < until]
        return PlotSeries(point, self.units[point], tuple(t for t, _ in rows),
                          tuple(float(v) for _, v in rows))

    def alarms(self) -> list[AlarmView]:
        return [a for a in self.open_alarms if a.active or not a.acknowledged]

    def acknowledge(self, alarm_id: str, user: str) -> bool:
        for index, alarm in enumerate(self.open_alarms):
            if alarm.alarm_id == alarm_id and not alarm.acknowledged:
                self.open_alarms[index] = replace(alarm, acknowledged=True)
                self.acknowledged_by.append((alarm_id, user))
                return True
        return False

    def logs(self, kinds: tuple[str, ...], limit: int) -> list[LogEntry]:
        rows = [e for e in self.log if not kinds or e.kind in kinds]
        return list(reversed(rows))[:limit]

    def audit(self, kind: str, message: str) -> None:
        self.log.append(LogEntry(dt.datetime.now(dt.timezone.utc), kind, message))

    def configuration(self) -> str:
        return self.config_text

    def backup(self) -> bytes | None:
        return self.backup_bytes


def sample_source(now: dt.datetime) -> MemorySource:
    """Two meters with a day of 15-minute readings up to ``now``, and one active alarm."""
    source = MemorySource()
    for step in range(96):
        time = now - dt.timedelta(minutes=15 * (96 - step))
        source.add("site/flat3/heat/total_kwh", "kWh", time, Decimal("1000.5") + step)
        source.add("site/flat3/water/total_m3", "m3", time, Decimal("12.125") + Decimal(step) / 8)
    source.open_alarms.append(AlarmView(
        "flat3-heat-high", "site/flat3/heat/total_kwh", "major", "heat above limit",
        now - dt.timedelta(minutes=5), active=True, acknowledged=False))
    source.log.append(LogEntry(now, "delivery", "readings.csv -> ftp://127.0.0.1: ok"))
    return source
