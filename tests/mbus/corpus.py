"""Access to the shared corpus of other implementations' test data (never copied here)."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

# ../shared/corpus beside the repository; METERKIT_CORPUS names another place (a worktree).
CORPUS = Path(os.environ.get("METERKIT_CORPUS")
              or Path(__file__).resolve().parents[2].parent / "shared" / "corpus")
LIBMBUS = CORPUS / "libmbus"
WMBUS = CORPUS / "wmbus"


def require(path: Path) -> Path:
    """Skip the calling test, with a message, when a corpus folder is absent."""
    if not path.exists():
        pytest.skip(f"corpus folder {path} is absent: conformance tests need ../shared/corpus")
    return path


def hex_bytes(path: Path) -> bytes:
    """The bytes of a libmbus .hex file (hex pairs, any whitespace)."""
    return bytes.fromhex(re.sub(r"\s+", "", path.read_text(encoding="utf-8")))


def libmbus_files(folder: str) -> list[Path]:
    """The .hex files of one libmbus corpus folder (empty when the corpus is absent)."""
    base = LIBMBUS / folder
    return sorted(base.glob("*.hex")) if base.exists() else []


def read_xml(path: Path) -> ET.Element:
    """Parse a libmbus XML file; it is UTF-8 whatever its declaration says."""
    text = path.read_bytes().decode("utf-8")
    return ET.fromstring(re.sub(r"<\?xml[^>]*\?>", "", text, count=1))


def wmbus_lines() -> list[dict[str, Any]]:
    """The lines of wmbus/dev.jsonl (empty when the corpus is absent)."""
    path = WMBUS / "dev.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def wmbus_line(name: str) -> dict[str, Any]:
    """The wmbus/dev.jsonl line named ``name``; skips, with a message, when the corpus is absent."""
    require(WMBUS)
    for line in wmbus_lines():
        if line.get("name") == name:
            return line
    raise AssertionError(f"no line named {name!r} in {WMBUS / 'dev.jsonl'}")
