"""The simulated site of ``make demo``, end to end on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import exporters
from gateway.site import run_site


def test_site_runs_every_library_end_to_end(tmp_path: Path) -> None:
    report = run_site(tmp_path, meters=6, seed=3)
    # Wired: every simulated meter is found by the secondary scan and read.
    assert report.wired_found == 6 and len(report.wired_documents) == 6
    # Wireless: the two meters with their keys decode, the one with a wrong key is refused.
    assert sorted(d["header"]["id"] for d in report.wireless_documents) == ["12345678",
                                                                           "87654321"]
    assert len(report.wireless_refused) == 1 and "wrong key" in report.wireless_refused[0]
    # S0: 2000 bouncing pulses at 1000 imp/kWh, one every 1.8 s = 2 kW.
    assert report.s0_reading["pulses"] == 2000 and report.s0_reading["rejected"] == 0
    assert report.s0_reading["total"] == "2.000"
    # Alarms: the 96.4 degC flow temperature raises after its 60 s delay; water goes stale.
    raised = {(n["alarm_id"], n["event_time"]) for n in report.notifications
              if n["event"] == "raised"}
    assert raised == {("HEAT-FT-HI", 60.0), ("WATER-STALE", 900.0)}
    # Export: CSV and XML hold every reading, and the XML reads back.
    assert report.csv_path is not None and report.xml_path is not None and report.xml_validated
    with report.xml_path.open("rb") as handle:
        items = list(exporters.read_xml(handle))
    assert sum(isinstance(item, exporters.Reading) for item in items) == report.readings
    assert len(items) == report.readings + len(report.notifications)  # alarms in the same file
    with report.csv_path.open(encoding="utf-8", newline="") as text:
        assert len(list(exporters.read_csv(text))) == report.readings
