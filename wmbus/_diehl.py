"""Diehl Metering specifics: manufacturer codes and the publicly known default keys.

Diehl meters (also sold as Hydrometer, Sappel, Sharky, IZAR) leave the factory
with well-known keys unless the utility ordered its own. Tools such as
wmbusmeters try them when the user gave no key, so users get values out of the
box. A key everyone knows proves nothing about who sent a telegram: data read
with it is never ``verified``.
"""

from __future__ import annotations

__all__ = ["DIEHL_MANUFACTURERS", "OMS_DEFAULT_KEY", "is_diehl"]

# Manufacturer codes of Diehl Metering and its brands (Hydrometer, Sappel, ...).
DIEHL_MANUFACTURERS = frozenset(("DME", "EWT", "HYD", "SAP", "SPL"))

# The AES-128 key of OMS (mode 5) telegrams of Diehl meters configured with the default.
OMS_DEFAULT_KEY = bytes.fromhex("51728910E66D83F851728910E66D83F8")


def is_diehl(manufacturer: str | None) -> bool:
    """True for the manufacturer codes of Diehl Metering."""
    return manufacturer in DIEHL_MANUFACTURERS
