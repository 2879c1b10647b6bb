"""Readings as Parquet (pyarrow): streamed in bounded row groups, and read back exactly.

Columns (:data:`PARQUET_COLUMNS`): the CSV columns, then ``value_text``,
``manufacturer``, ``medium`` and ``profile``:

- ``timestamp``: ``timestamp[us, UTC]``; ``storage``, ``tariff``, ``subunit``: int64;
  ``status``: list of strings; ``metadata``: map string -> string;
- ``value``: ``decimal128(38, 9)``, exact for every integer and decimal of at most 29
  digits before the point and 9 after it; a float goes in as the decimal of its shortest
  repr; a value that does not fit (text, a finer decimal) is null there;
- ``value_text``: the exact text of every value (as the CSV ``value`` column writes it),
  with ``value_type`` saying how to read it back, so nothing is lost;
- ``manufacturer``, ``medium``, ``profile``: copied from the reading's metadata (the
  telegram documents put the header's manufacturer and medium there), null when absent.

The writer keeps at most one row group (``row_group_size`` readings) in memory.
pyarrow is imported when a writer or reader is made (``pip install meterkit[data]``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from ._errors import ExportError
from ._reading import (
    Reading,
    ReadingLike,
    Value,
    as_reading,
    format_decimal,
    parse_value,
    value_type_of,
)

__all__ = ["PARQUET_COLUMNS", "ParquetFormatError", "ParquetWriter", "read_parquet",
           "write_parquet"]

PARQUET_COLUMNS: tuple[str, ...] = (
    "meter_id", "meter_name", "quantity", "value", "value_type", "unit", "timestamp",
    "storage", "tariff", "subunit", "function", "status", "metadata", "value_text",
    "manufacturer", "medium", "profile")
"""The columns, in order: the CSV columns and the extra ones."""

_SCALE = 9
_INTEGER_DIGITS = 38 - _SCALE
_FROM_METADATA = ("manufacturer", "medium", "profile")


class ParquetFormatError(ExportError):
    """A Parquet file that is not an export of :class:`ParquetWriter` (``field`` names the
    column at fault, ``line`` the 1-based row), or pyarrow missing."""


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ParquetFormatError("Parquet needs pyarrow: pip install meterkit[data]"
                                 ) from None
    return pyarrow


def parquet_schema() -> Any:
    """The ``pyarrow.Schema`` of the export."""
    pa = _pyarrow()
    text = pa.string()
    return pa.schema([
        ("meter_id", text), ("meter_name", text), ("quantity", text),
        ("value", pa.decimal128(38, _SCALE)), ("value_type", text), ("unit", text),
        ("timestamp", pa.timestamp("us", tz="UTC")), ("storage", pa.int64()),
        ("tariff", pa.int64()), ("subunit", pa.int64()), ("function", text),
        ("status", pa.list_(text)), ("metadata", pa.map_(text, text)),
        ("value_text", text), ("manufacturer", text), ("medium", text), ("profile", text)])


def _exact(value: Value) -> Decimal | None:
    """``value`` as a Decimal that decimal128(38, 9) holds exactly, else None."""
    if isinstance(value, str):
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_SCALE:
        number = number.normalize()
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -_SCALE:
            return None
    if number and number.adjusted() >= _INTEGER_DIGITS:
        return None
    return number


def _text(value: Value) -> str:
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


class ParquetWriter:
    """Stream readings into a Parquet file, one row group per ``row_group_size`` readings.

    ``sink`` is a path or a binary file object (the writer does not close a file
    object it did not open). Call :meth:`close` (or leave the ``with`` block) to
    write the last row group and the footer.

    >>> import io, datetime as dt
    >>> buffer = io.BytesIO()
    >>> with ParquetWriter(buffer) as writer:
    ...     writer.write(Reading(meter_id="12345678", quantity="energy",
    ...         value=Decimal("1234.5"), unit="Wh",
    ...         timestamp=dt.datetime(2026, 11, 24, 9, 15, tzinfo=dt.timezone.utc)))
    >>> _ = buffer.seek(0)
    >>> [(r.meter_id, r.value) for r in read_parquet(buffer)]
    [('12345678', Decimal('1234.5'))]
    """

    def __init__(self, sink: str | IO[bytes], *, row_group_size: int = 65536) -> None:
        if row_group_size < 1:
            raise ParquetFormatError("must be at least 1", field="row_group_size")
        pa = _pyarrow()
        self._pa = pa
        self._schema = parquet_schema()
        self._writer = pa.parquet.ParquetWriter(sink, self._schema, compression="zstd")
        self.row_group_size = row_group_size
        self._rows: dict[str, list[Any]] = {name: [] for name in PARQUET_COLUMNS}
        self._pending = 0
        self.count = 0
        """Readings written so far."""

    def __enter__(self) -> ParquetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, reading: ReadingLike | Reading) -> None:
        """Add one reading (written when its row group is full)."""
        r = as_reading(reading)
        columns = self._rows
        value = r.value
        metadata = dict(r.metadata)
        columns["meter_id"].append(r.meter_id)
        columns["meter_name"].append(r.meter_name)
        columns["quantity"].append(r.quantity)
        columns["value"].append(_exact(value))
        columns["value_type"].append(value_type_of(value))
        columns["unit"].append(r.unit)
        columns["timestamp"].append(r.timestamp)
        columns["storage"].append(r.storage)
        columns["tariff"].append(r.tariff)
        columns["subunit"].append(r.subunit)
        columns["function"].append(r.function)
        columns["status"].append(list(r.status))
        columns["metadata"].append(list(metadata.items()))
        columns["value_text"].append(_text(value))
        for key in _FROM_METADATA:
            columns[key].append(metadata.get(key))
        self._pending += 1
        self.count += 1
        if self._pending >= self.row_group_size:
            self._flush()

    def write_many(self, readings: Iterable[ReadingLike | Reading]) -> int:
        """Write every reading; return how many."""
        before = self.count
        for reading in readings:
            self.write(reading)
        return self.count - before

    def _flush(self) -> None:
        if not self._pending:
            return
        pa = self._pa
        arrays = [pa.array(self._rows[field.name], type=field.type) for field in self._schema]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        self._rows = {name: [] for name in PARQUET_COLUMNS}
        self._pending = 0

    def close(self) -> None:
        """Write what is buffered and the file footer."""
        if self._writer is None:
            return
        self._flush()
        self._writer.close()
        self._writer = None


def write_parquet(readings: Iterable[ReadingLike | Reading], sink: str | IO[bytes], *,
                  row_group_size: int = 65536) -> int:
    """Write ``readings`` to ``sink`` as Parquet; return how many."""
    with ParquetWriter(sink, row_group_size=row_group_size) as writer:
        return writer.write_many(readings)


def read_parquet(source: str | IO[bytes]) -> Iterator[Reading]:
    """The readings of a file written by :class:`ParquetWriter`, one row group at a time.

    Values come back from ``value_text`` and ``value_type``, so they are exactly what was
    written (a Decimal keeps its trailing zeros).
    """
    pa = _pyarrow()
    try:
        parquet = pa.parquet.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise ParquetFormatError(f"not a Parquet file: {exc}") from None
    missing = [name for name in ("meter_id", "quantity", "value_text", "value_type", "unit",
                                 "timestamp") if name not in parquet.schema_arrow.names]
    if missing:
        raise ParquetFormatError(f"missing column(s) {', '.join(missing)}", field=missing[0])
    row = 0
    for batch in parquet.iter_batches():
        columns = batch.to_pydict()
        for index in range(batch.num_rows):
            row += 1
            cells = {name: values[index] for name, values in columns.items()}
            yield _reading(cells, row)


def _reading(cells: dict[str, Any], row: int) -> Reading:
    def cell(name: str, default: Any = None) -> Any:
        value = cells.get(name)
        return default if value is None else value

    try:
        return Reading(
            meter_id=cell("meter_id"), meter_name=cell("meter_name"), quantity=cell("quantity"),
            value=parse_value(cell("value_text"), cell("value_type"), line=row),
            unit=cell("unit", ""), timestamp=_aware(cell("timestamp"), row),
            storage=cell("storage", 0), tariff=cell("tariff", 0), subunit=cell("subunit", 0),
            function=cell("function", "instantaneous"), status=tuple(cell("status", ())),
            metadata=dict(cell("metadata", ())))
    except ExportError as exc:
        if isinstance(exc, ParquetFormatError):
            raise
        raise ParquetFormatError(exc.message, field=exc.field, line=row) from None


def _aware(value: object, row: int) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ParquetFormatError("must be a timestamp with a time zone", field="timestamp",
                                 line=row)
    return value
