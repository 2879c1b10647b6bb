"""Outputs: export files (CSV/XML) per period, their delivery spools, MQTT.

An export period's file is made from the readings committed during the period (kept in
memory while the gateway runs) or, for a period that began before this run started (a
restart, a catch-up), from the history. The file is written atomically into the export's
directory, then offered to the spool of each delivery target (``exporters.Spool``: a
file offered again after a crash is recognised, never sent twice). Deliveries run
through :meth:`Outputs.deliver`, which blocks (network): the driver calls it in a thread.

Readings go to ``exporters`` as :class:`exporters.Reading`: ``meter_id`` is the device
(``flat3/heat``), ``quantity`` the field (``total_kwh``), ``status`` the quality flags,
``metadata`` the full point name and the reading's quantity. MQTT topics are
``<topic_prefix>/<gateway id>/<device>/<field>`` (slashes in the device become ``_``,
as exporters keeps a topic level one level) and alarms
``<topic_prefix>/<gateway id>/alarms/<alarm id>``.
"""

from __future__ import annotations

import fnmatch
import io
import logging
import os
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import alarms
import exporters
from profiles import PointReading

from ._errors import GatewayError
from ._files import write_atomic
from ._pipeline import Step
from ._schedule import ExportDue
from ._site_file import DeliveryConfig, ExportConfig, Site

__all__ = ["ExportResult", "Outputs", "export_reading"]

_log = logging.getLogger(__name__)
_UNSAFE_TOPIC = re.compile(r"[/+#\s\x00]")


def export_reading(site: Site, reading: PointReading) -> exporters.Reading | None:
    """The :class:`exporters.Reading` of a point reading (None when it has no value)."""
    value = reading.value
    if value is None:
        return None
    if isinstance(value, bool):
        value = int(value)
    local = reading.point.removeprefix(f"{site.name}/")
    device, _, field = local.rpartition("/")
    return exporters.Reading(
        meter_id=device or site.name, quantity=field, value=value, unit=reading.unit,
        timestamp=reading.time, status=reading.quality,
        metadata={"point": reading.point, "quantity": reading.quantity or field})


class ExportResult:
    """What one export period produced: the file, its reading count, the spools fed."""

    def __init__(self, export: str, path: Path, readings: int, alarms: int,
                 queued: list[str]) -> None:
        self.export = export
        self.path = path
        self.readings = readings
        self.alarms = alarms
        self.queued = queued


class Outputs:
    """The site's outputs (see the module text).

    Args:
        site: the site.
        started: when this run started (periods beginning earlier are read from history).
        history: where to read readings and alarms of earlier periods.
        audit: called with (kind, detail) for the audit log.
        durable: ``False`` skips fsyncs (benchmarks).
    """

    def __init__(self, site: Site, *, started: datetime, history: Any,
                 audit: Callable[[str, dict[str, str]], None] | None = None,
                 durable: bool = True, environ: dict[str, str] | None = None) -> None:
        self.site = site
        self.started = started
        self.history = history
        self._audit = audit
        self._durable = durable
        self._environ = dict(os.environ if environ is None else environ)
        self.exports = {export.name: export for export in site.exports}
        self._buffers: dict[str, list[exporters.Reading]] = {name: [] for name in self.exports}
        self._selected: dict[str, dict[str, bool]] = {name: {} for name in self.exports}
        self.deliveries = {item.name: item for item in site.deliveries}
        self.spools = {
            name: exporters.Spool(site.data_dir / "spool" / name, durable=durable,
                                  on_event=self._spool_event(name))
            for name in self.deliveries}
        self.mqtt: exporters.MqttPublisher | None = None
        self.published = 0
        self._listeners: list[Callable[[Step], None]] = []

    def publish_to(self, listener: Callable[[Step], None]) -> None:
        """Hand every committed step to ``listener`` too (the Modbus server, ...)."""
        self._listeners.append(listener)

    # -- MQTT ------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect the MQTT publisher (it queues while the broker is away)."""
        config = self.site.mqtt
        if config is None or self.mqtt is not None:
            return
        password = None
        if config.password_env is not None:
            password = self._environ.get(config.password_env)
            if password is None:
                raise GatewayError(f"mqtt: environment variable {config.password_env} "
                                   "(password_env) is not set")
        prefix = f"{config.topic_prefix}/{self.site.gateway_id}"
        self.mqtt = exporters.MqttPublisher(
            config.host, config.port, client_id=f"meterkit-{self.site.gateway_id}",
            username=config.username, password=password, topic=prefix + "/{id}/{quantity}",
            qos=config.qos, retain=config.retain, ha_discovery=config.ha_discovery)
        self.mqtt.start()

    def alarm_topic(self, notification: alarms.Notification) -> str:
        """The MQTT topic of an alarm notification."""
        assert self.site.mqtt is not None
        alarm = _UNSAFE_TOPIC.sub("_", notification.alarm_id) or "_"
        return f"{self.site.mqtt.topic_prefix}/{self.site.gateway_id}/alarms/{alarm}"

    def publish(self, step: Step) -> None:
        """Hand a committed step to the outputs: export buffers, MQTT, listeners."""
        for listener in self._listeners:
            listener(step)
        converted: dict[int, exporters.Reading | None] = {}
        for name, export in self.exports.items():
            selected = self._selected[name]
            buffer = self._buffers[name]
            for index, reading in enumerate(step.readings):
                chosen = selected.get(reading.point)
                if chosen is None:
                    chosen = selected[reading.point] = export.selects(reading.point)
                if not chosen:
                    continue
                # converted once for all exports (a third of the load benchmark's time)
                if index not in converted:
                    converted[index] = export_reading(self.site, reading)
                item = converted[index]
                if item is not None:
                    buffer.append(item)
        if self.mqtt is None or self.site.mqtt is None:
            return
        config = self.site.mqtt
        outgoing = []
        for index, reading in enumerate(step.readings):
            if _matches(reading.point, config.points):
                if index not in converted:
                    converted[index] = export_reading(self.site, reading)
                item = converted[index]
                if item is not None:
                    outgoing.append(item)
        self.published += self.mqtt.publish_readings(outgoing)
        if config.alarms:
            for notification in step.notifications:
                self.mqtt.publish(exporters.MqttMessage(
                    topic=self.alarm_topic(notification),
                    payload=notification.to_json().encode("utf-8"), qos=config.qos,
                    retain=config.retain))

    # -- exports ---------------------------------------------------------------------------

    def export(self, due: ExportDue, *, now: datetime) -> ExportResult:
        """Write the file of one complete period and queue it for its delivery targets."""
        export = self.exports[due.export]
        period = due.period
        buffer = self._buffers[export.name]
        if period.start >= self.started:
            readings = [r for r in buffer if period.start <= r.timestamp < period.end]
        else:
            readings = [r for r in (export_reading(self.site, item) for item in
                                    self._from_history(export, period.start, period.end))
                        if r is not None]
        self._buffers[export.name] = [r for r in buffer if r.timestamp >= period.end]
        readings.sort(key=lambda r: (r.timestamp, r.metadata["point"]))
        notes: list[dict[str, Any]] = []
        if export.alarms:
            notes = [record.notification.to_dict()
                     for record in self.history.alarms(period.start, period.end)]
        text = io.StringIO()
        if export.format == "csv":
            exporters.write_csv(readings, text, profile=export.csv_profile)
        else:
            exporters.write_xml(readings, text, alarms=notes, created=period.end)
        schedule = exporters.CyclicSchedule(minutes=export.minutes or 1440,
                                            template=export.template, tz=self.site.tz)
        name = schedule.file_name(period)
        data = text.getvalue().encode("utf-8")
        path = export.directory / name
        write_atomic(path, data, durable=self._durable)
        self._note("delivery", {"what": name, "where": str(export.directory),
                                "result": f"written ({len(readings)} readings)"})
        queued = []
        for target in export.deliver:
            entry = self.spools[target].put(name, data)
            queued.append(f"{target}: {entry.status}")
        return ExportResult(export.name, path, len(readings), len(notes), queued)

    def _from_history(self, export: ExportConfig, since: datetime,
                      until: datetime) -> list[PointReading]:
        out: list[PointReading] = []
        for point in self.history.points():
            if export.selects(point):
                out.extend(self.history.readings(point, since, until))
        return out

    # -- deliveries ------------------------------------------------------------------------

    def transport(self, config: DeliveryConfig) -> exporters.Transport:
        """A new transport for a delivery target (a spool pass closes it)."""
        options = dict(config.options)
        env = options.pop("password_env", None)
        password = None
        if env is not None:
            password = self._environ.get(env)
            if password is None:
                raise GatewayError(f"delivery {config.name}: environment variable {env} "
                                   "(password_env) is not set")
        if config.kind in ("ftp", "ftps"):
            return exporters.FtpTransport(
                options["host"], options.get("port", 21), user=options.get("user", "anonymous"),
                password=password or "", directory=options.get("directory", ""),
                tls=config.kind == "ftps")
        if config.kind == "sftp":
            return exporters.SftpTransport(
                options["host"], options.get("port", 22), username=options["username"],
                host_key=options["host_key"], password=password,
                private_key=options.get("private_key"), directory=options.get("directory", ""))
        return exporters.SmtpTransport(
            options["host"], options.get("port"), sender=options["sender"],
            recipients=options["recipients"], security=options.get("security", "starttls"),
            username=options.get("username"), password=password,
            subject=options.get("subject", "meterkit export {name}"))

    def deliver(self, *, force: bool = False) -> dict[str, exporters.DeliveryReport]:
        """One delivery pass of every spool with files waiting (blocks: network)."""
        reports = {}
        for name, spool in self.spools.items():
            if not spool.entries():
                continue
            try:
                transport = self.transport(self.deliveries[name])
            except (GatewayError, exporters.ExportError) as exc:
                self._note("failure", {"source": f"delivery {name}", "error": str(exc)})
                continue
            report = spool.deliver(transport, force=force)
            for entry, reason in report.failed:
                self._note("failure", {"source": f"delivery {name}",
                                       "error": f"{entry.name}: {reason}"})
            reports[name] = report
        return reports

    def waiting(self) -> int:
        """Files queued in the spools."""
        return sum(len(spool.entries()) for spool in self.spools.values())

    def _spool_event(self, target: str) -> Callable[[exporters.SpoolEvent], None]:
        def on_event(event: exporters.SpoolEvent) -> None:
            if isinstance(event, exporters.EntryDelivered):
                self._note("delivery", {"what": event.entry.name, "where": event.destination,
                                        "result": "delivered"})
            elif isinstance(event, exporters.EntryRefused):
                self._note("delivery", {"what": event.entry.name, "where": event.destination,
                                        "result": f"refused: {event.reason}"})
            else:
                self._note("delivery", {"what": event.entry.name, "where": target,
                                        "result": "expired"})
        return on_event

    def _note(self, kind: str, detail: dict[str, str]) -> None:
        if self._audit is not None:
            self._audit(kind, detail)

    def close(self) -> None:
        """Stop the MQTT publisher (after a short wait for acknowledgements)."""
        if self.mqtt is not None:
            self.mqtt.wait_until_acknowledged(timeout=2.0)
            self.mqtt.stop()
            self.mqtt = None


def _matches(point: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(point, pattern) for pattern in patterns)
