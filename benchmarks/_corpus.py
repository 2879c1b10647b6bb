"""The wireless dev corpus as the benchmarks read it: (telegram bytes, key or None) pairs."""

from __future__ import annotations

import json
from typing import Any

from benchmarks._fresh import CORPUS

__all__ = ["WMBUS_DEV", "load_wmbus_dev"]

WMBUS_DEV = CORPUS / "wmbus" / "dev.jsonl"


def load_wmbus_dev() -> list[tuple[bytes, bytes | None]]:
    """Every line of ``wmbus/dev.jsonl``: the telegram and its key (None for ``NOKEY``)."""
    out = []
    with WMBUS_DEV.open(encoding="utf-8") as handle:
        for line in handle:
            item: dict[str, Any] = json.loads(line)
            key = item.get("key", "NOKEY")
            out.append((bytes.fromhex(item["telegram"]),
                        None if key == "NOKEY" else bytes.fromhex(key)))
    return out
