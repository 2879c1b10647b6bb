"""MQTT: message building and Home Assistant discovery (sans-IO), the offline queue, and the
publisher against a real mosquitto broker on 127.0.0.1 checked by a paho subscriber."""

from __future__ import annotations

import json
import ssl
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporters import (
    MqttError,
    MqttMessage,
    MqttPublisher,
    MqttQueueFullError,
    PublishQueue,
    Reading,
    ha_discovery_config,
    ha_discovery_messages,
    mqtt_messages,
    render_topic,
)

from .delivery_support import Mosquitto, Pki, Subscriber, mosquitto_binary

T0 = datetime(2026, 11, 24, 8, 15, tzinfo=timezone.utc)


def reading(**changes: object) -> Reading:
    fields: dict[str, object] = {
        "meter_id": "12345678", "quantity": "energy", "value": Decimal("1234.5"), "unit": "Wh",
        "timestamp": T0,
    }
    fields.update(changes)
    return Reading(**fields)  # type: ignore[arg-type]


READINGS = [
    reading(),
    reading(quantity="volume", value=Decimal("54.321"), unit="m3",
            metadata={"medium": "cold_water", "manufacturer": "ACW"}),
    reading(meter_id="87654321", meter_name="Heat meter 2", quantity="power", value=1500,
            unit="W"),
]


# --- messages (sans-IO) ---------------------------------------------------------------------


def test_one_message_per_reading_with_the_reading_as_json() -> None:
    messages = mqtt_messages(READINGS)
    assert [m.topic for m in messages] == [
        "meters/12345678/energy", "meters/12345678/volume", "meters/87654321/power",
    ]
    assert all(m.qos == 1 and m.retain for m in messages)
    for message, source in zip(messages, READINGS, strict=True):
        assert json.loads(message.payload) == source.to_dict()
        assert Reading.from_dict(json.loads(message.payload)) == source


def test_one_message_per_meter() -> None:
    messages = mqtt_messages(READINGS, topic="site/{name}", per="meter", retain=False)
    assert [m.topic for m in messages] == ["site/12345678", "site/Heat_meter_2"]
    first = json.loads(messages[0].payload)
    assert first["meter_id"] == "12345678"
    assert [r["quantity"] for r in first["readings"]] == ["energy", "volume"]
    assert first["timestamp"] == "2026-11-24T08:15:00Z"
    assert not messages[0].retain


def test_topic_values_stay_one_level_and_templates_are_checked() -> None:
    odd = reading(meter_id="a/b+c#d e", quantity="flow temp")
    assert render_topic("m/{id}/{quantity}/{storage}", odd) == "m/a_b_c_d_e/flow_temp/0"
    with pytest.raises(MqttError, match="unknown placeholder"):
        mqtt_messages(READINGS, topic="meters/{serial}")
    with pytest.raises(MqttError, match="wildcards"):
        mqtt_messages(READINGS, topic="meters/+/{id}")
    with pytest.raises(MqttError, match="allowed here"):
        mqtt_messages(READINGS, topic="meters/{id}/{quantity}", per="meter")
    with pytest.raises(MqttError):
        MqttMessage(topic="a/#", payload=b"")
    with pytest.raises(MqttError):
        MqttMessage(topic="a", payload=b"", qos=3)


# --- Home Assistant discovery ----------------------------------------------------------------


def config_of(message: MqttMessage) -> dict[str, object]:
    data = json.loads(message.payload)
    assert isinstance(data, dict)
    return data


def test_discovery_for_an_energy_register() -> None:
    message = ha_discovery_config(READINGS[0], state_topic="meters/12345678/energy")
    assert message.topic == "homeassistant/sensor/meterkit_12345678/energy/config"
    assert message.retain and message.qos == 1
    config = config_of(message)
    assert config["device_class"] == "energy"
    assert config["state_class"] == "total_increasing"
    assert config["unit_of_measurement"] == "Wh"
    assert config["state_topic"] == "meters/12345678/energy"
    assert config["value_template"] == "{{ value_json.value }}"
    assert config["unique_id"] == "meterkit_12345678_energy"
    assert config["default_entity_id"] == "sensor.meter_12345678_energy"
    assert "object_id" not in config
    device = config["device"]
    assert isinstance(device, dict)
    assert device["identifiers"] == ["meterkit_12345678"]


def test_discovery_maps_units_and_classes() -> None:
    water, power = (config_of(ha_discovery_config(r, state_topic="t")) for r in READINGS[1:])
    assert (water["device_class"], water["state_class"], water["unit_of_measurement"]) == (
        "water", "total_increasing", "m³")
    device = water["device"]
    assert isinstance(device, dict) and device["manufacturer"] == "ACW"
    assert (power["device_class"], power["state_class"], power["unit_of_measurement"]) == (
        "power", "measurement", "W")
    assert isinstance(power["device"], dict) and power["device"]["name"] == "Heat meter 2"
    historic = config_of(ha_discovery_config(reading(storage=1), state_topic="t"))
    assert "state_class" not in historic  # a value at a due date is not a running total
    assert historic["unique_id"] == "meterkit_12345678_energy_storage1"
    gas = config_of(ha_discovery_config(reading(unit="m3", metadata={"medium": "gas"}),
                                        state_topic="t"))
    assert gas["device_class"] == "gas"
    text = config_of(ha_discovery_config(reading(value="FW 1.2", unit=""), state_topic="t"))
    assert "device_class" not in text and "state_class" not in text


def test_discovery_once_per_register() -> None:
    messages = ha_discovery_messages(READINGS + READINGS)
    assert len(messages) == 3


# --- the offline queue -----------------------------------------------------------------------


def test_queue_limit_refuses_new_messages() -> None:
    queue = PublishQueue(max_queued=1)
    queue.offer(MqttMessage(topic="a", payload=b""))
    with pytest.raises(MqttQueueFullError):
        queue.offer(MqttMessage(topic="b", payload=b""))
    assert queue.pending == 1


actions = st.lists(st.sampled_from(["offer", "take", "hand", "ack", "ack_early", "refuse"]),
                   max_size=80)


@settings(max_examples=200, deadline=None)
@given(actions)
def test_queue_accounts_for_every_message_exactly_once(steps: list[str]) -> None:
    queue = PublishQueue(max_queued=1000, max_inflight=3)
    offered = 0
    taken: list[MqttMessage] = []
    handed: list[int] = []
    early: set[int] = set()
    next_mid = 1
    for step in steps:
        if step == "offer":
            queue.offer(MqttMessage(topic=f"t/{offered}", payload=b""))
            offered += 1
        elif step == "take":
            batch = queue.take()
            assert len(taken) + len(batch) + len(handed) <= 3 or not batch
            taken += batch
        elif step in ("hand", "ack_early") and taken:
            mid = next_mid
            next_mid += 1
            if step == "ack_early":  # the PUBACK overtakes the client's return value
                queue.acknowledged(mid)
                early.add(mid)
            queue.handed(mid, taken.pop(0))
            if mid not in early:
                handed.append(mid)
        elif step == "ack" and handed:
            queue.acknowledged(handed.pop(0))
        elif step == "refuse" and taken:
            queue.give_back(taken)
            taken = []
        assert queue.pending + queue.acknowledged_count == offered
    queue.give_back(taken)
    for mid in handed:
        queue.acknowledged(mid)
    while queue.queued:
        for message in queue.take():
            queue.handed(next_mid, message)
            queue.acknowledged(next_mid)
            next_mid += 1
    assert queue.pending == 0 and queue.acknowledged_count == offered


# --- against mosquitto -----------------------------------------------------------------------


def test_publish_is_acknowledged_and_values_are_retained(mosquitto: Mosquitto) -> None:
    live = Subscriber(mosquitto.port, ["meters/#"])
    try:
        with MqttPublisher("127.0.0.1", mosquitto.port) as publisher:
            assert publisher.publish_readings(READINGS) == 3
            assert publisher.wait_until_acknowledged(timeout=15)
            assert publisher.acknowledged == 3 and publisher.pending == 0
        got = live.wait_for(3)
    finally:
        live.close()
    assert sorted(t for t, _, _ in got) == sorted(m.topic for m in mqtt_messages(READINGS))
    late = Subscriber(mosquitto.port, ["meters/#"])
    try:
        retained = late.wait_for(3)
    finally:
        late.close()
    assert all(flag for _, _, flag in retained)
    payloads = {t: json.loads(p) for t, p, _ in retained}
    assert payloads["meters/12345678/energy"]["value"] == "1234.5"


def test_messages_before_the_first_connection_are_kept_and_sent(tmp_path: Path) -> None:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (Debian package 'mosquitto')")
    broker = Mosquitto(tmp_path / "broker")
    publisher = MqttPublisher("127.0.0.1", broker.port, reconnect_delay=(1, 1))
    publisher.start()
    try:
        publisher.publish_readings(READINGS)
        assert not publisher.wait_until_acknowledged(timeout=1)
        assert publisher.pending == 3 and not publisher.connected
        broker.start()
        assert publisher.wait_until_acknowledged(timeout=20)
    finally:
        publisher.stop()
    late = Subscriber(broker.port, ["meters/#"])
    try:
        assert len(late.wait_for(3)) == 3
    finally:
        late.close()
        broker.stop()


def test_reconnects_after_the_broker_restarts(tmp_path: Path) -> None:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (Debian package 'mosquitto')")
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    publisher = MqttPublisher("127.0.0.1", broker.port, reconnect_delay=(1, 1))
    publisher.start()
    try:
        publisher.publish_readings(READINGS[:1])
        assert publisher.wait_until_acknowledged(timeout=15)
        broker.stop()
        newer = [reading(value=Decimal("1300.0")), *READINGS[1:]]
        publisher.publish_readings(newer)
        broker.start()  # persistence is off: only what the publisher resends can arrive
        assert publisher.wait_until_acknowledged(timeout=30)
    finally:
        publisher.stop()
    late = Subscriber(broker.port, ["meters/#"])
    try:
        got = {t: json.loads(p) for t, p, _ in late.wait_for(3)}
    finally:
        late.close()
        broker.stop()
    assert got["meters/12345678/energy"]["value"] == "1300.0"
    assert len(got) == 3


def test_home_assistant_discovery_is_published_once(mosquitto: Mosquitto) -> None:
    watcher = Subscriber(mosquitto.port, ["homeassistant/#", "meters/#"])
    try:
        with MqttPublisher("127.0.0.1", mosquitto.port, ha_discovery=True) as publisher:
            assert publisher.publish_readings(READINGS) == 6
            assert publisher.publish_readings(READINGS) == 3  # configs only the first time
            assert publisher.wait_until_acknowledged(timeout=15)
        got = watcher.wait_for(9)
    finally:
        watcher.close()
    configs = {t: json.loads(p) for t, p, _ in got if t.startswith("homeassistant/")}
    assert len(configs) == 3
    energy = configs["homeassistant/sensor/meterkit_12345678/energy/config"]
    assert energy["state_class"] == "total_increasing"
    assert energy["default_entity_id"] == "sensor.meter_12345678_energy"
    assert energy["state_topic"] == "meters/12345678/energy"


def test_login_is_required_and_checked(tmp_path: Path) -> None:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (Debian package 'mosquitto')")
    broker = Mosquitto(tmp_path / "broker", users={"logger": "pa55"})
    broker.start()
    try:
        with MqttPublisher("127.0.0.1", broker.port, username="logger",
                           password="pa55") as publisher:
            publisher.publish_readings(READINGS[:1])
            assert publisher.wait_until_acknowledged(timeout=15)
        with MqttPublisher("127.0.0.1", broker.port, username="logger",
                           password="wrong") as publisher:
            publisher.publish_readings(READINGS[:1])
            assert not publisher.wait_until_acknowledged(timeout=2)
            assert publisher.last_error is not None
            assert "refused" in publisher.last_error or "lost" in publisher.last_error
    finally:
        broker.stop()


def test_tls(tmp_path: Path, pki: Pki) -> None:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (Debian package 'mosquitto')")
    broker = Mosquitto(tmp_path / "broker", pki=pki)
    broker.start()
    try:
        with MqttPublisher("127.0.0.1", broker.port, tls=pki.client_context()) as publisher:
            publisher.publish_readings(READINGS)
            assert publisher.wait_until_acknowledged(timeout=15)
        late = Subscriber(broker.port, ["meters/#"], tls=pki.client_context())
        try:
            assert len(late.wait_for(3)) == 3
        finally:
            late.close()
        untrusting = ssl.create_default_context()
        with MqttPublisher("127.0.0.1", broker.port, tls=untrusting) as publisher:
            publisher.publish_readings(READINGS[:1])
            assert not publisher.wait_until_acknowledged(timeout=2)
    finally:
        broker.stop()


def test_discovery_with_one_message_per_meter_is_refused() -> None:
    with pytest.raises(MqttError, match="not supported yet"):
        MqttPublisher("127.0.0.1", 1883, topic="meters/{id}", per="meter", ha_discovery=True)


@settings(max_examples=200, deadline=None)
@given(
    meter_id=st.text(min_size=1, max_size=20),
    quantity=st.text(min_size=1, max_size=20),
    name=st.none() | st.text(max_size=20),
)
def test_any_reading_gives_a_three_level_topic_and_a_json_payload(
    meter_id: str, quantity: str, name: str | None
) -> None:
    r = reading(meter_id=meter_id, quantity=quantity, meter_name=name)
    [message] = mqtt_messages([r])
    assert message.topic.count("/") == 2
    assert "+" not in message.topic and "#" not in message.topic
    message.topic.encode("utf-8")
    assert json.loads(message.payload)["meter_id"] == meter_id
    [config] = ha_discovery_messages([r])
    assert json.loads(config.payload)["state_topic"] == message.topic


def test_without_paho_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from exporters import MissingDependencyError

    monkeypatch.setitem(sys.modules, "paho.mqtt.client", None)
    publisher = MqttPublisher("127.0.0.1", 1)
    with pytest.raises(MissingDependencyError, match=r"meterkit\[mqtt\]"):
        publisher.start()


def test_the_message_core_and_the_queue_do_no_io() -> None:
    """Issue 11: message building and discovery (and the queue) are sans-IO; only the paho
    adapter imports network, thread or clock modules."""
    import ast

    import exporters

    root = Path(exporters.__file__).parent
    io_modules = {"socket", "ssl", "threading", "time", "asyncio", "select", "paho"}

    def imported(name: str) -> set[str]:
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names.add(("." * node.level) + (node.module or "").split(".")[0])
        return names

    for module in ("_mqtt_messages.py", "_mqtt_queue.py"):
        found = imported(module)
        assert not found & io_modules, (module, found & io_modules)
        assert "._mqtt" not in found and "._spool" not in found
    assert {"threading", "ssl"} <= imported("_mqtt.py")


def test_a_register_whose_function_is_a_wildcard_still_gets_a_discovery_topic() -> None:
    # Found by fuzzing: the function went into the topic unslugged ('.../0_#/config').
    r = reading(function="#max")
    [message] = ha_discovery_messages([r])
    assert "#" not in message.topic and "+" not in message.topic
