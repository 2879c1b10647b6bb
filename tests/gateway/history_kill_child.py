"""Child of the history kill test: appends numbered batches and says which committed.

``python -m tests.gateway.history_kill_child FILE FIRST`` appends batch FIRST-1 again
(a re-send after a crash must not duplicate), then batches FIRST, FIRST+1, ... for ever;
after each append returns it prints ``committed N``.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal

from gateway.history import AuditEntry, PointReading, SQLiteHistory

from .history_support import T0

POINTS = 25


def batch(number: int) -> list[PointReading]:
    """Batch ``number``: one reading of each point at T0 + number minutes."""
    time = T0 + timedelta(minutes=number)
    return [PointReading(f"site/meter{i}/kwh", time, Decimal(number) + Decimal(i) / 1000,
                         "kWh", "energy") for i in range(POINTS)]


def main() -> None:
    path, first = sys.argv[1], int(sys.argv[2])
    with SQLiteHistory(path) as history:
        if first > 0:
            history.append(batch(first - 1))
        number = first
        while True:
            history.append(batch(number))
            if number % 10 == 0:
                history.append_audit(AuditEntry.delivery(T0, what=f"batch {number}",
                                                          where="test", result="ok"))
            print(f"committed {number}", flush=True)
            number += 1


if __name__ == "__main__":
    main()
