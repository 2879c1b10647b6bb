"""The history's typed errors: one root, split by fault."""

from __future__ import annotations

__all__ = ["HistoryError", "HistoryFileError", "QueryError", "ReadingError"]


class HistoryError(Exception):
    """Root of every error the history raises."""


class ReadingError(HistoryError, ValueError):
    """A reading, alarm notification or audit entry that cannot be stored.

    ``index`` is its position in the batch given (0 for a single item), ``field`` the
    attribute at fault. Nothing of the batch was stored.
    """

    def __init__(self, message: str, *, field: str, index: int = 0) -> None:
        self.field = field
        self.index = index
        super().__init__(f"item {index}, field {field}: {message}")


class QueryError(HistoryError, ValueError):
    """A query's arguments are wrong (a naive time, an unknown resolution ...)."""

    def __init__(self, message: str, *, field: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class HistoryFileError(HistoryError):
    """The file is not a meterkit history (or one of a newer schema), or is damaged."""

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")
