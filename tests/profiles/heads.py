"""What the profile tests make their meters of: a record head (the fields of the protocol
profiles read, :class:`profiles.RecordHead`, with the defaults of a plain current value)
and the start of a meter profile file detecting manufacturer ABC."""

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
    coding: str = ""  # optional in the protocol: REAL32 heads say "real32"


# A meter profile file's kind, [profile] and [detect] tables; tests add the rest.
METER_HEADER = """kind = "meter"
[profile]
name = "meter"
description = "x"
[detect]
manufacturer = "ABC"
"""
