"""``meterkit collect``: many gateways' readings and alarms from MQTT into PostgreSQL.

The gateways publish the fleet format (``exporters mqtt --fleet GATEWAY``, see
``exporters._mqtt_fleet``); the collector subscribes to it with QoS 1 in a
persistent session (a fixed client id, clean session off, so the broker keeps
what arrives while the collector is away) and stores each message in one
transaction of a :class:`~gateway.history.PostgresHistory`, per gateway. A
message is acknowledged only once stored: the broker sends again what was not
acknowledged, and storage is idempotent (readings keyed on gateway, point and
time; alarms on gateway, alarm, event and time), so everything is stored
exactly once. While the database is away the collector retries, holding the
message; a message that is not the fleet format is logged and dropped.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import alarms
import exporters
from exporters._transport_cli import parse_host_port
from profiles import PointReading

from .history import HistoryError, PostgresHistory

__all__ = ["FleetStore", "register", "run_collector"]

log = logging.getLogger(__name__)


class FleetStore:
    """Stores fleet messages (sans-IO apart from the database): ``store(topic, payload)``.

    ``connect`` makes the history (called again after the database failed).
    """

    def __init__(self, connect: Callable[[], PostgresHistory]) -> None:
        self._connect = connect
        self._history: PostgresHistory | None = None
        self._gateways: dict[str, PostgresHistory] = {}
        self.stored = 0
        """Readings stored new so far."""
        self.dropped = 0
        """Messages that were not the fleet format."""

    def _for(self, gateway: str) -> PostgresHistory:
        if self._history is None:
            self._history = self._connect()
            self._gateways = {}
        found = self._gateways.get(gateway)
        if found is None:
            found = self._gateways[gateway] = self._history.for_gateway(gateway)
        return found

    def store(self, topic: str, payload: bytes) -> None:
        """Parse and store one message. Raises :class:`HistoryError` when the database
        failed (the caller retries); a bad message is counted in :attr:`dropped`."""
        try:
            message = exporters.parse_fleet_message(topic, payload)
            if isinstance(message, exporters.FleetAlarm):
                # The payload's numbers were read as exact decimals; a notification's numbers
                # are floats written by repr, which float() gives back exactly.
                notification = alarms.notification_from_json(
                    json.dumps(message.notification, default=float))
        except (exporters.ExportError, alarms.AlarmsError, ValueError) as exc:
            self.dropped += 1
            log.warning("dropped a message on %s: %s", topic[:100], exc)
            return
        try:
            history = self._for(message.gateway)
            if isinstance(message, exporters.FleetAlarm):
                history.append_alarm(notification, message.time)
            else:
                self.stored += history.append(
                    PointReading(r.point, r.time, r.value, r.unit, r.quantity, r.quality)
                    for r in message.readings)
        except HistoryError:
            self.reset()
            raise

    def reset(self) -> None:
        """Forget the connection (the next message connects anew)."""
        if self._history is not None:
            try:
                self._history.close()
            except Exception:  # a broken connection may fail to close: it is gone anyway
                log.debug("closing a failed connection", exc_info=True)
        self._history = None
        self._gateways = {}

    def close(self) -> None:
        """Close the database connection."""
        self.reset()


def run_collector(broker: tuple[str, int], dsn: str, *, topics: str,
                  client_id: str = "meterkit-collect", username: str | None = None,
                  password: str | None = None, stop: threading.Event | None = None,
                  retry_delay: float = 1.0) -> int:
    """Collect until ``stop`` is set (or SIGTERM/SIGINT from the command); 0 when stopped."""
    mqtt: Any = importlib.import_module("paho.mqtt.client")  # the mqtt extra, when used
    stop = stop or threading.Event()
    store = FleetStore(lambda: PostgresHistory(dsn))
    store._for("")  # fail early on a bad --db (and create the schema)
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                         client_id=client_id, clean_session=False,
                         protocol=mqtt.MQTTv311, manual_ack=True)
    if username is not None:
        client.username_pw_set(username, password)

    def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if not reason.is_failure:
            client.subscribe(topics, qos=1)

    def on_subscribe(client: Any, userdata: Any, mid: Any, reasons: Any, properties: Any) -> None:
        log.info("subscribed to %s on %s:%s", topics, *broker)

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        while not stop.is_set():
            try:
                store.store(message.topic, message.payload)
            except HistoryError as exc:
                log.warning("database failed (%s): retrying in %g s", exc, retry_delay)
                stop.wait(retry_delay)
                continue
            client.ack(message.mid, message.qos)
            return

    client.on_connect = on_connect
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.reconnect_delay_set(1, 10)
    client.connect_async(broker[0], broker[1], keepalive=30)
    client.loop_start()
    try:
        stop.wait()
    finally:
        client.disconnect()
        client.loop_stop()
        store.close()
    return 0


def _command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="meterkit collect: %(message)s")
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    password = os.environ.get(args.password_env) if args.password_env else None
    try:
        return run_collector(args.broker, args.db, topics=args.topics, client_id=args.client_id,
                             username=args.user, password=password, stop=stop)
    except HistoryError as exc:
        print(f"meterkit collect: {exc}", file=sys.stderr)
        return 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``collect`` to the ``meterkit`` command."""
    parser = commands.add_parser(
        "collect", help="store many gateways' MQTT readings and alarms in PostgreSQL",
        description="Subscribe to the fleet topics (QoS 1, persistent session) and store "
                    "every gateway's readings and alarm notifications in PostgreSQL, once "
                    "each (keyed on gateway, point and time). Runs until stopped.")
    parser.add_argument("--broker", required=True, type=lambda t: parse_host_port(t, 1883),
                        metavar="HOST:PORT", help="MQTT broker (port default 1883)")
    parser.add_argument("--db", required=True, metavar="DSN",
                        help="PostgreSQL connection string (postgresql://user@host/db)")
    parser.add_argument("--topics", default=exporters.FLEET_TOPIC_FILTER, metavar="FILTER",
                        help=f"topic filter (default {exporters.FLEET_TOPIC_FILTER})")
    parser.add_argument("--client-id", default="meterkit-collect", metavar="ID",
                        help="MQTT client id: the broker keeps this session while away")
    parser.add_argument("--user", metavar="NAME")
    parser.add_argument("--password-env", metavar="VAR",
                        help="read the MQTT password from environment variable VAR")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.set_defaults(handler=_command)


def main(argv: list[str] | None = None) -> int:
    """``python -m gateway._collect``: the collect command alone."""
    parser = argparse.ArgumentParser(prog="meterkit")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())

