"""The fleet MQTT format v1: built, parsed back exactly, bad messages refused by field."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from exporters import (
    FleetAlarm,
    FleetReadings,
    MqttError,
    MqttPublisher,
    Reading,
    fleet_alarm_message,
    fleet_reading_messages,
    parse_fleet_message,
)

T0 = datetime(2026, 11, 24, 8, 15, tzinfo=timezone.utc)


def _reading(n: int, **changes: object) -> Reading:
    fields: dict[str, object] = {"meter_id": "12345678", "quantity": "energy",
                                 "value": Decimal("1234.50") + n, "unit": "Wh",
                                 "timestamp": T0 + timedelta(minutes=n)}
    fields.update(changes)
    return Reading(**fields)  # type: ignore[arg-type]


def test_readings_round_trip_in_batches() -> None:
    readings = [_reading(n) for n in range(5)] + [
        _reading(9, value="OK", quantity="status", status=("estimated",), storage=2),
        _reading(10, value=1.5e-7, function="maximum", tariff=1)]
    messages = fleet_reading_messages(readings, gateway="site 7", batch=3)
    assert [m.topic for m in messages] == ["meterkit/v1/site_7/readings"] * 3
    assert all(m.qos == 1 and not m.retain for m in messages)
    assert json.loads(messages[0].payload)["readings"][0] == {
        "point": "12345678/energy", "time": "2026-11-24T08:15:00Z", "value": "1234.50",
        "value_type": "decimal", "unit": "Wh", "quantity": "energy", "quality": []}
    back = [parse_fleet_message(m.topic, m.payload) for m in messages]
    assert all(isinstance(b, FleetReadings) and b.gateway == "site 7" for b in back)
    items = [r for b in back if isinstance(b, FleetReadings) for r in b.readings]
    assert [(r.point, r.time, r.value, r.unit, r.quality) for r in items] == [
        (x.point, x.timestamp, x.value, x.unit, x.status) for x in readings]
    assert [r.point for r in items[4:]] == ["12345678/energy", "12345678/status/storage2",
                                            "12345678/energy/tariff1/maximum"]
    assert str(items[0].value) == "1234.50"


def test_alarm_round_trip() -> None:
    notification = {"event": "raised", "alarm_id": "a1", "event_time": 12.5}
    message = fleet_alarm_message(notification, gateway="gw", time=T0)
    assert message.topic == "meterkit/v1/gw/alarms"
    back = parse_fleet_message(message.topic, message.payload)
    assert isinstance(back, FleetAlarm)
    assert (back.gateway, back.time, back.notification["alarm_id"]) == ("gw", T0, "a1")


@pytest.mark.parametrize(("topic", "payload", "field"), [
    ("meters/1/energy", b"{}", "topic"),
    ("meterkit/v2/gw/readings", b"{}", "version"),
    ("meterkit/v1/gw/readings", b"{not json", "payload"),
    ("meterkit/v1/gw/readings", b'{"format": "other", "version": 1}', "format"),
    ("meterkit/v1/gw/readings",
     b'{"format": "meterkit.fleet", "version": 1, "gateway": "gw2", "readings": []}',
     "gateway"),
    ("meterkit/v1/gw/readings",
     b'{"format": "meterkit.fleet", "version": 1, "gateway": "gw", "readings": [{"point": '
     b'"p", "time": "2026-11-24T08:00:00", "value": "1", "value_type": "integer", '
     b'"unit": "", "quantity": ""}]}', "time"),
    ("meterkit/v1/gw/readings",
     b'{"format": "meterkit.fleet", "version": 1, "gateway": "gw", "readings": [{"point": '
     b'"p", "time": "2026-11-24T08:00:00Z", "value": "x", "value_type": "decimal", '
     b'"unit": "", "quantity": ""}]}', "value"),
    ("meterkit/v1/gw/alarms",
     b'{"format": "meterkit.fleet", "version": 1, "gateway": "gw", "time": 5, '
     b'"notification": {}}', "time"),
])
def test_bad_messages_are_refused_by_field(topic: str, payload: bytes, field: str) -> None:
    with pytest.raises(MqttError) as caught:
        parse_fleet_message(topic, payload)
    assert caught.value.field == field


def test_publisher_needs_a_topic_or_a_fleet_gateway() -> None:
    with pytest.raises(MqttError, match="fleet gateway"):
        MqttPublisher("127.0.0.1", topic=None)
    with pytest.raises(MqttError, match="fleet_gateway"):
        MqttPublisher("127.0.0.1").publish_alarm({}, T0)
