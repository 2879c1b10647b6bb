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


# --- hostile input: what a fuzzer or a careless caller hands the entry points ----------------

# Any code point, lone surrogates and C0 controls included.
HOSTILE_CHARS = st.characters(min_codepoint=0, max_codepoint=0x10FFFF)
hostile_text = st.text(HOSTILE_CHARS, max_size=12) | st.sampled_from(
    ["\ud800", "x\udfff", "=cmd", "\x00", "\r", '"', ";", "\ufeff", " ", ""]
)
# Both ends of the calendar with every offset, and naive times.
hostile_timestamps = st.one_of(
    st.datetimes(timezones=st.none() | zones),
    st.sampled_from([datetime(9999, 12, 31, 23, 59, 59), datetime(1, 1, 1)]).flatmap(
        lambda moment: st.builds(moment.replace, tzinfo=zones)
    ),
)
hostile_numbers = st.one_of(
    st.integers(),
    # Built on draw: hypothesis cannot repr a strategy holding an int of 4301+ digits.
    st.sampled_from([4301, -5000, 3913]).map(lambda n: 10**n if n > 0 else -(10**-n)),
    st.booleans(),
    st.decimals(),  # NaN, Infinity, huge exponents
    st.sampled_from([Decimal("1E+999999"), Decimal("1E-999999"), Decimal("-0")]),
    st.floats(),
)
hostile_scalars = st.one_of(st.none(), hostile_numbers, hostile_text, st.binary(max_size=4))


def hostile_readings() -> st.SearchStrategy[dict[str, object]]:
    """Attribute sets for ReadingLike objects: mostly plausible, any field may be wrong."""
    plausible_text = st.text(min_size=1, max_size=6)
    return st.fixed_dictionaries(
        {
            "meter_id": plausible_text | hostile_scalars,
            "quantity": plausible_text | hostile_scalars,
            "value": hostile_numbers | hostile_text,
            "unit": st.text(max_size=3) | hostile_scalars,
            "timestamp": hostile_timestamps | hostile_scalars,
            "meter_name": st.none() | hostile_scalars,
            "storage": st.integers(0, 9) | hostile_scalars,
            "tariff": st.integers(0, 9) | hostile_scalars,
            "subunit": st.integers(0, 9) | hostile_scalars,
            "function": st.just("instantaneous") | hostile_scalars,
            "status": st.lists(hostile_text, max_size=2).map(tuple) | hostile_scalars,
            "metadata": st.dictionaries(hostile_text, hostile_text | hostile_scalars, max_size=2)
            | hostile_scalars,
        }
    )
