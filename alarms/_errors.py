"""The typed error hierarchy of :mod:`alarms`: one root, split by fault."""

from __future__ import annotations

__all__ = [
    "AlarmsError",
    "InputError",
    "LifecycleError",
    "RuleError",
    "SampleError",
    "StateFormatError",
    "TimeError",
    "TransitionError",
]


class AlarmsError(Exception):
    """Root of every error raised by :mod:`alarms`."""


class RuleError(AlarmsError):
    """A rule definition is invalid; ``field`` names the offending key.

    ``index`` is the rule's position in its list (or TOML file) when known.
    """

    def __init__(self, message: str, *, field: str | None = None, index: int | None = None):
        where = []
        if index is not None:
            where.append(f"rule {index}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.message = message
        self.field = field
        self.index = index


class SampleError(AlarmsError):
    """A sample fed to the engine is unusable (for example a NaN value)."""

    def __init__(self, message: str, *, point: object = None):
        super().__init__(message)
        self.point = point


class TimeError(AlarmsError):
    """Time passed to the engine went backwards or is not a finite number."""

    def __init__(self, message: str, *, now: object, engine_time: float | None):
        super().__init__(message)
        self.now = now
        self.engine_time = engine_time


class TransitionError(AlarmsError):
    """A state table has no transition for this (state, input) pair.

    Raised by the rule table (:data:`alarms.RULE_TABLE`) and the ISA-18.2
    life-cycle table (:data:`alarms.LIFECYCLE_TABLE`); ``state`` and
    ``input`` name the pair.
    """

    def __init__(self, message: str, *, state: object, input: object):
        super().__init__(message)
        self.state = state
        self.input = input


class LifecycleError(AlarmsError):
    """An operator action (acknowledge, reset, shelve, ...) is not allowed now.

    ``alarm_id`` names the alarm and ``action`` the refused operation.
    """

    def __init__(self, message: str, *, alarm_id: str, action: str):
        super().__init__(f"{action} {alarm_id!r}: {message}")
        self.alarm_id = alarm_id
        self.action = action


class StateFormatError(AlarmsError):
    """Saved engine state (or a serialised notification) cannot be read back.

    ``field`` is a dotted path to the offending entry; ``offset`` is where in
    the document text a fault of the text itself (not JSON, nested too deep, a
    number out of range) was found: bytes for bytes input, else characters.
    """

    def __init__(
        self, message: str, *, field: str | None = None, offset: int | None = None
    ) -> None:
        text = f"{field}: {message}" if field else message
        if offset is not None:
            text = f"offset {offset}: {text}"
        super().__init__(text)
        self.field = field
        self.offset = offset


class InputError(AlarmsError):
    """A rules or samples file is malformed; ``source`` and ``line`` say where."""

    def __init__(self, message: str, *, source: str, line: int | None = None):
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")
        self.source = source
        self.line = line
