"""exporters: hand metering readings to upstream IT.

One public namespace for the whole package:

- :class:`Reading`, the unit every exporter writes, and :class:`ReadingLike` (anything with
  the same attribute names is accepted by the writers);
- telegram documents (``mbus decode --json``, ``wmbus decode --json``) and JSON lines into
  readings: :func:`readings_from_document`, :func:`read_json_readings`;
- CSV (:class:`CsvWriter`, :func:`write_csv`, :func:`read_csv`) with RFC 4180 quoting, UTC
  timestamps, a German profile and a formula-injection guard;
- XML (:class:`XmlWriter`, :func:`write_xml`, :func:`read_xml`, :func:`validate_xml`) with
  the schema shipped as ``readings.xsd``, readings and alarm notifications in one document;
- cyclic export helpers (:class:`CyclicSchedule`, :class:`CyclicTimer`), sans-IO;
- delivery: a durable spool (:class:`Spool`) and transports for e-mail with S/MIME, FTP,
  FTPS, SFTP and MQTT, each importing its optional dependency only when used;
- the typed errors, rooted at :class:`ExportError`.

``exporters`` imports no other meterkit package. See the guide ``docs/exporters.rst``.
"""

from __future__ import annotations

from ._csv import CSV_COLUMNS, CSV_PROFILES, CsvProfile, CsvWriter, read_csv, write_csv
from ._cyclic import TEMPLATE_FIELDS, CyclicSchedule, CyclicTimer, ExportPeriod
from ._documents import (
    iter_json_values,
    read_json_readings,
    readings_from_document,
    readings_from_json,
)
from ._errors import (
    CsvFormatError,
    DocumentError,
    ExportError,
    ReadingError,
    ScheduleError,
    SchemaValidationError,
    XmlFormatError,
)
from ._json_limits import JsonFormatError
from ._mqtt_fleet import (
    FLEET_FORMAT,
    FLEET_TOPIC_FILTER,
    FLEET_VERSION,
    FleetAlarm,
    FleetReading,
    FleetReadings,
    fleet_alarm_message,
    fleet_reading_messages,
    fleet_topic,
    parse_fleet_message,
)
from ._parquet import (
    PARQUET_COLUMNS,
    ParquetFormatError,
    ParquetWriter,
    read_parquet,
    write_parquet,
)
from ._reading import VALUE_TYPES, Reading, ReadingLike, TextSink, Value, as_reading
from ._xml import (
    XML_NAMESPACE,
    XML_SCHEMA_VERSION,
    AlarmRecord,
    XmlWriter,
    read_xml,
    validate_xml,
    write_xml,
    xml_schema,
)

# --- delivery (spool, transports) ---
# Optional dependencies (paho-mqtt, paramiko) are imported only when a publisher or an SFTP
# connection starts, so these imports need neither.
# isort: split
from ._delivery_plan import DeliveryPlan as DeliveryPlan
from ._delivery_plan import EntryState as EntryState
from ._delivery_plan import Outcome as Outcome
from ._delivery_plan import RetryPolicy as RetryPolicy
from ._delivery_plan import SpoolLimits as SpoolLimits
from ._delivery_plan import outcome_of as outcome_of
from ._errors import DeliveryError as DeliveryError
from ._errors import EntryRefusedError as EntryRefusedError
from ._errors import MissingDependencyError as MissingDependencyError
from ._errors import SpoolError as SpoolError
from ._errors import SpoolFullError as SpoolFullError
from ._ftp import FtpTransport as FtpTransport
from ._mqtt import MqttPublisher as MqttPublisher
from ._mqtt_messages import MqttError as MqttError
from ._mqtt_messages import MqttMessage as MqttMessage
from ._mqtt_messages import ha_discovery_config as ha_discovery_config
from ._mqtt_messages import ha_discovery_messages as ha_discovery_messages
from ._mqtt_messages import mqtt_messages as mqtt_messages
from ._mqtt_messages import render_topic as render_topic
from ._mqtt_queue import MqttQueueFullError as MqttQueueFullError
from ._mqtt_queue import PublishQueue as PublishQueue
from ._sftp import HostKeyError as HostKeyError
from ._sftp import HostKeyPin as HostKeyPin
from ._sftp import SftpTransport as SftpTransport
from ._smime import SmimeError as SmimeError
from ._smime import SmimeOptions as SmimeOptions
from ._smime import load_certificate as load_certificate
from ._smime import load_private_key as load_private_key
from ._smime import smime_encrypt as smime_encrypt
from ._smime import smime_protect as smime_protect
from ._smime import smime_sign as smime_sign
from ._smtp import SmtpTransport as SmtpTransport
from ._smtp import build_email as build_email
from ._spool import DeliveryRecord as DeliveryRecord
from ._spool import DeliveryReport as DeliveryReport
from ._spool import EntryDelivered as EntryDelivered
from ._spool import EntryExpired as EntryExpired
from ._spool import EntryRefused as EntryRefused
from ._spool import FailedEntry as FailedEntry
from ._spool import Spool as Spool
from ._spool import SpoolEntry as SpoolEntry
from ._spool import SpoolEvent as SpoolEvent
from ._spool import Transport as Transport

_DELIVERY_NAMES = [
    "DeliveryError",
    "DeliveryPlan",
    "DeliveryRecord",
    "DeliveryReport",
    "EntryDelivered",
    "EntryExpired",
    "EntryRefused",
    "EntryRefusedError",
    "EntryState",
    "FailedEntry",
    "FtpTransport",
    "HostKeyError",
    "HostKeyPin",
    "MissingDependencyError",
    "MqttError",
    "MqttMessage",
    "MqttPublisher",
    "MqttQueueFullError",
    "Outcome",
    "PublishQueue",
    "RetryPolicy",
    "SftpTransport",
    "SmimeError",
    "SmimeOptions",
    "SmtpTransport",
    "Spool",
    "SpoolEntry",
    "SpoolError",
    "SpoolEvent",
    "SpoolFullError",
    "SpoolLimits",
    "Transport",
    "build_email",
    "ha_discovery_config",
    "ha_discovery_messages",
    "load_certificate",
    "load_private_key",
    "mqtt_messages",
    "outcome_of",
    "render_topic",
    "smime_encrypt",
    "smime_protect",
    "smime_sign",
]
# --- end delivery ---

__all__ = [
    "FLEET_FORMAT",
    "FLEET_TOPIC_FILTER",
    "FLEET_VERSION",
    "FleetAlarm",
    "FleetReading",
    "FleetReadings",
    "fleet_alarm_message",
    "fleet_reading_messages",
    "fleet_topic",
    "parse_fleet_message",
    "CSV_COLUMNS",
    "CSV_PROFILES",
    "PARQUET_COLUMNS",
    "TEMPLATE_FIELDS",
    "VALUE_TYPES",
    "XML_NAMESPACE",
    "XML_SCHEMA_VERSION",
    "AlarmRecord",
    "CsvFormatError",
    "CsvProfile",
    "CsvWriter",
    "ParquetFormatError",
    "ParquetWriter",
    "CyclicSchedule",
    "CyclicTimer",
    "DocumentError",
    "ExportError",
    "ExportPeriod",
    "JsonFormatError",
    "Reading",
    "ReadingError",
    "ReadingLike",
    "ScheduleError",
    "SchemaValidationError",
    "TextSink",
    "Value",
    "XmlFormatError",
    "XmlWriter",
    "as_reading",
    "iter_json_values",
    "read_csv",
    "read_parquet",
    "read_json_readings",
    "read_xml",
    "readings_from_document",
    "readings_from_json",
    "validate_xml",
    "write_csv",
    "write_parquet",
    "write_xml",
    "xml_schema",
    # --- delivery (spool, transports) ---
    *_DELIVERY_NAMES,
    # --- end delivery ---
]
