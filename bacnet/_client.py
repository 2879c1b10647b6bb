"""Reading BACnet devices (bacpypes3 application wiring): Who-Is discovery, PICS scans,
ReadProperty(Multiple), and what the poller needs.

Every request goes through :meth:`BacnetClient.request`, which counts it and turns
bacpypes3's Error/Reject/Abort into :class:`~bacnet.RequestError` or
:class:`~bacnet.DeviceTimeout`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._errors import ConfigurationError, DeviceTimeout, RequestError
from ._points import OBJECT_TYPES, DeviceSpec, PointList, PointSpec
from ._stack import bound, interface_text
from ._units import meterkit_unit
from ._values import object_text, plain

from bacpypes3.apdu import AbortPDU, ErrorRejectAbortNack, RejectPDU  # isort: skip
from bacpypes3.app import Application
from bacpypes3.basetypes import PropertyIdentifier, ServicesSupported
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.networkport import NetworkPortObject
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier, ObjectType
from bacpypes3.vendor import get_vendor_info

__all__ = ["BacnetClient", "DeviceInfo", "ObjectInfo", "Pics"]

log = logging.getLogger(__name__)

_DEVICE_PROPERTIES = ("object-name", "vendor-name", "vendor-identifier", "model-name",
                      "protocol-services-supported", "max-apdu-length-accepted",
                      "segmentation-supported")
RPM_GROUP = 5  # objects per ReadPropertyMultiple "all" request; halved on segmentation aborts


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    """A device found by :meth:`BacnetClient.discover`."""

    instance: int
    address: str
    vendor_id: int
    vendor: str = ""
    model: str = ""
    name: str = ""
    max_apdu: int = 0
    segmentation: str = ""
    services: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"instance": self.instance, "address": self.address,
                "vendor_id": self.vendor_id, "vendor": self.vendor, "model": self.model,
                "name": self.name, "max_apdu": self.max_apdu,
                "segmentation": self.segmentation, "services": list(self.services)}


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectInfo:
    """One object of a PICS scan: its identifier (``"analog-input,1"``) and the
    properties read, as JSON data (a property the device refused is ``{"error": ...}``)."""

    object: str
    properties: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"object": self.object, "properties": self.properties}


@dataclass(frozen=True, slots=True, kw_only=True)
class Pics:
    """A detailed scan of one device: its objects and their readable properties.

    ``requests`` is how many confirmed requests the scan took; ``rpm`` whether it used
    ReadPropertyMultiple (False: the ReadProperty fallback).
    """

    device: DeviceInfo
    objects: tuple[ObjectInfo, ...]
    requests: int
    rpm: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"device": self.device.to_dict(), "requests": self.requests, "rpm": self.rpm,
                "objects": [o.to_dict() for o in self.objects]}

    def point_list(self) -> PointList:
        """A starting point list for this device: every object whose present value is a
        reading, named after the device and object, units mapped back to meterkit's."""
        prefix = self.device.name or f"device{self.device.instance}"
        points = []
        for info in self.objects:
            object_type, _, instance = info.object.partition(",")
            if object_type not in OBJECT_TYPES or "present-value" not in info.properties:
                continue
            name = info.properties.get("object-name")
            units = info.properties.get("units")
            points.append(PointSpec(
                point=f"{prefix}/{name if isinstance(name, str) and name else info.object}",
                object_type=object_type,
                instance=int(instance),
                description=_text(info.properties.get("description")),
                unit=meterkit_unit(units) if isinstance(units, str) else "",
            ))
        return PointList(
            name=prefix, description=f"{self.device.vendor} {self.device.model}".strip(),
            source=f"bacnet pics of device {self.device.instance} at {self.device.address}",
            device=DeviceSpec(instance=self.device.instance, address=self.device.address,
                              name=self.device.name or None),
            points=tuple(_unique_points(points)))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _unique_points(points: list[PointSpec]) -> list[PointSpec]:
    seen: set[str] = set()
    result = []
    for spec in points:
        point = spec.point
        if point in seen:  # two objects of the same name: keep both, told apart
            point = f"{point} ({spec.object_type},{spec.instance})"
        seen.add(point)
        result.append(PointSpec(**{**{f: getattr(spec, f) for f in spec.__dataclass_fields__},
                                   "point": point}))
    return result


class _ClientApplication(Application):  # type: ignore[misc]
    """bacpypes3's Application counting the confirmed requests it sends."""

    requests_sent = 0

    def request(self, apdu: Any) -> Any:
        if apdu.apduType == 0:  # confirmed request
            self.requests_sent += 1
        return super().request(apdu)


class BacnetClient:
    """A BACnet/IP client on its own UDP port.

    Args:
        address: this side's ``ADDR/PREFIX[:PORT]`` (a Who-Is broadcast needs the prefix;
            replies to a broadcast come to port 47808, so a scan of a real network uses
            that port).
        instance: the client's own Device instance.
        apdu_timeout: seconds to wait for an answer before a retry.
        retries: retries after the first try; a dead device costs
            ``apdu_timeout * (retries + 1)`` per request.
    """

    def __init__(self, *, address: str, instance: int = 4194300, apdu_timeout: float = 1.0,
                 retries: int = 1) -> None:
        self.interface = interface_text(address)
        self.instance = instance
        self.apdu_timeout = apdu_timeout
        self.retries = retries
        self.app: _ClientApplication | None = None

    async def __aenter__(self) -> BacnetClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the UDP port (inside a running loop)."""
        if self.app is None:
            self.app = _ClientApplication.from_object_list([
                DeviceObject(objectIdentifier=("device", self.instance),
                             objectName=f"meterkit-client-{self.instance}",
                             vendorIdentifier=999, vendorName="meterkit",
                             apduTimeout=int(self.apdu_timeout * 1000),
                             numberOfApduRetries=self.retries),
                NetworkPortObject(self.interface, objectIdentifier=("network-port", 1),
                                  objectName="NP1"),
            ])
            await bound(self.app)

    async def close(self) -> None:
        """Close the port."""
        if self.app is not None:
            self.app.close()
            self.app = None

    @property
    def requests(self) -> int:
        """Confirmed requests sent so far."""
        return self.app.requests_sent if self.app is not None else 0

    def _app(self) -> _ClientApplication:
        if self.app is None:
            raise ConfigurationError("the client is not started (use it as async with)")
        return self.app

    # --- requests ----------------------------------------------------------------------------

    async def read(self, address: str, object_id: str, prop: str,
                   index: int | None = None) -> Any:
        """ReadProperty; the value as JSON data. Raises :class:`~bacnet.RequestError` or
        :class:`~bacnet.DeviceTimeout`."""
        request = f"read {object_id} {prop}" + ("" if index is None else f"[{index}]")
        value = await self._call(address, request, self._app().read_property(
            Address(address), _object_id(object_id), prop, index))
        return plain(value)

    async def read_multiple(self, address: str, specs: Sequence[tuple[str, Sequence[str]]]
                            ) -> dict[str, dict[str, Any]]:
        """ReadPropertyMultiple of ``[(object, [property, ...]), ...]``; results by object and
        property as JSON data (a refused property is ``{"error": ...}``)."""
        parameters: list[Any] = []
        for object_id, props in specs:
            parameters += [_object_id(object_id), list(props)]
        rows = await self._call(address, f"read-multiple of {len(specs)} objects",
                                self._app().read_property_multiple(Address(address), parameters))
        result: dict[str, dict[str, Any]] = {}
        for object_id, prop, index, value in rows or ():
            key = str(prop) if index is None else f"{prop}[{index}]"
            result.setdefault(object_text(object_id), {})[key] = plain(value)
        return result

    async def _call(self, address: str, request: str, awaitable: Any) -> Any:
        try:
            result = await awaitable
        except AbortPDU as abort:
            reason = str(abort.apduAbortRejectReason)
            if "no-response" in str(abort) or reason == "no-response":
                raise DeviceTimeout(f"{address}: no answer to {request} "
                                    f"({self.retries + 1} tries of {self.apdu_timeout} s)"
                                    ) from None
            raise RequestError(f"{address}: {request} aborted: {abort}", address=address,
                               request=request, reason=str(abort)) from None
        except ErrorRejectAbortNack as error:
            raise RequestError(f"{address}: {request} refused: {error}", address=address,
                               request=request, reason=_reason(error)) from None
        if isinstance(result, ErrorRejectAbortNack):
            raise RequestError(f"{address}: {request} refused: {result}", address=address,
                               request=request, reason=_reason(result))
        return result

    # --- discovery -----------------------------------------------------------------------------

    async def discover(self, *, low: int | None = None, high: int | None = None,
                       addresses: Sequence[str] = (), timeout: float = 2.0,
                       details: bool = True) -> list[DeviceInfo]:
        """Who-Is: a global broadcast, or one directed Who-Is per address (in parallel).

        With ``details`` each device's name, vendor and model are read (ReadPropertyMultiple,
        ReadProperty where it is refused); a device that does not answer that keeps what
        its I-Am said.
        """
        app = self._app()
        if (low is None) != (high is None):
            raise ConfigurationError("give both ends of the instance range, or neither")
        if addresses:
            answers = await asyncio.gather(*(
                app.who_is(low, high, Address(a), timeout=timeout) for a in addresses))
            i_ams = [i_am for answer in answers for i_am in answer]
        else:
            i_ams = list(await app.who_is(low, high, timeout=timeout))
        found: dict[int, DeviceInfo] = {}
        for i_am in i_ams:
            instance = i_am.iAmDeviceIdentifier[1]
            found[instance] = DeviceInfo(
                instance=instance, address=str(i_am.pduSource),
                vendor_id=int(i_am.vendorID), max_apdu=int(i_am.maxAPDULengthAccepted),
                segmentation=str(i_am.segmentationSupported))
        devices = sorted(found.values(), key=lambda d: d.instance)
        if details:
            devices = list(await asyncio.gather(*(self._details(d) for d in devices)))
        return devices

    async def _details(self, device: DeviceInfo) -> DeviceInfo:
        object_id = f"device,{device.instance}"
        try:
            values = (await self.read_multiple(device.address, [(object_id, _DEVICE_PROPERTIES)])
                      ).get(object_id, {})
        except RequestError:
            values = {}
            for prop in _DEVICE_PROPERTIES:
                try:
                    values[prop] = await self.read(device.address, object_id, prop)
                except RequestError as error:
                    values[prop] = {"error": error.reason}
        except DeviceTimeout:
            return device
        return _device_info(device.instance, device.address, values, device)

    # --- PICS --------------------------------------------------------------------------------

    async def pics(self, address: str, *, instance: int | None = None, use_rpm: bool = True
                   ) -> Pics:
        """The detailed scan of the device at ``address``: the object list and every object's
        readable properties, through ReadPropertyMultiple ``all`` (grouped) where the device
        supports it, ReadProperty of each property otherwise (``use_rpm=False`` forces that
        naive scan)."""
        start = self.requests
        if instance is None:
            instance = await self._instance_at(address)
        device_id = f"device,{instance}"
        rpm = use_rpm
        values: dict[str, Any] = {}
        if rpm:
            try:
                values = (await self.read_multiple(address, [(device_id, _DEVICE_PROPERTIES)])
                          ).get(device_id, {})
            except RequestError as error:
                log.info("%s: no ReadPropertyMultiple (%s), reading one by one", address,
                         error.reason)
                rpm = False
        if not rpm:
            for prop in _DEVICE_PROPERTIES:
                try:
                    values[prop] = await self.read(address, device_id, prop)
                except RequestError as error:
                    values[prop] = {"error": error.reason}
        services = values.get("protocol-services-supported")
        rpm_bit = ServicesSupported._bitstring_names["read-property-multiple"]
        if rpm and isinstance(services, list) and len(services) > rpm_bit and not services[
                rpm_bit]:
            rpm = False  # the device says it has no ReadPropertyMultiple
        device = _device_info(instance, address, values, None)
        object_ids = await self._object_list(address, device_id)
        if rpm:
            objects = await self._objects_rpm(address, object_ids)
        else:
            objects = [await self._object_by_property(address, o) for o in object_ids]
        return Pics(device=device, objects=tuple(objects), requests=self.requests - start,
                    rpm=rpm)

    async def _instance_at(self, address: str) -> int:
        """The device instance at ``address``, from a directed Who-Is."""
        i_ams = await self._app().who_is(None, None, Address(address),
                                         timeout=self.apdu_timeout * (self.retries + 1))
        if not i_ams:
            raise DeviceTimeout(f"{address}: no I-Am to a directed Who-Is")
        return int(i_ams[0].iAmDeviceIdentifier[1])

    async def _object_list(self, address: str, device_id: str) -> list[str]:
        try:
            value = await self.read(address, device_id, "object-list")
            return [str(item) for item in value]
        except RequestError as error:
            if "segmentation" not in error.reason and "buffer" not in error.reason:
                raise
        # too long for one answer: its length, then item by item (clause 12.11.18)
        length = int(await self.read(address, device_id, "object-list", 0))
        return [str(await self.read(address, device_id, "object-list", i))
                for i in range(1, length + 1)]

    async def _objects_rpm(self, address: str, object_ids: list[str]) -> list[ObjectInfo]:
        objects: list[ObjectInfo] = []
        group = RPM_GROUP
        position = 0
        while position < len(object_ids):
            chunk = object_ids[position:position + group]
            try:
                result = await self.read_multiple(address, [(o, ["all"]) for o in chunk])
            except RequestError as error:
                if group > 1 and ("segmentation" in error.reason or "buffer" in error.reason
                                  or "too-long" in error.reason):
                    group = max(1, group // 2)
                    continue
                if group > 1:
                    raise
                objects.append(await self._object_by_property(address, chunk[0]))
                position += 1
                continue
            objects += [ObjectInfo(object=o, properties=result.get(o, {})) for o in chunk]
            position += len(chunk)
        return objects

    async def _object_by_property(self, address: str, object_id: str) -> ObjectInfo:
        try:
            names = [str(p) for p in await self.read(address, object_id, "property-list")]
            names = ["object-identifier", "object-name", "object-type", *names]
        except RequestError:
            names = _standard_properties(object_id)
        properties: dict[str, Any] = {}
        for prop in names:
            try:
                properties[prop] = await self.read(address, object_id, prop)
            except RequestError as error:
                if "unknown-property" not in error.reason:
                    properties[prop] = {"error": error.reason}
        return ObjectInfo(object=object_id, properties=properties)


def _standard_properties(object_id: str) -> list[str]:
    """The properties the standard defines for the object's type (what a scanner without
    property-list must try one by one)."""
    object_class = get_vendor_info(0).get_object_class(ObjectType(object_id.partition(",")[0]))
    if object_class is None:
        return ["object-identifier", "object-name", "object-type", "present-value"]
    return [str(PropertyIdentifier(name)) for name in object_class._elements]


def _device_info(instance: int, address: str, values: dict[str, Any],
                 known: DeviceInfo | None) -> DeviceInfo:
    def text(key: str) -> str:
        value = values.get(key)
        return value if isinstance(value, str) else ""

    services = values.get("protocol-services-supported")
    names: tuple[str, ...] = ()
    if isinstance(services, list):
        names = tuple(_SERVICE_BY_BIT.get(i, f"service-{i}") for i, bit in enumerate(services)
                      if bit)
    vendor_id = values.get("vendor-identifier")
    max_apdu = values.get("max-apdu-length-accepted")
    return DeviceInfo(
        instance=instance, address=address,
        vendor_id=vendor_id if isinstance(vendor_id, int) else (known.vendor_id if known else 0),
        vendor=text("vendor-name"), model=text("model-name"), name=text("object-name"),
        max_apdu=max_apdu if isinstance(max_apdu, int) else (known.max_apdu if known else 0),
        segmentation=text("segmentation-supported") or (known.segmentation if known else ""),
        services=names)


_SERVICE_BY_BIT: dict[int, str] = {
    bit: name for name, bit in ServicesSupported._bitstring_names.items()}


def _object_id(text: str) -> ObjectIdentifier:
    try:
        return ObjectIdentifier(text)
    except (ValueError, TypeError, KeyError):
        raise ConfigurationError(f"{text!r} is not an object identifier like analog-input,1"
                                 ) from None


def _reason(error: Any) -> str:
    if isinstance(error, (RejectPDU, AbortPDU)):
        return str(error.apduAbortRejectReason)
    code = getattr(error, "errorCode", None)
    return str(code) if code is not None else str(error)


