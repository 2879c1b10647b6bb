"""MQTT publishing of readings: the adapter around paho-mqtt (the ``mqtt`` extra).

:class:`MqttPublisher` runs paho-mqtt 2.x (VERSION2 callback API) in its own network
thread. What it publishes is built by the sans-IO core (``exporters._mqtt_messages``:
topics, payloads, Home Assistant discovery) and kept in a :class:`PublishQueue`
(``exporters._mqtt_queue``); this module holds only the I/O.

paho is imported only when a publisher starts, so this module imports without it.

Delivery: QoS 1 (at least once) and retained by default, so a subscriber that connects later
gets the last value of every topic at once. Messages published before the first connection,
or while the broker is away, wait in the publisher's own bounded queue; paho itself resends
what it had in flight when a connection broke.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ._errors import MissingDependencyError
from ._mqtt_fleet import fleet_alarm_message, fleet_reading_messages, fleet_topic
from ._mqtt_messages import (
    DEFAULT_TOPIC,
    MqttError,
    MqttMessage,
    check_topic_template,
    ha_discovery_messages,
    mqtt_messages,
)
from ._mqtt_queue import PublishQueue
from ._reading import Reading, ReadingLike, as_reading

if TYPE_CHECKING:
    import paho.mqtt.client as paho_client

__all__ = ["MqttPublisher"]

log = logging.getLogger(__name__)


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
        topic: topic template (see :func:`render_topic`); None publishes only the fleet
            format.
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
        fleet_gateway: this gateway's id: readings are also published in the fleet format
            (``meterkit/v1/<gateway>/readings``, see ``exporters._mqtt_fleet``), and
            :meth:`publish_alarm` sends alarm notifications to ``.../alarms``.
        fleet_batch: readings per fleet message.

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
        topic: str | None = DEFAULT_TOPIC,
        per: Literal["reading", "meter"] = "reading",
        qos: int = 1,
        retain: bool = True,
        ha_discovery: bool = False,
        discovery_prefix: str = "homeassistant",
        keepalive: int = 60,
        max_queued: int = 100_000,
        max_inflight: int = 20,
        reconnect_delay: tuple[float, float] = (1.0, 30.0),
        fleet_gateway: str | None = None,
        fleet_batch: int = 500,
    ) -> None:
        if topic is not None:
            check_topic_template(topic, per)
        if fleet_gateway is not None:
            fleet_topic(fleet_gateway, "readings")  # refuses an empty gateway id
        if topic is None and fleet_gateway is None:
            raise MqttError("give a topic template or a fleet gateway id", field="topic")
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
        self.fleet_gateway = fleet_gateway
        self.fleet_batch = fleet_batch
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
        if self.fleet_gateway is not None:
            messages += fleet_reading_messages(batch, gateway=self.fleet_gateway,
                                               batch=self.fleet_batch, qos=self.qos)
        if self.topic is None:
            for message in messages:
                self.publish(message)
            return len(messages)
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

    def publish_alarm(self, notification: Mapping[str, Any], time: datetime) -> None:
        """Queue an alarm notification (its JSON object) on the fleet alarms topic.

        Raises:
            MqttError: no ``fleet_gateway`` was given.
        """
        if self.fleet_gateway is None:
            raise MqttError("alarm notifications are published in the fleet format: give "
                            "fleet_gateway", field="fleet_gateway")
        self.publish(fleet_alarm_message(notification, gateway=self.fleet_gateway, time=time,
                                         qos=self.qos))

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
            log.warning(
                "MQTT connection to %s:%s lost (%s); reconnecting",
                self.host,
                self.port,
                reason_code,
            )

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
                while not self._stopping and not (
                    self._connected
                    and self._queue.queued
                    and self._queue.inflight < self._queue.max_inflight
                ):
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
