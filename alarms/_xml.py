"""The XML form of notifications (for ticket systems and energy portals) and its XSD."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from importlib import resources

from ._errors import StateFormatError
from ._notifications import AlarmCleared, AlarmRaised, Notification, ThresholdInfo
from ._parsing import MAX_DOCUMENT_BYTES, MAX_NUMBER_CHARS, brief, parse_number
from ._rules import EventType, Severity

__all__ = [
    "XML_NAMESPACE",
    "notification_from_xml",
    "notification_to_xml",
    "notification_xsd",
    "notifications_from_xml",
    "notifications_to_xml",
]

#: Namespace of the ``notification`` and ``notifications`` elements.
XML_NAMESPACE = "urn:meterkit:alarms:x733:1"
_NS = "{" + XML_NAMESPACE + "}"
# Characters XML 1.0 cannot carry at all (lone surrogates included); they are
# replaced when writing, refused when reading.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def notification_xsd() -> bytes:
    """The XML Schema (``alarms/notification.xsd``) both XML forms validate against."""
    return resources.files("alarms").joinpath("notification.xsd").read_bytes()


def _text(value: str) -> str:
    return _ILLEGAL_XML.sub("\ufffd", value)


def _number(value: float) -> str:
    return repr(float(value))


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, _NS + tag)
    element.text = text
    return element


def _element(notification: Notification) -> ET.Element:
    root = ET.Element(_NS + "notification", {"event": notification.event})
    _sub(root, "notificationId", str(notification.notification_id))
    _sub(root, "eventTime", _number(notification.event_time))
    _sub(root, "eventType", notification.event_type.value)
    _sub(root, "probableCause", _text(notification.probable_cause))
    _sub(root, "specificProblem", _text(notification.specific_problem))
    _sub(root, "perceivedSeverity", notification.perceived_severity.value)
    _sub(root, "alarmId", _text(notification.alarm_id))
    _sub(root, "alarmClass", _text(notification.alarm_class))
    _sub(root, "point", _text(notification.point))
    info = notification.threshold_info
    if info is not None:
        element = ET.SubElement(root, _NS + "thresholdInfo")
        _sub(element, "triggeredThreshold", _text(info.triggered_threshold))
        _sub(element, "thresholdLevel", _number(info.threshold_level)).set(
            "direction", info.direction
        )
        _sub(element, "hysteresis", _number(info.hysteresis))
        _sub(element, "observedValue", _number(info.observed_value))
        if info.arm_time is not None:
            _sub(element, "armTime", _number(info.arm_time))
    if notification.correlated_notifications:
        element = ET.SubElement(root, _NS + "correlatedNotifications")
        for correlated in notification.correlated_notifications:
            _sub(element, "notificationId", str(correlated))
    _sub(root, "additionalText", _text(notification.additional_text))
    return root


def _serialise(root: ET.Element) -> bytes:
    ET.register_namespace("", XML_NAMESPACE)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    # a raw CR would come back as LF (XML end-of-line handling); only text holds one
    return data.replace(b"\r", b"&#13;")


def notification_to_xml(notification: Notification) -> bytes:
    """One notification as a UTF-8 XML document (root element ``notification``).

    Characters XML 1.0 cannot represent are replaced by U+FFFD.
    """
    return _serialise(_element(notification))


def notifications_to_xml(notifications: Iterable[Notification]) -> bytes:
    """Several notifications in one document (root element ``notifications``)."""
    root = ET.Element(_NS + "notifications")
    root.extend(_element(notification) for notification in notifications)
    return _serialise(root)


def _parse(data: bytes | str) -> ET.Element:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise StateFormatError(f"XML document larger than {MAX_DOCUMENT_BYTES} bytes", offset=0)
    if isinstance(data, bytes):
        # Our XML is UTF-8; reading it as text first also stops a document in
        # another encoding from hiding a DTD from the check below.
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StateFormatError(
                f"XML document is not UTF-8: {exc.reason}", offset=exc.start
            ) from None
    else:
        text = data
    illegal = _ILLEGAL_XML.search(text)
    if illegal is not None:
        raise StateFormatError(
            f"character U+{ord(illegal.group()):04X} cannot appear in XML", offset=illegal.start()
        )
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise StateFormatError("DTDs and entities are not accepted in notification XML")
    try:
        # given text, expat reads it as UTF-8 whatever the declaration says
        return ET.fromstring(text.removeprefix("\ufeff"))
    except ET.ParseError as exc:
        raise StateFormatError(f"not well-formed XML: {exc}") from None


def _child(element: ET.Element, tag: str, path: str) -> ET.Element:
    child = element.find(_NS + tag)
    if child is None:
        raise StateFormatError("missing", field=f"{path}{tag}")
    return child


def _child_text(element: ET.Element, tag: str, path: str) -> str:
    return _child(element, tag, path).text or ""


def _float(text: str, field: str) -> float:
    value = parse_number(text.strip())
    if value is None:
        raise StateFormatError(f"not a finite number: {brief(text)}", field=field)
    return value


def _int(text: str, field: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_NUMBER_CHARS:
        raise StateFormatError(f"not a positive integer: {brief(text)}", field=field)
    return int(text)


def _from_element(root: ET.Element, path: str = "") -> Notification:
    if root.tag != _NS + "notification":
        raise StateFormatError(f"expected element notification in {XML_NAMESPACE}, got {root.tag}")
    event = root.get("event")
    classes: dict[str | None, type[Notification]] = {
        "raised": AlarmRaised,
        "cleared": AlarmCleared,
    }
    if event not in classes:
        raise StateFormatError(
            f"must be 'raised' or 'cleared', got {event!r}", field=f"{path}@event"
        )
    try:
        event_type = EventType(_child_text(root, "eventType", path))
        severity = Severity(_child_text(root, "perceivedSeverity", path))
    except ValueError as exc:
        raise StateFormatError(str(exc), field=f"{path}eventType/perceivedSeverity") from None
    info = None
    info_element = root.find(_NS + "thresholdInfo")
    if info_element is not None:
        ipath = f"{path}thresholdInfo/"
        level = _child(info_element, "thresholdLevel", ipath)
        arm = info_element.find(_NS + "armTime")
        info = ThresholdInfo(
            triggered_threshold=_child_text(info_element, "triggeredThreshold", ipath),
            threshold_level=_float(level.text or "", ipath + "thresholdLevel"),
            direction=level.get("direction", ""),  # type: ignore[arg-type]
            hysteresis=_float(_child_text(info_element, "hysteresis", ipath), ipath + "hysteresis"),
            observed_value=_float(
                _child_text(info_element, "observedValue", ipath), ipath + "observedValue"
            ),
            arm_time=None if arm is None else _float(arm.text or "", ipath + "armTime"),
        )
    correlated: tuple[int, ...] = ()
    correlated_element = root.find(_NS + "correlatedNotifications")
    if correlated_element is not None:
        correlated = tuple(
            _int(child.text or "", f"{path}correlatedNotifications")
            for child in correlated_element.findall(_NS + "notificationId")
        )
    return classes[event](
        notification_id=_int(_child_text(root, "notificationId", path), path + "notificationId"),
        event_time=_float(_child_text(root, "eventTime", path), path + "eventTime"),
        event_type=event_type,
        probable_cause=_child_text(root, "probableCause", path),
        specific_problem=_child_text(root, "specificProblem", path),
        perceived_severity=severity,
        alarm_id=_child_text(root, "alarmId", path),
        alarm_class=_child_text(root, "alarmClass", path),
        point=_child_text(root, "point", path),
        threshold_info=info,
        correlated_notifications=correlated,
        additional_text=_child_text(root, "additionalText", path),
    )


def notification_from_xml(data: bytes | str) -> Notification:
    """Parse :func:`notification_to_xml` output; raises :class:`alarms.StateFormatError`."""
    return _from_element(_parse(data))


def notifications_from_xml(data: bytes | str) -> list[Notification]:
    """Parse :func:`notifications_to_xml` output."""
    root = _parse(data)
    if root.tag != _NS + "notifications":
        raise StateFormatError(f"expected element notifications in {XML_NAMESPACE}, got {root.tag}")
    return [_from_element(child, f"notification[{index}]/") for index, child in enumerate(root)]
