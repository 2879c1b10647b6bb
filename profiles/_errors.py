"""The typed errors of the ``profiles`` package: one root naming file, table and key."""

from __future__ import annotations

from typing import Any

__all__ = ["ExpressionError", "ProfileError", "UnitError"]


class ProfileError(ValueError):
    """A profile (or a value it describes) that cannot be used.

    Attributes:
        message: what is wrong, in words a user can act on.
        file: the profile file at fault, if known.
        table: the dotted path of the TOML table at fault (``fields[3]``, ``detect``), if known.
        key: the key at fault inside that table, if known.
        line: the line in the file, where the TOML reader knows it.

    The text of the error names all of them, for example
    ``water.toml, table fields[2], key unit: 'litre' is not a unit meterkit knows``.
    """

    def __init__(self, message: str, *, file: str | None = None, table: str | None = None,
                 key: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.table = table
        self.key = key
        self.line = line
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file if self.line is None else f"{self.file} line {self.line}")
        if self.table is not None:
            where.append(f"table {self.table or '(top level)'}")
        if self.key is not None:
            where.append(f"key {self.key}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def _state(self) -> dict[str, Any]:
        return {"file": self.file, "table": self.table, "key": self.key, "line": self.line}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments are not pickled by BaseException's default.
        return (_rebuild, (type(self), self.message, self._state()))

    def located(self, *, file: str | None = None, table: str | None = None,
                key: str | None = None) -> ProfileError:
        """The same error, with the places it did not know yet filled in."""
        state = self._state()
        for name, value in (("file", file), ("table", table), ("key", key)):
            if state[name] is None:
                state[name] = value
        return _rebuild(type(self), self.message, state)


def _rebuild(cls: type[ProfileError], message: str, state: dict[str, Any]) -> ProfileError:
    error = cls.__new__(cls)
    for name, value in state.items():
        setattr(error, name, value)
    error.message = message
    ValueError.__init__(error, error._describe())
    return error


class UnitError(ProfileError):
    """A unit meterkit does not know, or a conversion between different dimensions."""


class ExpressionError(ProfileError):
    """A formula that cannot be parsed or evaluated.

    ``position`` is the 0-based character position in the formula text where the
    fault was found (None for faults found while evaluating, such as a missing value).
    """

    def __init__(self, message: str, *, position: int | None = None, file: str | None = None,
                 table: str | None = None, key: str | None = None,
                 line: int | None = None) -> None:
        self.position = position
        if position is not None:
            message = f"{message} (at position {position})"
        super().__init__(message, file=file, table=table, key=key, line=line)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "position": self.position}
