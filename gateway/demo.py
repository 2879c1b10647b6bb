"""``make demo``: a few simulated meters, their telegrams built with the encoder and decoded again.

Later the demo grows into a whole simulated site (segment, radio meters, exporters); for now
it shows the codec end to end: objects -> RSP_UD bytes -> decoded table and JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal

import mbus
from mbus._cli import print_table


def simulated_meters(now: dt.datetime) -> list[mbus.Telegram]:
    """RSP_UD telegrams of a heat meter, a water meter and an electricity meter."""
    heat = mbus.build_telegram(
        address=1,
        header=mbus.Header(id="12345678", manufacturer="KAM", version=8, medium=0x04,
                           access_number=5, status=0, signature=0),
        records=[
            mbus.build_record(0x78, 12345678, coding="bcd8"),  # fabrication number
            mbus.build_record(0x06, 37351000, coding="int32"),  # energy, kWh resolution
            mbus.build_record(0x14, Decimal("561.08"), coding="int32"),  # volume, 0.01 m3
            mbus.build_record(0x5B, 71, coding="int8"),  # flow temperature, degC
            mbus.build_record(0x5F, 42, coding="int8"),  # return temperature, degC
            mbus.build_record(0x2B, 12500, coding="int24"),  # power, W
            mbus.build_record(0x3B, Decimal("0.543"), coding="int16"),  # flow, 0.001 m3/h
            mbus.build_record(0x6D, now.replace(second=0, microsecond=0), coding="int32"),
            mbus.build_record(0x06, 36000000, coding="int32", storage=1),  # due-date value
            mbus.build_record(0x6C, dt.date(now.year, 1, 1), coding="int16", storage=1),
        ],
    )
    water = mbus.build_telegram(
        address=2,
        header=mbus.Header(id="00112233", manufacturer="SEN", version=0x68, medium=0x07,
                           access_number=17, status=0, signature=0),
        records=[
            mbus.build_record(0x13, Decimal("1234.567"), coding="bcd8"),  # volume, litres
            mbus.build_record(0x13, Decimal("1200.000"), coding="bcd8", storage=1),
            mbus.build_record(0x6C, dt.date(now.year, 1, 1), coding="int16", storage=1),
            mbus.build_record(b"\xfd\x17", 0, coding="int8"),  # error flags
        ],
    )
    electricity = mbus.build_telegram(
        address=3,
        header=mbus.Header(id="87654321", manufacturer="ABB", version=0x20, medium=0x02,
                           access_number=99, status=0, signature=0),
        records=[
            mbus.build_record(0x04, 1523456780, coding="bcd12"),  # energy in Wh, 10 Wh steps
            mbus.build_record(0x04, 800000000, coding="bcd12", tariff=1),
            mbus.build_record(0x04, 723456780, coding="bcd12", tariff=2),
            mbus.build_record(0x2B, 2300, coding="int32"),  # power, W
            mbus.build_record(b"\xfd\x48", Decimal("230.1"), coding="int16"),  # voltage, 0.1 V
            mbus.build_record(b"\xfd\x59", Decimal("10.00"), coding="int16"),  # current, 0.01 A
        ],
    )
    return [heat, water, electricity]


def main() -> int:
    """Build, encode, decode and print the simulated meters."""
    now = dt.datetime(2026, 11, 24, 12, 0)
    for telegram in simulated_meters(now):
        wire = telegram.encode()
        decoded = mbus.decode(wire)
        print(f"# meter at primary address {decoded.frame.to_dict()['a']}: "
              f"{len(wire)} bytes on the wire")
        print("  " + wire.hex(" "))
        print_table(decoded, sys.stdout)
        print(json.dumps(decoded.to_dict()))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
