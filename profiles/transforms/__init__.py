"""Transforms: the few manufacturer payloads that need code before a layout reads them.

A transform takes the bytes a layout reads (``[[layouts]] transform = "NAME"``) and
returns the bytes to read instead; it raises :class:`TransformError` (naming the
byte offset) for bytes it cannot handle, which the meter part reports in its
``problems``. Each transform is one module of this package with its own tests,
noting the document or public source it follows; :data:`TRANSFORMS` names them.
"""

from __future__ import annotations

from collections.abc import Callable

from .._errors import ProfileError
from ._nibble_swap import nibble_swap

__all__ = ["TRANSFORMS", "Transform", "TransformError"]

Transform = Callable[[bytes], bytes]


class TransformError(ProfileError):
    """Bytes a transform cannot handle; ``offset`` is the byte at fault."""

    def __init__(self, message: str, *, offset: int) -> None:
        self.offset = offset
        super().__init__(f"at byte {offset}: {message}")

    def _state(self) -> dict[str, object]:
        return {**super()._state(), "offset": self.offset}


TRANSFORMS: dict[str, Transform] = {
    "nibble_swap": nibble_swap,
}
"""Transform name -> function (bytes -> bytes)."""
