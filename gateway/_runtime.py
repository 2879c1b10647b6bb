"""The runtime: the synchronous side of a running site (state file, history, outputs).

Crash safety (kill -9 at any moment loses or duplicates nothing committed):

1. A step (readings and alarm notifications of one batch) is first written into the
   state file together with the new state (S0 counters, alarm engine, derived values,
   input cursors) as ``pending``: one atomic, fsynced file replacement.
2. Then it is appended to the history (one transaction for the readings).
3. On start, pending steps of the state file are appended again: the history ignores a
   reading whose (point, time) it holds already, and an alarm notification found stored
   (same alarm id, notification id and time) is not stored twice.

So the state and the history never disagree: a step is in both or, when the process died
before step 1 completed, in neither (and the inputs, whose cursors are in the same state,
produce it again). Exports record the end of their last period in the state with its next
save (the next committed step), not with a save of their own: a period exported again
after a crash gives the same file, which the spool recognises.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import alarms
import s0
from profiles import PointReading

from ._errors import StateFileError
from ._files import write_atomic
from ._outputs import ExportResult, Outputs
from ._pipeline import Pipeline, Step
from ._schedule import ExportDue, ExportTiming, Scheduler
from ._site_file import Site
from .history import (
    AuditEntry,
    HistoryBackend,
    RunStart,
    SQLiteHistory,
    record_start,
    record_stop,
)

__all__ = ["Runtime", "decode_step", "encode_step", "input_cycles"]

_log = logging.getLogger(__name__)
_MICROSECOND = timedelta(microseconds=1)


def input_cycles(site: Site) -> dict[str, float]:
    """Scheduled inputs (``mbus:NAME``, ``s0:NAME``, ``analog:NAME``, ``modbus:NAME``,
    ``bacnet:NAME``) -> their interval in seconds."""
    cycles = {f"mbus:{item.name}": item.interval for item in site.mbus}
    cycles.update({f"s0:{item.name}": item.interval for item in site.s0})
    cycles.update({f"analog:{item.name}": item.interval for item in site.analog})
    cycles.update({f"modbus:{item.name}": item.interval for item in site.modbus})
    cycles.update({f"bacnet:{item.name}": item.interval for item in site.bacnet})
    return cycles


def _encode_value(value: object) -> object:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, int):
        return {"int": str(value)}
    return {"str": str(value)}


def _decode_value(data: object) -> Decimal | int | float | str | bool | None:
    if data is None or isinstance(data, bool):
        return data
    if isinstance(data, dict) and len(data) == 1:
        ((kind, text),) = data.items()
        if kind == "decimal":
            return Decimal(text)
        if kind == "float":
            return float(text)
        if kind == "int":
            return int(text)
        if kind == "str":
            return str(text)
    raise StateFileError(f"pending reading: unreadable value {data!r}")


def encode_step(step: Step) -> dict[str, Any]:
    """A step as JSON data (the ``pending`` list of the state file)."""
    return {
        "time": step.time.isoformat(),
        "readings": [[r.point, r.time.isoformat(), _encode_value(r.value), r.unit, r.quantity,
                      list(r.quality)] for r in step.readings],
        "notifications": [n.to_dict() for n in step.notifications],
    }


def decode_step(data: Mapping[str, Any]) -> Step:
    """The step of :func:`encode_step`'s data."""
    try:
        readings = tuple(
            PointReading(point=str(point), time=datetime.fromisoformat(time),
                         value=_decode_value(value), unit=str(unit), quantity=str(quantity),
                         quality=tuple(str(flag) for flag in quality))
            for point, time, value, unit, quantity, quality in data["readings"])
        notes = tuple(alarms.notification_from_dict(item) for item in data["notifications"])
        return Step(readings=readings, notifications=notes,
                    time=datetime.fromisoformat(data["time"]))
    except (KeyError, TypeError, ValueError, ArithmeticError, alarms.AlarmsError) as exc:
        raise StateFileError(f"pending step: unreadable ({exc})") from None


def _version() -> str:
    try:
        return importlib.metadata.version("meterkit")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source tree only
        return "unknown"


class Runtime:
    """State file, history and outputs of a running site (see the module text).

    Args:
        site: the site.
        now: the start time.
        history: a history backend (default: ``SQLiteHistory(site.history)``).
        durable: ``False`` skips fsyncs of state and export files and lets SQLite sync
            less (benchmarks); process crashes stay safe, power loss not.
        environ: the environment for passwords (default ``os.environ``).
    """

    def __init__(self, site: Site, *, now: datetime, history: HistoryBackend | None = None,
                 durable: bool = True, environ: dict[str, str] | None = None) -> None:
        self.site = site
        self.durable = durable
        site.data_dir.mkdir(parents=True, exist_ok=True)
        self.state_path = site.data_dir / "state.json"
        state = self._load_state()
        self.history: HistoryBackend = history if history is not None else SQLiteHistory(
            site.history, synchronous="FULL" if durable else "NORMAL")
        self.run: RunStart = record_start(self.history, now, version=_version())
        self.stored = 0
        self.notifications = 0
        self.recovered = 0
        pending = [decode_step(item) for item in state.get("pending", [])]
        for step in pending:
            self.recovered += self._store(step)
        self.pipeline = Pipeline(site, state, now=now)
        self.exported_until: dict[str, datetime] = {}
        for name, text in dict(state.get("exports", {})).items():
            try:
                self.exported_until[str(name)] = datetime.fromisoformat(text)
            except (TypeError, ValueError):
                raise StateFileError(f"exports.{name}: {text!r} is not a time") from None
        timings = {export.name: ExportTiming(minutes=export.minutes, period=export.period)
                   for export in site.exports}
        self.scheduler = Scheduler(input_cycles(site), timings, now=now, tz=site.tz,
                                   exported_until=self.exported_until)
        self.outputs = Outputs(site, started=now, history=self.history, audit=self._audit,
                               durable=durable, environ=environ)
        self.exported: list[ExportResult] = []
        self._unstored: list[Step] = []
        if pending:
            self._save([])  # the recovered steps are in the history now

    # -- state -----------------------------------------------------------------------------

    def _load_state(self) -> dict[str, Any]:
        try:
            return dict(s0.load_state_file(self.state_path))
        except FileNotFoundError:
            return {}
        except (s0.StateError, OSError) as exc:
            raise StateFileError(f"{self.state_path}: {exc}") from None

    def _save(self, pending: list[Step]) -> None:
        state = self.pipeline.save()
        state["exports"] = {name: end.isoformat() for name, end in self.exported_until.items()}
        state["pending"] = [encode_step(step) for step in pending]
        # Compact JSON (the C encoder): indented JSON made the load benchmark 2x slower.
        data = json.dumps(state, separators=(",", ":"), allow_nan=False).encode("utf-8")
        write_atomic(self.state_path, data, durable=self.durable)

    # -- committing ------------------------------------------------------------------------

    def commit(self, step: Step) -> None:
        """Store a step durably (state first, then history), then hand it to the outputs.

        A step whose history write failed stays pending and is retried with the next one.
        """
        if not step and not self._unstored:
            return
        pending = [*self._unstored, step] if step else list(self._unstored)
        self._save(pending)
        try:
            for item in pending:
                self._store(item)
        except Exception as exc:
            self._unstored = pending
            self._audit("failure", {"source": "history", "error": str(exc)})
            raise
        self._unstored = []
        if step:
            self.outputs.publish(step)

    def _store(self, step: Step) -> int:
        stored = self.history.append(step.readings) if step.readings else 0
        if step.notifications:
            present = {(record.notification.alarm_id, record.notification.notification_id)
                       for record in self.history.alarms(step.time, step.time + _MICROSECOND)}
            for notification in step.notifications:
                if (notification.alarm_id, notification.notification_id) not in present:
                    self.history.append_alarm(notification, step.time)
        self.stored += stored
        self.notifications += len(step.notifications)
        return stored

    def export(self, due: ExportDue, now: datetime) -> ExportResult:
        """Write and queue one export period, and record it as done for the next save of
        the state (see the module text: an export after a crash is redone, not lost).

        No save of its own: that saved two of the load benchmark's six fsyncs per quarter
        hour (benchmarks/bench_gateway.py).
        """
        result = self.outputs.export(due, now=now)
        self.exported.append(result)
        self.exported_until[due.export] = due.period.end
        return result

    def save(self) -> None:
        """Save the state now (input cursors moved without readings, for example)."""
        self._save(self._unstored)

    def _audit(self, kind: str, detail: dict[str, str]) -> None:
        now = self.pipeline.time
        if kind == "delivery":
            entry = AuditEntry.delivery(now, what=detail["what"], where=detail["where"],
                                        result=detail["result"])
        else:
            entry = AuditEntry.failure(now, source=detail["source"], error=detail["error"])
        try:
            self.history.append_audit(entry)
        except Exception:  # the audit log must not stop the gateway
            _log.exception("audit entry not stored: %s", entry.message)

    def failure(self, source: str, error: str) -> None:
        """Log a failure (a bus, a device, an output) in the audit log."""
        _log.warning("%s: %s", source, error)
        self._audit("failure", {"source": source, "error": error})

    def close(self, now: datetime) -> None:
        """Save the state, record a clean stop, close outputs and history."""
        try:
            self._save(self._unstored)
            self.outputs.close()
            record_stop(self.history, max(now, self.pipeline.time))
        finally:
            self.history.close()
