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
from ._reading import VALUE_TYPES, Reading, ReadingLike, Value, as_reading
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
# (the delivery half adds its imports here)
# --- end delivery ---

__all__ = [
    "CSV_COLUMNS",
    "CSV_PROFILES",
    "TEMPLATE_FIELDS",
    "VALUE_TYPES",
    "XML_NAMESPACE",
    "XML_SCHEMA_VERSION",
    "AlarmRecord",
    "CsvFormatError",
    "CsvProfile",
    "CsvWriter",
    "CyclicSchedule",
    "CyclicTimer",
    "DocumentError",
    "ExportError",
    "ExportPeriod",
    "Reading",
    "ReadingError",
    "ReadingLike",
    "ScheduleError",
    "SchemaValidationError",
    "Value",
    "XmlFormatError",
    "XmlWriter",
    "as_reading",
    "iter_json_values",
    "read_csv",
    "read_json_readings",
    "read_xml",
    "readings_from_document",
    "readings_from_json",
    "validate_xml",
    "write_csv",
    "write_xml",
    "xml_schema",
    # --- delivery (spool, transports) ---
    # --- end delivery ---
]
