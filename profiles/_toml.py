"""Reading profile files: TOML parsing and typed access to one table at a time.

Every error names the file, the dotted path of the table and the key, so a user
can find the line to fix. :class:`TableReader` remembers which keys were read;
:meth:`TableReader.finish` refuses the others (a misspelt key is an error, not
something silently ignored).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from ._errors import ProfileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tomli is a core dependency before Python 3.11
    import tomli as tomllib

__all__ = ["TableReader", "load_toml"]

_T = TypeVar("_T")
_LINE = re.compile(r"line (\d+)")
_MISSING = object()
# Profiles are small hand-written files; a bigger one is a mistake, not a profile.
MAX_FILE_BYTES = 4 * 1024 * 1024


def load_toml(path: str | Path) -> dict[str, object]:
    """The TOML file at ``path`` as a dictionary.

    Raises :class:`ProfileError` naming the file (and the line, for a syntax error)
    when the file cannot be read, is not UTF-8 or is not valid TOML.
    """
    name = str(path)
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ProfileError(f"cannot read the file: {exc.strerror or exc}", file=name) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ProfileError(f"larger than {MAX_FILE_BYTES} bytes", file=name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"not UTF-8 text (byte {exc.start})", file=name) from None
    try:
        data: dict[str, object] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        found = _LINE.search(str(exc))
        raise ProfileError(f"not valid TOML: {exc}", file=name,
                           line=int(found.group(1)) if found else None) from None


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)


class TableReader:
    """Typed reading of one TOML table, with errors naming file, table and key.

    ``TableReader(data, file="water.toml", table="fields[2]")``. Each reading method
    marks its key as used; :meth:`finish` raises for keys nobody read. Optional
    variants (``optional_text(key, default)`` ...) return the default when the key is
    absent; a key that is present with the wrong type is always an error.

    Attributes: ``data`` (the table), ``file``, ``table_name`` (its dotted path, such as
    ``fields[2]``; ``""`` for the top level).
    """

    __slots__ = ("_used", "data", "file", "table_name")

    def __init__(self, data: Mapping[str, object], *, file: str | None = None,
                 table: str = "") -> None:
        self.data = data
        self.file = file
        self.table_name = table  # dotted path; `table` is the sub-table method
        self._used: set[str] = set()

    # --- errors and raw access -------------------------------------------------------------

    def error(self, key: str | None, message: str) -> ProfileError:
        """A :class:`ProfileError` for ``key`` of this table (to raise)."""
        return ProfileError(message, file=self.file, table=self.table_name, key=key)

    def has(self, key: str) -> bool:
        """Whether the table holds ``key``."""
        return key in self.data

    def keys(self) -> list[str]:
        """The keys of the table, in file order."""
        return list(self.data)

    def raw(self, key: str, default: object = _MISSING) -> object:
        """The value of ``key`` as TOML gave it (required unless a default is given)."""
        self._used.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise self.error(key, "missing")
        return default

    def _typed(self, key: str, kind: type[_T], what: str, default: object) -> _T:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value  # type: ignore[return-value]
        # bool is an int in Python, never in TOML.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(key, f"must be {what}, not {_type_name(value)}")
        return value

    # --- scalars ---------------------------------------------------------------------------

    def text(self, key: str) -> str:
        """A required string."""
        return self._typed(key, str, "a string", _MISSING)

    def optional_text(self, key: str, default: _T) -> str | _T:
        """A string, or ``default`` when absent."""
        return self._typed(key, str, "a string", default)

    def integer(self, key: str, *, minimum: int | None = None,
                maximum: int | None = None) -> int:
        """A required integer within ``[minimum, maximum]``."""
        return self._bounded(key, self._typed(key, int, "an integer", _MISSING), minimum, maximum)

    def optional_integer(self, key: str, default: _T, *, minimum: int | None = None,
                         maximum: int | None = None) -> int | _T:
        """An integer within ``[minimum, maximum]``, or ``default`` when absent."""
        if key not in self.data:
            self._used.add(key)
            return default
        return self.integer(key, minimum=minimum, maximum=maximum)

    def _bounded(self, key: str, value: int, minimum: int | None, maximum: int | None) -> int:
        if minimum is not None and value < minimum:
            raise self.error(key, f"{value} is below the minimum {minimum}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"{value} is above the maximum {maximum}")
        return value

    def decimal(self, key: str) -> Decimal:
        """A required exact number: a TOML integer, a string such as ``"0.001"``, or a float.

        A float is converted through its shortest text (``0.1`` gives ``Decimal("0.1")``,
        not the binary approximation); write exact values as strings.
        """
        value = self.raw(key)
        if isinstance(value, bool):
            raise self.error(key, "must be a number, not a boolean")
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, float):
            value = repr(value)
        if isinstance(value, str):
            try:
                number = Decimal(value.strip().replace("_", ""))
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite():
                raise self.error(key, f"{value!r} is not a finite decimal number")
            return number
        raise self.error(key, f"must be a number, not {_type_name(value)}")

    def optional_decimal(self, key: str, default: _T) -> Decimal | _T:
        """An exact number (see :meth:`decimal`), or ``default`` when absent."""
        if key not in self.data:
            self._used.add(key)
            return default
        return self.decimal(key)

    def boolean(self, key: str) -> bool:
        """A required boolean."""
        return self._typed(key, bool, "a boolean", _MISSING)

    def optional_boolean(self, key: str, default: _T) -> bool | _T:
        """A boolean, or ``default`` when absent."""
        return self._typed(key, bool, "a boolean", default)

    def choice(self, key: str, choices: Collection[str]) -> str:
        """A required string that must be one of ``choices``."""
        value = self.text(key)
        if value not in choices:
            raise self.error(key, f"{value!r} is not one of {', '.join(sorted(choices))}")
        return value

    def optional_choice(self, key: str, choices: Collection[str], default: _T) -> str | _T:
        """One of ``choices``, or ``default`` when absent."""
        if key not in self.data:
            self._used.add(key)
            return default
        return self.choice(key, choices)

    # --- arrays and tables -----------------------------------------------------------------

    def text_list(self, key: str) -> list[str]:
        """A required array of strings (a single string is taken as a one-item list)."""
        value = self.raw(key)
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(key, f"must be a string or an array of strings, not "
                                  f"{_type_name(value)}")
        return list(value)

    def optional_text_list(self, key: str, default: _T) -> list[str] | _T:
        """An array of strings (see :meth:`text_list`), or ``default`` when absent."""
        if key not in self.data:
            self._used.add(key)
            return default
        return self.text_list(key)

    def table(self, key: str) -> TableReader:
        """A required sub-table, as its own reader (table path ``<this>.<key>``)."""
        value = self._typed(key, dict, "a table", _MISSING)
        return TableReader(value, file=self.file, table=self._child(key))

    def optional_table(self, key: str) -> TableReader | None:
        """A sub-table as its own reader, or None when absent."""
        if key not in self.data:
            self._used.add(key)
            return None
        return self.table(key)

    def tables(self, key: str) -> list[TableReader]:
        """A required array of tables (``[[key]]``), one reader each (path ``key[i]``)."""
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(key, f"must be an array of tables ([[{key}]]), not "
                                  f"{_type_name(value)}")
        child = self._child(key)
        return [TableReader(item, file=self.file, table=f"{child}[{index}]")
                for index, item in enumerate(value)]

    def optional_tables(self, key: str) -> list[TableReader]:
        """An array of tables (see :meth:`tables`), or an empty list when absent."""
        if key not in self.data:
            self._used.add(key)
            return []
        return self.tables(key)

    def _child(self, key: str) -> str:
        return f"{self.table_name}.{key}" if self.table_name else key

    def finish(self) -> None:
        """Raise :class:`ProfileError` naming the keys no method has read (unknown keys)."""
        unknown = [key for key in self.data if key not in self._used]
        if unknown:
            raise self.error(unknown[0] if len(unknown) == 1 else None,
                             f"unknown key{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(unknown)}")
