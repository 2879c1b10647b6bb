"""The typed errors of the ``exporters`` package: one root, split by fault.

Every error raised on purpose by ``exporters`` derives from :class:`ExportError`:
bad input (readings, documents, CSV, XML, JSON), and delivery (the spool and its
transports). Transport modules add only what is theirs (``HostKeyError``, ``SmimeError``,
``MqttError``) as subclasses of these.
"""

from __future__ import annotations

__all__ = [
    "CsvFormatError",
    "DeliveryError",
    "DocumentError",
    "EntryRefusedError",
    "ExportError",
    "MissingDependencyError",
    "ReadingError",
    "ScheduleError",
    "SchemaValidationError",
    "SpoolError",
    "SpoolFullError",
    "XmlFormatError",
    "describe_failure",
]


class ExportError(Exception):
    """Root of every error raised by ``exporters``.

    Attributes:
        message: what is wrong, in words a user can act on.
        field: the name of the field at fault (``"timestamp"``, ``"value"``, ...), if known.
        line: the 1-based line of the input where the fault was found, if known.
    """

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.field = field
        self.line = line
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        if not where:
            return self.message
        return f"{', '.join(where)}: {self.message}"


class ReadingError(ExportError):
    """A reading (or something offered as one) has a missing or invalid field."""


class DocumentError(ExportError):
    """A telegram document or JSON line cannot be turned into readings."""


class CsvFormatError(ExportError):
    """A CSV file cannot be read back as readings (bad header, bad cell)."""


class XmlFormatError(ExportError):
    """XML cannot be written (a character XML 1.0 cannot carry) or read back as readings."""


class SchemaValidationError(ExportError):
    """An XML document does not conform to the shipped XSD.

    Attributes:
        errors: one line per violation, ``"LINE:COLUMN: message"``.
    """

    def __init__(
        self, message: str, *, errors: tuple[str, ...] = (), line: int | None = None
    ) -> None:
        self.errors = errors
        super().__init__(message, line=line)


class ScheduleError(ExportError):
    """A cyclic export schedule or file-name template is invalid."""


# --- delivery -------------------------------------------------------------------------------


class SpoolError(ExportError):
    """The spool directory cannot be used, a file name is not acceptable, or a spool file
    (journal, entry) is unreadable."""


class SpoolFullError(SpoolError):
    """A new file was refused because a limit would be exceeded (see ``SpoolLimits``).

    Queued files are never dropped to make room: deliver them, or empty ``expired/``.
    """


class DeliveryError(ExportError):
    """A transport could not deliver a file; the file stays queued and is retried.

    Attributes:
        permanent: ``True`` when retrying without a change of configuration cannot help
            (authentication refused, host key mismatch, every recipient refused). Such an
            error concerns the destination, not one file: every file stays queued.
            A refusal of one file is an :class:`EntryRefusedError`.
    """

    def __init__(self, message: str, *, permanent: bool = False, field: str | None = None) -> None:
        self.permanent = permanent
        super().__init__(message or "delivery failed without a reason", field=field)


class EntryRefusedError(DeliveryError):
    """The server refused this one file for good (FTP 550/553, SFTP permission denied or
    no such path, an SMTP 5xx reply to this message).

    The spool moves the file to ``failed/`` with this message and goes on with the rest.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, permanent=True, field=field)


def describe_failure(exc: BaseException) -> str:
    """A non-empty description of a network or library failure for an error message
    (:mod:`ftplib` raises ``EOFError`` with no text when the server closes the connection)."""
    if isinstance(exc, EOFError):
        return "connection closed by the server"
    text = str(exc).strip()
    return text or f"{type(exc).__name__} without a message"


class MissingDependencyError(ExportError):
    """An optional dependency of a transport is not installed (the message names the extra)."""
