"""Point lists as data: the ``kind = "bacnet"`` profile files and their ``[[points]]``.

A point list says which meterkit points a BACnet object stands for: on the server,
the Analog Inputs (and their Trend Logs and Notification Classes) the gateway
publishes; on the client, the objects of a remote device the poller reads. The
format is documented in docs/profiles.rst and docs/bacnet.rst; every fault is a
:class:`~bacnet.PointListError` naming file, table and key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from profiles import ProfileError, TableReader, load_toml

from ._errors import PointListError
from ._units import map_unit

__all__ = [
    "OBJECT_TYPES",
    "PUBLISHED_OBJECT_TYPES",
    "TRENDED_OBJECT_TYPES",
    "DeviceSpec",
    "NotificationClassSpec",
    "PointList",
    "PointSpec",
    "TrendSpec",
    "load_point_list",
    "parse_point_list",
]

MAX_INSTANCE = 4194302  # 22-bit instance numbers; 4194303 is the wildcard
MAX_POINTS = 100_000  # far above any device; bounds a hostile file's cost

OBJECT_TYPES = frozenset({
    "accumulator", "analog-input", "analog-output", "analog-value", "binary-input",
    "binary-output", "binary-value", "characterstring-value", "integer-value",
    "large-analog-value", "multi-state-input", "multi-state-output", "multi-state-value",
    "positive-integer-value", "pulse-converter",
})
"""Object types a point may name: the ones whose present-value is a reading."""

PUBLISHED_OBJECT_TYPES = frozenset({"analog-input", "binary-input", "characterstring-value"})
"""Object types :class:`~bacnet.BacnetServer` publishes: Analog Inputs for numbers, Binary
Inputs for booleans (a contact, an alarm state), CharacterString Values for text (a
meter's status such as ``"OK"`` or ``"LEAK"``). Not supported yet in the server: the
other types of :data:`OBJECT_TYPES`."""

TRENDED_OBJECT_TYPES = frozenset({"analog-input"})
"""Object types a ``[points.trend]`` may log (the Trend Log records REAL values)."""

_PROPERTY = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")
_ADDRESS = re.compile(r"[0-9A-Za-z.:\[\]/_-]{1,64}\Z")
_DEVICE_RECIPIENT = re.compile(r"device,([0-9]{1,7})\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendSpec:
    """A Trend Log over one point's present value.

    ``notification_threshold`` new records raise a Buffer_Ready notification through
    ``notification_class`` (0: never).
    """

    instance: int
    buffer_size: int = 1000
    notification_threshold: int = 0
    notification_class: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PointSpec:
    """One point: a meterkit point name and the BACnet object that stands for it."""

    point: str
    object_type: str
    instance: int
    property_name: str = "present-value"
    name: str = ""
    description: str = ""
    unit: str = ""
    quantity: str = ""
    cov_increment: Decimal = Decimal(0)
    notification_class: int | None = None
    trend: TrendSpec | None = None

    @property
    def object_name(self) -> str:
        """The object's name: ``name``, or the point name when none is given."""
        return self.name or self.point


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationClassSpec:
    """A Notification Class: where alarm and Buffer_Ready notifications go.

    ``priority`` and ``ack_required`` are per transition (to-offnormal, to-fault,
    to-normal); ``recipients`` are BACnet/IP addresses (``"192.168.1.5:47808"``) or
    devices by instance (``"device,1234"``: the server finds its address with Who-Is)
    sent to always, ``confirmed`` whether they get confirmed notifications.
    """

    instance: int
    name: str = ""
    priority: tuple[int, int, int] = (64, 64, 192)
    ack_required: tuple[bool, bool, bool] = (True, True, False)
    recipients: tuple[str, ...] = ()
    confirmed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSpec:
    """The ``[device]`` table: which device the points live on (client) or are (server)."""

    instance: int | None = None
    address: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PointList:
    """A parsed point-list file."""

    name: str
    description: str = ""
    source: str = ""
    file: str | None = None
    device: DeviceSpec = field(default_factory=DeviceSpec)
    notification_classes: tuple[NotificationClassSpec, ...] = ()
    points: tuple[PointSpec, ...] = ()

    def point(self, name: str) -> PointSpec:
        """The point called ``name``; KeyError if the list has none."""
        for spec in self.points:
            if spec.point == name:
                return spec
        raise KeyError(name)

    def to_toml(self) -> str:
        """The list as a point-list file that :func:`parse_point_list` reads back."""
        lines = ['kind = "bacnet"', "", "[profile]", f"name = {_text(self.name)}"]
        if self.description:
            lines.append(f"description = {_text(self.description)}")
        if self.source:
            lines.append(f"source = {_text(self.source)}")
        device = [
            f"{key} = {_text(value) if isinstance(value, str) else value}"
            for key, value in (("instance", self.device.instance),
                               ("address", self.device.address), ("name", self.device.name))
            if value is not None
        ]
        if device:
            lines += ["", "[device]", *device]
        for nc in self.notification_classes:
            lines += ["", "[[notification_classes]]", f"instance = {nc.instance}"]
            if nc.name:
                lines.append(f"name = {_text(nc.name)}")
            lines.append(f"priority = [{', '.join(str(p) for p in nc.priority)}]")
            lines.append(
                f"ack_required = [{', '.join(str(a).lower() for a in nc.ack_required)}]"
            )
            if nc.recipients:
                lines.append(f"recipients = [{', '.join(_text(r) for r in nc.recipients)}]")
            if nc.confirmed:
                lines.append("confirmed = true")
        for spec in self.points:
            lines += ["", "[[points]]", f"point = {_text(spec.point)}",
                      f"object = {_text(spec.object_type)}", f"instance = {spec.instance}"]
            if spec.property_name != "present-value":
                lines.append(f"property = {_text(spec.property_name)}")
            for key in ("name", "description", "unit", "quantity"):
                value = getattr(spec, key)
                if value:
                    lines.append(f"{key} = {_text(value)}")
            if spec.cov_increment:
                lines.append(f"cov_increment = {_text(str(spec.cov_increment))}")
            if spec.notification_class is not None:
                lines.append(f"notification_class = {spec.notification_class}")
            if spec.trend is not None:
                trend = spec.trend
                lines += ["", "[points.trend]", f"instance = {trend.instance}",
                          f"buffer_size = {trend.buffer_size}",
                          f"notification_threshold = {trend.notification_threshold}"]
                if trend.notification_class is not None:
                    lines.append(f"notification_class = {trend.notification_class}")
        return "\n".join(lines) + "\n"


def device_recipient(recipient: str) -> int | None:
    """The device instance of a ``"device,INSTANCE"`` recipient; None for an address."""
    match = _DEVICE_RECIPIENT.match(recipient)
    return int(match.group(1)) if match else None


def _text(value: str) -> str:
    # A JSON string with ASCII escapes is a valid TOML basic string.
    return json.dumps(value)


def load_point_list(path: str | Path) -> PointList:
    """Read and check a point-list file (``kind = "bacnet"``).

    Raises :class:`~bacnet.PointListError` naming file, table and key for any fault:
    TOML syntax, a wrong kind, unknown keys, an unknown object type or unit, a
    duplicate point, object name or instance, a reference to a missing
    notification class.
    """
    try:
        data = load_toml(path)
    except ProfileError as error:
        raise _as_point_list_error(error) from None
    return parse_point_list(data, file=str(path))


def parse_point_list(data: Mapping[str, object], *, file: str | None = None) -> PointList:
    """Check a point list given as TOML data (see :func:`load_point_list`)."""
    try:
        return _parse(TableReader(data, file=file), file)
    except PointListError:
        raise
    except ProfileError as error:
        raise _as_point_list_error(error) from None


def _as_point_list_error(error: ProfileError) -> PointListError:
    return PointListError(error.message, file=error.file, table=error.table, key=error.key,
                          line=error.line)


def _parse(top: TableReader, file: str | None) -> PointList:
    kind = top.text("kind")
    if kind != "bacnet":
        raise top.error("kind", f"this is a {kind!r} profile, a point list has kind = \"bacnet\"")
    profile = top.table("profile")
    name = profile.text("name")
    description = profile.optional_text("description", "")
    source = profile.optional_text("source", "")
    profile.finish()

    device = DeviceSpec()
    device_table = top.optional_table("device")
    if device_table is not None:
        address = device_table.optional_text("address", None)
        if address is not None and not _ADDRESS.match(address):
            raise device_table.error("address", f"{address!r} is not a BACnet/IP address")
        device = DeviceSpec(
            instance=device_table.optional_integer("instance", None, minimum=0,
                                                   maximum=MAX_INSTANCE),
            address=address,
            name=device_table.optional_text("name", None),
        )
        device_table.finish()

    classes = tuple(_notification_class(t) for t in top.optional_tables("notification_classes"))
    _unique(top, "notification_classes", [(c.instance, "instance") for c in classes])
    class_ids = {c.instance for c in classes}

    tables = top.optional_tables("points")
    if len(tables) > MAX_POINTS:
        raise top.error("points", f"{len(tables)} points, more than the limit {MAX_POINTS}")
    points = tuple(_point(t, class_ids) for t in tables)
    top.finish()

    _unique(top, "points", [(p.point, "point") for p in points])
    _unique(top, "points", [(p.object_name, "name") for p in points])
    _unique(top, "points", [((p.object_type, p.instance, p.property_name), "instance")
                            for p in points])
    _unique(top, "points", [(p.trend.instance, "trend.instance") for p in points
                            if p.trend is not None])
    return PointList(name=name, description=description, source=source, file=file,
                     device=device, notification_classes=classes, points=points)


def _unique(top: TableReader, array: str, keyed: list[tuple[object, str]]) -> None:
    seen: dict[object, int] = {}
    for index, (value, key) in enumerate(keyed):
        if value in seen:
            raise PointListError(
                f"{_shown(value)} is already used by {array}[{seen[value]}]",
                file=top.file, table=f"{array}[{index}]", key=key,
            )
        seen[value] = index


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return " ".join(str(part) for part in value)
    return repr(value)


def _notification_class(table: TableReader) -> NotificationClassSpec:
    instance = table.integer("instance", minimum=0, maximum=MAX_INSTANCE)
    priority = _triple(table, "priority", int, (64, 64, 192))
    for value in priority:
        if not isinstance(value, int) or not 0 <= value <= 255:
            raise table.error("priority", f"{value} is not a priority 0-255")
    ack_required = _triple(table, "ack_required", bool, (True, True, False))
    recipients = table.optional_text_list("recipients", [])
    for recipient in recipients:
        device = _DEVICE_RECIPIENT.match(recipient)
        if device is not None:
            if int(device.group(1)) > MAX_INSTANCE:
                raise table.error("recipients", f"{recipient!r}: device instance above "
                                                f"{MAX_INSTANCE}")
        elif not _ADDRESS.match(recipient) or recipient.startswith("device"):
            raise table.error("recipients", f"{recipient!r} is not a BACnet/IP address "
                                            "(ADDR:PORT) or a device (\"device,INSTANCE\")")
    spec = NotificationClassSpec(
        instance=instance,
        name=table.optional_text("name", ""),
        priority=priority,  # type: ignore[arg-type]
        ack_required=ack_required,  # type: ignore[arg-type]
        recipients=tuple(recipients),
        confirmed=table.optional_boolean("confirmed", False),
    )
    table.finish()
    return spec


def _triple(table: TableReader, key: str, kind: type, default: tuple[object, ...]
            ) -> tuple[object, ...]:
    value = table.raw(key, default)
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(item, kind) for item in value)
            or (kind is int and any(isinstance(item, bool) for item in value))):
        raise table.error(key, f"must be an array of three {kind.__name__}s (to-offnormal, "
                               f"to-fault, to-normal)")
    return tuple(value)


def _point(table: TableReader, class_ids: set[int]) -> PointSpec:
    point = table.text("point")
    if not point.strip():
        raise table.error("point", "must not be empty")
    object_type = table.text("object")
    if object_type not in OBJECT_TYPES:
        raise table.error("object", f"{object_type!r} is not an object type a point can be "
                                    f"(known: {', '.join(sorted(OBJECT_TYPES))})")
    instance = table.integer("instance", minimum=0, maximum=MAX_INSTANCE)
    prop = table.optional_text("property", "present-value")
    if not _PROPERTY.match(prop):
        raise table.error("property", f"{prop!r} is not a BACnet property name "
                                      f"(kebab-case, like present-value)")
    unit = table.optional_text("unit", "")
    if map_unit(unit) is None:
        raise table.error("unit", f"{unit!r} is not a unit meterkit knows")
    cov_increment = table.optional_decimal("cov_increment", Decimal(0))
    if cov_increment < 0:
        raise table.error("cov_increment", "must not be negative")
    notification_class = table.optional_integer("notification_class", None, minimum=0,
                                                maximum=MAX_INSTANCE)
    if notification_class is not None and notification_class not in class_ids:
        raise table.error("notification_class",
                          f"no [[notification_classes]] has instance {notification_class}")
    trend = None
    trend_table = table.optional_table("trend")
    if trend_table is not None and object_type not in TRENDED_OBJECT_TYPES:
        raise table.error("trend", f"a Trend Log of a {object_type} point is not supported "
                                   f"yet (only {', '.join(sorted(TRENDED_OBJECT_TYPES))})")
    if trend_table is not None:
        trend = TrendSpec(
            instance=trend_table.optional_integer("instance", instance, minimum=0,
                                                  maximum=MAX_INSTANCE),
            buffer_size=trend_table.optional_integer("buffer_size", 1000, minimum=1,
                                                     maximum=1_000_000),
            notification_threshold=trend_table.optional_integer(
                "notification_threshold", 0, minimum=0, maximum=1_000_000),
            notification_class=trend_table.optional_integer(
                "notification_class", None, minimum=0, maximum=MAX_INSTANCE),
        )
        if trend.notification_class is not None and trend.notification_class not in class_ids:
            raise trend_table.error(
                "notification_class",
                f"no [[notification_classes]] has instance {trend.notification_class}")
        if trend.notification_threshold > trend.buffer_size:
            raise trend_table.error("notification_threshold",
                                    f"{trend.notification_threshold} is above buffer_size "
                                    f"{trend.buffer_size}")
        trend_table.finish()
    spec = PointSpec(
        point=point,
        object_type=object_type,
        instance=instance,
        property_name=prop,
        name=table.optional_text("name", ""),
        description=table.optional_text("description", ""),
        unit=unit,
        quantity=table.optional_text("quantity", ""),
        cov_increment=cov_increment,
        notification_class=notification_class,
        trend=trend,
    )
    table.finish()
    return spec
