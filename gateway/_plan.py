"""The plan of a site: what ``meterkit check`` prints (as text or JSON).

Buses and their meters, the points each input gives, derived values, alarm rules,
exports, outputs and the next slots of the schedule, from a checked :class:`Site`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import alarms

from ._bacnet_site import bacnet_plan, bacnet_plan_text
from ._runtime import input_cycles
from ._schedule import calendar_period, next_slot
from ._site_file import AnalogInput, IioSource, ModbusRegisterSource, S0Input, Site

__all__ = ["plan_text", "site_plan"]


def _every(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _rule(rule: alarms.Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"alarm_id": rule.alarm_id, "point": rule.point, "kind": rule.kind,
                           "severity": rule.severity.value}
    if isinstance(rule, alarms.LimitRule):
        out.update(limit=rule.limit, hysteresis=rule.hysteresis, raise_delay=rule.raise_delay)
    else:
        out.update(timeout=rule.timeout)
    return out


def _s0_source(item: S0Input) -> str:
    if item.gpio is None:
        return str(item.replay)
    active = "active low" if item.active_low else "active high"
    bias = "pull-up" if item.pull_up else "no pull-up"
    return f"gpio {item.gpio} ({active}, {bias})"


def _analog_source(item: AnalogInput) -> str:
    source = item.source
    if isinstance(source, IioSource):
        how = f"scale {source.scale}" if source.scale is not None else (
            "scale from sysfs" + (f", shunt {source.shunt_ohm} ohm" if source.shunt_ohm else ""))
        return f"iio {source.path}, {how}"
    if isinstance(source, ModbusRegisterSource):
        point = source.point
        how = (f"counts {source.raw_range[0]}..{source.raw_range[1]}" if source.raw_range
               else f"scale {point.scale or 1}")
        return (f"modbus {source.url} unit {source.unit_id} {point.table} register "
                f"{point.address} {point.type}, {how}")
    return "simulated"


def site_plan(site: Site, now: datetime) -> dict[str, Any]:
    """The plan as JSON data."""
    prefix = site.name
    devices = site.devices
    plan: dict[str, Any] = {
        "site": site.name, "gateway_id": site.gateway_id, "timezone": site.timezone,
        "data_dir": str(site.data_dir), "history": str(site.history),
        "mbus": [{
            "name": item.name, "url": item.url, "baud": item.baud, "every": _every(item.interval),
            "scan": item.scan,
            "rescan_every": None if item.rescan is None else _every(item.rescan),
            "meters": [{"name": meter.name, "address": meter.address,
                        "points": f"{prefix}/{meter.name}/*", "profile": meter.profile,
                        "failed_after": _every(devices[meter.name])}
                       for meter in item.meters],
            "found_by_scan": None if item.scan == "none" else {
                "points": f"{prefix}/{item.name}/"
                          + ("<id>" if item.scan == "secondary" else "<address>") + "/*",
                "failed_after": _every(item.interval * item.missed_cycles)}}
            for item in site.mbus],
        "wmbus": [{
            "name": item.name, "dongle": item.dongle, "port": item.port,
            "keys": str(item.keys) if item.keys else None, "listen": [
                f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in item.listen],
            "meters": [{"name": meter.name, "id": meter.id, "manufacturer": meter.manufacturer,
                        "points": f"{prefix}/{meter.name}/*",
                        "failed_after": _every(devices[meter.name])}
                       for meter in item.meters]}
            for item in site.wmbus],
        "s0": [{"name": item.name, "source": _s0_source(item),
                "imp_per_unit": str(item.imp_per_unit), "unit": item.unit,
                "every": _every(item.interval),
                "points": [f"{prefix}/{item.name}/total", f"{prefix}/{item.name}/power"]}
               for item in site.s0],
        "analog": [{"name": item.name, "signal": item.signal,
                    "range": f"{item.low}..{item.high} {item.unit}".rstrip(),
                    "source": _analog_source(item),
                    "every": _every(item.interval),
                    "points": [site.point(item.name, item.field)]}
                   for item in site.analog],
        "modbus": [{"name": item.name, "url": item.url, "map": item.map.name,
                    "unit_id": item.unit_id, "every": _every(item.interval),
                    "points": f"{prefix}/{item.name}/*",
                    "failed_after": _every(devices[item.name])}
                   for item in site.modbus],
        "modbus_server": None if site.modbus_server is None else {
            "listen": f"{site.modbus_server.host}:{site.modbus_server.port}",
            "map": site.modbus_server.map.name, "points": dict(site.modbus_server.points)},
        "derived": [{"point": value.point, "kind": value.kind, "unit": value.unit,
                     "expression": value.expression.text if value.expression else None,
                     "inputs": {alias: item.point for alias, item in value.inputs.items()}}
                    for value in site.derived],
        "alarms": [_rule(rule) for rule in site.rules],
        "exports": [{"name": export.name, "format": export.format,
                     "every": (_every(export.minutes * 60) if export.minutes
                               else export.period),
                     "directory": str(export.directory), "points": list(export.points),
                     "deliver": list(export.deliver)}
                    for export in site.exports],
        "deliveries": [{"name": item.name, "kind": item.kind,
                        "host": item.options.get("host")} for item in site.deliveries],
        "mqtt": None if site.mqtt is None else {
            "broker": f"{site.mqtt.host}:{site.mqtt.port}",
            "topics": f"{site.mqtt.topic_prefix}/{site.gateway_id}/<device>/<field>",
            "alarms": (f"{site.mqtt.topic_prefix}/{site.gateway_id}/alarms/<alarm id>"
                       if site.mqtt.alarms else None)},
        "web": None if site.web is None else {"host": site.web.host, "port": site.web.port},
        **bacnet_plan(site),
    }
    schedule: dict[str, str] = {}
    for source, interval in input_cycles(site).items():
        schedule[source] = next_slot(interval, now, site.tz).isoformat()
    for export in site.exports:
        if export.minutes:
            end = next_slot(export.minutes * 60, now, site.tz)
        else:
            assert export.period is not None
            end = calendar_period(export.period, now, site.tz).end
        schedule[f"export:{export.name}"] = end.isoformat()
    plan["next"] = schedule
    return plan


def plan_text(plan: dict[str, Any]) -> str:
    """The plan as lines for people."""
    lines = [f"site {plan['site']} (gateway id {plan['gateway_id']}, time zone "
             f"{plan['timezone']})",
             f"  data folder {plan['data_dir']}, history {plan['history']}"]
    for bus in plan["mbus"]:
        lines.append(f"mbus {bus['name']}: {bus['url']} at {bus['baud']} Bd, every "
                     f"{bus['every']}, scan {bus['scan']}, {len(bus['meters'])} meters, "
                     "read one after another")
        lines.extend(f"  {meter['name']} (address {meter['address']}) -> {meter['points']}, "
                     f"failed after {meter['failed_after']}" for meter in bus["meters"])
        if bus["found_by_scan"]:
            found = bus["found_by_scan"]
            again = (f", scanned again every {bus['rescan_every']}" if bus["rescan_every"]
                     else "")
            lines.append(f"  meters found by the scan -> {found['points']}, failed after "
                         f"{found['failed_after']}{again}")
    for receiver in plan["wmbus"]:
        listen = ", ".join(receiver["listen"]) or "always"
        lines.append(f"wmbus {receiver['name']}: {receiver['dongle']} on {receiver['port']}, "
                     f"keys {receiver['keys']}, listening {listen}")
        lines.extend(f"  {meter['name']} (id {meter['id']}) -> {meter['points']}, failed "
                     f"after {meter['failed_after']}" for meter in receiver["meters"])
    for item in plan["s0"]:
        lines.append(f"s0 {item['name']}: {item['source']}, {item['imp_per_unit']} imp/"
                     f"{item['unit']}, every {item['every']} -> {', '.join(item['points'])}")
    for item in plan["analog"]:
        lines.append(f"analog {item['name']}: {item['signal']} as {item['range']} "
                     f"({item['source']}), every {item['every']} -> {item['points'][0]}")
    for item in plan["modbus"]:
        lines.append(f"modbus {item['name']}: {item['url']} map {item['map']}, every "
                     f"{item['every']} -> {item['points']}, failed after {item['failed_after']}")
    for value in plan["derived"]:
        formula = value["expression"] or value["inputs"]["input"]
        lines.append(f"derived {value['point']} = {value['kind']} of {formula}"
                     + ("" if value["kind"] != "formula" else
                        " with " + ", ".join(f"{k} = {v}" for k, v in value["inputs"].items())))
    for rule in plan["alarms"]:
        what = (f"{rule['kind']} {rule['limit']:g} (hysteresis {rule['hysteresis']:g})"
                if "limit" in rule else f"no data for {_every(rule['timeout'])}")
        lines.append(f"alarm {rule['alarm_id']}: {what}, {rule['severity']}")
    for export in plan["exports"]:
        deliver = ", delivered to " + ", ".join(export["deliver"]) if export["deliver"] else ""
        lines.append(f"export {export['name']}: {export['format']} every {export['every']} "
                     f"into {export['directory']}{deliver}")
    for item in plan["deliveries"]:
        lines.append(f"delivery {item['name']}: {item['kind']} to {item['host']}")
    if plan["mqtt"]:
        lines.append(f"mqtt {plan['mqtt']['broker']}: {plan['mqtt']['topics']}")
    if plan["modbus_server"]:
        server = plan["modbus_server"]
        lines.append(f"modbus server on {server['listen']}: map {server['map']}, "
                     + ", ".join(f"{k} = {v}" for k, v in server["points"].items()))
    lines.extend(bacnet_plan_text(plan))
    if plan["web"]:
        lines.append(f"web page on {plan['web']['host']}:{plan['web']['port']}")
    lines.append("next:")
    lines.extend(f"  {source} at {when}" for source, when in plan["next"].items())
    return "\n".join(lines)
