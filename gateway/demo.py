"""``make demo``: the main job of a metering gateway on built-in simulated meters.

Runs :func:`gateway.site.run_site` (wired segment over TCP on 127.0.0.1, radio
telegrams, an S0 input, alarms, CSV and XML export) and prints what happened.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .site import run_site


def main(argv: list[str] | None = None) -> int:
    """Run the simulated site and print its report."""
    parser = argparse.ArgumentParser(prog="meterkit-demo", description=__doc__)
    parser.add_argument("--out", default="demo-output", help="folder for the exported files")
    parser.add_argument("--meters", type=int, default=12, help="wired meters on the segment")
    args = parser.parse_args(argv)
    report = run_site(Path(args.out), meters=args.meters)

    print(f"wired M-Bus: {report.wired_found} meters found by secondary scan "
          f"({report.wired_requests} selections), {len(report.wired_documents)} read")
    for document in report.wired_documents[:3]:
        header = document["header"]
        first = document["records"][0] if document["records"] else {}
        print(f"  {header['id']} {header['manufacturer']} {header['medium']:<12} "
              f"{first.get('quantity')} = {first.get('value')} {first.get('unit')}")
    print(f"wireless M-Bus: {len(report.wireless_documents)} telegrams decrypted and decoded")
    for document in report.wireless_documents:
        values = ", ".join(f"{r['quantity']}={r['value']} {r['unit']}".rstrip()
                           for r in document["records"][:3])
        security = document.get("security", {})
        print(f"  {document['header']['id']} mode {security.get('mode')}: {values}")
    for message in report.wireless_refused:
        print(f"  refused: {message}")
    s0_reading = report.s0_reading
    print(f"S0 input: {s0_reading['pulses']} pulses, {s0_reading['rejected']} rejected, "
          f"total {s0_reading['total']} {s0_reading['unit']}, power {s0_reading['power']:.3f} kW")
    print(f"alarms: {len(report.notifications)} notifications")
    for notification in report.notifications:
        print(f"  t={notification['event_time']:>7} s  {notification['event']:<8} "
              f"{notification['alarm_id']:<12} {notification['perceived_severity']:<8} "
              f"{notification['additional_text']}")
    checked = ("XML valid against the XSD" if report.xml_validated
               else "XML not checked against the XSD: pip install 'meterkit[xml]'")
    print(f"export: {report.readings} readings -> {report.csv_path} and {report.xml_path} "
          f"({checked})")
    print("first wired telegram as JSON:")
    print(json.dumps(report.wired_documents[0]) if report.wired_documents else "{}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
