"""A record head as the profile tests make it: the fields of the protocol profiles read
(:class:`profiles.RecordHead`), with the defaults of a plain current value."""

from __future__ import annotations

from typing import NamedTuple


class Head(NamedTuple):
    """A record head as a decoder gives it (the protocol profiles read)."""

    quantity: str
    unit: str = ""
    storage: int = 0
    function: str = "instantaneous"
    tariff: int = 0
    subunit: int = 0
    extensions: tuple[str, ...] = ()
    vif_hex: str = ""
