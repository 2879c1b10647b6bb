"""Errors of the master side: bus outcomes that end a procedure and misuse of the cores."""

from __future__ import annotations

from ._errors import MBusError

__all__ = [
    "AddressError",
    "BusError",
    "CollisionError",
    "NoAnswerError",
    "NoMeterError",
    "ProcedureError",
    "TransportError",
]


class AddressError(MBusError, ValueError):
    """A primary or secondary address given by the caller is not valid.

    Attributes:
        field: which part of the address is wrong (``"primary"``, ``"id"``, ``"manufacturer"``...).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.message = message
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class BusError(MBusError):
    """A transaction on the bus failed; the subclasses say how.

    Attributes:
        address: the primary address (or 253 for a selected meter) the request went to.
        message: one line a user can act on.
    """

    def __init__(self, message: str, *, address: int | None = None) -> None:
        self.message = message
        self.address = address
        super().__init__(message)


class NoAnswerError(BusError):
    """The meter did not answer within the answer window (after the configured retries)."""


class CollisionError(BusError):
    """Answers were garbled (several meters answered, or noise) on every try."""


class NoMeterError(BusError):
    """No meter matches the given address (nobody acknowledged the selection)."""


class ProcedureError(MBusError):
    """A state machine got an event it has no transition for, or a core was misused.

    Attributes:
        state: the machine's state name; event: the event's type name.
    """

    def __init__(self, message: str, *, state: str | None = None, event: str | None = None):
        self.message = message
        self.state = state
        self.event = event
        super().__init__(message)


class TransportError(MBusError):
    """The port could not be opened or used (serial device, TCP connection, bridge)."""
