"""Transforms: the few manufacturer payloads that need code before a layout reads them.

A transform takes the bytes a layout reads (``[[layouts]] transform = "NAME"``) and a
:class:`TransformContext` and returns the bytes to read instead; it raises
:class:`TransformError` (naming the byte offset) for bytes it cannot handle, which the
meter part reports in its ``problems``. Each transform is one module of this package
with its own tests, noting the document or public source it follows; :data:`TRANSFORMS`
names them.

A transform that decrypts needs the meter's key, which must not travel with a decoded
telegram. Its keyed step is in :data:`KEYED_TRANSFORMS` and runs where the key is known
(the decoder, at decode time): :func:`keyed_context` keeps what it made of the payload (or
the error it met: :class:`WrongKeyError` for a wrong key) in a :class:`TransformContext`,
never the key, and the layout transform reads it from there.
"""

from __future__ import annotations

from collections.abc import Callable

from ._apator162 import apator162_registers
from ._apator_aes_slice import apator_aes_slice, decrypt_apator_slice
from ._bfw240 import bfw240_history
from ._context import NO_CONTEXT, KeyedOutput, TransformContext
from ._errors import TransformError, WrongKeyError
from ._nibble_swap import nibble_swap

__all__ = ["KEYED_TRANSFORMS", "NO_CONTEXT", "TRANSFORMS", "KeyedOutput", "KeyedTransform",
           "Transform", "TransformContext", "TransformError", "WrongKeyError",
           "apator162_registers", "apator_aes_slice", "bfw240_history", "decrypt_apator_slice",
           "keyed_context", "nibble_swap"]

Transform = Callable[[bytes, TransformContext], bytes]
KeyedTransform = Callable[[bytes, bytes, bytes], bytes]
"""The keyed step of a transform: (payload, key, link address) -> its output."""


TRANSFORMS: dict[str, Transform] = {
    "apator162_registers": apator162_registers,
    "apator_aes_slice": apator_aes_slice,
    "bfw240_history": bfw240_history,
    "nibble_swap": nibble_swap,
}
"""Transform name -> function (bytes, context -> bytes)."""

KEYED_TRANSFORMS: dict[str, KeyedTransform] = {
    "apator_aes_slice": decrypt_apator_slice,
}
"""The transforms that need the meter's key -> their keyed step. Their layouts read the
payload (the loader checks it), which is what :func:`keyed_context` is given."""


def keyed_context(payload: bytes, key: bytes, link_address: bytes) -> TransformContext:
    """The context of a telegram whose meter's ``key`` is known: each keyed transform's
    output for ``payload`` (or the :class:`TransformError` it raised), without the key.

    ``link_address`` is the link layer's M and A fields (8 bytes).
    """
    made = []
    for name, step in KEYED_TRANSFORMS.items():
        try:
            made.append(KeyedOutput(name, payload, step(payload, key, link_address), None))
        except TransformError as error:  # kept without its traceback (which holds the key)
            made.append(KeyedOutput(name, payload, None, error.with_traceback(None)))
    return TransformContext(link_address, tuple(made))
