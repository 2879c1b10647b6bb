"""Transforms: the few manufacturer payloads that need code before a layout reads them.

A transform takes the bytes a layout reads (``[[layouts]] transform = "NAME"``) and a
:class:`TransformContext` (the meter's key and link address, for the transforms that
decrypt) and returns the bytes to read instead; it raises :class:`TransformError` (naming the
byte offset) for bytes it cannot handle, which the meter part reports in its
``problems``. Each transform is one module of this package with its own tests,
noting the document or public source it follows; :data:`TRANSFORMS` names them.
"""

from __future__ import annotations

from collections.abc import Callable

from ._apator162 import apator162_registers
from ._apator_aes_slice import apator_aes_slice
from ._bfw240 import bfw240_history
from ._context import NO_CONTEXT, TransformContext
from ._errors import TransformError
from ._nibble_swap import nibble_swap

__all__ = ["NO_CONTEXT", "TRANSFORMS", "Transform", "TransformContext", "TransformError",
           "apator162_registers", "apator_aes_slice", "bfw240_history", "nibble_swap"]

Transform = Callable[[bytes, TransformContext], bytes]


TRANSFORMS: dict[str, Transform] = {
    "apator162_registers": apator162_registers,
    "apator_aes_slice": apator_aes_slice,
    "bfw240_history": bfw240_history,
    "nibble_swap": nibble_swap,
}
"""Transform name -> function (bytes, context -> bytes)."""
