"""exporters: hand metering readings to upstream IT.

One public namespace for the whole package:

- :class:`Reading`, the unit every exporter writes, and :class:`ReadingLike` (anything with
  the same attribute names is accepted);
- the typed errors, rooted at :class:`ExportError`.

``exporters`` imports no other meterkit package. See the guide ``docs/exporters.rst``.
"""

from __future__ import annotations

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

# --- delivery (spool, transports) ---
# (the delivery half adds its imports here)
# --- end delivery ---

__all__ = [
    "VALUE_TYPES",
    "CsvFormatError",
    "DocumentError",
    "ExportError",
    "Reading",
    "ReadingError",
    "ReadingLike",
    "ScheduleError",
    "SchemaValidationError",
    "Value",
    "XmlFormatError",
    "as_reading",
    # --- delivery (spool, transports) ---
    # --- end delivery ---
]
