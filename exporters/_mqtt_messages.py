"""MQTT messages from readings, with Home Assistant discovery: the sans-IO core.

Readings in, :class:`MqttMessage` out: :func:`render_topic`, :func:`mqtt_messages`,
:func:`ha_discovery_config`, :func:`ha_discovery_messages`. No client, socket, thread or
clock here; the paho adapter (``exporters._mqtt``) publishes what these functions build,
and the offline queue (``exporters._mqtt_queue``) keeps track of it.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._errors import ExportError
from ._reading import Reading, ReadingLike, as_reading, format_timestamp
from ._shown import shown

__all__ = [
    "DEFAULT_TOPIC",
    "MqttError",
    "MqttMessage",
    "check_topic_template",
    "ha_discovery_config",
    "ha_discovery_messages",
    "mqtt_messages",
    "render_topic",
]

DEFAULT_TOPIC = "meters/{id}/{quantity}"
_PLACEHOLDERS = ("id", "name", "quantity", "unit", "storage", "tariff", "subunit", "function")
_METER_PLACEHOLDERS = ("id", "name")
# one topic level: no separators, wildcards, white space, control characters or lone
# surrogates (which UTF-8 cannot carry)
_TOPIC_UNSAFE = re.compile("[/+#\x00-\x20\x7f\ud800-\udfff]")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_MAX_TOPIC_BYTES = 65535


class MqttError(ExportError):
    """A topic template, message or broker setting is invalid, or the broker failed us."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttMessage:
    """One message to publish.

    Attributes:
        topic: the topic name (no wildcards).
        payload: the bytes (UTF-8 JSON for readings and discovery).
        qos: 0, 1 or 2.
        retain: whether the broker keeps it as the topic's last value.
    """

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True

    def __post_init__(self) -> None:
        if not self.topic or "+" in self.topic or "#" in self.topic or "\x00" in self.topic:
            raise MqttError(f"not a topic name: {shown(self.topic)}", field="topic")
        try:
            encoded = self.topic.encode("utf-8")
        except UnicodeEncodeError:
            raise MqttError(
                f"topic is not valid UTF-8: {shown(self.topic)}", field="topic"
            ) from None
        if len(encoded) > _MAX_TOPIC_BYTES:
            raise MqttError("topic longer than 65535 bytes", field="topic")
        if self.qos not in (0, 1, 2):
            raise MqttError(f"QoS must be 0, 1 or 2, got {shown(self.qos)}", field="qos")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (payload as text, or hex when it is not UTF-8)."""
        try:
            payload: str = self.payload.decode()
            encoding = "utf-8"
        except UnicodeDecodeError:
            payload, encoding = self.payload.hex(), "hex"
        return {
            "topic": self.topic,
            "payload": payload,
            "payload_encoding": encoding,
            "qos": self.qos,
            "retain": self.retain,
        }


def _check_template(template: str, allowed: Sequence[str]) -> list[str]:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise MqttError(f"bad topic template {shown(template)}: {exc}", field="topic") from None
    for name in fields:
        if name not in allowed:
            raise MqttError(
                f"unknown placeholder {{{name}}} in topic template {shown(template)}; "
                f"allowed here: {', '.join('{' + a + '}' for a in allowed)}",
                field="topic",
            )
    if "+" in template or "#" in template:
        raise MqttError(
            f"wildcards + and # cannot be published to: {shown(template)}", field="topic"
        )
    return fields


def _topic_part(value: object) -> str:
    text = _TOPIC_UNSAFE.sub("_", str(value))
    return text or "_"


def check_topic_template(template: str, per: str = "reading") -> None:
    """Check a topic template for messages ``per`` reading or meter (see :func:`mqtt_messages`).

    Raises:
        MqttError: ``per`` is not ``"reading"`` or ``"meter"``, or the template has a
            wildcard, bad syntax or a placeholder that does not apply.
    """
    if per not in ("reading", "meter"):
        raise MqttError(f"per must be 'reading' or 'meter', got {shown(per)}", field="per")
    _check_template(template, _PLACEHOLDERS if per == "reading" else _METER_PLACEHOLDERS)


def render_topic(template: str, reading: ReadingLike | Reading) -> str:
    """Fill a topic template from a reading.

    Placeholders: ``{id}``, ``{name}`` (meter name, else id), ``{quantity}``, ``{unit}``,
    ``{storage}``, ``{tariff}``, ``{subunit}``, ``{function}``. Values have ``/``, ``+``,
    ``#``, white space and control characters replaced by ``_`` so they stay one level.

    >>> from datetime import datetime, timezone
    >>> r = Reading(meter_id="12345678", quantity="energy", value=1, unit="Wh",
    ...             timestamp=datetime(2026, 11, 24, tzinfo=timezone.utc))
    >>> render_topic("meters/{id}/{quantity}", r)
    'meters/12345678/energy'

    Raises:
        MqttError: unknown placeholder or wildcard in the template.
    """
    _check_template(template, _PLACEHOLDERS)
    return _render(template, as_reading(reading))


def _render(template: str, reading: Reading) -> str:
    return template.format(
        id=_topic_part(reading.meter_id),
        name=_topic_part(reading.meter_name or reading.meter_id),
        quantity=_topic_part(reading.quantity),
        unit=_topic_part(reading.unit),
        storage=reading.storage,
        tariff=reading.tariff,
        subunit=reading.subunit,
        function=_topic_part(reading.function),
    )


def _json(data: Any) -> bytes:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates cannot be UTF-8: escape everything instead (still valid JSON).
        return json.dumps(data, separators=(",", ":")).encode("ascii")


def mqtt_messages(
    readings: Iterable[ReadingLike | Reading],
    *,
    topic: str = DEFAULT_TOPIC,
    per: Literal["reading", "meter"] = "reading",
    qos: int = 1,
    retain: bool = True,
) -> list[MqttMessage]:
    """Turn readings into messages: one per reading, or one per meter.

    ``per="reading"``: the payload is the reading's ``to_dict()``. ``per="meter"``: readings
    are grouped by meter id (in order of first appearance) and the template may use only
    ``{id}`` and ``{name}``; the payload is ``{"meter_id", "meter_name", "timestamp"
    (the latest), "readings": [to_dict(), ...]}``.

    Raises:
        MqttError: bad template for the chosen mode, or unknown ``per``.
        ReadingError: an object is not a valid reading.
    """
    check_topic_template(topic, per)
    if per == "reading":
        return [
            MqttMessage(topic=_render(topic, r), payload=_json(r.to_dict()), qos=qos, retain=retain)
            for r in map(as_reading, readings)
        ]
    groups: dict[str, list[Reading]] = {}
    for reading in map(as_reading, readings):
        groups.setdefault(reading.meter_id, []).append(reading)
    messages = []
    for group in groups.values():
        first = group[0]
        latest = max(group, key=lambda r: r.timestamp)
        payload = {
            "meter_id": first.meter_id,
            "meter_name": first.meter_name,
            "timestamp": format_timestamp(latest.timestamp),
            "readings": [r.to_dict() for r in group],
        }
        messages.append(
            MqttMessage(topic=_render(topic, first), payload=_json(payload), qos=qos, retain=retain)
        )
    return messages


# --- Home Assistant discovery ------------------------------------------------------------

# unit as meterkit writes it -> (unit Home Assistant expects, device_class, accumulates)
_HA_UNITS: dict[str, tuple[str, str | None, bool]] = {
    "Wh": ("Wh", "energy", True),
    "kWh": ("kWh", "energy", True),
    "MWh": ("MWh", "energy", True),
    "GWh": ("GWh", "energy", True),
    "J": ("J", "energy", True),
    "kJ": ("kJ", "energy", True),
    "MJ": ("MJ", "energy", True),
    "GJ": ("GJ", "energy", True),
    "m3": ("m³", "volume", True),
    "l": ("L", "volume", True),
    "L": ("L", "volume", True),
    "W": ("W", "power", False),
    "kW": ("kW", "power", False),
    "MW": ("MW", "power", False),
    "m3/h": ("m³/h", "volume_flow_rate", False),
    "l/min": ("L/min", "volume_flow_rate", False),
    "degC": ("°C", "temperature", False),
    "°C": ("°C", "temperature", False),
    "K": ("K", "temperature", False),
    "V": ("V", "voltage", False),
    "A": ("A", "current", False),
    "Hz": ("Hz", "frequency", False),
    "bar": ("bar", "pressure", False),
    "Pa": ("Pa", "pressure", False),
    "s": ("s", "duration", False),
    "min": ("min", "duration", False),
    "h": ("h", "duration", False),
    "d": ("d", "duration", False),
}


def _volume_class(reading: Reading) -> str:
    hint = " ".join(
        (reading.quantity, reading.metadata.get("medium", ""), reading.metadata.get("kind", ""))
    ).lower()
    if "gas" in hint:
        return "gas"
    if "water" in hint:
        return "water"
    return "volume"


def _register_suffix(reading: Reading) -> str:
    parts = []
    if reading.storage:
        parts.append(f"storage{reading.storage}")
    if reading.tariff:
        parts.append(f"tariff{reading.tariff}")
    if reading.subunit:
        parts.append(f"subunit{reading.subunit}")
    if reading.function != "instantaneous":
        parts.append(reading.function)
    return "".join(f"_{p}" for p in parts)


def _slug(text: str) -> str:
    return _ID_UNSAFE.sub("_", text).lower()


def ha_discovery_config(
    reading: ReadingLike | Reading,
    *,
    state_topic: str,
    prefix: str = "homeassistant",
) -> MqttMessage:
    """The Home Assistant MQTT discovery message for the sensor of one reading's register.

    Topic ``<prefix>/sensor/meterkit_<id>/<register>/config``; payload with ``unique_id``,
    ``default_entity_id`` (``sensor.<slug>``; the older ``object_id`` is deprecated and not
    sent), ``state_topic``, ``value_template``, ``unit_of_measurement``, ``device_class``,
    ``state_class`` (``total_increasing`` for current meter registers such as energy and
    volume, ``measurement`` for power, flow and temperatures, none for historic values and
    text) and the ``device``. Retained, QoS 1.
    """
    r = as_reading(reading)
    meter = _slug(r.meter_id)
    register = _slug(r.quantity + _register_suffix(r))
    unique_id = f"meterkit_{meter}_{register}"
    config: dict[str, Any] = {
        "name": (r.quantity.replace("_", " ").capitalize() + _register_suffix(r).replace("_", " ")),
        "unique_id": unique_id,
        "default_entity_id": f"sensor.meter_{meter}_{register}",
        "state_topic": state_topic,
        "json_attributes_topic": state_topic,
        "value_template": "{{ value_json.value }}",
    }
    mapped = _HA_UNITS.get(r.unit)
    numeric = r.value_type != "string"
    if r.unit:
        config["unit_of_measurement"] = mapped[0] if mapped else r.unit
    if mapped and numeric:
        device_class = mapped[1]
        if device_class == "volume":
            device_class = _volume_class(r)
        if "difference" in r.quantity.lower() and device_class == "temperature":
            device_class = None  # a difference in K is not a temperature HA can convert
        if device_class is not None:
            config["device_class"] = device_class
        if r.storage == 0 and r.function == "instantaneous":
            config["state_class"] = "total_increasing" if mapped[2] else "measurement"
    elif numeric and r.storage == 0 and r.function == "instantaneous":
        config["state_class"] = "measurement"
    device: dict[str, Any] = {
        "identifiers": [f"meterkit_{meter}"],
        "name": r.meter_name or f"Meter {r.meter_id}",
        "serial_number": r.meter_id,
    }
    manufacturer = r.metadata.get("manufacturer")
    if manufacturer:
        device["manufacturer"] = manufacturer
    config["device"] = device
    config["origin"] = {"name": "meterkit"}
    topic = f"{prefix}/sensor/meterkit_{meter}/{register}/config"
    return MqttMessage(topic=topic, payload=_json(config), qos=1, retain=True)


def ha_discovery_messages(
    readings: Iterable[ReadingLike | Reading],
    *,
    topic: str = DEFAULT_TOPIC,
    prefix: str = "homeassistant",
) -> list[MqttMessage]:
    """Discovery messages for readings published one per reading under ``topic``
    (one per distinct register, in order of first appearance).

    Raises:
        MqttError: bad template (discovery for per-meter messages is not supported yet).
    """
    _check_template(topic, _PLACEHOLDERS)
    seen: set[str] = set()
    messages = []
    for reading in map(as_reading, readings):
        message = ha_discovery_config(reading, state_topic=_render(topic, reading), prefix=prefix)
        if message.topic not in seen:
            seen.add(message.topic)
            messages.append(message)
    return messages
