"""The errors of the transforms (a module of its own, so that each transform can raise
them)."""

from __future__ import annotations

from .._errors import ProfileError

__all__ = ["TransformError", "WrongKeyError"]


class TransformError(ProfileError):
    """Bytes a transform cannot handle; ``offset`` is the byte at fault."""

    def __init__(self, message: str, *, offset: int) -> None:
        self.offset = offset
        super().__init__(f"at byte {offset}: {message}")

    def _state(self) -> dict[str, object]:
        return {**super()._state(), "offset": self.offset}


class WrongKeyError(TransformError):
    """Data that the meter's key does not decrypt: its check failed, so no value of it is
    given (a wrong AES key is an error, never values)."""
