"""Register maps as data: which registers hold which point, in which data type.

A :class:`RegisterMap` is plain, immutable, picklable data. It is usually loaded from a
profile file (``kind = "modbus"``, see :func:`modbus.load_map`); it can also be built in
code. Building checks the whole map at once (types, sizes, overlapping registers, scale
points), so a map that exists is a map the codec can use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from ._errors import MapError

__all__ = [
    "BIT_TABLES",
    "BYTE_ORDERS",
    "DATA_TYPES",
    "REGISTER_TABLES",
    "TABLES",
    "RegisterMap",
    "RegisterPoint",
]

TABLES: tuple[str, ...] = ("coil", "discrete", "input", "holding")
"""The four Modbus tables: coils (read/write bits), discrete inputs (read-only bits),
input registers (read-only words), holding registers (read/write words)."""
BIT_TABLES = frozenset({"coil", "discrete"})
REGISTER_TABLES = frozenset({"input", "holding"})
WRITABLE_TABLES = frozenset({"coil", "holding"})

# type name -> registers it occupies (None: given by the point's ``length``).
DATA_TYPES: dict[str, int | None] = {
    "bool": 1,  # one coil or discrete input
    "bit": 1,  # one bit (``bit`` = 0..15) of a register
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "int64": 4,
    "uint64": 4,
    "float32": 2,
    "float64": 4,
    "bcd16": 1,  # 4 packed BCD digits
    "bcd32": 2,  # 8 packed BCD digits
    "string": None,  # ``length`` registers, two characters each, NUL/space padded
}
BYTE_ORDERS: tuple[str, ...] = ("big", "little")
INTEGER_TYPES = frozenset({"int16", "uint16", "int32", "uint32", "int64", "uint64"})
FLOAT_TYPES = frozenset({"float32", "float64"})
BCD_TYPES = frozenset({"bcd16", "bcd32"})
NUMBER_TYPES = INTEGER_TYPES | FLOAT_TYPES | BCD_TYPES
# A scale point holds a power-of-ten exponent (SunSpec's "sunssf").
SCALE_POINT_TYPES = frozenset({"int16"})
MAX_STRING_REGISTERS = 125
MAX_ADDRESS = 0xFFFF


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterPoint:
    """One value of a device: where it lives and how its registers read.

    Attributes:
        name: the point's name, unique in its map (a reading's ``point``).
        table: ``"coil"``, ``"discrete"``, ``"input"`` or ``"holding"``.
        address: the protocol address (0-based: input register 30001 is address 0).
        type: a name of :data:`DATA_TYPES`.
        length: registers of a ``string`` (two characters each); 0 for other types.
        bit: the bit (0 = least significant) of a ``bit`` point; 0 for other types.
        word_order: ``"big"`` (most significant register first) or ``"little"``.
        byte_order: ``"big"`` (most significant byte first in each register) or ``"little"``.
        scale: the value is the register value times ``scale`` (exact); ``None``: unscaled.
        scale_point: the name of an ``int16`` point holding a power-of-ten exponent
            (SunSpec scale factor): the value is the register value times 10**exponent.
        no_value: the raw register contents (as one unsigned number) that mean "no value"
            (SunSpec: 0x8000 for int16, 0xFFFF for uint16); such a reading has quality
            ``("invalid",)`` and no value.
        unit: the unit of the scaled value (``"V"``, ``"kWh"``, ...; ``""`` for none).
        quantity: what is measured (``"voltage"``, ``"energy"``, ...).
        writable: a client may write it (only coils and holding registers).
        minimum: values below it are flagged ``"out_of_range"`` (not dropped).
        maximum: values above it are flagged ``"out_of_range"`` (not dropped).
        description: free text.
    """

    name: str
    table: str
    address: int
    type: str
    length: int = 0
    bit: int = 0
    word_order: str = "big"
    byte_order: str = "big"
    scale: Decimal | None = None
    scale_point: str | None = None
    no_value: int | None = None
    unit: str = ""
    quantity: str = ""
    writable: bool = False
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    description: str = ""

    def __post_init__(self) -> None:
        def fail(message: str, key: str) -> MapError:
            return MapError(message, table=f"registers.{self.name}", key=key)

        if not isinstance(self.name, str) or not self.name or self.name != self.name.strip():
            raise MapError("a point needs a name without leading or trailing blanks", key="name")
        if self.table not in TABLES:
            raise fail(f"unknown table {self.table!r}; known: {', '.join(TABLES)}", "table")
        if self.type not in DATA_TYPES:
            raise fail(f"unknown type {self.type!r}; known: {', '.join(DATA_TYPES)}", "type")
        if (self.table in BIT_TABLES) != (self.type == "bool"):
            raise fail(
                "coils and discrete inputs are of type 'bool', registers of any other type",
                "type",
            )
        if type(self.address) is not int or not 0 <= self.address <= MAX_ADDRESS:
            raise fail(f"must be an integer 0..{MAX_ADDRESS}, got {self.address!r}", "address")
        if self.type == "string":
            if not 1 <= self.length <= MAX_STRING_REGISTERS:
                raise fail(
                    f"a string needs length = 1..{MAX_STRING_REGISTERS} registers", "length"
                )
        elif self.length:
            raise fail("only a string has a length", "length")
        if self.type == "bit":
            if not 0 <= self.bit <= 15:
                raise fail(f"must be 0..15, got {self.bit}", "bit")
        elif self.bit:
            raise fail("only a point of type 'bit' has a bit number", "bit")
        if self.address + self.count - 1 > MAX_ADDRESS:
            raise fail(f"registers run past address {MAX_ADDRESS}", "address")
        for key in ("word_order", "byte_order"):
            if getattr(self, key) not in BYTE_ORDERS:
                raise fail(f"must be 'big' or 'little', got {getattr(self, key)!r}", key)
        if self.writable and self.table not in WRITABLE_TABLES:
            raise fail(f"a point in the {self.table} table cannot be writable", "writable")
        if self.type not in NUMBER_TYPES:
            for key in ("scale", "scale_point", "minimum", "maximum"):
                if getattr(self, key) is not None:
                    raise fail(f"only numbers have a {key} (this is a {self.type})", key)
        if self.scale is not None and self.scale_point is not None:
            raise fail("give scale or scale_point, not both", "scale_point")
        if self.scale is not None and (not self.scale.is_finite() or self.scale == 0):
            raise fail(f"must be a finite non-zero number, got {self.scale}", "scale")
        if self.no_value is not None and not 0 <= self.no_value < 1 << (16 * self.count):
            raise fail(
                f"must be the raw contents of {self.count} register(s) as an unsigned number",
                "no_value",
            )
        if (
            self.minimum is not None
            and self.maximum is not None
            and self.minimum > self.maximum
        ):
            raise fail(f"minimum {self.minimum} is above maximum {self.maximum}", "minimum")

    @property
    def count(self) -> int:
        """How many registers (or bits, in a bit table) the point occupies."""
        return DATA_TYPES[self.type] or self.length

    @property
    def end(self) -> int:
        """The address after the point's last register."""
        return self.address + self.count


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterMap:
    """A device's points (client) or what a server publishes.

    Attributes:
        name: the map's name (``eastron_sdm630``).
        points: the points, in the map's order.
        description: free text.
        source: where the register list comes from (a document and its version).
        max_registers: the most registers one read may ask for (Modbus allows 125).
        max_bits: the most coils or discrete inputs one read may ask for (Modbus: 2000).
        max_gap: unused registers a read may span to join two points into one request.
        unit_id: the default unit id (slave address) of the device.

    Raises:
        MapError: duplicate names, overlapping registers, an unknown scale point, or
            limits outside what Modbus allows.
    """

    name: str
    points: tuple[RegisterPoint, ...]
    description: str = ""
    source: str = ""
    max_registers: int = 125
    max_bits: int = 2000
    max_gap: int = 16
    unit_id: int = 1
    _by_name: dict[str, RegisterPoint] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", tuple(self.points))
        if not 1 <= self.max_registers <= 125:
            raise MapError(f"must be 1..125, got {self.max_registers}", key="max_registers")
        if not 1 <= self.max_bits <= 2000:
            raise MapError(f"must be 1..2000, got {self.max_bits}", key="max_bits")
        if not 0 <= self.max_gap <= 125:
            raise MapError(f"must be 0..125, got {self.max_gap}", key="max_gap")
        if not 0 <= self.unit_id <= 255:
            raise MapError(f"must be 0..255, got {self.unit_id}", key="unit_id")
        by_name: dict[str, RegisterPoint] = {}
        for point in self.points:
            if point.name in by_name:
                raise MapError("a second point of this name", table=f"registers.{point.name}",
                               key="name")
            by_name[point.name] = point
            if point.count > (self.max_bits if point.table in BIT_TABLES else self.max_registers):
                raise MapError(
                    "longer than the largest read the map allows",
                    table=f"registers.{point.name}", key="length")
        object.__setattr__(self, "_by_name", by_name)
        for point in self.points:
            if point.scale_point is None:
                continue
            scale = by_name.get(point.scale_point)
            if scale is None or scale.type not in SCALE_POINT_TYPES:
                raise MapError(
                    f"{point.scale_point!r} is not an int16 point of this map",
                    table=f"registers.{point.name}", key="scale_point")
        _check_overlaps(self.points)

    def __getstate__(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _MAP_FIELDS}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_by_name", {p.name: p for p in self.points})

    def point(self, name: str) -> RegisterPoint:
        """The point called ``name``.

        Raises:
            KeyError: no point has that name.
        """
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def table_points(self, table: str) -> tuple[RegisterPoint, ...]:
        """The points of one table, by address."""
        return tuple(sorted((p for p in self.points if p.table == table),
                            key=lambda p: (p.address, p.bit)))


_MAP_FIELDS = (
    "name", "points", "description", "source", "max_registers", "max_bits", "max_gap", "unit_id"
)


def _check_overlaps(points: Iterable[RegisterPoint]) -> None:
    # Sorted by (table, address): each point need only be compared with the furthest
    # reaching point before it, so the check is O(n log n). Bits of one register may
    # share it (each bit once); nothing else may.
    bits: set[tuple[str, int, int]] = set()
    ordered = sorted(points, key=lambda p: (p.table, p.address, p.end))
    previous: RegisterPoint | None = None
    for point in ordered:
        if point.type == "bit":
            if (point.table, point.address, point.bit) in bits:
                raise MapError(
                    f"bit {point.bit} of register {point.address} is already a point",
                    table=f"registers.{point.name}", key="bit")
            bits.add((point.table, point.address, point.bit))
        if previous is not None and previous.table == point.table and point.address < previous.end:
            shared_bits = previous.type == point.type == "bit" and previous.address == point.address
            if not shared_bits:
                raise MapError(
                    f"registers {point.address}..{point.end - 1} overlap point "
                    f"{previous.name!r} ({previous.address}..{previous.end - 1})",
                    table=f"registers.{point.name}", key="address")
        if previous is None or previous.table != point.table or point.end > previous.end:
            previous = point
