"""The site file's BACnet tables: ``[bacnet_device]`` (the gateway as a BACnet/IP device
publishing chosen points) and ``[[bacnet]]`` (BACnet devices read as inputs).

Read into plain frozen data like the rest of the site file (:mod:`gateway._site_file`
calls :func:`bacnet_device` and :func:`bacnet_input`); every error names file, table
and key. Running them is :mod:`gateway._bacnet`'s job.
"""

from __future__ import annotations

import fnmatch
import importlib.util
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bacnet
import profiles
from profiles import TableReader

from ._errors import SiteError
from ._site_file import _cycle, _duration, _name

if TYPE_CHECKING:
    from ._site_file import Site

__all__ = ["BacnetDeviceConfig", "BacnetInput", "bacnet_device", "bacnet_input"]

_MAX_INSTANCE = 4194302


@dataclass(frozen=True, slots=True, kw_only=True)
class BacnetDeviceConfig:
    """The ``[bacnet_device]`` table: which points the gateway publishes over BACnet/IP.

    ``points`` and ``trends`` are patterns (``fnmatch``) over point names; ``instances``
    pins a point's object instance (the others are derived from the point's name, see
    :func:`gateway._bacnet.derived_instance`); ``recipients`` go into Notification
    Class 1 (addresses ``ADDR:PORT`` or ``"device,INSTANCE"``).
    """

    address: str
    instance: int
    name: str
    points: tuple[str, ...]
    instances: dict[str, int] = field(default_factory=dict)
    cov_increment: Decimal = Decimal(0)
    trends: tuple[str, ...] = ()
    trend_buffer: int = 1000
    notification_threshold: int = 0
    recipients: tuple[str, ...] = ()
    confirmed: bool = False
    priority: tuple[int, int, int] = (64, 64, 192)
    bbmd: bool = False
    bbmd_peers: tuple[str, ...] = ()
    foreign_bbmd: str | None = None
    foreign_ttl: int = 900

    def selects(self, point: str) -> bool:
        """Whether ``point`` is published (it matches one of ``points``)."""
        return point in self.instances or any(
            fnmatch.fnmatchcase(point, pattern) for pattern in self.points)

    def trended(self, point: str) -> bool:
        """Whether ``point`` gets a Trend Log."""
        return any(fnmatch.fnmatchcase(point, pattern) for pattern in self.trends)


@dataclass(frozen=True, slots=True, kw_only=True)
class BacnetInput:
    """A ``[[bacnet]]`` table: one BACnet device read through its point list.

    Readings are named ``<site>/<name>/<point>``; ``interface`` is the gateway's own
    ``ADDR/PREFIX:PORT`` for reading (devices with the same interface share one
    client); ``cov`` subscribes where the device supports SubscribeCOV.
    """

    name: str
    address: str
    interface: str
    points: bacnet.PointList
    interval: float
    cov: bool
    timeout: float
    retries: int
    missed_cycles: int


def _needs_bacpypes3(reader: TableReader, key: str) -> None:
    if importlib.util.find_spec("bacpypes3") is None:
        raise reader.error(key, "BACnet needs bacpypes3: pip install 'meterkit[bacnet]'")


def _interface(reader: TableReader, key: str) -> str:
    text = reader.text(key)
    try:
        bacnet.interface_text(text)
    except bacnet.ConfigurationError as exc:
        raise reader.error(key, f"{exc} (the interface's own address and prefix, e.g. "
                                "'192.168.1.10/24:47808')") from None
    return text


def _recipients(reader: TableReader) -> tuple[str, ...]:
    recipients = tuple(reader.optional_text_list("recipients", []))
    try:  # the point-list format's own check of a recipient
        bacnet.parse_point_list({"kind": "bacnet", "profile": {"name": "check"},
                                 "notification_classes": [
                                     {"instance": 1, "recipients": list(recipients)}]})
    except bacnet.PointListError as exc:
        raise reader.error("recipients", exc.message) from None
    return recipients


def bacnet_device(reader: TableReader, gateway_id: str) -> BacnetDeviceConfig:
    """Read the ``[bacnet_device]`` table."""
    _needs_bacpypes3(reader, "address")
    address = _interface(reader, "address")
    instance = reader.integer("instance", minimum=0, maximum=_MAX_INSTANCE)
    name = reader.optional_text("name", gateway_id)
    points = tuple(reader.optional_text_list("points", ["*"]))
    instances: dict[str, int] = {}
    pinned = reader.optional_table("instances")
    if pinned is not None:
        taken: dict[int, str] = {}
        for point in pinned.keys():  # noqa: SIM118 (a TableReader, not a dict)
            number = pinned.integer(point, minimum=0, maximum=_MAX_INSTANCE)
            if number in taken:
                raise pinned.error(point, f"instance {number} is pinned to {taken[number]!r} "
                                          "already")
            taken[number] = point
            instances[point] = number
    cov_increment = reader.optional_decimal("cov_increment", Decimal(0))
    if cov_increment < 0:
        raise reader.error("cov_increment", "must not be negative")
    priority = reader.raw("priority", [64, 64, 192])
    if (not isinstance(priority, list) or len(priority) != 3
            or not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 255
                       for p in priority)):
        raise reader.error("priority", "must be three priorities 0-255 (to-offnormal, "
                                       "to-fault, to-normal)")
    foreign = reader.optional_text("foreign_bbmd", None)
    bbmd = reader.optional_boolean("bbmd", False)
    if bbmd and foreign is not None:
        raise reader.error("foreign_bbmd", "a device is a BBMD or a foreign device, not both")
    peers = tuple(reader.optional_text_list("bbmd_peers", []))
    if peers and not bbmd:
        raise reader.error("bbmd_peers", "applies with bbmd = true")
    for key, values in (("bbmd_peers", peers), ("foreign_bbmd", (foreign,) if foreign else ())):
        for value in values:
            try:
                bacnet.interface_text(value)
            except bacnet.ConfigurationError as exc:
                raise reader.error(key, str(exc)) from None
    config = BacnetDeviceConfig(
        address=address, instance=instance, name=name, points=points, instances=instances,
        cov_increment=cov_increment,
        trends=tuple(reader.optional_text_list("trends", [])),
        trend_buffer=reader.optional_integer("trend_buffer", 1000, minimum=1,
                                             maximum=1_000_000),
        notification_threshold=reader.optional_integer("notification_threshold", 0,
                                                       minimum=0, maximum=1_000_000),
        recipients=_recipients(reader),
        confirmed=reader.optional_boolean("confirmed", False),
        priority=(priority[0], priority[1], priority[2]),
        bbmd=bbmd, bbmd_peers=peers, foreign_bbmd=foreign,
        foreign_ttl=reader.optional_integer("foreign_ttl", 900, minimum=1, maximum=65535))
    if config.notification_threshold > config.trend_buffer:
        raise reader.error("notification_threshold", "is above trend_buffer")
    reader.finish()
    return config


def bacnet_input(reader: TableReader, places: list[Path]) -> BacnetInput:
    """Read one ``[[bacnet]]`` table (``places``: the site's profile folders)."""
    name = _name(reader, "name")
    _needs_bacpypes3(reader, "address")
    address = reader.text("address")
    try:
        bacnet.interface_text(address)
    except bacnet.ConfigurationError as exc:
        raise reader.error("address", str(exc)) from None
    interface = _interface(reader, "interface")
    if reader.has("point_list") == reader.has("points"):
        raise reader.error("point_list", "give exactly one of point_list = NAME (a kind = "
                                         "\"bacnet\" profile) and [[bacnet.points]] tables")
    points = _point_list(reader, name, places)
    instance = reader.optional_integer("instance", points.device.instance, minimum=0,
                                       maximum=_MAX_INSTANCE)
    points = bacnet.PointList(
        name=points.name, description=points.description, source=points.source,
        file=points.file, notification_classes=points.notification_classes,
        points=points.points,
        device=bacnet.DeviceSpec(instance=instance, address=address, name=name))
    if not points.points:
        raise reader.error("point_list" if reader.has("point_list") else "points",
                           "the point list has no points")
    device = BacnetInput(
        name=name, address=address, interface=interface, points=points,
        interval=_cycle(reader, "interval", "1min"),
        cov=reader.optional_boolean("cov", True),
        timeout=_duration(reader, "timeout", "1s"),
        retries=reader.optional_integer("retries", 1, minimum=0, maximum=10),
        missed_cycles=reader.optional_integer("missed_cycles", 3, minimum=1, maximum=1000))
    reader.finish()
    return device


def check_interfaces(tables: list[TableReader], inputs: list[BacnetInput]) -> None:
    """Devices read through one interface share its client: their timeouts must agree."""
    first: dict[str, BacnetInput] = {}
    for table, item in zip(tables, inputs, strict=True):
        other = first.setdefault(item.interface, item)
        for key in ("timeout", "retries"):
            if getattr(item, key) != getattr(other, key):
                raise table.error(key, f"differs from that of {other.name!r}, read through the "
                                       f"same interface {item.interface} (one client)")


def check_device_port(reader: TableReader, device: BacnetDeviceConfig,
                      inputs: list[BacnetInput]) -> None:
    """The device and the clients reading devices need UDP ports of their own."""
    own = bacnet.interface_text(device.address).split("/")[0], _port(device.address)
    for item in inputs:
        if (bacnet.interface_text(item.interface).split("/")[0], _port(item.interface)) == own:
            raise reader.error("address", f"{device.address} is the interface [[bacnet]] "
                                          f"{item.name!r} reads through: give them different "
                                          "ports")


def _port(address: str) -> str:
    return bacnet.interface_text(address).rpartition(":")[2]


def _point_list(reader: TableReader, name: str, places: list[Path]) -> bacnet.PointList:
    if reader.has("point_list"):
        wanted = reader.text("point_list")
        try:
            return bacnet.load_point_list(profiles.find_profile(
                wanted, "bacnet", [p for p in places if p.is_dir()]))
        except profiles.ProfileError as exc:
            raise reader.error("point_list", str(exc)) from None
    tables = reader.raw("points")
    try:
        return bacnet.parse_point_list({"kind": "bacnet", "profile": {"name": name},
                                        "points": tables}, file=reader.file)
    except bacnet.PointListError as exc:
        # the list's table (points[2]) inside this one (bacnet[0].points[2])
        raise SiteError(exc.message, file=reader.file,
                        table=f"{reader.table_name}.{exc.table}" if exc.table
                        else reader.table_name, key=exc.key) from None


def input_points(site_name: str, device: BacnetInput) -> set[str]:
    """The point names a BACnet input gives."""
    return {f"{site_name}/{device.name}/{spec.point}" for spec in device.points.points}


def bacnet_plan(site: Site) -> dict[str, Any]:
    """The plan's ``bacnet`` (inputs) and ``bacnet_device`` entries (``meterkit check``)."""
    from ._plan import _every  # the plan's own wording of intervals (it imports this)

    devices = site.devices
    device = site.bacnet_device
    return {
        "bacnet": [{
            "name": item.name, "address": item.address,
            "instance": item.points.device.instance, "interface": item.interface,
            "point_list": item.points.name, "every": _every(item.interval), "cov": item.cov,
            "points": sorted(input_points(site.name, item)),
            "failed_after": _every(devices[item.name])}
            for item in site.bacnet],
        "bacnet_device": None if device is None else {
            "address": device.address, "instance": device.instance, "name": device.name,
            "points": list(device.points), "pinned": dict(device.instances),
            "trends": list(device.trends), "recipients": list(device.recipients),
            "objects": "analog-input (numbers), binary-input (booleans), "
                       "characterstring-value (text); instance pinned or derived from the "
                       "point name",
            "mode": "bbmd" if device.bbmd else ("foreign" if device.foreign_bbmd else "normal")},
    }


def bacnet_plan_text(plan: dict[str, Any]) -> list[str]:
    """The plan's BACnet lines for people."""
    lines = []
    for item in plan["bacnet"]:
        lines.append(f"bacnet {item['name']}: device {item['instance']} at {item['address']} "
                     f"(via {item['interface']}), point list {item['point_list']}, every "
                     f"{item['every']}{', COV where supported' if item['cov'] else ''}, "
                     f"failed after {item['failed_after']}")
        lines.extend(f"  -> {point}" for point in item["points"])
    device = plan["bacnet_device"]
    if device:
        recipients = ", ".join(device["recipients"]) or "none (BACnet clients may add some)"
        lines.append(f"bacnet device {device['instance']} ({device['name']}) on "
                     f"{device['address']}, {device['mode']}: publishes "
                     f"{', '.join(device['points'])}; trends: "
                     f"{', '.join(device['trends']) or 'none'}; alarm recipients: {recipients}")
        lines.extend(f"  {point} = instance {number}"
                     for point, number in device["pinned"].items())
    return lines
