"""The typed errors of the ``s0`` package: one root, split by fault."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EdgeError",
    "GpioError",
    "ReplayInputError",
    "S0Error",
    "StateError",
    "UnknownChannelError",
]


class S0Error(Exception):
    """Root of every error raised by ``s0``.

    Attributes:
        message: what is wrong, in words a user can act on.
        field: the name of the field or argument at fault (``"time"``, ``"level"``,
            ``"imp_per_unit"``, ``"channels.main.pulses"``, ...), if known.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.message = message
        self.field = field
        super().__init__(self._describe())

    def _describe(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.field))


def _rebuild(cls: type[S0Error], message: str, field: str | None) -> S0Error:
    return cls(message, field=field)


class ConfigError(S0Error):
    """A channel configuration value is out of range or of the wrong type."""


class EdgeError(S0Error):
    """An edge or pulse fed to a counter is invalid: a time that is not a finite number or
    that goes backwards, or a level other than 0 and 1. The counter's state is unchanged."""


class UnknownChannelError(S0Error):
    """A channel name that the counter does not know (or already knows, when adding)."""


class StateError(S0Error):
    """A saved state that cannot be restored: missing keys, wrong types, unknown version,
    or a state file that is not JSON.

    Attributes:
        offset: for a fault in the file's text (not UTF-8, not JSON, nested too deep, a
            number out of range), its byte offset in the file; otherwise ``None``.
    """

    def __init__(self, message: str, *, field: str | None = None, offset: int | None = None):
        self.offset = offset
        super().__init__(message, field=field)

    def _describe(self) -> str:
        text = super()._describe()
        return text if self.offset is None else f"{text} (at byte offset {self.offset})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_state, (type(self), self.message, self.field, self.offset))


def _rebuild_state(
    cls: type[StateError], message: str, field: str | None, offset: int | None
) -> StateError:
    return cls(message, field=field, offset=offset)


class ReplayInputError(S0Error):
    """A row of an edges CSV file that cannot be replayed.

    Attributes:
        row: the 1-based row number in the file, the header being row 1 (as a spreadsheet
            shows it).
    """

    def __init__(self, message: str, *, row: int, field: str | None = None) -> None:
        self.row = row
        super().__init__(message, field=field)

    def _describe(self) -> str:
        where = f"row {self.row}"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.message}"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_row, (type(self), self.message, self.row, self.field))


def _rebuild_row(
    cls: type[ReplayInputError], message: str, row: int, field: str | None
) -> ReplayInputError:
    return cls(message, row=row, field=field)


class GpioError(S0Error):
    """The GPIO adapter cannot run: ``gpiod`` is not installed (``pip install
    meterkit[gpio]``), the chip or line cannot be requested, or the line misbehaves."""
