"""Hypothesis strategies for readings, shared by the CSV and XML tests (formats half)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st

from exporters import Reading

# Characters XML 1.0 can carry: no surrogates, no C0 controls other than tab, LF, CR,
# no U+FFFE/U+FFFF. CSV can carry anything but surrogates (UTF-8 cannot encode them).
ANY_TEXT_CHARS = st.characters(exclude_categories=["Cs"])
XML_TEXT_CHARS = st.characters(
    exclude_categories=["Cs"],
    exclude_characters="".join(chr(c) for c in range(0x20) if c not in (9, 10, 13))
    + "\ufffe\uffff",
)

zones = st.one_of(
    st.just(timezone.utc),
    st.integers(min_value=-14 * 60, max_value=14 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    ),
)
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=zones
)
decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**15),
                       max_value=10**15, places=None)  # fmt: skip
values = st.one_of(
    decimals,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _is_flag(text: str) -> bool:
    return bool(text) and not any(ch.isspace() for ch in text)


def readings(chars: st.SearchStrategy[str] = ANY_TEXT_CHARS) -> st.SearchStrategy[Reading]:
    """Valid readings whose texts use ``chars``."""
    text = st.text(chars, max_size=12)
    non_empty = st.text(chars, min_size=1, max_size=12)
    flag = st.text(chars, min_size=1, max_size=8).filter(_is_flag)
    index = st.integers(min_value=0, max_value=2**41)
    return st.builds(
        Reading,
        meter_id=non_empty,
        meter_name=st.none() | text,
        quantity=non_empty,
        value=values | text,
        unit=text,
        timestamp=timestamps,
        storage=index,
        tariff=index,
        subunit=index,
        function=non_empty,
        status=st.lists(flag, max_size=3).map(tuple),
        metadata=st.dictionaries(non_empty, text, max_size=3),
    )


def same_exactly(a: Reading, b: Reading) -> bool:
    """Equal, and the value has the same type and (for decimals) the same digits."""
    if a != b or type(a.value) is not type(b.value):
        return False
    if isinstance(a.value, Decimal):
        return format(a.value, "f") == format(b.value, "f")
    return True
