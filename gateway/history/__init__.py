"""gateway.history: readings, aggregates, alarm notifications and the audit log, stored.

:class:`SQLiteHistory` keeps them in one SQLite file (the default); a server database
implements the same :class:`HistoryBackend` protocol. See docs/gateway_history.rst::

    with SQLiteHistory("history.sqlite") as history:
        history.append(readings)                      # one transaction per batch
        history.readings("flat3/heat/total_kwh", since, until)
        history.latest()                              # newest reading per point
"""

from profiles import PointReading

from ._aggregate import RESOLUTIONS, Aggregate, Resolution, RetentionClass
from ._alarm_record import AlarmRecord
from ._audit import AUDIT_KINDS, AuditEntry, RunStart, record_start, record_stop
from ._backend import HistoryBackend
from ._errors import HistoryError, HistoryFileError, QueryError, ReadingError
from ._frame import to_dataframe
from ._json import reading_to_dict
from ._postgres import PostgresHistory
from ._sqlite import SQLiteHistory

__all__ = [
    "AUDIT_KINDS",
    "RESOLUTIONS",
    "Aggregate",
    "AlarmRecord",
    "AuditEntry",
    "HistoryBackend",
    "HistoryError",
    "HistoryFileError",
    "PointReading",
    "PostgresHistory",
    "QueryError",
    "ReadingError",
    "Resolution",
    "RetentionClass",
    "RunStart",
    "SQLiteHistory",
    "reading_to_dict",
    "record_start",
    "record_stop",
    "to_dataframe",
]
