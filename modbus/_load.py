"""Register maps from profile files (``kind = "modbus"``), read with
:class:`profiles.TableReader` so that every error names file, table and key.

The format (documented with examples in the Modbus guide)::

    kind = "modbus"

    [profile]
    name = "eastron_sdm630"           # the file's name without .toml
    description = "Eastron SDM630 three-phase energy meter"
    source = "Eastron SDM630 Modbus protocol V1.8, input registers"

    [modbus]                          # optional: limits and defaults of the device
    unit_id = 1
    max_registers = 125               # most registers per read
    max_bits = 2000                   # most coils/discrete inputs per read
    max_gap = 16                      # unused registers a read may span
    table = "input"                   # default table of the points
    type = "float32"                  # default type of the points
    word_order = "big"                # default layout of multi-register values
    byte_order = "big"

    [[registers]]
    name = "voltage_l1"
    address = 0
    type = "float32"
    unit = "V"
    quantity = "voltage"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from profiles import (
    ProfileError,
    TableReader,
    UnitError,
    dimension,
    find_profile,
    load_toml,
    shipped_profiles,
)

from ._errors import MapError
from ._map import BYTE_ORDERS, DATA_TYPES, TABLES, RegisterMap, RegisterPoint

__all__ = ["load_map", "parse_map", "shipped_maps"]

KIND = "modbus"


def shipped_maps() -> list[str]:
    """The names of the register maps shipped with meterkit (``modbus maps``)."""
    return [path.stem for path in shipped_profiles(KIND)]


def load_map(name_or_path: str | Path, *, user_dirs: Iterable[str | Path] = ()) -> RegisterMap:
    """The register map ``name_or_path``: a shipped map's name (``"eastron_sdm630"``), a
    name found in ``user_dirs`` first, or a path to a ``.toml`` file.

    Raises:
        MapError: no such map, not TOML, a bad key, or a fault of the map as a whole
            such as overlapping registers; the message names file, table and key.
            (MapError is a :class:`profiles.ProfileError` too.)
    """
    try:
        path = find_profile(name_or_path, KIND, user_dirs)
        return parse_map(load_toml(path), file=str(path))
    except MapError:
        raise
    except ProfileError as exc:
        raise MapError(exc.message, file=exc.file, table=exc.table, key=exc.key,
                       line=exc.line) from None


def parse_map(data: Mapping[str, object], *, file: str | None = None) -> RegisterMap:
    """A register map from the parsed TOML of a profile file.

    >>> m = parse_map({"kind": "modbus",
    ...                "profile": {"name": "demo", "description": "a demo"},
    ...                "registers": [{"name": "power", "table": "holding", "address": 10,
    ...                               "type": "int16", "scale": "0.1", "unit": "kW"}]})
    >>> m.point("power").scale
    Decimal('0.1')

    Raises:
        MapError: as for :func:`load_map`.
    """
    try:
        return _parse_map(data, file)
    except MapError:
        raise
    except ProfileError as exc:
        raise MapError(exc.message, file=exc.file, table=exc.table, key=exc.key,
                       line=exc.line) from None


def _parse_map(data: Mapping[str, object], file: str | None) -> RegisterMap:
    top = TableReader(data, file=file)
    kind = top.text("kind")
    if kind != KIND:
        raise top.error("kind", f"a register map has kind = {KIND!r}, not {kind!r}")
    profile = top.table("profile")
    name = profile.text("name")
    description = profile.text("description")
    source = "; ".join(profile.optional_text_list("source", []))
    profile.finish()
    if file is not None and Path(file).stem != name:
        raise profile.error("name", f"must be the file's name {Path(file).stem!r}")
    settings = top.optional_table("modbus") or TableReader({}, file=file, table="modbus")
    limits = {
        "unit_id": settings.optional_integer("unit_id", 1, minimum=0, maximum=255),
        "max_registers": settings.optional_integer("max_registers", 125, minimum=1, maximum=125),
        "max_bits": settings.optional_integer("max_bits", 2000, minimum=1, maximum=2000),
        "max_gap": settings.optional_integer("max_gap", 16, minimum=0, maximum=125),
    }
    defaults = {
        "table": settings.optional_choice("table", TABLES, None),
        "type": settings.optional_choice("type", DATA_TYPES, None),
        "word_order": settings.optional_choice("word_order", BYTE_ORDERS, "big"),
        "byte_order": settings.optional_choice("byte_order", BYTE_ORDERS, "big"),
    }
    settings.finish()
    tables = top.tables("registers")
    top.finish()
    points = [_point(reader, defaults) for reader in tables]
    try:
        return RegisterMap(name=name, description=description, source=source,
                           points=tuple(points), **limits)
    except MapError as exc:
        index = {p.name: i for i, p in enumerate(points)}
        table = exc.table
        if table and table.startswith("registers."):
            table = f"registers[{index.get(table[len('registers.'):], '?')}]"
        raise MapError(exc.message, file=file, table=table or "modbus", key=exc.key) from None


def _point(reader: TableReader, defaults: Mapping[str, str | None]) -> RegisterPoint:
    word_order = defaults["word_order"] or "big"
    byte_order = defaults["byte_order"] or "big"
    name = reader.text("name")
    table_default = defaults["table"]
    table = (reader.choice("table", TABLES) if table_default is None
             else reader.optional_choice("table", TABLES, table_default))
    kind = reader.optional_choice(
        "type", DATA_TYPES, "bool" if table in ("coil", "discrete") else defaults["type"])
    if kind is None:
        raise reader.error("type", "missing (one of " + ", ".join(DATA_TYPES) + ")")
    unit = reader.optional_text("unit", "")
    if unit:
        try:
            dimension(unit)
        except UnitError as exc:
            raise reader.error("unit", exc.message) from None
    no_value = reader.optional_integer("no_value", None, minimum=0)
    try:
        point = RegisterPoint(
            name=name,
            table=table,
            address=reader.integer("address", minimum=0, maximum=0xFFFF),
            type=kind,
            length=reader.optional_integer("length", 0, minimum=0),
            bit=reader.optional_integer("bit", 0, minimum=0, maximum=15),
            word_order=reader.optional_choice("word_order", BYTE_ORDERS, word_order),
            byte_order=reader.optional_choice("byte_order", BYTE_ORDERS, byte_order),
            scale=reader.optional_decimal("scale", None),
            scale_point=reader.optional_text("scale_point", None),
            no_value=no_value,
            unit=unit,
            quantity=reader.optional_text("quantity", ""),
            writable=reader.optional_boolean("writable", False),
            minimum=reader.optional_decimal("minimum", None),
            maximum=reader.optional_decimal("maximum", None),
            description=reader.optional_text("description", ""),
        )
    except MapError as exc:
        raise MapError(exc.message, file=reader.file, table=reader.table_name,
                       key=exc.key) from None
    reader.finish()
    return point

