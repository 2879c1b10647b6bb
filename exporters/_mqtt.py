"""MQTT publishing of readings, with Home Assistant discovery (paho-mqtt, the ``mqtt`` extra).

Two layers:

- the sans-IO core: :func:`render_topic`, :func:`mqtt_messages`,
  :func:`ha_discovery_messages` (readings in, :class:`MqttMessage` out) and
  :class:`PublishQueue` (the offline queue and in-flight bookkeeping, no threads);
- :class:`MqttPublisher`, the adapter around paho-mqtt 2.x (VERSION2 callback API).

paho is imported only when a publisher starts, so this module imports without it.

Delivery: QoS 1 (at least once) and retained by default, so a subscriber that connects later
gets the last value of every topic at once. Messages published before the first connection,
or while the broker is away, wait in the publisher's own bounded queue; paho itself resends
what it had in flight when a connection broke.
"""

from __future__ import annotations

import collections
import json
import logging
import re
import ssl
import string
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ._errors import ExportError, MissingDependencyError
from ._reading import Reading, ReadingLike, as_reading, format_timestamp

if TYPE_CHECKING:
    import paho.mqtt.client as paho_client

__all__ = [
    "MqttError",
    "MqttMessage",
    "MqttPublisher",
    "MqttQueueFullError",
    "PublishQueue",
    "ha_discovery_config",
    "ha_discovery_messages",
    "mqtt_messages",
    "render_topic",
]

log = logging.getLogger(__name__)

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


class MqttQueueFullError(MqttError):
    """The offline queue is full; the message was refused (nothing queued is ever dropped)."""


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
            raise MqttError(f"not a topic name: {self.topic!r}", field="topic")
        try:
            encoded = self.topic.encode("utf-8")
        except UnicodeEncodeError:
            raise MqttError(f"topic is not valid UTF-8: {self.topic!r}", field="topic") from None
        if len(encoded) > _MAX_TOPIC_BYTES:
            raise MqttError("topic longer than 65535 bytes", field="topic")
        if self.qos not in (0, 1, 2):
            raise MqttError(f"QoS must be 0, 1 or 2, got {self.qos!r}", field="qos")

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
        raise MqttError(f"bad topic template {template!r}: {exc}", field="topic") from None
    for name in fields:
        if name not in allowed:
            raise MqttError(
                f"unknown placeholder {{{name}}} in topic template {template!r}; "
                f"allowed here: {', '.join('{' + a + '}' for a in allowed)}",
                field="topic",
            )
    if "+" in template or "#" in template:
        raise MqttError(f"wildcards + and # cannot be published to: {template!r}", field="topic")
    return fields


def _topic_part(value: object) -> str:
    text = _TOPIC_UNSAFE.sub("_", str(value))
    return text or "_"


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
    if per == "reading":
        _check_template(topic, _PLACEHOLDERS)
        return [
            MqttMessage(
                topic=_render(topic, r), payload=_json(r.to_dict()), qos=qos, retain=retain
            )
            for r in map(as_reading, readings)
        ]
    if per != "meter":
        raise MqttError(f"per must be 'reading' or 'meter', got {per!r}", field="per")
    _check_template(topic, _METER_PLACEHOLDERS)
    groups: dict[str, list[Reading]] = collections.OrderedDict()
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
            MqttMessage(
                topic=_render(topic, first), payload=_json(payload), qos=qos, retain=retain
            )
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
    register = _slug(r.quantity) + _register_suffix(r)
    unique_id = f"meterkit_{meter}_{register}"
    config: dict[str, Any] = {
        "name": (r.quantity.replace("_", " ").capitalize() + _register_suffix(r).replace(
            "_", " "
        )),
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
        message = ha_discovery_config(
            reading, state_topic=_render(topic, reading), prefix=prefix
        )
        if message.topic not in seen:
            seen.add(message.topic)
            messages.append(message)
    return messages


# --- the offline queue (sans-IO) ----------------------------------------------------------


class PublishQueue:
    """Messages waiting for the broker, and those handed over but not yet acknowledged.

    No threads, no clock: the adapter calls :meth:`offer` for new messages, :meth:`take`
    when it may hand messages to the client, :meth:`handed` with the message id the client
    gave, and :meth:`acknowledged` when the broker's PUBACK arrives (which may come before
    :meth:`handed` in a threaded client; that order is handled). QoS 0 messages count as
    acknowledged once handed over.

    >>> q = PublishQueue(max_queued=2)
    >>> q.offer(MqttMessage(topic="a", payload=b"1"))
    >>> q.offer(MqttMessage(topic="b", payload=b"2"))
    >>> [m.topic for m in q.take(1)], q.pending
    (['a'], 2)
    """

    def __init__(self, *, max_queued: int = 100_000, max_inflight: int = 20) -> None:
        if max_queued < 1 or max_inflight < 1:
            raise MqttError("queue limits must be >= 1", field="max_queued")
        self.max_queued = max_queued
        self.max_inflight = max_inflight
        self._queue: collections.deque[MqttMessage] = collections.deque()
        self._inflight: dict[int, MqttMessage] = {}
        self._taken = 0
        self._early_acks: set[int] = set()
        self.acknowledged_count = 0

    @property
    def queued(self) -> int:
        """Messages not yet handed to the client."""
        return len(self._queue)

    @property
    def inflight(self) -> int:
        """Messages handed over (or being handed over) and not yet acknowledged."""
        return len(self._inflight) + self._taken

    @property
    def pending(self) -> int:
        """Everything not yet acknowledged."""
        return self.queued + self.inflight

    def offer(self, message: MqttMessage) -> None:
        """Queue a message.

        Raises:
            MqttQueueFullError: ``max_queued`` messages are already waiting.
        """
        if len(self._queue) >= self.max_queued:
            raise MqttQueueFullError(
                f"{len(self._queue)} messages wait for the broker, the limit is "
                f"{self.max_queued}; message for {message.topic!r} refused",
                field="max_queued",
            )
        self._queue.append(message)

    def take(self, limit: int | None = None) -> list[MqttMessage]:
        """Messages the adapter may hand to the client now (respecting ``max_inflight``)."""
        room = self.max_inflight - self.inflight
        if limit is not None:
            room = min(room, limit)
        batch = []
        while room > 0 and self._queue:
            batch.append(self._queue.popleft())
            room -= 1
        self._taken += len(batch)
        return batch

    def handed(self, mid: int, message: MqttMessage) -> None:
        """The client accepted a taken message under message id ``mid``."""
        self._taken -= 1
        if message.qos == 0 or mid in self._early_acks:
            self._early_acks.discard(mid)
            self.acknowledged_count += 1
            return
        self._inflight[mid] = message

    def give_back(self, messages: Sequence[MqttMessage]) -> None:
        """Taken messages the client refused: back to the front of the queue, in order."""
        self._taken -= len(messages)
        self._queue.extendleft(reversed(messages))

    def acknowledged(self, mid: int) -> None:
        """The broker acknowledged message id ``mid``."""
        if self._inflight.pop(mid, None) is not None:
            self.acknowledged_count += 1
        elif self._taken:
            self._early_acks.add(mid)

    def __iter__(self) -> Iterator[MqttMessage]:
        yield from self._inflight.values()
        yield from self._queue


# --- the paho adapter ----------------------------------------------------------------------


def _import_paho() -> Any:
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise MissingDependencyError(
            "MQTT needs paho-mqtt 2.x: pip install 'meterkit[mqtt]'", field="paho-mqtt"
        ) from None
    if not hasattr(mqtt, "CallbackAPIVersion"):
        raise MissingDependencyError(
            "paho-mqtt 2.x is needed (the VERSION2 callback API); 1.x is installed",
            field="paho-mqtt",
        )
    return mqtt


class MqttPublisher:
    """Publish readings to an MQTT broker, keeping them queued while it is unreachable.

    Args:
        host: broker name or address.
        port: default 1883 (8883 is usual with TLS).
        client_id: default a random id chosen by paho.
        username: login (MQTT ``CONNECT`` user name).
        password: password for ``username``.
        tls: a context to connect with TLS (``ssl.create_default_context(cafile=...)``).
        topic: topic template (see :func:`render_topic`).
        per: ``"reading"`` or ``"meter"`` (see :func:`mqtt_messages`).
        qos: default 1.
        retain: default ``True`` (the broker keeps the last value of each topic).
        ha_discovery: publish Home Assistant discovery messages, once per register, before
            the first value of that register.
        discovery_prefix: default ``homeassistant``.
        keepalive: seconds.
        max_queued: bound of the offline queue; beyond it :class:`MqttQueueFullError`.
        max_inflight: messages handed to the client without acknowledgement.
        reconnect_delay: ``(min, max)`` seconds between reconnection attempts.

    Use as a context manager, or call :meth:`start` and :meth:`stop`::

        with MqttPublisher("broker", 1883) as pub:
            pub.publish_readings(readings)
            pub.wait_until_acknowledged(timeout=30)
    """

    def __init__(
        self,
        host: str,
        port: int = 1883,
        *,
        client_id: str = "",
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        topic: str = DEFAULT_TOPIC,
        per: Literal["reading", "meter"] = "reading",
        qos: int = 1,
        retain: bool = True,
        ha_discovery: bool = False,
        discovery_prefix: str = "homeassistant",
        keepalive: int = 60,
        max_queued: int = 100_000,
        max_inflight: int = 20,
        reconnect_delay: tuple[float, float] = (1.0, 30.0),
    ) -> None:
        if per not in ("reading", "meter"):
            raise MqttError(f"per must be 'reading' or 'meter', got {per!r}", field="per")
        _check_template(topic, _PLACEHOLDERS if per == "reading" else _METER_PLACEHOLDERS)
        if ha_discovery and per != "reading":
            raise MqttError(
                "Home Assistant discovery is not supported yet for one message per meter",
                field="ha_discovery",
            )
        self.host = host
        self.port = port
        self.client_id = client_id
        self.username = username
        self.password = password
        self.tls = tls
        self.topic = topic
        self.per: Literal["reading", "meter"] = per
        self.qos = qos
        self.retain = retain
        self.ha_discovery = ha_discovery
        self.discovery_prefix = discovery_prefix
        self.keepalive = keepalive
        self.reconnect_delay = reconnect_delay
        self._queue = PublishQueue(max_queued=max_queued, max_inflight=max_inflight)
        self._cond = threading.Condition()
        self._connected = False
        self._ever_connected = False
        self._last_error: str | None = None
        self._stopping = False
        self._discovered: set[str] = set()
        self._client: paho_client.Client | None = None
        self._feeder: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> MqttPublisher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Begin connecting in the background (returns at once; messages queue meanwhile)."""
        if self._client is not None:
            return
        mqtt = _import_paho()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv311,
        )
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls is not None:
            client.tls_set_context(self.tls)
        client.max_inflight_messages_set(self._queue.max_inflight)
        client.reconnect_delay_set(int(self.reconnect_delay[0]), int(self.reconnect_delay[1]))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_connect_fail = self._on_connect_fail
        client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self._client = client
        self._stopping = False
        client.loop_start()
        self._feeder = threading.Thread(target=self._feed, name="mqtt-feeder", daemon=True)
        self._feeder.start()

    def stop(self) -> None:
        """Disconnect and stop the background threads; unacknowledged messages are dropped
        with a warning (call :meth:`wait_until_acknowledged` first to avoid that)."""
        client, self._client = self._client, None
        with self._cond:
            self._stopping = True
            left = self._queue.pending
            self._cond.notify_all()
        if self._feeder is not None:
            self._feeder.join(timeout=5)
            self._feeder = None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        if left:
            log.warning("stopping with %d MQTT messages not acknowledged", left)

    # -- publishing ------------------------------------------------------------------------

    def publish(self, message: MqttMessage) -> None:
        """Queue one message (sent as soon as the broker is connected).

        Raises:
            MqttQueueFullError: the offline queue is full.
        """
        with self._cond:
            self._queue.offer(message)
            self._cond.notify_all()

    def publish_readings(self, readings: Iterable[ReadingLike | Reading]) -> int:
        """Queue readings as messages (and discovery messages first when enabled).

        Returns the number of messages queued.

        Raises:
            MqttQueueFullError: the offline queue is full (messages before it stay queued).
            ReadingError: an object is not a valid reading.
        """
        batch = [as_reading(r) for r in readings]
        messages: list[MqttMessage] = []
        if self.ha_discovery:
            for message in ha_discovery_messages(
                batch, topic=self.topic, prefix=self.discovery_prefix
            ):
                if message.topic not in self._discovered:
                    messages.append(message)
        messages += mqtt_messages(
            batch, topic=self.topic, per=self.per, qos=self.qos, retain=self.retain
        )
        for message in messages:
            self.publish(message)
            if message.topic.startswith(self.discovery_prefix + "/") and self.ha_discovery:
                self._discovered.add(message.topic)
        return len(messages)

    @property
    def pending(self) -> int:
        """Messages not yet acknowledged by the broker."""
        with self._cond:
            return self._queue.pending

    @property
    def acknowledged(self) -> int:
        """Messages the broker acknowledged so far."""
        with self._cond:
            return self._queue.acknowledged_count

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up now."""
        with self._cond:
            return self._connected

    @property
    def last_error(self) -> str | None:
        """Why the last connection attempt or connection failed, if it did."""
        with self._cond:
            return self._last_error

    def wait_until_acknowledged(self, timeout: float | None = None) -> bool:
        """Block until every queued message is acknowledged; ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue.pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining if remaining is not None else 1.0)
            return True

    # -- paho callbacks (network thread): only record, never call paho here -----------------

    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        with self._cond:
            if getattr(reason_code, "is_failure", False):
                self._last_error = f"broker refused the connection: {reason_code}"
                log.warning("MQTT %s:%s %s", self.host, self.port, self._last_error)
                return
            self._connected = True
            self._ever_connected = True
            self._last_error = None
            self._cond.notify_all()
        log.info("MQTT connected to %s:%s", self.host, self.port)

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        with self._cond:
            self._last_error = f"cannot connect to {self.host}:{self.port}"
            self._cond.notify_all()
        log.debug("MQTT connection to %s:%s failed; retrying", self.host, self.port)

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        with self._cond:
            was = self._connected
            self._connected = False
            if not self._stopping:
                self._last_error = f"connection lost: {reason_code}"
            self._cond.notify_all()
        if was and not self._stopping:
            log.warning("MQTT connection to %s:%s lost (%s); reconnecting",
                        self.host, self.port, reason_code)

    def _on_publish(
        self, client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any
    ) -> None:
        with self._cond:
            self._queue.acknowledged(mid)
            self._cond.notify_all()

    # -- the feeder thread: hands queued messages to paho while connected -----------------

    def _feed(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and not (self._connected and self._queue.queued
                                                  and self._queue.inflight
                                                  < self._queue.max_inflight):
                    self._cond.wait(0.5)
                if self._stopping:
                    return
                batch = self._queue.take()
                client = self._client
            if client is None:
                with self._cond:
                    self._queue.give_back(batch)
                return
            for index, message in enumerate(batch):
                info = client.publish(
                    message.topic, message.payload, qos=message.qos, retain=message.retain
                )
                # NO_CONN: paho keeps a QoS>0 message and sends it after reconnecting.
                if info.rc not in (0, 4) or (info.rc == 4 and message.qos == 0):
                    with self._cond:
                        self._queue.give_back(batch[index:])
                        self._cond.notify_all()
                    log.debug("paho refused a message (rc=%s); retrying later", info.rc)
                    time.sleep(0.1)
                    break
                with self._cond:
                    self._queue.handed(info.mid, message)
                    self._cond.notify_all()
