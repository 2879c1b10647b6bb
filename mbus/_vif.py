"""VIF and VIFE tables of EN 13757-3:2018, as data.

Each table maps the seven low bits of a VIF (or of the VIFE that follows an
extension VIF) to what it means: a quantity, a normalised unit and the scaling
that turns the raw number into that unit (``value = raw * factor * 10**exponent``).
Ranges are written once, with the clause they come from, and expanded here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COMBINABLE",
    "COMBINABLE_EXTENSION",
    "EXTENSION_FB",
    "EXTENSION_FD",
    "OBJECT_ACTIONS",
    "PRIMARY",
    "RECORD_ERRORS",
    "Combinable",
    "VifInfo",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class VifInfo:
    """What one VIF code means.

    ``kind`` tells how to read the data field: ``"number"`` (a physical value),
    ``"time_point"`` (a date or date-time, decoded by the data field's coding),
    ``"identifier"`` (a number that names something: fabrication number, address),
    ``"flags"`` (a bit field), ``"text"`` or ``"container"`` (bytes kept as they are).
    """

    quantity: str
    unit: str
    exponent: int = 0
    factor: int = 1
    kind: str = "number"


@dataclass(frozen=True, slots=True, kw_only=True)
class Combinable:
    """A combinable (orthogonal) VIFE, EN 13757-3:2018 Table 15.

    ``effect`` is one of ``"exponent"`` (multiply by 10**amount), ``"offset"``
    (add 10**amount in the record's unit), ``"per"`` / ``"times"`` (the unit is
    divided / multiplied by ``unit``), ``"error"`` (a record error code) or
    ``"note"`` (a qualifier kept as its name).
    """

    name: str
    effect: str = "note"
    amount: int = 0
    unit: str = ""


# Time units "nn" of the duration VIFs: seconds, minutes, hours, days (6.4.2 note).
_SECONDS = (("s", 1), ("s", 60), ("s", 3600), ("s", 86400))
# "pp" time units of FD 0x68-0x6F: hours, days, months, years.
_HOURS_TO_YEARS = (("s", 3600), ("s", 86400), ("month", 1), ("year", 1))


def _exponent_range(
    table: dict[int, VifInfo], first: int, count: int, quantity: str, unit: str, exponent0: int,
    kind: str = "number", factor: int = 1,
) -> None:
    for step in range(count):
        table[first + step] = VifInfo(
            quantity=quantity, unit=unit, exponent=exponent0 + step, factor=factor, kind=kind
        )


def _time_range(
    table: dict[int, VifInfo], first: int, quantity: str,
    units: tuple[tuple[str, int], ...] = _SECONDS,
) -> None:
    for step, (unit, factor) in enumerate(units):
        table[first + step] = VifInfo(quantity=quantity, unit=unit, factor=factor)


def _one(
    table: dict[int, VifInfo], code: int, quantity: str, unit: str = "", **kw: int | str
) -> None:
    table[code] = VifInfo(quantity=quantity, unit=unit, **kw)  # type: ignore[arg-type]


def _primary() -> dict[int, VifInfo]:
    """Primary VIF table, EN 13757-3:2018 6.4.2, Table 10 (E bit masked off)."""
    t: dict[int, VifInfo] = {}
    _exponent_range(t, 0x00, 8, "energy", "Wh", -3)  # E000 0nnn: 10^(nnn-3) Wh
    _exponent_range(t, 0x08, 8, "energy", "J", 0)  # E000 1nnn: 10^nnn J
    _exponent_range(t, 0x10, 8, "volume", "m3", -6)  # E001 0nnn: 10^(nnn-6) m3
    _exponent_range(t, 0x18, 8, "mass", "kg", -3)  # E001 1nnn: 10^(nnn-3) kg
    _time_range(t, 0x20, "on_time")  # E010 00nn
    _time_range(t, 0x24, "operating_time")  # E010 01nn
    _exponent_range(t, 0x28, 8, "power", "W", -3)  # E010 1nnn: 10^(nnn-3) W
    _exponent_range(t, 0x30, 8, "power", "J/h", 0)  # E011 0nnn: 10^nnn J/h
    _exponent_range(t, 0x38, 8, "volume_flow", "m3/h", -6)  # E011 1nnn: 10^(nnn-6) m3/h
    # E100 0nnn 10^(nnn-7) m3/min and E100 1nnn 10^(nnn-9) m3/s, normalised to m3/h.
    _exponent_range(t, 0x40, 8, "volume_flow", "m3/h", -7, factor=60)
    _exponent_range(t, 0x48, 8, "volume_flow", "m3/h", -9, factor=3600)
    _exponent_range(t, 0x50, 8, "mass_flow", "kg/h", -3)  # E101 0nnn
    _exponent_range(t, 0x58, 4, "flow_temperature", "degC", -3)  # E101 10nn
    _exponent_range(t, 0x5C, 4, "return_temperature", "degC", -3)  # E101 11nn
    _exponent_range(t, 0x60, 4, "temperature_difference", "K", -3)  # E110 00nn
    _exponent_range(t, 0x64, 4, "external_temperature", "degC", -3)  # E110 01nn
    _exponent_range(t, 0x68, 4, "pressure", "bar", -3)  # E110 10nn
    _one(t, 0x6C, "date", kind="time_point")  # E110 1100: type G
    _one(t, 0x6D, "datetime", kind="time_point")  # E110 1101: type F, I, J or M
    _one(t, 0x6E, "hca_units", "")  # units for heat cost allocator, dimensionless
    _time_range(t, 0x70, "averaging_duration")  # E111 00nn
    _time_range(t, 0x74, "actuality_duration")  # E111 01nn
    _one(t, 0x78, "fabrication_number", kind="identifier")
    _one(t, 0x79, "enhanced_identification", kind="identifier")
    _one(t, 0x7A, "bus_address", kind="identifier")
    return t


def _extension_fd() -> dict[int, VifInfo]:
    """Main VIFE-code extension table (VIF = FDh), EN 13757-3:2018 6.4.4, Table 12."""
    t: dict[int, VifInfo] = {}
    _exponent_range(t, 0x00, 4, "credit", "currency", -3)  # E000 00nn
    _exponent_range(t, 0x04, 4, "debit", "currency", -3)  # E000 01nn
    names = {
        0x08: "unique_message_identification",  # formerly "access number"
        0x09: "device_type",
        0x0A: "manufacturer",
        0x0B: "parameter_set_identification",
        0x0C: "model_version",
        0x0D: "hardware_version",
        0x0E: "firmware_version",
        0x0F: "software_version",
        0x10: "customer_location",
        0x11: "customer",
        0x12: "access_code_user",
        0x13: "access_code_operator",
        0x14: "access_code_system_operator",
        0x15: "access_code_developer",
        0x16: "password",
        0x18: "error_mask",
        0x19: "security_key",
        0x1C: "baud_rate",
        0x1E: "retry",
        0x1F: "remote_control",
        0x20: "first_storage_number",
        0x21: "last_storage_number",
        0x22: "storage_block_size",
        0x23: "tariff_subunit_descriptor",
        0x2A: "operator_specific_data",
        0x2B: "time_point_second",
        0x60: "reset_counter",
        0x61: "cumulation_counter",
        0x62: "control_signal",
        0x63: "day_of_week",
        0x64: "week_number",
        0x65: "time_point_of_day_change",
        0x66: "parameter_activation_state",
        0x67: "special_supplier_information",
        0x75: "meter_stop_count",
    }
    for code, name in names.items():
        _one(t, code, name, kind="identifier")
    _one(t, 0x17, "error_flags", kind="flags")
    _one(t, 0x1A, "digital_output", kind="flags")
    _one(t, 0x1B, "digital_input", kind="flags")
    _one(t, 0x1D, "response_delay_time", "bit_times")
    _time_range(t, 0x24, "storage_interval")  # E010 01nn
    _one(t, 0x28, "storage_interval", "month")
    _one(t, 0x29, "storage_interval", "year")
    _time_range(t, 0x2C, "duration_since_last_readout")  # E010 11nn
    _one(t, 0x30, "tariff_start", kind="time_point")
    # E011 00nn with nn = 01..11: duration of tariff in minutes, hours, days.
    for step, (unit, factor) in enumerate(_SECONDS[1:], start=1):
        t[0x30 + step] = VifInfo(quantity="tariff_duration", unit=unit, factor=factor)
    _time_range(t, 0x34, "tariff_period")  # E011 01nn
    _one(t, 0x38, "tariff_period", "month")
    _one(t, 0x39, "tariff_period", "year")
    _one(t, 0x3A, "dimensionless")
    _one(t, 0x3B, "wireless_mbus_container", kind="container")
    _time_range(t, 0x3C, "nominal_transmission_period")  # E011 11nn (2018)
    _exponent_range(t, 0x40, 16, "voltage", "V", -9)  # E100 nnnn: 10^(nnnn-9) V
    _exponent_range(t, 0x50, 16, "current", "A", -12)  # E101 nnnn: 10^(nnnn-12) A
    _time_range(t, 0x68, "duration_since_last_cumulation", _HOURS_TO_YEARS)  # E110 10pp
    _time_range(t, 0x6C, "battery_operating_time", _HOURS_TO_YEARS)  # E110 11pp
    _one(t, 0x70, "battery_change_datetime", kind="time_point")
    _one(t, 0x71, "rf_level", "dBm")
    _one(t, 0x72, "daylight_saving", kind="time_point")  # type K
    _one(t, 0x73, "listening_window_management", kind="flags")  # type L
    _one(t, 0x74, "remaining_battery_life", "s", factor=86400)  # in days
    _one(t, 0x76, "manufacturer_container", kind="container")
    return t


def _extension_fb() -> dict[int, VifInfo]:
    """Alternate extended VIF-code table (VIF = FBh), EN 13757-3:2018 6.4.5, Table 14."""
    t: dict[int, VifInfo] = {}
    _exponent_range(t, 0x00, 2, "energy", "Wh", 5)  # E000 000n: 10^(n-1) MWh
    _exponent_range(t, 0x02, 2, "reactive_energy", "varh", 3)  # E000 001n: 10^n kVARh
    _exponent_range(t, 0x04, 2, "apparent_energy", "VAh", 3)  # E000 010n: 10^n kVAh
    _exponent_range(t, 0x08, 2, "energy", "J", 8)  # E000 100n: 10^(n-1) GJ
    _exponent_range(t, 0x0C, 4, "energy", "cal", 5)  # E000 11nn: 10^(nn-1) MCal
    _exponent_range(t, 0x10, 2, "volume", "m3", 2)  # E001 000n: 10^(n+2) m3
    _exponent_range(t, 0x14, 4, "reactive_power", "var", 0)  # E001 01nn: 10^(nn-3) kVAR
    _exponent_range(t, 0x18, 2, "mass", "kg", 5)  # E001 100n: 10^(n+2) t
    _exponent_range(t, 0x1A, 2, "relative_humidity", "%", -1)  # E001 101n: 10^(n-1) %
    _one(t, 0x20, "volume", "ft3")
    _one(t, 0x21, "volume", "ft3", exponent=-1)
    _exponent_range(t, 0x28, 2, "power", "W", 5)  # E010 100n: 10^(n-1) MW
    _one(t, 0x2A, "phase_voltage_voltage", "deg", exponent=-1)
    _one(t, 0x2B, "phase_voltage_current", "deg", exponent=-1)
    _exponent_range(t, 0x2C, 4, "frequency", "Hz", -3)  # E010 11nn
    _exponent_range(t, 0x30, 2, "power", "J/h", 8)  # E011 000n: 10^(n-1) GJ/h
    _exponent_range(t, 0x34, 4, "apparent_power", "VA", 0)  # E011 01nn: 10^(nn-3) kVA
    # E101 10nn .. E110 01nn: Fahrenheit temperatures (EN 13757-3:2004; kept for old meters).
    _exponent_range(t, 0x58, 4, "flow_temperature", "degF", -3)
    _exponent_range(t, 0x5C, 4, "return_temperature", "degF", -3)
    _exponent_range(t, 0x60, 4, "temperature_difference", "degF", -3)
    _exponent_range(t, 0x64, 4, "external_temperature", "degF", -3)
    # E110 100x: heat cost allocator rating factors, scaled by 2^-12 = 244140625e-12.
    _one(t, 0x68, "hca_rating_factor_k", "", exponent=-12, factor=244140625)
    _one(t, 0x69, "hca_rating_factor_kq", "W", exponent=-12, factor=244140625)
    _exponent_range(t, 0x70, 4, "temperature_limit", "degF", -3)  # E111 00nn
    _exponent_range(t, 0x74, 4, "temperature_limit", "degC", -3)  # E111 01nn
    _exponent_range(t, 0x78, 8, "cumulative_max_power", "W", -3)  # E111 1nnn
    return t


PRIMARY: dict[int, VifInfo] = _primary()
EXTENSION_FD: dict[int, VifInfo] = _extension_fd()
EXTENSION_FB: dict[int, VifInfo] = _extension_fb()

# Record error codes (slave to master), EN 13757-3:2018 6.4.8, Table 18.
RECORD_ERRORS: dict[int, str] = {
    0x00: "none",
    0x01: "too_many_difes",
    0x02: "storage_number_not_implemented",
    0x03: "unit_number_not_implemented",
    0x04: "tariff_number_not_implemented",
    0x05: "function_not_implemented",
    0x06: "data_class_not_implemented",
    0x07: "data_size_not_implemented",
    0x0B: "too_many_vifes",
    0x0C: "illegal_vif_group",
    0x0D: "illegal_vif_exponent",
    0x0E: "vif_dif_mismatch",
    0x0F: "unimplemented_action",
    0x15: "no_data_available",
    0x16: "data_overflow",
    0x17: "data_underflow",
    0x18: "data_error",
    0x1C: "premature_end_of_record",
}

# Object actions (master to slave), EN 13757-3:2018 6.4.7, Table 17.
OBJECT_ACTIONS: dict[int, str] = {
    0x00: "write",
    0x01: "add_value",
    0x02: "subtract_value",
    0x03: "or",
    0x04: "and",
    0x05: "xor",
    0x06: "and_not",
    0x07: "clear",
    0x08: "add_entry",
    0x09: "delete_entry",
    0x0B: "freeze_data",
    0x0C: "add_to_readout_list",
    0x0D: "delete_from_readout_list",
}

_TIME_UNIT_NAMES = ("s", "min", "h", "d")


def _combinable() -> dict[int, Combinable]:
    """Combinable (orthogonal) VIFE table, EN 13757-3:2018 6.4.6, Table 15.

    Codes 0x00-0x1F depend on the direction (record errors from a slave, object
    actions from a master) and are resolved by the record decoder; the 2018
    assignments in that range are listed here.
    """
    t: dict[int, Combinable] = {
        0x12: Combinable(name="average_value"),
        0x13: Combinable(name="inverse_compact_profile"),
        0x14: Combinable(name="relative_deviation"),
        0x1D: Combinable(name="standard_conform_data_content"),
        0x1E: Combinable(name="compact_profile_with_register_numbers"),
        0x1F: Combinable(name="compact_profile"),
    }
    for code, unit in enumerate(("s", "min", "h", "d", "week", "month", "year"), start=0x20):
        t[code] = Combinable(name=f"per_{unit}", effect="per", unit=unit)
    t[0x27] = Combinable(name="per_revolution", effect="per", unit="revolution")
    t[0x28] = Combinable(name="per_input_pulse_channel_0", effect="per", unit="pulse")
    t[0x29] = Combinable(name="per_input_pulse_channel_1", effect="per", unit="pulse")
    t[0x2A] = Combinable(name="per_output_pulse_channel_0", effect="per", unit="pulse")
    t[0x2B] = Combinable(name="per_output_pulse_channel_1", effect="per", unit="pulse")
    for code, unit in enumerate(("l", "m3", "kg", "K", "kWh", "GJ", "kW", "K*l", "V", "A"), 0x2C):
        t[code] = Combinable(name=f"per_{unit}", effect="per", unit=unit)
    t[0x36] = Combinable(name="times_s", effect="times", unit="s")
    t[0x37] = Combinable(name="times_s_per_V", effect="times", unit="s/V")
    t[0x38] = Combinable(name="times_s_per_A", effect="times", unit="s/A")
    t[0x39] = Combinable(name="start_datetime_of")
    t[0x3A] = Combinable(name="uncorrected_unit")
    t[0x3B] = Combinable(name="accumulation_if_positive")
    t[0x3C] = Combinable(name="accumulation_abs_if_negative")
    t[0x3D] = Combinable(name="non_metric_unit_system")
    t[0x3E] = Combinable(name="value_at_base_conditions")
    t[0x3F] = Combinable(name="obis_declaration")
    for upper, side in ((0, "lower"), (0x08, "upper")):
        t[0x40 | upper] = Combinable(name=f"{side}_limit_value")
        t[0x41 | upper] = Combinable(name=f"{side}_limit_exceed_count")
        for bits, (order, edge) in {
            0b010: ("first", "begin"), 0b011: ("first", "end"),
            0b110: ("last", "begin"), 0b111: ("last", "end"),
        }.items():
            t[0x40 | upper | bits] = Combinable(name=f"{edge}_of_{order}_{side}_limit_exceed")
        for first_last in (0, 1):
            order = ("first", "last")[first_last]
            for nn, unit in enumerate(_TIME_UNIT_NAMES):
                code = 0x50 | upper | (first_last << 2) | nn  # E101 ufnn
                t[code] = Combinable(name=f"duration_of_{order}_{side}_limit_exceed_{unit}")
    for first_last in (0, 1):
        order = ("first", "last")[first_last]
        for nn, unit in enumerate(_TIME_UNIT_NAMES):
            t[0x60 | (first_last << 2) | nn] = Combinable(name=f"duration_of_{order}_{unit}")
        for edge_bit, edge in ((0, "begin"), (1, "end")):
            t[0x6A | (first_last << 2) | edge_bit] = Combinable(name=f"{edge}_of_{order}")
    t[0x68] = Combinable(name="value_during_lower_limit_exceed")
    t[0x6C] = Combinable(name="value_during_upper_limit_exceed")
    t[0x69] = Combinable(name="leakage_values")
    t[0x6D] = Combinable(name="overflow_values")
    for nnn in range(8):  # E111 0nnn: multiplicative correction 10^(nnn-6)
        t[0x70 + nnn] = Combinable(name=f"correction_factor_1e{nnn - 6}", effect="exponent",
                                   amount=nnn - 6)
    for nn in range(4):  # E111 10nn: additive correction 10^(nn-3) in the VIF's unit
        t[0x78 + nn] = Combinable(name=f"correction_offset_1e{nn - 3}", effect="offset",
                                  amount=nn - 3)
    t[0x7D] = Combinable(name="correction_factor_1e3", effect="exponent", amount=3)
    t[0x7E] = Combinable(name="future_value")
    return t


COMBINABLE: dict[int, Combinable] = _combinable()

# Extension of combinable VIFE (after VIFE E111 1100), EN 13757-3:2018 Table 16.
COMBINABLE_EXTENSION: dict[int, Combinable] = {
    0x01: Combinable(name="phase_L1"),
    0x02: Combinable(name="phase_L2"),
    0x03: Combinable(name="phase_L3"),
    0x04: Combinable(name="neutral"),
    0x05: Combinable(name="phase_L1_L2"),
    0x06: Combinable(name="phase_L2_L3"),
    0x07: Combinable(name="phase_L3_L1"),
    0x08: Combinable(name="quadrant_Q1"),
    0x09: Combinable(name="quadrant_Q2"),
    0x0A: Combinable(name="quadrant_Q3"),
    0x0B: Combinable(name="quadrant_Q4"),
    0x0C: Combinable(name="delta_import_export"),
    0x10: Combinable(name="accumulation_abs_both_directions"),
}
