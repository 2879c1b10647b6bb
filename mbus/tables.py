"""Telegrams as flat rows of readings, and those rows as Arrow, pandas or polars tables.

``import mbus.tables``: :func:`telegram_rows` gives the rows of one telegram,
:class:`ReadingTable` holds rows and converts them;
:func:`wmbus.decode_capture` fills one from a capture.

One row per record (or per profile field, when the telegram carries a
profile's fields): when, which meter, what, the value, its coding. The table
libraries are optional (``pip install meterkit[data]``) and imported only
when a conversion is asked for.

Exactness rule: ``value`` is an Arrow ``decimal128(38, 9)``: every integer
and every decimal with at most 9 digits after the point and 29 before it is
held exactly (M-Bus scales go down to 10^-7). A float (REAL32 records) goes
in as the decimal of its shortest repr. A value that does not fit (text,
dates, bytes, a decimal finer than 10^-9) is null in ``value``;
``value_text`` always holds the exact text of the value (ISO 8601 for dates,
hex for bytes), so nothing is lost. pandas gets ``decimal.Decimal`` objects in
an ``object`` column (``df["value"].astype(float)`` for plots), polars a
``Decimal(38, 9)`` column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, cast

from ._header import Header
from ._records import Record

if TYPE_CHECKING:  # pragma: no cover - the optional libraries, for annotations only
    import pandas
    import polars
    import pyarrow

    from profiles import MeterFields, MeterProfiles

__all__ = ["READING_COLUMNS", "ReadingRow", "ReadingTable", "TelegramLike", "consumption",
           "plot_consumption", "reading_schema", "telegram_rows"]

READING_COLUMNS = ("time", "meter_id", "manufacturer", "medium", "profile", "name", "value",
                   "value_text", "unit", "storage", "tariff", "subunit", "function",
                   "quality", "source")
"""The columns of :meth:`ReadingTable.to_arrow` (and the fields of :class:`ReadingRow`)."""

VALUE_SCALE = 9
_VALUE_PRECISION = 38
_MAX_INTEGER_DIGITS = _VALUE_PRECISION - VALUE_SCALE


class TelegramLike(Protocol):
    """What :func:`telegram_rows` reads: ``mbus.Telegram`` and ``wmbus.Telegram`` have it."""

    @property
    def header(self) -> Header | None: ...
    @property
    def records(self) -> tuple[Record, ...]: ...


@dataclass(frozen=True, slots=True)
class ReadingRow:
    """One reading of one meter: a record, or a profile field, of one telegram.

    ``name`` is the profile's field name when the telegram carries a profile,
    else the record's quantity. ``value`` is exact (int, Decimal; float only
    for REAL32 records; text, dates and bytes as decoded); ``value_text`` its
    exact text. ``quality`` uses meterkit's flags: ``"unverified"`` (the
    telegram said it was protected but arrived decrypted by the input, or was
    opened with a publicly known key), ``"invalid"`` (the record's data is
    marked invalid, e.g. a bad BCD digit or an invalid time).
    """

    time: dt.datetime | None
    meter_id: str | None
    manufacturer: str | None
    medium: str | None
    profile: str | None
    name: str
    value: Any
    value_text: str
    unit: str
    storage: int
    tariff: int
    subunit: int
    function: str
    quality: tuple[str, ...]
    source: str | None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _telegram_quality(telegram: object) -> tuple[str, ...]:
    security = getattr(telegram, "security", None)
    if security is None:
        return ()
    if (getattr(security, "decrypted_by", None) == "input"
            or getattr(security, "key_source", None) == "default"
            or getattr(security, "scrambling", None) is not None):
        return ("unverified",)
    return ()


def _meter_fields(telegram: TelegramLike, profiles: MeterProfiles | None
                  ) -> MeterFields | None:
    """The telegram's named fields: those ``profiles`` give when given, else those it
    carries (``telegram.meter``, made by a decoder with profiles), else None (rows per
    record)."""
    if profiles is None:
        carried = getattr(telegram, "meter", None)
        return cast("MeterFields", carried) if hasattr(carried, "fields") else None
    header = telegram.header
    records = telegram.records
    manufacturer = getattr(telegram, "manufacturer", None) or (
        header.manufacturer if header is not None else None)
    return profiles.apply(
        [record.shape for record in records], lambda index: records[index].value,
        manufacturer=manufacturer, version=header.version if header is not None else None,
        device_type=header.medium if header is not None else None,
        ci=getattr(telegram, "ci", None), status=header.status if header is not None else None,
        meter_id=getattr(telegram, "id", None) or (header.id if header is not None else None))


def telegram_rows(telegram: TelegramLike, *, time: dt.datetime | None = None,
                  source: str | None = None, profiles: MeterProfiles | None = None
                  ) -> list[ReadingRow]:
    """The rows of one decoded telegram (wired ``mbus.Telegram`` or ``wmbus.Telegram``).

    With ``profiles`` (``profiles.MeterProfiles``, e.g. ``shipped_meter_profiles()``),
    or else when the telegram carries its named fields (``telegram.meter``: decoders
    name them by default), there is one row per field, named by the meter's profile
    (or generically, ``volume_m3``), with the storage, tariff and subunit of the record
    it came from (0 for formulas and status texts). Otherwise (a telegram decoded with
    ``profiles=False``) one row per record, named by its quantity; records without a
    value (manufacturer data, "more records follow") give no row.

    >>> import mbus, mbus.tables
    >>> telegram = mbus.decode(bytes.fromhex(
    ...     "68151568080172785634122d2c010700000000041350d412003d16"))
    >>> [(r.meter_id, r.manufacturer, r.medium, r.name, r.value, r.unit) for r in
    ...  mbus.tables.telegram_rows(telegram)]  # doctest: +NORMALIZE_WHITESPACE
    [('12345678', 'KAM', 'water', 'volume_m3', Decimal('1234.000'), 'm3'),
     ('12345678', 'KAM', 'water', 'status', 'OK', '')]
    """
    header = telegram.header
    meter_id = getattr(telegram, "id", None) or (header.id if header is not None else None)
    manufacturer = getattr(telegram, "manufacturer", None) or (
        header.manufacturer if header is not None else None)
    medium = header.medium_name if header is not None else None
    quality = _telegram_quality(telegram)
    rows: list[ReadingRow] = []
    named = _meter_fields(telegram, profiles)
    if named is not None:
        for field in named.fields:
            record = telegram.records[field.record] if field.record is not None \
                and field.record < len(telegram.records) else None
            flags = quality + (("invalid",) if record is not None and any(
                "invalid" in flag for flag in record.flags) else ())
            rows.append(ReadingRow(
                time, meter_id, manufacturer, medium, named.profile, field.name, field.value,
                _text(field.value), field.unit, record.storage if record else 0,
                record.tariff if record else 0, record.subunit if record else 0,
                record.function if record else "instantaneous", flags, source))
        return rows
    for record in telegram.records:
        function = record.function
        if function in ("manufacturer_specific", "more_records_follow"):
            continue
        value = record.value
        flags = quality + (("invalid",) if any("invalid" in flag for flag in record.flags)
                           else ())
        rows.append(ReadingRow(
            time, meter_id, manufacturer, medium, None, record.quantity, value,
            _text(value), record.unit, record.storage, record.tariff, record.subunit, function,
            flags, source))
    return rows


def _exact_decimal(value: object) -> Decimal | None:
    """``value`` as a Decimal that decimal128(38, 9) holds exactly, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return None
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -VALUE_SCALE:
        normal = number.normalize()
        exponent = normal.as_tuple().exponent
        assert isinstance(exponent, int)
        if exponent < -VALUE_SCALE:
            return None
        number = normal
    if number and number.adjusted() >= _MAX_INTEGER_DIGITS:
        return None
    return number


def reading_schema() -> pyarrow.Schema:
    """The Arrow schema of :meth:`ReadingTable.to_arrow` (needs pyarrow)."""
    import pyarrow as pa

    text = pa.string()
    return pa.schema([
        ("time", pa.timestamp("us", tz="UTC")), ("meter_id", text), ("manufacturer", text),
        ("medium", text), ("profile", text), ("name", text),
        ("value", pa.decimal128(_VALUE_PRECISION, VALUE_SCALE)), ("value_text", text),
        ("unit", text), ("storage", pa.int64()), ("tariff", pa.int64()),
        ("subunit", pa.int64()), ("function", text), ("quality", pa.list_(text)),
        ("source", text)])


class ReadingTable:
    """Rows of readings (:class:`ReadingRow`), convertible to Arrow, pandas and polars.

    ``problems`` lists what gave no rows (lines that could not be read or
    decoded), as text naming where.
    """

    def __init__(self, rows: Iterable[ReadingRow] = (), *,
                 problems: Iterable[str] = ()) -> None:
        self.rows: list[ReadingRow] = list(rows)
        self.problems: list[str] = list(problems)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ReadingRow]:
        return iter(self.rows)

    def __repr__(self) -> str:
        return f"ReadingTable({len(self.rows)} rows, {len(self.problems)} problems)"

    def extend(self, rows: Iterable[ReadingRow]) -> None:
        """Append rows."""
        self.rows.extend(rows)

    def to_arrow(self) -> pyarrow.Table:
        """A ``pyarrow.Table`` with the columns :data:`READING_COLUMNS` (see the module doc)."""
        import pyarrow as pa

        schema = reading_schema()
        rows = self.rows
        columns: dict[str, list[Any]] = {name: [getattr(row, name) for row in rows]
                                         for name in READING_COLUMNS}
        columns["value"] = [_exact_decimal(value) for value in columns["value"]]
        columns["quality"] = [list(flags) for flags in columns["quality"]]
        return pa.table([pa.array(columns[field.name], type=field.type) for field in schema],
                        schema=schema)

    def to_pandas(self) -> pandas.DataFrame:
        """A pandas DataFrame (``value`` holds ``decimal.Decimal`` objects; needs pyarrow)."""
        frame: pandas.DataFrame = self.to_arrow().to_pandas()
        return frame

    def to_polars(self) -> polars.DataFrame:
        """A polars DataFrame (``value`` is ``Decimal(38, 9)``)."""
        import polars as pl

        frame = pl.from_arrow(self.to_arrow())
        assert isinstance(frame, pl.DataFrame)
        return frame


def consumption(frame: pandas.DataFrame, name: str, period: str = "D") -> pandas.DataFrame:
    """What a counter (``name``, e.g. ``"volume"`` or ``"total_m3"``) advanced per period.

    ``frame`` is a table from :meth:`ReadingTable.to_pandas` (rows with a time);
    only current values count (storage 0). Per meter and period (a pandas
    frequency: ``"h"``, ``"D"``, ``"W"``, ``"MS"``), the last reading of the
    period minus the last one before it: exact ``Decimal`` values, periods as
    the index (UTC), meters as the columns. A meter's first period has no earlier
    reading: it is left empty (NaN), as are periods without readings.
    """
    import pandas as pd

    chosen = frame[(frame["name"] == name) & (frame["storage"] == 0)
                   & frame["time"].notna() & frame["value"].notna()]
    chosen = chosen.sort_values("time", kind="stable")
    last = (chosen.assign(period=chosen["time"].dt.tz_convert("UTC").dt.tz_localize(None)
                          .dt.to_period(period))
            .groupby(["meter_id", "period"])["value"].last())
    table = last.unstack("meter_id").sort_index()
    table = table.reindex(pd.period_range(table.index.min(), table.index.max(), freq=period))
    advanced = table.ffill() - table.ffill().shift(1)
    advanced = advanced.where(table.notna()).map(_plain)
    advanced.index.name = "period"
    result: pandas.DataFrame = advanced
    return result


def _plain(value: Any) -> Any:
    """A Decimal without the table's trailing zeros (0.318000000 -> 0.318, 0E-9 -> 0)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return value
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def plot_consumption(frame: pandas.DataFrame, name: str, period: str = "D", *,
                     ax: Any = None) -> Any:
    """A bar chart of :func:`consumption` per period and meter (matplotlib, imported
    only here); returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    advanced = consumption(frame, name, period).astype(float)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.5))
    advanced.plot.bar(ax=ax, width=0.8)
    units = frame.loc[frame["name"] == name, "unit"]
    unit = units.iloc[0] if len(units) else ""
    ax.set_ylabel(f"{name} per period" + (f" ({unit})" if unit else ""))
    ax.set_xlabel("")
    ax.legend(title="meter", fontsize="small")
    return ax
