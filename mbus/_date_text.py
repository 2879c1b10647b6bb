"""ISO 8601 text of type F and G dates straight from their bytes (EN 13757-3:2018 Annex A).

``to_dict()`` needs the text, not a ``datetime``: building one and calling
``isoformat()`` costs three times as much as joining prepared pieces. Each
field is looked up in a table that holds text only for valid values, so
anything unusual (invalid flag, summer time, 31 April, 29 February of a
common year, FFFF) is left to the general decoders in ``_codings`` (through
:func:`time_json`), which also name the flags. Tests check the tables against
them over every type G value and random type F values.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from typing import Any

__all__ = ["time_json", "type_f_text", "type_g_text"]

JsonResult = tuple[Any, tuple[str, ...]]


def time_json(read: Callable[[bytes], tuple[Any, tuple[str, ...]]]) -> Callable[[bytes],
                                                                                JsonResult]:
    """The JSON decoder of a date/time reader: its value's ``isoformat()`` and its flags."""
    def to_json(raw: bytes) -> JsonResult:
        value, flags = read(raw)
        return (None if value is None else value.isoformat()), flags

    return to_json


def _full_year(year: int) -> int:
    return 2000 + year if year <= 80 else 1900 + year  # as codings._century


# The 7-bit year field: "YYYY-"; whether that year has a 29 February.
_YEAR_TEXT = [f"{_full_year(year):04d}-" for year in range(128)]
_LEAP = [calendar.isleap(_full_year(year)) for year in range(128)]
# month << 5 | day: "MM-DD" for the days of a leap year, None for anything else.
_MONTH_DAY_TEXT: list[str | None] = [None] * 512
for _month in range(1, 13):
    for _day in range(1, calendar.monthrange(2000, _month)[1] + 1):
        _MONTH_DAY_TEXT[_month << 5 | _day] = f"{_month:02d}-{_day:02d}"
_FEB_29 = 2 << 5 | 29
# hour << 6 | minute: "Thh:mm:00" for 00:00-23:59, None for anything else.
_TIME_TEXT: list[str | None] = [None] * 2048
for _hour in range(24):
    for _minute in range(60):
        _TIME_TEXT[_hour << 6 | _minute] = f"T{_hour:02d}:{_minute:02d}:00"

def type_g_text(raw: bytes) -> str | None:
    """Type G (date): day bits 0-4, month 8-11, year 5-7 and 12-15; None unless a plain date."""
    b0, b1 = raw[0], raw[1]
    year = ((b0 & 0xE0) >> 5) | ((b1 & 0xF0) >> 1)
    month_day = (b1 & 0x0F) << 5 | (b0 & 0x1F)
    text = _MONTH_DAY_TEXT[month_day]
    if text is None or (month_day == _FEB_29 and not _LEAP[year]):
        return None  # FFFF (invalid) and impossible dates
    return _YEAR_TEXT[year] + text


def type_f_text(raw: bytes) -> str | None:
    """Type F (date and time to the minute); None unless a plain date and time."""
    b0, b1, b2, b3 = raw[0], raw[1], raw[2], raw[3]
    if b0 & 0x80 or b1 & 0xE0:  # invalid, summer time or a century in the hour byte
        return None
    year = ((b2 & 0xE0) >> 5) | ((b3 & 0xF0) >> 1)
    month_day = (b3 & 0x0F) << 5 | (b2 & 0x1F)
    date_text = _MONTH_DAY_TEXT[month_day]
    time_text = _TIME_TEXT[b1 << 6 | (b0 & 0x3F)]
    if date_text is None or time_text is None or (month_day == _FEB_29 and not _LEAP[year]):
        return None
    return _YEAR_TEXT[year] + date_text + time_text
