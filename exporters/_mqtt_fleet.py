"""The fleet MQTT format (version 1): what many gateways publish for one collector.

Sans-IO: readings and alarm notifications in, :class:`MqttMessage` out, and back.

Topics (``<gateway>`` one topic level: ``/ + #``, white space and control
characters become ``_``)::

    meterkit/v1/<gateway>/readings    readings, in batches
    meterkit/v1/<gateway>/alarms      one alarm notification (raise or clear)

Payloads are UTF-8 JSON objects with ``"format": "meterkit.fleet"``,
``"version": 1`` and ``"gateway"``; QoS 1, not retained (every message is
history, not a last value). Readings::

    {"format": "meterkit.fleet", "version": 1, "gateway": "site-7",
     "readings": [{"point": "12345678/energy", "time": "2026-11-24T08:15:00Z",
                   "value": "1234.5", "value_type": "decimal", "unit": "Wh",
                   "quantity": "energy", "quality": []}, ...]}

``value`` and ``value_type`` as in :meth:`Reading.to_dict` (decimals as exact
text). ``point`` is :attr:`Reading.point` (``metadata["point"]`` when given,
else ``<meter id>/<quantity>`` with ``/storageN``, ``/tariffN``, ``/subunitN``
and a function other than instantaneous). Alarms::

    {"format": "meterkit.fleet", "version": 1, "gateway": "site-7",
     "time": "2026-11-24T08:15:00Z", "notification": {...}}

where ``notification`` is the alarm notification's JSON object (``alarms``'
``Notification.to_dict()``). A collector keys readings on (gateway, point,
time), so a message delivered twice is stored once. Later versions get another
``meterkit/vN`` prefix; a receiver refuses versions it does not know.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._errors import ReadingError
from ._json_limits import JsonFormatError, load_json
from ._mqtt_messages import MqttError, MqttMessage, _json, _topic_part
from ._reading import Reading, ReadingLike, as_reading, format_timestamp, parse_timestamp
from ._reading import parse_value as _parse_value

__all__ = [
    "FLEET_FORMAT",
    "FLEET_TOPIC_FILTER",
    "FLEET_VERSION",
    "FleetAlarm",
    "FleetReading",
    "FleetReadings",
    "fleet_alarm_message",
    "fleet_reading_messages",
    "fleet_topic",
    "parse_fleet_message",
]

FLEET_FORMAT = "meterkit.fleet"
FLEET_VERSION = 1
FLEET_TOPIC_FILTER = "meterkit/v1/+/+"
"""The subscription that receives every gateway's readings and alarms."""

_KINDS = ("readings", "alarms")


def fleet_topic(gateway: str, kind: str) -> str:
    """``meterkit/v1/<gateway>/<kind>`` (kind ``readings`` or ``alarms``)."""
    if kind not in _KINDS:
        raise MqttError(f"kind must be 'readings' or 'alarms', got {kind!r}", field="kind")
    if not isinstance(gateway, str) or not gateway:
        raise MqttError("the gateway id must be a non-empty text", field="gateway")
    return f"meterkit/v{FLEET_VERSION}/{_topic_part(gateway)}/{kind}"


def _head(gateway: str) -> dict[str, Any]:
    return {"format": FLEET_FORMAT, "version": FLEET_VERSION, "gateway": gateway}


def fleet_reading_messages(readings: Iterable[ReadingLike | Reading], *, gateway: str,
                           batch: int = 500, qos: int = 1) -> list[MqttMessage]:
    """The readings as fleet messages of at most ``batch`` readings each."""
    if batch < 1:
        raise MqttError("must be at least 1", field="batch")
    topic = fleet_topic(gateway, "readings")
    items: list[dict[str, Any]] = []
    messages = []
    for reading in map(as_reading, readings):
        document = reading.to_dict()
        items.append({"point": reading.point, "time": document["timestamp"],
                      "value": document["value"], "value_type": document["value_type"],
                      "unit": reading.unit, "quantity": reading.quantity,
                      "quality": list(reading.status)})
        if len(items) >= batch:
            messages.append(MqttMessage(topic=topic, payload=_json(
                {**_head(gateway), "readings": items}), qos=qos, retain=False))
            items = []
    if items:
        messages.append(MqttMessage(topic=topic, payload=_json(
            {**_head(gateway), "readings": items}), qos=qos, retain=False))
    return messages


def fleet_alarm_message(notification: Mapping[str, Any], *, gateway: str, time: datetime,
                        qos: int = 1) -> MqttMessage:
    """One alarm notification (its JSON object) received at wall time ``time``."""
    if not isinstance(notification, Mapping):
        raise MqttError("the notification must be its JSON object", field="notification")
    payload = {**_head(gateway), "time": format_timestamp(time),
               "notification": dict(notification)}
    return MqttMessage(topic=fleet_topic(gateway, "alarms"), payload=_json(payload), qos=qos,
                       retain=False)


@dataclass(frozen=True, slots=True)
class FleetReading:
    """One reading of a fleet message (``quality``: meterkit's flags)."""

    point: str
    time: datetime
    value: Any
    unit: str
    quantity: str
    quality: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FleetReadings:
    """A readings message: the gateway and its readings."""

    gateway: str
    readings: tuple[FleetReading, ...]


@dataclass(frozen=True, slots=True)
class FleetAlarm:
    """An alarm message: the gateway, the wall time, the notification's JSON object."""

    gateway: str
    time: datetime
    notification: dict[str, Any]


def _text(item: Mapping[str, Any], key: str, index: int, empty_ok: bool = True) -> str:
    value = item.get(key)
    if not isinstance(value, str) or (not empty_ok and not value):
        raise MqttError(f"readings[{index}].{key} must be a{'' if empty_ok else ' non-empty'}"
                        " text", field=key)
    return value


def _time(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise MqttError("must be an ISO 8601 time with zone", field=field)
    return parse_timestamp(value, field=field)


def parse_fleet_message(topic: str, payload: bytes) -> FleetReadings | FleetAlarm:
    """A fleet message back (what a collector receives); anything else is an
    :class:`MqttError` naming the field at fault."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "meterkit" or parts[3] not in _KINDS:
        raise MqttError(f"not a fleet topic: {topic[:80]!r}", field="topic")
    if parts[1] != f"v{FLEET_VERSION}":
        raise MqttError(f"fleet format {parts[1]!r} is not supported (this is v1)",
                        field="version")
    try:
        document = load_json(payload, field="payload")
    except JsonFormatError as exc:
        raise MqttError(f"payload is not JSON: {exc.message}", field="payload") from None
    if not isinstance(document, dict) or document.get("format") != FLEET_FORMAT \
            or document.get("version") != FLEET_VERSION:
        raise MqttError("payload is not a meterkit.fleet version 1 object", field="format")
    gateway = document.get("gateway")
    if not isinstance(gateway, str) or not gateway or _topic_part(gateway) != parts[2]:
        raise MqttError("gateway must be the text whose topic level the message came on",
                        field="gateway")
    try:
        if parts[3] == "alarms":
            notification = document.get("notification")
            if not isinstance(notification, dict):
                raise MqttError("notification must be an object", field="notification")
            return FleetAlarm(gateway, _time(document.get("time"), "time"), notification)
        items = document.get("readings")
        if not isinstance(items, list):
            raise MqttError("readings must be a list", field="readings")
        readings = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise MqttError(f"readings[{index}] must be an object", field="readings")
            quality = item.get("quality", [])
            if not isinstance(quality, list) or not all(
                    isinstance(flag, str) and flag for flag in quality):
                raise MqttError(f"readings[{index}].quality must be a list of flags",
                                field="quality")
            readings.append(FleetReading(
                _text(item, "point", index, empty_ok=False), _time(item.get("time"), "time"),
                _parse_value(item.get("value"), item.get("value_type")),
                _text(item, "unit", index), _text(item, "quantity", index), tuple(quality)))
        return FleetReadings(gateway, tuple(readings))
    except ReadingError as exc:
        raise MqttError(exc.message, field=exc.field) from None

