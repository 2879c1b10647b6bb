"""What a transform may know of the telegram besides its bytes (a module of its own, so
that each transform can take it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ._errors import TransformError

__all__ = ["NO_CONTEXT", "KeyedOutput", "TransformContext"]


class KeyedOutput(NamedTuple):
    """What a transform that needs the meter's key made of ``data`` where the key was
    known: ``output`` (the transform's result), or ``error`` (a wrong key, ...)."""

    transform: str
    data: bytes
    output: bytes | None
    error: TransformError | None


@dataclass(frozen=True, slots=True)
class TransformContext:
    """What the transforms read besides their bytes; plain, picklable data.

    ``link_address`` is the 8 bytes of the link layer's M and A fields as sent
    (manufacturer, identification number, version, device type), empty when unknown (a
    wired meter). ``keyed`` holds what each transform that needs the meter's key made
    of the payload where the key was known (the decoder, at decode time:
    :func:`profiles.transforms.keyed_context`): the key itself is never kept, so a
    context (and a telegram holding one) can be pickled, logged or sent on.
    """

    link_address: bytes = b""
    keyed: tuple[KeyedOutput, ...] = ()

    def keyed_output(self, transform: str, data: bytes) -> bytes | None:
        """``transform``'s output for ``data`` made with the key; None when none was made
        (no key was known). Raises the :class:`TransformError` it met (a wrong key)."""
        for made in self.keyed:
            if made.transform == transform and made.data == data:
                if made.error is not None:
                    raise made.error.located()  # a copy: the kept one gets no traceback
                return made.output
        return None


NO_CONTEXT = TransformContext()
"""The context of a telegram whose caller gave none: no key, no link address."""
