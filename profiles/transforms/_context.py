"""What a transform may know of the telegram besides its bytes (a module of its own, so
that each transform can take it)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["NO_CONTEXT", "TransformContext"]


@dataclass(frozen=True, slots=True)
class TransformContext:
    """The meter's key and link address, for transforms that decrypt manufacturer data.

    ``key`` is the meter's AES-128 key when the caller knows one (never shown by
    ``repr``); ``link_address`` the 8 bytes of the link layer's M and A fields as sent
    (manufacturer, identification number, version, device type), empty when unknown
    (a wired meter).
    """

    key: bytes | None = field(default=None, repr=False)
    link_address: bytes = b""


NO_CONTEXT = TransformContext()
"""The context of a telegram whose caller gave none: no key, no link address."""
