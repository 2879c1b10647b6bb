"""Key store: AES-128 keys per meter ID (or manufacturer + ID), from CSV, TOML or JSON.

Keys never appear in logs, reprs or error messages: errors name the meter and
the file position, never the key text.

Key file formats (chosen by suffix):

* CSV (``.csv``): rows ``id,key`` or ``manufacturer,id,key``; an optional
  header row naming the columns ``id``, ``key`` and ``manufacturer``; lines
  starting with ``#`` are comments.
* JSON (``.json``): ``{"12345678": "00112233...", "KAM.87654321": "..."}`` or a
  list of ``{"id": ..., "manufacturer": ..., "key": ...}`` objects.
* TOML (``.toml``): a ``[keys]`` table like the JSON object, or ``[[meter]]``
  tables with ``id``, ``manufacturer``, ``key``.

An ID of ``*`` gives a default key, used for any meter without its own.
"""

from __future__ import annotations

import csv
import importlib
import io
import os
from collections.abc import Iterator, Mapping
from typing import Any

from ._errors import KeyStoreError
from ._loading import MAX_FILE_BYTES, load_json, read_text

__all__ = ["KeyStore", "parse_key"]

_DEFAULT = "*"


def parse_key(key: bytes | str, *, where: str = "key") -> bytes:
    """A key from bytes or hex digits (separators ignored): 16 bytes (AES-128), or 8 bytes
    (DES, for meters that use the deprecated security modes 2 and 3)."""
    if isinstance(key, (bytes, bytearray)):
        raw = bytes(key)
    else:
        text = "".join(ch for ch in key if ch not in " _:-|#")
        if text.upper() == "NOKEY" or not text:
            raise KeyStoreError(f"{where}: no key given")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise KeyStoreError(f"{where}: a key is 32 hex digits, or 16 for a DES key (the "
                                "text is not hex)") from None
    if len(raw) not in (8, 16):
        raise KeyStoreError(f"{where}: an AES-128 key has 16 bytes (a DES key 8), got "
                            f"{len(raw)}")
    return raw


def _normalise_id(ident: str) -> str:
    text = str(ident).strip().upper()
    if text == _DEFAULT:
        return text
    if not text or len(text) > 8 or any(ch not in "0123456789ABCDEF" for ch in text):
        raise KeyStoreError(f"meter ID {ident!r} is not up to 8 digits")
    return text.rjust(8, "0")


class KeyStore:
    """AES-128 keys by meter ID, optionally qualified by manufacturer.

    ``entries`` maps ``"12345678"``, ``"KAM.12345678"`` or ``"*"`` to a key
    (bytes or hex text). Lookups prefer manufacturer + ID, then ID, then ``*``.
    """

    def __init__(self, entries: Mapping[str, bytes | str] | None = None) -> None:
        self._keys: dict[tuple[str | None, str], bytes] = {}
        for name, key in (entries or {}).items():
            manufacturer, _, ident = name.replace(":", ".").rpartition(".")
            self.add(key, id=ident, manufacturer=manufacturer or None)

    def add(self, key: bytes | str, *, id: str, manufacturer: str | None = None) -> None:
        """Store ``key`` for meter ``id`` (of ``manufacturer``, when given)."""
        if not isinstance(id, str) or not (manufacturer is None
                                           or isinstance(manufacturer, str)):
            raise KeyStoreError("a meter ID and a manufacturer are given as text")
        ident = _normalise_id(id)
        man = manufacturer.strip().upper() if manufacturer else None
        if man is not None and (len(man) != 3 or not man.isalpha()):
            raise KeyStoreError(f"manufacturer {manufacturer!r} is not three letters")
        self._keys[(man, ident)] = parse_key(key, where=f"key for meter {ident}")

    def lookup(self, id: str | None, manufacturer: str | None = None) -> bytes | None:
        """The key for a meter, or None."""
        if not self._keys:  # most decoders have no keys: nothing to normalise the ID for
            return None
        if id is not None:
            ident = id.upper().rjust(8, "0")
            if manufacturer is not None:
                found = self._keys.get((manufacturer.upper(), ident))
                if found is not None:
                    return found
            found = self._keys.get((None, ident))
            if found is not None:
                return found
        return self._keys.get((None, _DEFAULT))

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, id: object) -> bool:
        return isinstance(id, str) and self.lookup(id) is not None

    def __iter__(self) -> Iterator[str]:
        """The meter IDs (``MAN.ID`` where qualified), never the keys."""
        for man, ident in self._keys:
            yield f"{man}.{ident}" if man else ident

    def __repr__(self) -> str:
        return f"KeyStore({len(self._keys)} keys, values hidden)"

    __str__ = __repr__

    # --- files -------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KeyStore:
        """Read a key file; the format follows the suffix (``.csv``, ``.json``, ``.toml``)."""
        name = os.fspath(path)
        text = read_text(name, error=KeyStoreError)
        suffix = os.path.splitext(name)[1].lower()
        if suffix == ".json":
            return cls.from_json(text, source=name)
        if suffix == ".toml":
            return cls.from_toml(text, source=name)
        if suffix in (".csv", ".txt", ""):
            return cls.from_csv(text, source=name)
        raise KeyStoreError(f"key file {name}: unknown suffix {suffix!r} "
                            "(use .csv, .json or .toml)")

    @classmethod
    def from_csv(cls, text: str, *, source: str = "<csv>") -> KeyStore:
        """Read CSV text (see the module docstring)."""
        store = cls()
        columns: list[str] | None = None
        if len(text) > MAX_FILE_BYTES:
            raise KeyStoreError(f"{source}: longer than {MAX_FILE_BYTES} characters")
        reader = csv.reader(io.StringIO(text))
        try:
            rows = [row for row in reader
                    if row and any(cell.strip() for cell in row)
                    and not row[0].lstrip().startswith("#")]
        except csv.Error as exc:  # a field over the csv module's limit, a NUL byte, ...
            raise KeyStoreError(f"{source} line {reader.line_num}: not CSV ({exc})") from None
        for number, row in enumerate(rows, 1):
            cells = [cell.strip() for cell in row]
            lowered = [cell.lower() for cell in cells]
            if columns is None and "key" in lowered and "id" in lowered:
                columns = lowered
                continue
            where = f"{source} row {number}"
            if columns is not None:
                entry = dict(zip(columns, cells, strict=False))
                store._add_entry(entry, where)
            elif len(cells) == 2:
                store._add_entry({"id": cells[0], "key": cells[1]}, where)
            elif len(cells) == 3:
                store._add_entry({"manufacturer": cells[0], "id": cells[1], "key": cells[2]},
                                 where)
            else:
                raise KeyStoreError(f"{where}: expected id,key or manufacturer,id,key "
                                    f"({len(cells)} columns)")
        return store

    @classmethod
    def from_json(cls, text: str, *, source: str = "<json>") -> KeyStore:
        """Read JSON text (see the module docstring)."""
        document = load_json(text, source=source, error=KeyStoreError)
        return cls._from_document(document, source)

    @classmethod
    def from_toml(cls, text: str, *, source: str = "<toml>") -> KeyStore:
        """Read TOML text (Python 3.11's tomllib, or tomli on 3.10)."""
        toml_reader: Any = None
        for name in ("tomllib", "tomli"):  # tomllib from Python 3.11, tomli before
            try:
                toml_reader = importlib.import_module(name)
                break
            except ModuleNotFoundError:
                continue
        if toml_reader is None:
            raise KeyStoreError("TOML key files need Python 3.11 or the tomli package")
        if len(text) > MAX_FILE_BYTES:
            raise KeyStoreError(f"{source}: longer than {MAX_FILE_BYTES} characters")
        try:
            document = toml_reader.loads(text)
        except ValueError as exc:  # TOMLDecodeError, or an integer of 4301+ digits
            raise KeyStoreError(f"{source}: not TOML ({exc})") from None
        except RecursionError:  # tomllib reads nested arrays and tables recursively
            raise KeyStoreError(f"{source}: not TOML (nested too deep)") from None
        if "keys" in document:
            return cls._from_document(document["keys"], source)
        if "meter" in document:
            return cls._from_document(document["meter"], source)
        return cls._from_document(document, source)

    @classmethod
    def _from_document(cls, document: Any, source: str) -> KeyStore:
        store = cls()
        if isinstance(document, Mapping):
            for number, (name, key) in enumerate(document.items(), 1):
                if not isinstance(key, str):
                    raise KeyStoreError(f"{source} entry {number}: key must be hex text")
                man, _, ident = name.rpartition(".")
                store._add_entry({"id": ident, "manufacturer": man or None, "key": key},
                                 f"{source} entry {number}")
        elif isinstance(document, list):
            for number, entry in enumerate(document, 1):
                if not isinstance(entry, Mapping):
                    raise KeyStoreError(f"{source} entry {number}: expected an object")
                store._add_entry(entry, f"{source} entry {number}")
        else:
            raise KeyStoreError(f"{source}: expected an object or a list of entries")
        return store

    def _add_entry(self, entry: Mapping[str, Any], where: str) -> None:
        ident, key = entry.get("id"), entry.get("key")
        if isinstance(ident, bool) or not isinstance(ident, (str, int)) \
                or not isinstance(key, str):
            raise KeyStoreError(f"{where}: needs an id and a key (hex text)")
        manufacturer = entry.get("manufacturer") or None
        if manufacturer is not None and not isinstance(manufacturer, str):
            raise KeyStoreError(f"{where}: manufacturer must be three letters as text")
        try:
            self.add(key, id=str(ident), manufacturer=manufacturer)
        except KeyStoreError as exc:
            raise KeyStoreError(f"{where}: {exc}") from None

    @classmethod
    def coerce(cls, keys: KeyStore | Mapping[str, bytes | str] | str | os.PathLike[str] | None
               ) -> KeyStore:
        """A store from a store, a mapping, a key-file path, or None (empty)."""
        if keys is None:
            return cls()
        if isinstance(keys, KeyStore):
            return keys
        if isinstance(keys, (str, os.PathLike)):
            return cls.load(keys)
        return cls(keys)


