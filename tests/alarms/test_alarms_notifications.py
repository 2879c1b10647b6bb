"""X.733 notifications: JSON and XML forms, the shipped XSD (validated with lxml)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

import alarms
from alarms import (
    AlarmCleared,
    AlarmRaised,
    EventType,
    Notification,
    Severity,
    StateFormatError,
    ThresholdInfo,
    notification_from_dict,
    notification_from_json,
    notification_from_xml,
    notification_to_xml,
    notification_xsd,
    notifications_from_xml,
    notifications_to_xml,
)
from alarms._xml import _ILLEGAL_XML

SCHEMA = etree.XMLSchema(etree.fromstring(notification_xsd()))


def test_xsd_ships_inside_the_package() -> None:
    assert (Path(alarms.__file__).parent / "notification.xsd").read_bytes() == notification_xsd()


def sample_raise() -> AlarmRaised:
    return AlarmRaised(
        notification_id=7,
        event_time=1700000000.25,
        event_type=EventType.ENVIRONMENTAL,
        probable_cause="temperatureUnacceptable",
        specific_problem="upper limit",
        perceived_severity=Severity.MAJOR,
        alarm_id="boiler.flow.hi",
        alarm_class="process",
        point="boiler.flow",
        threshold_info=ThresholdInfo(
            triggered_threshold="upper",
            threshold_level=90.0,
            hysteresis=2.5,
            direction="up",
            observed_value=91.5,
            arm_time=1699990000.0,
        ),
        additional_text="boiler.flow: 91.5 °C <too hot> & rising",
    )


def sample_clear() -> AlarmCleared:
    return AlarmCleared(
        notification_id=8,
        event_time=1700000100.0,
        event_type=EventType.COMMUNICATIONS,
        probable_cause="lossOfSignal",
        specific_problem="no data",
        perceived_severity=Severity.CLEARED,
        alarm_id="m1.stale",
        alarm_class="",
        point="m1",
        correlated_notifications=(3,),
    )


def test_json_form_names_the_x733_fields() -> None:
    data = json.loads(sample_raise().to_json())
    assert data["event"] == "raised"
    assert data["event_type"] == "environmentalAlarm"
    assert data["perceived_severity"] == "major"
    assert data["threshold_info"]["observed_value"] == 91.5
    assert data["correlated_notifications"] == []
    assert json.loads(sample_clear().to_json())["perceived_severity"] == "cleared"


@pytest.mark.parametrize("notification", [sample_raise(), sample_clear()])
def test_round_trips(notification: Notification) -> None:
    assert notification_from_json(notification.to_json()) == notification
    assert notification_from_dict(notification.to_dict()) == notification
    xml = notification_to_xml(notification)
    SCHEMA.assertValid(etree.fromstring(xml))
    assert notification_from_xml(xml) == notification


def test_batch_document_validates() -> None:
    xml = notifications_to_xml([sample_raise(), sample_clear()])
    SCHEMA.assertValid(etree.fromstring(xml))
    assert notifications_from_xml(xml) == [sample_raise(), sample_clear()]
    empty = notifications_to_xml([])
    SCHEMA.assertValid(etree.fromstring(empty))


def test_xml_uses_x733_element_names() -> None:
    root = etree.fromstring(notification_to_xml(sample_clear()))
    ns = {"n": alarms.XML_NAMESPACE}
    assert root.get("event") == "cleared"
    assert root.findtext("n:perceivedSeverity", namespaces=ns) == "cleared"
    assert root.findtext("n:correlatedNotifications/n:notificationId", namespaces=ns) == "3"
    assert root.find("n:thresholdInfo", namespaces=ns) is None


def test_schema_rejects_what_the_model_forbids() -> None:
    xml = notification_to_xml(sample_raise()).replace(b">major<", b">bogus<")
    assert not SCHEMA.validate(etree.fromstring(xml))
    with pytest.raises(StateFormatError):
        notification_from_xml(xml)


def test_control_characters_are_replaced_in_xml() -> None:
    n = AlarmCleared(**{**_fields(sample_clear()), "additional_text": "a\x00b\x1bc"})
    xml = notification_to_xml(n)
    SCHEMA.assertValid(etree.fromstring(xml))
    assert notification_from_xml(xml).additional_text == "a\ufffdb\ufffdc"


def _fields(notification: Notification) -> dict[str, Any]:
    fields = dataclasses.fields(notification)
    return {field.name: getattr(notification, field.name) for field in fields}


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"<notification/>",
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
        b"<n:notification xmlns:n='urn:meterkit:alarms:x733:1' event='raised'/>",
        b"<n:notification xmlns:n='urn:meterkit:alarms:x733:1' event='what'/>",
        "<notification>\u00e9".encode(),
    ],
)
def test_bad_xml_raises_our_error(bad: bytes) -> None:
    with pytest.raises(StateFormatError):
        notification_from_xml(bad)


@pytest.mark.parametrize(
    "change",
    [
        {"event": "maybe"},
        {"notification_id": 0},
        {"notification_id": True},
        {"event_time": "now"},
        {"event_type": "strangeAlarm"},
        {"perceived_severity": "major", "event": "cleared"},
        {"perceived_severity": "cleared"},
        {"threshold_info": {"direction": "sideways"}},
        {"threshold_info": 5},
        {"correlated_notifications": "1"},
        {"correlated_notifications": [-1]},
        {"point": None},
    ],
)
def test_bad_dicts_raise_our_error(change: dict[str, object]) -> None:
    data = sample_raise().to_dict()
    if isinstance(change.get("threshold_info"), dict):
        change = {"threshold_info": {**data["threshold_info"], **change["threshold_info"]}}  # type: ignore[dict-item]
    with pytest.raises(StateFormatError):
        notification_from_dict({**data, **change})


def test_notifications_validate_when_built() -> None:
    with pytest.raises(TypeError):
        Notification(**_fields(sample_raise()))
    with pytest.raises(StateFormatError):
        AlarmCleared(**{**_fields(sample_clear()), "perceived_severity": Severity.MAJOR})
    with pytest.raises(StateFormatError):
        AlarmRaised(**{**_fields(sample_raise()), "event_time": float("nan")})
    with pytest.raises(StateFormatError):
        notification_from_json("{not json")


# any code point, lone surrogates and XML-illegal control characters included
texts = st.text(
    st.characters(exclude_categories=()) | st.sampled_from(["\ud800", "\udfff", "\x00", "\r"]),
    max_size=20,
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def notifications(draw: st.DrawFn) -> Notification:
    cleared = draw(st.booleans())
    info = draw(
        st.none()
        | st.builds(
            ThresholdInfo,
            triggered_threshold=texts,
            threshold_level=finite,
            hysteresis=finite,
            direction=st.sampled_from(["up", "down"]),
            observed_value=finite,
            arm_time=st.none() | finite,
        )
    )
    common = {
        "notification_id": draw(st.integers(1, 2**63)),
        "event_time": draw(finite),
        "event_type": draw(st.sampled_from(list(EventType))),
        "probable_cause": draw(texts),
        "specific_problem": draw(texts),
        "alarm_id": draw(texts),
        "alarm_class": draw(texts),
        "point": draw(texts),
        "threshold_info": info,
        "correlated_notifications": tuple(draw(st.lists(st.integers(1, 2**40), max_size=3))),
        "additional_text": draw(texts),
    }
    if cleared:
        return AlarmCleared(perceived_severity=Severity.CLEARED, **common)  # type: ignore[arg-type]
    severity = draw(st.sampled_from([s for s in Severity if s is not Severity.CLEARED]))
    return AlarmRaised(perceived_severity=severity, **common)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(notifications())
def test_any_notification_round_trips_and_validates(notification: Notification) -> None:
    assert notification_from_json(notification.to_json()) == notification
    xml = notification_to_xml(notification)
    SCHEMA.assertValid(etree.fromstring(xml))
    # characters XML cannot carry come back as U+FFFD; everything else exactly
    readable: dict[str, Any] = {
        name: _ILLEGAL_XML.sub("\ufffd", value)
        for name, value in _fields(notification).items()
        if isinstance(value, str)
    }
    info = notification.threshold_info
    if info is not None:
        readable["threshold_info"] = dataclasses.replace(
            info, triggered_threshold=_ILLEGAL_XML.sub("\ufffd", info.triggered_threshold)
        )
    assert notification_from_xml(xml) == dataclasses.replace(notification, **readable)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_decode_or_raise_our_error(data: bytes) -> None:
    with contextlib.suppress(StateFormatError):
        notification_from_xml(data)
