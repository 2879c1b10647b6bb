"""bacnet: meterkit points as BACnet/IP objects, and BACnet devices read into readings.

A thin adapter over bacpypes3 (the ``bacnet`` extra). The mapping layer needs no
bacpypes3: point lists (:func:`load_point_list`), units (:func:`unit_for`),
readings -> object properties (:func:`object_state`), alarms -> BACnet events
(:class:`EventBook`), Trend Log buffers (:class:`TrendBuffer`). The network side,
:class:`BacnetServer`, :class:`BacnetClient` and :class:`Poller`, imports bacpypes3
when first used and raises :class:`NotInstalledError` without it; ``bacnet.sim`` runs
simulated devices.

``bacnet`` imports only ``profiles`` of meterkit's packages: readings come in as
:class:`profiles.Reading`, alarms as :class:`AlarmNotice`, acknowledgements go out
through a callback, Trend Logs read a :class:`HistorySource`; the gateway connects
them.

>>> import bacnet
>>> bacnet.unit_for("m3/h").name
'cubic-meters-per-hour'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._address import interface_text
from ._errors import (
    BacnetError,
    ConfigurationError,
    DeviceTimeout,
    NotInstalledError,
    PointListError,
    RequestError,
)
from ._events import (
    PRIORITY_BY_SEVERITY,
    Acknowledgement,
    AlarmNotice,
    EventBook,
    EventClass,
    EventTransition,
)
from ._health import (
    BINARY_OBJECT_TYPES,
    MULTI_STATE_OBJECT_TYPES,
    STATE_TEXT_SUFFIX,
    DeviceHealth,
    DeviceStatus,
    reading_from_value,
    state_text_reading,
)
from ._mapping import RELIABILITY_BY_QUALITY, ObjectState, object_state
from ._points import (
    OBJECT_TYPES,
    PUBLISHED_OBJECT_TYPES,
    TRENDED_OBJECT_TYPES,
    DeviceSpec,
    NotificationClassSpec,
    PointList,
    PointSpec,
    TrendSpec,
    load_point_list,
    parse_point_list,
)
from ._trend import HistorySource, LogRecord, RangeResult, TrendBuffer
from ._units import UNIT_TABLE, UnitMapping, map_unit, meterkit_unit, unit_for

if TYPE_CHECKING:
    from ._client import BacnetClient, DeviceInfo, ObjectInfo, Pics
    from ._poller import Poller
    from ._server import BacnetServer, MemoryHistory

__all__ = [
    "BINARY_OBJECT_TYPES",
    "MULTI_STATE_OBJECT_TYPES",
    "OBJECT_TYPES",
    "PRIORITY_BY_SEVERITY",
    "PUBLISHED_OBJECT_TYPES",
    "RELIABILITY_BY_QUALITY",
    "STATE_TEXT_SUFFIX",
    "TRENDED_OBJECT_TYPES",
    "UNIT_TABLE",
    "Acknowledgement",
    "AlarmNotice",
    "BacnetClient",
    "BacnetError",
    "BacnetServer",
    "ConfigurationError",
    "DeviceHealth",
    "DeviceInfo",
    "DeviceSpec",
    "DeviceStatus",
    "DeviceTimeout",
    "EventBook",
    "EventClass",
    "EventTransition",
    "HistorySource",
    "LogRecord",
    "MemoryHistory",
    "NotInstalledError",
    "NotificationClassSpec",
    "ObjectInfo",
    "ObjectState",
    "Pics",
    "PointList",
    "PointListError",
    "PointSpec",
    "Poller",
    "RangeResult",
    "RequestError",
    "TrendBuffer",
    "TrendSpec",
    "UnitMapping",
    "interface_text",
    "load_point_list",
    "map_unit",
    "meterkit_unit",
    "object_state",
    "parse_point_list",
    "reading_from_value",
    "state_text_reading",
    "unit_for",
]

# Names whose modules import bacpypes3: loaded on first use.
_LAZY = {
    "BacnetClient": "._client",
    "BacnetServer": "._server",
    "DeviceInfo": "._client",
    "MemoryHistory": "._server",
    "ObjectInfo": "._client",
    "Pics": "._client",
    "Poller": "._poller",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bacnet' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module, __name__), name)
