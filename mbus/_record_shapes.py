"""Record shapes: what the header bytes of a data record say (EN 13757-3:2018 clause 6).

A record is a data information block (DIF, up to 10 DIFE), a value information
block (VIF, up to 10 VIFE, or a plain-text unit) and the data. Everything the
header bytes say is worked out once per distinct header (:func:`build_shape`)
and kept in a :class:`RecordShape`, plain immutable data; a :class:`Record` is
a shape plus its data bytes. The scanner in ``_records`` keeps the shapes it
has built, by header bytes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._record_values import Value, python_value, read, record_dict
from ._vif import (
    COMBINABLE,
    COMBINABLE_EXTENSION,
    EXTENSION_FB,
    EXTENSION_FD,
    OBJECT_ACTIONS,
    PRIMARY,
    RECORD_ERRORS,
    VifInfo,
)

__all__ = [
    "CODING_NIBBLES",
    "FUNCTIONS",
    "MAX_DIFE",
    "MAX_VIFE",
    "Record",
    "RecordShape",
    "Value",
    "build_shape",
    "lvar_length",
    "special_shape",
]

MAX_DIFE = 10  # EN 13757-3:2018 6.3.1
MAX_VIFE = 10  # EN 13757-3:2018 6.4.1

# DIF function field, EN 13757-3:2018 6.3.2 Table 3.
FUNCTIONS = ("instantaneous", "maximum", "minimum", "error")

# DIF data field, EN 13757-3:2018 6.3.3 Table 4: (name, length in bytes; None = LVAR).
_CODINGS: dict[int, tuple[str, int | None]] = {
    0x0: ("none", 0), 0x1: ("int8", 1), 0x2: ("int16", 2), 0x3: ("int24", 3),
    0x4: ("int32", 4), 0x5: ("real32", 4), 0x6: ("int48", 6), 0x7: ("int64", 8),
    0x8: ("selection", 0), 0x9: ("bcd2", 1), 0xA: ("bcd4", 2), 0xB: ("bcd6", 3),
    0xC: ("bcd8", 4), 0xD: ("lvar", None), 0xE: ("bcd12", 6),
}
CODING_NIBBLES = {name: nibble for nibble, (name, _) in _CODINGS.items()}


class RecordShape(NamedTuple):
    """Everything the DIF/DIFE/VIF/VIFE bytes of a record say, decoded once: plain data.

    Real telegrams repeat the same few record headers, so the decoder keeps the
    shape of each header it has seen (the shape cache) and a record costs a
    lookup and its value. A shape is an immutable named tuple of small values;
    it is built positionally on first sight of a header, where a tuple is the
    cheapest immutable object to make. Its fields:

    * ``header``: the DIF, DIFE, VIF, VIFE bytes (and a plain-text unit) as on the wire.
    * ``dib_length``: how many of them are DIF and DIFE.
    * ``coding``: data field coding (``int32``, ``bcd8``, ``real32``, ``lvar``, ...).
    * ``length``: data length in bytes; None for LVAR (the first data byte tells).
    * ``function``: instantaneous, maximum, minimum, error, manufacturer_specific,
      more_records_follow (or global_readout in a master's request).
    * ``storage``, ``tariff``, ``subunit``: the DIF/DIFE numbers.
    * ``quantity``, ``unit``: what is measured, in a normalised unit.
    * ``exponent``, ``factor``: ``value = raw * factor * 10**exponent``.
    * ``offset_exponent``: an additive correction of ``10**offset_exponent`` units, if any.
    * ``kind``: number, time_point, identifier, flags, text, container, manufacturer, unknown.
    * ``extensions``: names of the combinable VIFEs (``per_h``, ``phase_L1``, ...).
    * ``record_error``: the record error code a slave reported in a VIFE, if any.
    * ``action``: the object action a master asked for in a VIFE, if any.
    * ``flags``: what the decoder did not understand (``unknown_vif``, ...).
    * ``msb_first``: multi-byte numbers are sent most significant byte first (CI 0x76).
    * ``reading``: how the data is read (a name of :data:`mbus.records.READINGS`:
      ``signed``, ``unsigned``, ``bcd``, ``real32``, ``lvar``, ``type_f``, ...).
    * ``dif_hex``, ``vif_hex``: the DIB and VIB as hex text (the ``dif``/``vif`` of ``to_dict()``).
    * ``unit_code``: the unit code of a fixed data structure record (CI 0x73), else None.
    """

    header: bytes
    dib_length: int
    coding: str
    length: int | None
    function: str
    storage: int
    tariff: int
    subunit: int
    quantity: str
    unit: str
    exponent: int = 0
    factor: int = 1
    offset_exponent: int | None = None
    kind: str = "number"
    extensions: tuple[str, ...] = ()
    record_error: str | None = None
    action: str | None = None
    flags: tuple[str, ...] = ()
    msb_first: bool = False
    reading: str = "none"
    dif_hex: str = ""
    vif_hex: str = ""
    unit_code: int | None = None

    @property
    def dif(self) -> int:
        """The DIF byte."""
        return self.header[0]

    @property
    def difes(self) -> bytes:
        """The DIFE bytes."""
        return self.header[1:self.dib_length]

    @property
    def vib(self) -> bytes:
        """The VIF and VIFE bytes (with a plain-text unit where there is one)."""
        return self.header[self.dib_length:]


class Record(NamedTuple):
    """One data record: its shape (what the header says) and its data bytes.

    ``data`` holds the value bytes as on the wire (for LVAR, the length byte
    too), so ``shape.header + data`` gives the record's bytes back. A record is
    an immutable pair; it is a named tuple rather than a frozen dataclass because
    telegrams create many of them and a tuple is built three times faster.
    """

    shape: RecordShape
    data: bytes

    @property
    def function(self) -> str:
        """instantaneous, maximum, minimum, error, manufacturer_specific or more_records_follow."""
        return self.shape.function

    @property
    def storage(self) -> int:
        """Storage number (0 = actual value)."""
        return self.shape.storage

    @property
    def tariff(self) -> int:
        """Tariff number."""
        return self.shape.tariff

    @property
    def subunit(self) -> int:
        """Subunit (device unit) number."""
        return self.shape.subunit

    @property
    def quantity(self) -> str:
        """What is measured (``energy``, ``volume``, ``flow_temperature``, ...)."""
        return self.shape.quantity

    @property
    def unit(self) -> str:
        """Normalised unit (``Wh``, ``m3``, ``degC``, ``s``, ...; empty if none)."""
        return self.shape.unit

    @property
    def value(self) -> Value:
        """The value, exact: int or Decimal for integer and BCD data, float only for REAL32."""
        return python_value(self.shape, self.data)[0]

    @property
    def flags(self) -> tuple[str, ...]:
        """What is odd about this record (``time_invalid``, ``invalid_bcd``, ``unknown_vif``...)."""
        return self.shape.flags + read(self.shape, self.data)[1]

    def encode(self) -> bytes:
        """The record's bytes."""
        return self.shape.header + self.data

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (see the ``mbus decode --json`` format)."""
        return record_dict(self.shape, self.data)


def lvar_length(lvar: int) -> int | None:
    """Data bytes that follow an LVAR byte; None for the reserved values 0xF7-0xFF."""
    if lvar < 0xC0:
        return lvar
    if lvar < 0xCA:
        return lvar - 0xC0  # (LVAR - C0h) * 2 digits = LVAR - C0h bytes
    if 0xD0 <= lvar < 0xDA:
        return lvar - 0xD0
    if 0xE0 <= lvar < 0xF0:
        return lvar - 0xE0
    if 0xF0 <= lvar < 0xF5:
        return 4 * (lvar - 0xEC)
    if lvar == 0xF5:
        return 48
    if lvar == 0xF6:
        return 64
    return None


# Date/time readings of integer data by length, EN 13757-3:2018 Annex A types G, J, F, I.
_TIME_READINGS = {2: "type_g", 3: "type_j", 4: "type_f", 6: "type_i"}


def _reading(coding: str, length: int | None, kind: str,
             quantity: str) -> tuple[str, tuple[str, ...]]:
    """How the data of a record is read; and the flags that the choice itself raises."""
    if coding in ("none", "selection"):
        return "none", ()
    if kind == "time_point" and coding.startswith("int"):
        if quantity == "daylight_saving":
            return "hex", ("not supported yet: type K daylight saving fields",)
        reading = _TIME_READINGS.get(length or 0)
        if reading is not None:
            return reading, ()
        return "hex", ("unexpected_time_coding",)
    if coding == "real32":
        return "real32", ()
    if coding == "lvar":
        if kind == "time_point":
            return "hex", ("not supported yet: type M date and time",)
        return "lvar", ()
    if kind in ("text", "container"):
        return "hex", ()
    if coding.startswith("bcd"):
        return "bcd", ()
    if kind in ("identifier", "flags"):
        return "unsigned", ()  # Table 12 remark k: binary identifiers are unsigned (type C)
    return "signed", ()  # type B


# --- header interpretation ------------------------------------------------------------------

_MANUFACTURER_VIF = VifInfo(quantity="manufacturer_specific", unit="", kind="manufacturer")
_UNKNOWN_VIF = VifInfo(quantity="unknown", unit="", kind="unknown")
_ANY_VIF = VifInfo(quantity="any", unit="", kind="unknown")


def _vif_meaning(vif: int, vifes: bytes, text: bytes,
                 flags: list[str]) -> tuple[VifInfo, bytes]:
    """What the VIF (with the first VIFE of an extension VIF) means; the VIFEs left over."""
    code = vif & 0x7F
    if code in PRIMARY:
        return PRIMARY[code], vifes
    if code == 0x7C:  # plain-text VIF: the unit is the text (sent last character first)
        return VifInfo(quantity="custom", unit=text[::-1].decode("latin-1")), vifes
    if code == 0x7F:
        return _MANUFACTURER_VIF, vifes
    if code == 0x7E:
        return _ANY_VIF, vifes
    if code in (0x7B, 0x7D):
        if not vifes:
            flags.append("missing_extension_vife")
            return _UNKNOWN_VIF, vifes
        found = (EXTENSION_FB if code == 0x7B else EXTENSION_FD).get(vifes[0] & 0x7F)
        if found is None:
            flags.append("unknown_vif")
            return _UNKNOWN_VIF, vifes[1:]
        return found, vifes[1:]
    flags.append("unknown_vif")
    return _UNKNOWN_VIF, vifes


def build_shape(header: bytes, dib_length: int, text_end: int, from_master: bool,
                 msb_first: bool) -> RecordShape:
    """Interpret the header bytes of one record (already split and bounds-checked)."""
    dif = header[0]
    coding, length = _CODINGS[dif & 0x0F]
    storage = (dif >> 6) & 1
    tariff = subunit = 0
    for index in range(dib_length - 1):
        dife = header[1 + index]
        storage |= (dife & 0x0F) << (1 + 4 * index)
        tariff |= ((dife >> 4) & 0x03) << (2 * index)
        subunit |= ((dife >> 6) & 0x01) << index
    function = "global_readout" if from_master and dif == 0x7F else FUNCTIONS[(dif >> 4) & 0x03]

    flags: list[str] = []
    info, vifes = _vif_meaning(header[dib_length], header[text_end:],
                               header[dib_length + 2:text_end], flags)
    kind, exponent, factor, unit = info.kind, info.exponent, info.factor, info.unit
    extensions: list[str] = []
    record_error = action = None
    offset_exponent: int | None = None
    manufacturer_vifes = kind == "manufacturer"
    extension_next = False
    for byte in vifes:
        vife = byte & 0x7F
        if manufacturer_vifes:
            extensions.append(f"manufacturer_vife_0x{vife:02x}")
            continue
        if extension_next:
            extension_next = False
            found_ext = COMBINABLE_EXTENSION.get(vife)
            extensions.append(found_ext.name if found_ext else f"reserved_extension_0x{vife:02x}")
            continue
        if vife == 0x7C:
            extension_next = True
            continue
        if vife == 0x7F:
            manufacturer_vifes = True
            extensions.append("manufacturer_vifes_follow")
            continue
        comb = COMBINABLE.get(vife)
        if comb is None:
            if vife >= 0x20:
                extensions.append(f"reserved_vife_0x{vife:02x}")
                flags.append("unknown_vife")
            elif from_master:
                action = OBJECT_ACTIONS.get(vife, f"reserved_0x{vife:02x}")
            else:
                record_error = RECORD_ERRORS.get(vife, f"reserved_0x{vife:02x}")
            continue
        extensions.append(comb.name)
        if comb.effect == "exponent":
            exponent += comb.amount
        elif comb.effect == "offset":
            # In the VIF's unit, before its exponent (6.4.6 note); the first one counts.
            offset_exponent = comb.amount if offset_exponent is None else offset_exponent
        elif comb.effect == "per":
            unit = f"{unit}/{comb.unit}" if unit else f"1/{comb.unit}"
        elif comb.effect == "times":
            unit = f"{unit}*{comb.unit}" if unit else comb.unit
    if offset_exponent is not None and kind != "number":
        offset_exponent = None
        flags.append("offset_on_non_number")
    if kind in ("manufacturer", "unknown", "identifier", "flags"):
        exponent, factor = 0, 1
        if kind != "identifier" and kind != "flags":
            unit = ""
    reading, reading_flags = _reading(coding, length, kind, info.quantity)
    if reading_flags:
        flags.extend(reading_flags)
    return RecordShape(
        header, dib_length, coding, length, function, storage, tariff, subunit, info.quantity,
        unit, exponent, factor, offset_exponent, kind, tuple(extensions), record_error, action,
        tuple(flags), msb_first, reading, header[:dib_length].hex(), header[dib_length:].hex())


def special_shape(dif: int) -> RecordShape:
    """Shapes of the special DIFs 0x0F and 0x1F (manufacturer data to the end) and 0x7F."""
    if dif == 0x7F:
        function = quantity = "global_readout"
        coding, reading = "none", "none"
    else:
        function = "manufacturer_specific" if dif == 0x0F else "more_records_follow"
        quantity, coding, reading = "manufacturer_data", "manufacturer", "hex"
    return RecordShape(header=bytes((dif,)), dib_length=1, coding=coding, length=None,
                       function=function, storage=0, tariff=0, subunit=0, quantity=quantity,
                       unit="", kind="manufacturer", reading=reading, dif_hex=f"{dif:02x}")
