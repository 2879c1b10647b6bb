"""The typed errors of the ``exporters`` package: one root, split by fault.

Every error raised on purpose by ``exporters`` derives from :class:`ExportError`.
The delivery modules (spool, transports) add their own subclasses beside this root.
"""

from __future__ import annotations

__all__ = [
    "CsvFormatError",
    "DocumentError",
    "ExportError",
    "ReadingError",
    "ScheduleError",
    "SchemaValidationError",
    "XmlFormatError",
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
