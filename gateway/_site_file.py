"""The site file: one TOML file describing a whole site, read into plain frozen data.

Every error names the file, the table (``mbus[0].meter[2]``) and the key; nothing of a
bad file is used. The format is documented in the gateway guide (docs/gateway.rst); the
tables are ``[site]``, ``[[mbus]]`` (with ``[[mbus.meter]]``), ``[[wmbus]]`` (with
``[[wmbus.meter]]``), ``[[s0]]``, ``[[analog]]``, ``[[modbus]]``, ``[[bacnet]]``,
``[[derived]]``, ``[[alarm]]``, ``[[export]]``, ``[[delivery]]``, ``[mqtt]``,
``[modbus_server]``, ``[bacnet_device]`` and ``[web]`` (the BACnet tables are read by
:mod:`gateway._bacnet_site`).

Point names are ``<site>/<device>/<field>``: the site's name, the device's name (which
may itself hold slashes, ``flat3/heat``) and the field (from the device's profile, else
the generic name of the value, see :mod:`gateway._points`).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import alarms
import exporters
import modbus
import profiles
import wmbus
from profiles import ProfileError, TableReader

from ._errors import SiteError

if TYPE_CHECKING:
    from ._bacnet_site import BacnetDeviceConfig, BacnetInput

__all__ = [
    "ANALOG_SIGNALS",
    "AnalogInput",
    "DeliveryConfig",
    "DerivedInput",
    "DerivedValue",
    "ExportConfig",
    "IioSource",
    "MbusMeter",
    "MbusSegment",
    "ModbusRegisterSource",
    "MqttConfig",
    "S0Input",
    "SimulatedSource",
    "Site",
    "WebConfig",
    "WmbusMeter",
    "WmbusReceiver",
    "device_failure_rule",
    "load_site",
    "parse_duration",
    "parse_site",
]

_NAME_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)\s*$")
_DURATION_UNITS = {"ms": Decimal("0.001"), "s": Decimal(1), "min": Decimal(60),
                   "h": Decimal(3600), "d": Decimal(86400)}
_DAY = 86400

ANALOG_SIGNALS: dict[str, tuple[Decimal, Decimal, str]] = {
    "4-20mA": (Decimal(4), Decimal(20), "mA"),
    "0-20mA": (Decimal(0), Decimal(20), "mA"),
    "0-10V": (Decimal(0), Decimal(10), "V"),
}
"""Standard signal ranges (DIN IEC 60381-1 / -2): name -> (low, high, electrical unit)."""

SCAN_MODES = ("none", "primary", "secondary")
EXPORT_PERIODS = ("weekly", "monthly")
DERIVED_KINDS = ("formula", "operating_hours", "switching_cycles", "consumption")
DELIVERY_KINDS = ("ftp", "ftps", "sftp", "smtp")


@dataclass(frozen=True, slots=True, kw_only=True)
class MbusMeter:
    """A wired meter: ``address`` is a primary address (int) or a secondary address text."""

    name: str
    address: int | str
    profile: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MbusSegment:
    """A wired M-Bus segment (one master): read its meters one after another."""

    name: str
    url: str
    baud: int
    interval: float
    scan: str
    timeout: float | None
    max_telegrams: int
    missed_cycles: int
    meters: tuple[MbusMeter, ...]
    rescan: float | None = None
    """Seconds between scans while running (``None``: scan on start only)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WmbusMeter:
    """A radio meter by its identification number (and manufacturer, when given)."""

    name: str
    id: str
    manufacturer: str | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WmbusReceiver:
    """A receiver dongle (or a stream of hex lines) and the radio meters it listens for.

    ``interval`` is how often the meters send; a meter is failed after ``missed_cycles``
    intervals without a telegram. ``listen`` holds windows (minutes after local midnight,
    start inclusive, end exclusive) outside which telegrams are ignored; empty = always.
    """

    name: str
    dongle: str
    port: str
    baud: int
    keys: Path | None
    interval: float
    missed_cycles: int
    listen: tuple[tuple[int, int], ...]
    meters: tuple[WmbusMeter, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class S0Input:
    """An S0 pulse input: a GPIO line (``chip:line``) or a replay file of edges.

    ``active_low`` and ``pull_up`` are the GPIO line's settings, with the meaning of
    :meth:`s0.GpioPulseReader.open` (defaults: active low with the internal pull-up, as an
    S0 open collector needs); a replay input ignores them.
    """

    name: str
    gpio: str | None
    replay: Path | None
    loop: bool
    imp_per_unit: Decimal
    unit: str
    offset: Decimal
    interval: float
    active_low: bool = True
    pull_up: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedSource:
    """A raw value source for tests and the demo: ``values`` in turn, each for ``step`` s.

    The value at time ``t`` (epoch seconds) is ``values[int(t // step) % len(values)]``:
    a function of the time only, so a restarted gateway sees the same signal.
    """

    values: tuple[Decimal, ...]
    step: float


@dataclass(frozen=True, slots=True, kw_only=True)
class IioSource:
    """A Linux IIO ADC channel file (``.../in_voltage0_raw``).

    With ``scale``, the raw count times ``scale`` is the signal in mA or V. Without it,
    the sysfs convention applies: ``(raw + offset) * scale`` from the channel's
    ``_offset`` and ``_scale`` files (or the type's shared ``in_voltage_scale``) is in
    millivolts; a 0-10 V signal is that / 1000, a current signal that / ``shunt_ohm``.
    """

    path: Path
    scale: Decimal | None
    shunt_ohm: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusRegisterSource:
    """A register of a Modbus I/O module, decoded by the ``modbus`` codec (``point``:
    type, word and byte order, ``scale``, ``no_value``).

    The decoded value is the signal in mA or V; or, with ``raw_range`` (the counts at the
    signal's low and high end, e.g. ``(0, 27648)``), counts mapped linearly onto it.
    """

    url: str
    unit_id: int
    point: modbus.RegisterPoint
    raw_range: tuple[Decimal, Decimal] | None
    timeout: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalogInput:
    """An analog input: a raw electrical value scaled linearly to ``low``..``high`` ``unit``."""

    name: str
    field: str
    signal: str
    low: Decimal
    high: Decimal
    unit: str
    quantity: str
    interval: float
    missed_cycles: int
    source: SimulatedSource | IioSource | ModbusRegisterSource


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusDevice:
    """A Modbus device read through its register map (``modbus``); points are
    ``<site>/<name>/<map point>``."""

    name: str
    url: str
    unit_id: int | None
    map: modbus.RegisterMap
    interval: float
    timeout: float
    missed_cycles: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusServerConfig:
    """A Modbus TCP server publishing chosen points in a register map: ``points`` maps each
    map point name to the site point it shows; ``bad_quality`` is what a point without a
    good value answers (``modbus.BAD_QUALITY_POLICIES``; default ``no_value``, so that the
    map's points the site does not publish do not fail the reads around them)."""

    host: str
    port: int
    unit_id: int | None
    map: modbus.RegisterMap
    points: dict[str, str]
    bad_quality: str = "no_value"


@dataclass(frozen=True, slots=True, kw_only=True)
class DerivedInput:
    """One named input of a formula: a point, converted to ``unit`` when given."""

    point: str
    unit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DerivedValue:
    """A value computed from other points (see the guide for the kinds)."""

    point: str
    kind: str
    unit: str
    quantity: str
    expression: profiles.Expression | None = None
    inputs: dict[str, DerivedInput] = field(default_factory=dict)
    threshold: Decimal | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The points this value is computed from."""
        return tuple(sorted({item.point for item in self.inputs.values()}))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryConfig:
    """Where export files go: ``kind`` ftp, ftps, sftp or smtp; ``options`` as in exporters."""

    name: str
    kind: str
    options: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportConfig:
    """A cyclic export: every ``minutes`` (aligned to the clock) or ``weekly``/``monthly``."""

    name: str
    format: Literal["csv", "xml"]
    minutes: int | None
    period: str | None
    template: str
    directory: Path
    points: tuple[str, ...]
    csv_profile: str
    alarms: bool
    deliver: tuple[str, ...]

    def selects(self, point: str) -> bool:
        """Whether ``point`` matches one of the export's patterns."""
        return any(fnmatch.fnmatchcase(point, pattern) for pattern in self.points)


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttConfig:
    """The MQTT output; topics are ``<topic_prefix>/<gateway id>/<device>/<field>``."""

    host: str
    port: int
    topic_prefix: str
    username: str | None
    password_env: str | None
    qos: int
    retain: bool
    ha_discovery: bool
    alarms: bool
    points: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class WebConfig:
    """The ``[web]`` table: the web page (``gateway.web``, the ``web`` extra)."""

    host: str = "127.0.0.1"
    port: int = 8080
    users_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    refresh_seconds: int = 5
    backup_passphrase_env: str | None = None
    """The environment variable holding the passphrase of backups downloaded from the
    page (an admin action); without it the page offers no backup."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """A whole site as read from its file (plain data; see :func:`load_site`)."""

    file: Path
    name: str
    gateway_id: str
    timezone: str
    data_dir: Path
    history: Path
    mbus: tuple[MbusSegment, ...] = ()
    wmbus: tuple[WmbusReceiver, ...] = ()
    s0: tuple[S0Input, ...] = ()
    analog: tuple[AnalogInput, ...] = ()
    modbus: tuple[ModbusDevice, ...] = ()
    derived: tuple[DerivedValue, ...] = ()
    rules: tuple[alarms.Rule, ...] = ()
    exports: tuple[ExportConfig, ...] = ()
    deliveries: tuple[DeliveryConfig, ...] = ()
    mqtt: MqttConfig | None = None
    web: WebConfig | None = None
    modbus_server: ModbusServerConfig | None = None
    bacnet: tuple[BacnetInput, ...] = ()
    bacnet_device: BacnetDeviceConfig | None = None
    catalogue: profiles.MeterProfiles = field(default_factory=profiles.MeterProfiles,
                                              compare=False)
    meter_profiles: dict[str, profiles.MeterProfile] = field(default_factory=dict,
                                                             compare=False)

    @property
    def tz(self) -> tzinfo:
        """The site's time zone (schedules align to its wall clock)."""
        return zoneinfo.ZoneInfo(self.timezone)

    def point(self, device: str, field: str) -> str:
        """The point name of ``field`` of ``device``."""
        return f"{self.name}/{device}/{field}"

    def device_point(self, device: str) -> str:
        """The point the device-failure rule of ``device`` watches (fed at every readout)."""
        return f"{self.name}/{device}"

    @property
    def devices(self) -> dict[str, float]:
        """Every device that can fail -> the seconds after which it counts as failed."""
        return {**_device_timeouts(list(self.mbus), list(self.wmbus), list(self.analog),
                                   list(self.modbus)),
                **{item.name: item.interval * item.missed_cycles for item in self.bacnet}}


def parse_duration(value: object) -> float:
    """Seconds from an integer/float of seconds or a text such as ``"15min"``, ``"1h"``.

    Raises:
        ValueError: not a positive duration.
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a text like '15min'")
    if isinstance(value, (int, float)):
        seconds = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration (write e.g. '30s', '15min', '1h', "
                             "'1d')")
        seconds = Decimal(match.group(1)) * _DURATION_UNITS[match.group(2)]
    else:
        raise ValueError("a duration is a number of seconds or a text like '15min'")
    if not seconds.is_finite() or seconds <= 0 or seconds > 366 * _DAY:
        raise ValueError(f"{value!r} is not a duration from 1 ms to a year")
    return float(seconds)


def _duration(reader: TableReader, key: str, default: str | None = None) -> float:
    raw = reader.raw(key, default) if default is not None else reader.raw(key)
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise reader.error(key, str(exc)) from None


def _cycle(reader: TableReader, key: str, default: str) -> float:
    """A readout interval: it must divide a day so that slots align to the clock."""
    seconds = _duration(reader, key, default)
    whole = int(seconds)
    if whole != seconds or (whole < 60 and 60 % whole) or (
            whole >= 60 and (whole % 60 or _DAY % whole)):
        raise reader.error(key, f"{seconds:g} s does not divide a day into equal slots "
                                "(use e.g. 10s, 1min, 15min, 1h)")
    return seconds


def _name(reader: TableReader, key: str) -> str:
    text = reader.text(key)
    parts = text.split("/")
    if not all(_NAME_PART.match(part) for part in parts):
        raise reader.error(key, f"{text!r} is not a name: parts separated by '/', each of "
                                "letters, digits, '_', '.', '-' (starting with a letter or "
                                "digit)")
    return text


def _path(reader: TableReader, key: str, base: Path, *, must_exist: bool = False) -> Path:
    text = reader.text(key)
    path = Path(os.path.expanduser(text))
    if not path.is_absolute():
        path = base / path
    if must_exist and not path.is_file():
        raise reader.error(key, f"file {str(path)!r} does not exist")
    return path


def _optional_path(reader: TableReader, key: str, base: Path, *,
                   must_exist: bool = False) -> Path | None:
    return _path(reader, key, base, must_exist=must_exist) if reader.has(key) else None


def _site_error(error: ProfileError) -> SiteError:
    return SiteError(error.message, file=error.file, table=error.table, key=error.key,
                     line=error.line)


# --- inputs --------------------------------------------------------------------------------

def _mbus(reader: TableReader, base: Path) -> MbusSegment:
    name = _name(reader, "name")
    url = reader.text("url")
    baud = reader.optional_integer("baud", 2400, minimum=300, maximum=38400)
    if baud not in (300, 600, 1200, 2400, 4800, 9600, 19200, 38400):
        raise reader.error("baud", f"{baud} is not an M-Bus baud rate")
    interval = _cycle(reader, "interval", "15min")
    scan = reader.optional_choice("scan", SCAN_MODES, "none")
    timeout = _duration(reader, "timeout") if reader.has("timeout") else None
    max_telegrams = reader.optional_integer("max_telegrams", 16, minimum=1, maximum=64)
    missed = reader.optional_integer("missed_cycles", 3, minimum=1, maximum=1000)
    rescan = _duration(reader, "rescan") if reader.has("rescan") else None
    if rescan is not None and scan == "none":
        raise reader.error("rescan", "applies to a segment with scan = 'primary' or 'secondary'")
    if rescan is not None and rescan < interval:
        raise reader.error("rescan", f"{rescan:g} s is shorter than the interval "
                                     f"({interval:g} s): scans run with readouts")
    meters = []
    for table in reader.optional_tables("meter"):
        meter_name = _name(table, "name")
        raw = table.raw("address")
        address: int | str
        if isinstance(raw, int) and not isinstance(raw, bool):
            if not 1 <= raw <= 250:
                raise table.error("address", f"primary address {raw} is not 1-250")
            address = raw
        elif isinstance(raw, str) and re.fullmatch(r"[0-9A-Fa-f]{8}([0-9A-Fa-f]{8})?", raw):
            address = raw.upper()
        else:
            raise table.error("address", f"{raw!r} is neither a primary address (1-250) nor "
                                         "a secondary address (8 or 16 hex digits)")
        profile = table.optional_text("profile", None)
        table.finish()
        meters.append(MbusMeter(name=meter_name, address=address, profile=profile))
    if not meters and scan == "none":
        raise reader.error("meter", "no meters and no scan: add [[mbus.meter]] tables or "
                                    "scan = 'secondary'")
    reader.finish()
    return MbusSegment(name=name, url=url, baud=baud, interval=interval, scan=scan,
                       timeout=timeout, max_telegrams=max_telegrams, missed_cycles=missed,
                       meters=tuple(meters), rescan=rescan)


def _listen_windows(reader: TableReader) -> tuple[tuple[int, int], ...]:
    windows = []
    for text in reader.optional_text_list("listen", []):
        match = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", text.strip())
        if match is None:
            raise reader.error("listen", f"{text!r} is not a window like '06:00-22:00'")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise reader.error("listen", f"{text!r} holds a time that does not exist")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start == end:
            raise reader.error("listen", f"{text!r} is empty")
        windows.append((start, end))
    return tuple(windows)


def _wmbus(reader: TableReader, base: Path) -> WmbusReceiver:
    name = _name(reader, "name")
    dongle = reader.choice("dongle", wmbus.DONGLES)
    port = reader.text("port")
    baud = reader.optional_integer("baud", {"im871a": 57600}.get(dongle, 9600), minimum=300,
                                   maximum=4_000_000)
    keys = _optional_path(reader, "keys", base, must_exist=True)
    if keys is not None:
        try:
            wmbus.KeyStore.load(keys)
        except wmbus.WMBusError as exc:
            raise reader.error("keys", str(exc)) from None
    interval = _duration(reader, "interval", "15min")
    missed = reader.optional_integer("missed_cycles", 3, minimum=1, maximum=1000)
    listen = _listen_windows(reader)
    meters = []
    for table in reader.tables("meter"):
        meter_name = _name(table, "name")
        ident = table.text("id").strip().upper()
        if not re.fullmatch(r"[0-9A-F]{8}", ident):
            raise table.error("id", f"{ident!r} is not an 8-digit meter id")
        manufacturer = table.optional_text("manufacturer", None)
        if manufacturer is not None and not re.fullmatch(r"[A-Za-z]{3}", manufacturer):
            raise table.error("manufacturer", f"{manufacturer!r} is not three letters")
        profile = table.optional_text("profile", None)
        table.finish()
        meters.append(WmbusMeter(name=meter_name, id=ident,
                                 manufacturer=manufacturer.upper() if manufacturer else None,
                                 profile=profile))
    reader.finish()
    return WmbusReceiver(name=name, dongle=dongle, port=port, baud=baud, keys=keys,
                         interval=interval, missed_cycles=missed, listen=listen,
                         meters=tuple(meters))


def _s0(reader: TableReader, base: Path) -> S0Input:
    name = _name(reader, "name")
    gpio = reader.optional_text("gpio", None)
    replay = _optional_path(reader, "replay", base, must_exist=True)
    if (gpio is None) == (replay is None):
        raise reader.error("gpio", "give exactly one of gpio = 'CHIP:LINE' and replay = FILE")
    if gpio is not None and not re.fullmatch(r"[^:]+:\d+", gpio):
        raise reader.error("gpio", f"{gpio!r} is not 'CHIP:LINE' (e.g. '/dev/gpiochip0:17')")
    loop = reader.optional_boolean("loop", False)
    if loop and replay is None:
        raise reader.error("loop", "applies to replay files only")
    active_low = reader.optional_boolean("active_low", True)
    pull_up = reader.optional_boolean("pull_up", True)
    for key in ("active_low", "pull_up"):
        if gpio is None and reader.has(key):
            raise reader.error(key, "applies to GPIO lines only")
    imp = reader.decimal("imp_per_unit")
    unit = reader.optional_text("unit", "kWh")
    offset = reader.optional_decimal("offset", Decimal(0))
    interval = _cycle(reader, "interval", "1min")
    reader.finish()
    try:
        import s0

        s0.ChannelConfig(imp_per_unit=imp, unit=unit, offset=offset)
    except s0.S0Error as exc:
        raise reader.error(getattr(exc, "field", None) or "imp_per_unit", str(exc)) from None
    return S0Input(name=name, gpio=gpio, replay=replay, loop=loop, imp_per_unit=imp, unit=unit,
                   offset=offset, interval=interval, active_low=active_low, pull_up=pull_up)


def _analog(reader: TableReader, base: Path) -> AnalogInput:
    name = _name(reader, "name")
    field_name = reader.optional_text("field", "value")
    if not _FIELD.match(field_name):
        raise reader.error("field", f"{field_name!r} is not a field name (letters, digits, _)")
    signal = reader.choice("signal", ANALOG_SIGNALS)
    low = reader.decimal("low")
    high = reader.decimal("high")
    if low == high:
        raise reader.error("high", "must differ from low")
    unit = reader.optional_text("unit", "")
    quantity = reader.optional_text("quantity", field_name)
    interval = _cycle(reader, "interval", "1min")
    missed = reader.optional_integer("missed_cycles", 3, minimum=1, maximum=1000)
    source_reader = reader.table("source")
    kind = source_reader.choice("kind", ("simulated", "iio", "modbus"))
    source: SimulatedSource | IioSource | ModbusRegisterSource
    if kind == "simulated":
        raw_values = source_reader.raw("values")
        if not isinstance(raw_values, list) or not raw_values:
            raise source_reader.error("values", "must be a non-empty array of numbers")
        values = []
        for index, item in enumerate(raw_values):
            probe = TableReader({"value": item}, file=source_reader.file,
                                table=source_reader.table_name)
            try:
                values.append(probe.decimal("value"))
            except ProfileError:
                raise source_reader.error("values", f"item {index} ({item!r}) is not a "
                                                    "number") from None
        step = _duration(source_reader, "step", "1min")
        source = SimulatedSource(values=tuple(values), step=step)
    elif kind == "iio":
        source = _iio_source(source_reader, base, signal)
    else:
        source = _modbus_register_source(source_reader)
    source_reader.finish()
    reader.finish()
    return AnalogInput(name=name, field=field_name, signal=signal, low=low, high=high,
                       unit=unit, quantity=quantity, interval=interval, missed_cycles=missed,
                       source=source)


def _iio_source(reader: TableReader, base: Path, signal: str) -> IioSource:
    path = _path(reader, "path", base)
    if not path.name.endswith("_raw"):
        raise reader.error("path", f"{path.name!r} is not an IIO channel file "
                                   "(in_voltageN_raw)")
    scale = reader.optional_decimal("scale", None)
    shunt = reader.optional_decimal("shunt_ohm", None)
    if scale is not None and (not scale.is_finite() or scale == 0):
        raise reader.error("scale", f"must be a finite non-zero number, got {scale}")
    if shunt is not None and (scale is not None or ANALOG_SIGNALS[signal][2] != "mA"):
        raise reader.error("shunt_ohm", "applies to current signals whose scale comes from "
                                        "the IIO files (no scale key)")
    if shunt is not None and not (shunt.is_finite() and shunt > 0):
        raise reader.error("shunt_ohm", f"must be a positive resistance, got {shunt}")
    if scale is None and shunt is None and ANALOG_SIGNALS[signal][2] == "mA":
        raise reader.error("shunt_ohm", "a current signal needs the shunt resistance "
                                        "(shunt_ohm) or a scale (raw count x scale = mA)")
    return IioSource(path=path, scale=scale, shunt_ohm=shunt)


def _modbus_register_source(reader: TableReader) -> ModbusRegisterSource:
    if importlib.util.find_spec("pymodbus") is None:
        raise reader.error("kind", "Modbus needs pymodbus: pip install 'meterkit[modbus]'")
    url = reader.text("url")
    try:
        modbus.parse_url(url)
    except modbus.UrlError as exc:
        raise reader.error("url", str(exc)) from None
    unit_id = reader.optional_integer("unit_id", 1, minimum=0, maximum=247)
    no_value = reader.optional_integer("no_value", None, minimum=0)
    try:
        point = modbus.RegisterPoint(
            name="raw", table=reader.optional_choice("table", ("input", "holding"), "input"),
            address=reader.integer("address", minimum=0, maximum=0xFFFF),
            type=reader.optional_choice("type", _ANALOG_REGISTER_TYPES, "uint16"),
            word_order=reader.optional_choice("word_order", ("big", "little"), "big"),
            byte_order=reader.optional_choice("byte_order", ("big", "little"), "big"),
            scale=reader.optional_decimal("scale", None), no_value=no_value)
    except modbus.MapError as exc:
        raise reader.error(exc.key, exc.message) from None
    raw_range = None
    if reader.has("raw_low") or reader.has("raw_high"):
        if point.scale is not None:
            raise reader.error("raw_low", "give scale or raw_low/raw_high, not both")
        raw_range = (reader.decimal("raw_low"), reader.decimal("raw_high"))
        if raw_range[0] == raw_range[1]:
            raise reader.error("raw_high", "must differ from raw_low")
    return ModbusRegisterSource(url=url, unit_id=unit_id, point=point, raw_range=raw_range,
                                timeout=_duration(reader, "timeout", "1s"))


_ANALOG_REGISTER_TYPES = ("int16", "uint16", "int32", "uint32", "float32", "float64")


def _modbus_map(reader: TableReader, places: list[Path]) -> modbus.RegisterMap:
    if importlib.util.find_spec("pymodbus") is None:
        raise reader.error("map", "Modbus needs pymodbus: pip install 'meterkit[modbus]'")
    try:
        return modbus.load_map(reader.text("map"), user_dirs=[p for p in places if p.is_dir()])
    except modbus.MapError as exc:
        raise reader.error("map", str(exc)) from None


def _modbus(reader: TableReader, places: list[Path]) -> ModbusDevice:
    name = _name(reader, "name")
    url = reader.text("url")
    try:
        modbus.parse_url(url)
    except modbus.UrlError as exc:
        raise reader.error("url", str(exc)) from None
    device = ModbusDevice(
        name=name, url=url, unit_id=reader.optional_integer("unit_id", None, minimum=0,
                                                            maximum=247),
        map=_modbus_map(reader, places), interval=_cycle(reader, "interval", "1min"),
        timeout=_duration(reader, "timeout", "1s"),
        missed_cycles=reader.optional_integer("missed_cycles", 3, minimum=1, maximum=1000))
    reader.finish()
    return device


def _modbus_server(reader: TableReader, places: list[Path]) -> ModbusServerConfig:
    config = ModbusServerConfig(
        host=reader.optional_text("host", "127.0.0.1"),
        port=reader.optional_integer("port", 502, minimum=0, maximum=65535),
        unit_id=reader.optional_integer("unit_id", None, minimum=0, maximum=247),
        map=_modbus_map(reader, places), points={},
        bad_quality=reader.optional_choice("bad_quality", modbus.BAD_QUALITY_POLICIES,
                                           "no_value"))
    names = {point.name for point in config.map.points}
    table = reader.table("points")
    for key in table.keys():  # noqa: SIM118 (a TableReader, not a dict)
        if key not in names:
            raise table.error(key, f"the map {config.map.name!r} has no point {key!r}")
        config.points[key] = table.text(key)
    if not config.points:
        raise reader.error("points", "name at least one map point and the site point it shows")
    reader.finish()
    return config


# --- derived values ------------------------------------------------------------------------

def _derived(reader: TableReader, site_name: str) -> DerivedValue:
    name = _name(reader, "name")
    point = f"{site_name}/{name}"
    kind = reader.optional_choice("kind", DERIVED_KINDS, "formula")
    unit = reader.optional_text("unit", "")
    if unit:
        try:
            profiles.dimension(unit)
        except profiles.UnitError as exc:
            raise reader.error("unit", exc.message) from None
    quantity = reader.optional_text("quantity", kind if kind != "formula" else "derived")
    if kind == "formula":
        text = reader.text("expression")
        try:
            expression = profiles.parse_expression(text)
        except profiles.ExpressionError as exc:
            raise reader.error("expression", exc.message) from None
        inputs_reader = reader.table("inputs")
        inputs: dict[str, DerivedInput] = {}
        for alias in inputs_reader.keys():  # noqa: SIM118 (a TableReader, not a dict)
            raw = inputs_reader.raw(alias)
            if isinstance(raw, str):
                inputs[alias] = DerivedInput(point=raw)
            elif isinstance(raw, dict):
                item = TableReader(raw, file=inputs_reader.file,
                                   table=f"{inputs_reader.table_name}.{alias}")
                input_unit = item.optional_text("unit", None)
                if input_unit is not None:
                    try:
                        profiles.dimension(input_unit)
                    except profiles.UnitError as exc:
                        raise item.error("unit", exc.message) from None
                inputs[alias] = DerivedInput(point=item.text("point"), unit=input_unit)
                item.finish()
            else:
                raise inputs_reader.error(alias, "must be a point name or a table "
                                                 "{ point = ..., unit = ... }")
        missing = sorted(expression.names - set(inputs))
        if missing:
            raise reader.error("expression", f"uses {', '.join(missing)}, not defined in "
                                             "[derived.inputs]")
        unused = sorted(set(inputs) - expression.names)
        if unused:
            raise inputs_reader.error(unused[0], "is not used by the expression")
        reader.finish()
        return DerivedValue(point=point, kind=kind, unit=unit, quantity=quantity,
                            expression=expression, inputs=inputs)
    source = reader.text("input")
    threshold = reader.optional_decimal("threshold", None)
    if kind == "consumption" and threshold is not None:
        raise reader.error("threshold", "does not apply to consumption")
    if kind in ("operating_hours", "switching_cycles") and threshold is None:
        threshold = Decimal("0.5")
    if kind == "operating_hours" and unit and unit != "h":
        raise reader.error("unit", "operating hours are counted in h")
    if kind == "switching_cycles" and unit:
        raise reader.error("unit", "switching cycles are a count (no unit)")
    reader.finish()
    return DerivedValue(point=point, kind=kind,
                        unit="h" if kind == "operating_hours" else unit, quantity=quantity,
                        inputs={"input": DerivedInput(point=source)}, threshold=threshold)


def _order_derived(values: list[DerivedValue], tables: list[TableReader]) -> list[DerivedValue]:
    """Derived values in an order where each comes after the ones it reads; cycles refused."""
    by_point = {value.point: index for index, value in enumerate(values)}
    order: list[int] = []
    state: dict[int, int] = {}  # 1 = on the current path, 2 = done

    def visit(index: int, path: list[int]) -> None:
        mark = state.get(index)
        if mark == 2:
            return
        if mark == 1:
            cycle = [*path[path.index(index):], index]
            names = " -> ".join(values[i].point for i in cycle)
            raise tables[index].error("expression" if values[index].kind == "formula"
                                      else "input", f"derived values form a cycle: {names}")
        state[index] = 1
        for source in values[index].sources:
            if source in by_point:
                visit(by_point[source], [*path, index])
        state[index] = 2
        order.append(index)

    for index in range(len(values)):
        visit(index, [])
    return [values[index] for index in order]


# --- alarms, exports, outputs ----------------------------------------------------------------

def _rule(reader: TableReader) -> alarms.Rule:
    data = {key: reader.raw(key) for key in reader.keys()}  # noqa: SIM118 (TableReader)
    try:
        return alarms.rule_from_mapping(data)
    except alarms.RuleError as exc:
        raise reader.error(exc.field, exc.message) from None


def _export(reader: TableReader, data_dir: Path) -> ExportConfig:
    name = _name(reader, "name")
    fmt = reader.choice("format", ("csv", "xml"))
    minutes = reader.optional_integer("minutes", None, minimum=1, maximum=1440)
    period = reader.optional_choice("period", EXPORT_PERIODS, None)
    if (minutes is None) == (period is None):
        raise reader.error("minutes", "give exactly one of minutes = N and period = "
                                      "'weekly' | 'monthly'")
    if minutes is not None and 1440 % minutes:
        raise reader.error("minutes", f"{minutes} does not divide a day of 1440 minutes")
    template = reader.optional_text("template", f"{name}_{{date}}_{{time}}.{fmt}")
    try:
        schedule = exporters.CyclicSchedule(minutes=minutes or 1440, template=template)
        if schedule.uses_meter:
            raise exporters.ScheduleError("{meter} does not apply: an export file holds "
                                          "every selected point", field="template")
    except exporters.ScheduleError as exc:
        raise reader.error("template", str(exc)) from None
    directory = Path(reader.optional_text("directory", "exports"))
    if not directory.is_absolute():
        directory = data_dir / directory
    points = tuple(reader.optional_text_list("points", ["*"]))
    csv_profile = reader.optional_choice("csv_profile", exporters.CSV_PROFILES, "default")
    if fmt != "csv" and reader.has("csv_profile"):
        raise reader.error("csv_profile", "applies to csv exports only")
    include_alarms = reader.optional_boolean("alarms", fmt == "xml")
    if include_alarms and fmt != "xml":
        raise reader.error("alarms", "alarm notifications go into xml exports only")
    deliver = tuple(reader.optional_text_list("deliver", []))
    reader.finish()
    return ExportConfig(name=name, format="csv" if fmt == "csv" else "xml", minutes=minutes,
                        period=period, template=template, directory=directory, points=points,
                        csv_profile=csv_profile, alarms=include_alarms, deliver=deliver)


_DELIVERY_KEYS: dict[str, dict[str, Callable[[TableReader, str], object]]] = {
    "ftp": {"host": TableReader.text, "port": TableReader.integer, "user": TableReader.text,
            "password_env": TableReader.text, "directory": TableReader.text},
    "sftp": {"host": TableReader.text, "port": TableReader.integer,
             "username": TableReader.text, "password_env": TableReader.text,
             "private_key": TableReader.text, "host_key": TableReader.text,
             "directory": TableReader.text},
    "smtp": {"host": TableReader.text, "port": TableReader.integer,
             "sender": TableReader.text, "recipients": TableReader.text_list,
             "security": TableReader.text, "username": TableReader.text,
             "password_env": TableReader.text, "subject": TableReader.text},
}
_DELIVERY_KEYS["ftps"] = _DELIVERY_KEYS["ftp"]
_DELIVERY_REQUIRED = {"ftp": ("host",), "ftps": ("host",), "sftp": ("host", "username",
                                                                     "host_key"),
                      "smtp": ("host", "sender", "recipients")}


def _delivery(reader: TableReader) -> DeliveryConfig:
    name = _name(reader, "name")
    kind = reader.choice("kind", DELIVERY_KINDS)
    options: dict[str, Any] = {}
    for key, read in _DELIVERY_KEYS[kind].items():
        if reader.has(key):
            options[key] = read(reader, key)
    for key in _DELIVERY_REQUIRED[kind]:
        if key not in options:
            raise reader.error(key, f"missing (required for {kind})")
    if kind == "sftp" and importlib.util.find_spec("paramiko") is None:
        raise reader.error("kind", "sftp needs paramiko: pip install 'meterkit[sftp]'")
    reader.finish()
    return DeliveryConfig(name=name, kind=kind, options=options)


def _mqtt(reader: TableReader) -> MqttConfig:
    config = MqttConfig(
        host=reader.text("host"),
        port=reader.optional_integer("port", 1883, minimum=1, maximum=65535),
        topic_prefix=reader.optional_text("topic_prefix", "meterkit"),
        username=reader.optional_text("username", None),
        password_env=reader.optional_text("password_env", None),
        qos=reader.optional_integer("qos", 1, minimum=0, maximum=2),
        retain=reader.optional_boolean("retain", True),
        ha_discovery=reader.optional_boolean("ha_discovery", False),
        alarms=reader.optional_boolean("alarms", True),
        points=tuple(reader.optional_text_list("points", ["*"])))
    if not _topic_level(config.topic_prefix, slashes=True):
        raise reader.error("topic_prefix", f"{config.topic_prefix!r} is not a topic prefix "
                                           "(no wildcards, spaces or empty levels)")
    if importlib.util.find_spec("paho") is None:
        raise reader.error("host", "MQTT needs paho-mqtt: pip install 'meterkit[mqtt]'")
    reader.finish()
    return config


def _web(reader: TableReader, base: Path) -> WebConfig:
    config = WebConfig(
        host=reader.optional_text("host", "127.0.0.1"),
        port=reader.optional_integer("port", 8080, minimum=0, maximum=65535),
        users_file=_optional_path(reader, "users_file", base),
        tls_cert=_optional_path(reader, "tls_cert", base, must_exist=True),
        tls_key=_optional_path(reader, "tls_key", base, must_exist=True),
        refresh_seconds=reader.optional_integer("refresh_seconds", 5, minimum=1, maximum=3600),
        backup_passphrase_env=reader.optional_text("backup_passphrase_env", None))
    reader.finish()
    try:
        from gateway import web
    except ImportError as exc:
        raise reader.error(None, str(exc)) from None
    try:  # the page's own rules (a users file beyond loopback, TLS files in pairs)
        web.WebConfig(host=config.host, port=config.port, users_file=config.users_file,
                      tls_cert=config.tls_cert, tls_key=config.tls_key,
                      refresh_seconds=config.refresh_seconds)
    except web.WebConfigError as exc:
        found = re.match(r"\[web\] (\w+)", str(exc))
        raise reader.error(found.group(1) if found else None, str(exc)) from None
    return config


def _topic_level(text: str, *, slashes: bool = False) -> bool:
    parts = text.split("/") if slashes else [text]
    return all(part and not re.search(r"[+#\s\x00]", part) for part in parts)


# --- the whole file --------------------------------------------------------------------------

def load_site(path: str | os.PathLike[str]) -> Site:
    """Read and check a site file; relative paths in it are relative to its folder.

    Raises:
        SiteError: naming file, table and key (and the line, for TOML syntax errors).
    """
    file = Path(path)
    try:
        data = profiles.load_toml(file)
    except ProfileError as exc:
        raise _site_error(exc) from None
    return parse_site(data, file=file)


def parse_site(data: dict[str, object], *, file: Path) -> Site:
    """Check a parsed site document (see :func:`load_site`)."""
    try:
        return _parse(TableReader(data, file=str(file), table=""), file)
    except SiteError:
        raise
    except ProfileError as exc:
        raise _site_error(exc) from None


def _parse(top: TableReader, file: Path) -> Site:
    base = file.resolve().parent
    site_table = top.table("site")
    name = _name(site_table, "name")
    if "/" in name:
        raise site_table.error("name", "the site name is one part (no '/')")
    gateway_id = site_table.optional_text("gateway_id", name)
    if not _topic_level(gateway_id):
        raise site_table.error("gateway_id", f"{gateway_id!r} cannot be an MQTT topic level")
    timezone = site_table.optional_text("timezone", "UTC")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise site_table.error("timezone", f"{timezone!r} is not a time zone name "
                                           "(e.g. 'Europe/Berlin')") from None
    data_dir = Path(site_table.optional_text("data_dir", "data"))
    data_dir = data_dir if data_dir.is_absolute() else base / data_dir
    history = Path(site_table.optional_text("history", "history.sqlite"))
    history = history if history.is_absolute() else data_dir / history
    places = [base / place for place in site_table.optional_text_list("profiles", [])]
    try:
        catalogue = profiles.load_meter_profiles(*places)
    except ProfileError as exc:
        raise site_table.error("profiles", str(exc)) from None
    site_table.finish()

    segments = [_mbus(table, base) for table in top.optional_tables("mbus")]
    receivers = [_wmbus(table, base) for table in top.optional_tables("wmbus")]
    s0_inputs = [_s0(table, base) for table in top.optional_tables("s0")]
    analog = [_analog(table, base) for table in top.optional_tables("analog")]
    modbus_devices = [_modbus(table, places) for table in top.optional_tables("modbus")]
    from . import _bacnet_site

    bacnet_inputs = [_bacnet_site.bacnet_input(table, places)
                     for table in top.optional_tables("bacnet")]
    _bacnet_site.check_interfaces(top.optional_tables("bacnet"), bacnet_inputs)

    # Device names are unique across all inputs: they make the point names.
    devices: dict[str, tuple[TableReader, str]] = {}
    device_tables: list[tuple[str, TableReader]] = []
    for bus in [*top.optional_tables("mbus"), *top.optional_tables("wmbus")]:
        for meter_table in bus.optional_tables("meter"):
            device_tables.append((meter_table.text("name"), meter_table))
    for table in [*top.optional_tables("s0"), *top.optional_tables("analog"),
                  *top.optional_tables("modbus"), *top.optional_tables("bacnet")]:
        device_tables.append((table.text("name"), table))
    for device, table in device_tables:
        if device in devices:
            raise table.error("name", f"device {device!r} is already defined in table "
                                      f"{devices[device][0].table_name}")
        devices[device] = (table, device)
    for receiver in receivers:
        seen: dict[str, str] = {}
        for radio in receiver.meters:
            key = f"{radio.manufacturer or '*'}.{radio.id}"
            if key in seen:
                raise top.error("wmbus", f"receiver {receiver.name!r}: meter id {radio.id} "
                                         f"is given twice ({seen[key]}, {radio.name})")
            seen[key] = radio.name
    for group in (segments, receivers):
        names = [item.name for item in group]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise top.error("mbus" if group is segments else "wmbus",
                            f"name {duplicates[0]!r} is given to two tables")

    meter_profiles = _meter_profiles(top, catalogue, places)
    derived_tables = top.optional_tables("derived")
    derived = [_derived(table, name) for table in derived_tables]
    known_points = _known_points(name, segments, receivers, s0_inputs, analog, modbus_devices)
    for bacnet_input in bacnet_inputs:
        known_points |= _bacnet_site.input_points(name, bacnet_input)
        known_points.add(f"{name}/{bacnet_input.name}")
    device_prefixes = tuple(f"{name}/{device}/" for device in devices)
    meter_prefixes = tuple(f"{name}/{meter_name}/" for meter_name in
                           [m.name for bus in segments for m in bus.meters]
                           + [m.name for bus in receivers for m in bus.meters])
    derived_points = {value.point for value in derived}
    for value, table in zip(derived, derived_tables, strict=True):
        if value.point in derived_points - {value.point} or value.point in known_points:
            raise table.error("name", f"point {value.point!r} exists already")
        if any(value.point.startswith(prefix) and value.point[len(prefix):].count("/") == 0
               for prefix in meter_prefixes):
            raise table.error("name", f"point {value.point!r} could clash with a field of the "
                                      "meter of that name (fields are named by its readout); "
                                      "choose another name")
        for alias, item in value.inputs.items():
            if not _point_known(item.point, known_points, device_prefixes, derived_points):
                key = "input" if value.kind != "formula" else alias
                where = table if value.kind != "formula" else table.table("inputs")
                raise where.error(key, f"unknown point {item.point!r}: "
                                       f"{_point_hint(item.point, name)}")
    names_seen = [value.point for value in derived]
    for index, value in enumerate(derived):
        if value.point in names_seen[:index]:
            raise derived_tables[index].error("name", f"point {value.point!r} is given twice")
    ordered = _order_derived(derived, derived_tables)

    rule_tables = top.optional_tables("alarm")
    rules = [_rule(table) for table in rule_tables]
    ids: dict[str, int] = {}
    for index, (rule, table) in enumerate(zip(rules, rule_tables, strict=True)):
        if not _point_known(rule.point, known_points, device_prefixes, derived_points):
            raise table.error("point", f"unknown point {rule.point!r}: "
                                       f"{_point_hint(rule.point, name)}")
        if rule.alarm_id in ids:
            raise table.error("alarm_id", f"{rule.alarm_id!r} is the id of "
                                          f"alarm[{ids[rule.alarm_id]}] already")
        ids[rule.alarm_id] = index
    timeouts = {**_device_timeouts(segments, receivers, analog, modbus_devices),
                **{item.name: item.interval * item.missed_cycles for item in bacnet_inputs}}
    for device, timeout in timeouts.items():
        rule = device_failure_rule(name, device, timeout)
        if rule.alarm_id in ids:
            raise rule_tables[ids[rule.alarm_id]].error(
                "alarm_id", f"{rule.alarm_id!r} is the automatic device-failure rule's id")
        rules.append(rule)

    deliveries = [_delivery(table) for table in top.optional_tables("delivery")]
    delivery_names = [item.name for item in deliveries]
    for index, item_name in enumerate(delivery_names):
        if item_name in delivery_names[:index]:
            raise top.tables("delivery")[index].error("name", f"{item_name!r} is given twice")
    export_tables = top.optional_tables("export")
    exports = [_export(table, data_dir) for table in export_tables]
    for index, (export, table) in enumerate(zip(exports, export_tables, strict=True)):
        if export.name in [item.name for item in exports[:index]]:
            raise table.error("name", f"{export.name!r} is given twice")
        for target in export.deliver:
            if target not in delivery_names:
                raise table.error("deliver", f"no [[delivery]] named {target!r}")
    mqtt_table = top.optional_table("mqtt")
    mqtt = _mqtt(mqtt_table) if mqtt_table is not None else None
    web_table = top.optional_table("web")
    web = _web(web_table, base) if web_table is not None else None
    server_table = top.optional_table("modbus_server")
    modbus_server = None
    if server_table is not None:
        modbus_server = _modbus_server(server_table, places)
        points_table = server_table.table("points")
        for key, point in modbus_server.points.items():
            if not _point_known(point, known_points, device_prefixes, derived_points):
                raise points_table.error(key, f"unknown point {point!r}: "
                                              f"{_point_hint(point, name)}")
    device_table = top.optional_table("bacnet_device")
    bacnet_device = (_bacnet_site.bacnet_device(device_table, gateway_id)
                     if device_table is not None else None)
    if device_table is not None and bacnet_device is not None:
        _bacnet_site.check_device_port(device_table, bacnet_device, bacnet_inputs)
    top.finish()
    return Site(file=file, name=name, gateway_id=gateway_id, timezone=timezone,
                data_dir=data_dir, history=history, mbus=tuple(segments),
                wmbus=tuple(receivers), s0=tuple(s0_inputs), analog=tuple(analog),
                modbus=tuple(modbus_devices), modbus_server=modbus_server,
                derived=tuple(ordered), rules=tuple(rules), exports=tuple(exports),
                deliveries=tuple(deliveries), mqtt=mqtt, web=web, catalogue=catalogue,
                bacnet=tuple(bacnet_inputs), bacnet_device=bacnet_device,
                meter_profiles=meter_profiles)


def device_failure_rule(site: str, device: str, timeout: float) -> alarms.StaleRule:
    """The automatic device-failure rule of ``device``: ``<site>/<device>.stale``, major,
    raised after ``timeout`` seconds without an answer."""
    return alarms.StaleRule(
        point=f"{site}/{device}", timeout=timeout, severity=alarms.Severity.MAJOR,
        specific_problem="device failure",
        raise_text=f"device {device} failed: no data for {{value}} s",
        clear_text=f"device {device} answers again")


def _meter_profiles(top: TableReader, catalogue: profiles.MeterProfiles,
                    places: list[Path]) -> dict[str, profiles.MeterProfile]:
    """The profile each meter names (by profile name, or a profile file's path)."""
    by_name = {profile.name: profile for profile in catalogue.profiles}
    out = {}
    for bus in [*top.optional_tables("mbus"), *top.optional_tables("wmbus")]:
        for table in bus.optional_tables("meter"):
            name = table.optional_text("profile", None)
            if name is None:
                continue
            profile = by_name.get(name)
            if profile is None:
                try:
                    profile = profiles.load_meter_profile(
                        profiles.find_profile(name, "meter", [p for p in places if p.is_dir()]))
                except ProfileError as exc:
                    known = sorted(by_name)
                    raise table.error("profile", f"{exc.message} ({len(known)} meter "
                                                 "profiles are known" + (
                                                     f", e.g. {', '.join(known[:4])})"
                                                     if known else ")")) from None
            out[table.text("name")] = profile
    return out


def _device_timeouts(segments: list[MbusSegment], receivers: list[WmbusReceiver],
                     analog: list[AnalogInput],
                     devices: list[ModbusDevice]) -> dict[str, float]:
    out: dict[str, float] = {}
    for device in devices:
        out[device.name] = device.interval * device.missed_cycles
    for segment in segments:
        for meter in segment.meters:
            out[meter.name] = segment.interval * segment.missed_cycles
    for receiver in receivers:
        for radio in receiver.meters:
            out[radio.name] = receiver.interval * receiver.missed_cycles
    for item in analog:
        out[item.name] = item.interval * item.missed_cycles
    return out


def _known_points(site: str, segments: list[MbusSegment], receivers: list[WmbusReceiver],
                  s0_inputs: list[S0Input], analog: list[AnalogInput],
                  devices: list[ModbusDevice]) -> set[str]:
    """Points whose names are known before any readout (S0, analog, Modbus maps, device
    heartbeats)."""
    points = {f"{site}/{item.name}/{suffix}" for item in s0_inputs
              for suffix in ("total", "power")}
    points |= {f"{site}/{item.name}/{item.field}" for item in analog}
    points |= {f"{site}/{device.name}/{point.name}" for device in devices
               for point in device.map.points}
    points |= {f"{site}/{device}" for device in _device_timeouts(segments, receivers, analog,
                                                                 devices)}
    return points


def _point_known(point: str, known: set[str], device_prefixes: tuple[str, ...],
                 derived: set[str]) -> bool:
    if point in known or point in derived:
        return True
    # Meter fields are named by the first readout (or the profile): the device must exist.
    return any(point.startswith(prefix) and _FIELD.match(point[len(prefix):])
               for prefix in device_prefixes)


def _point_hint(point: str, site: str) -> str:
    if not point.startswith(f"{site}/"):
        return f"point names start with the site name, '{site}/'"
    return "no device, S0 input, analog input or derived value has that name"
