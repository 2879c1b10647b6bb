"""Conformance against ../shared/corpus/wmbus/dev.jsonl (wmbusmeters, OMS/CEN, jmbus vectors).

The corpus is read where it lies (never copied). Lines that cannot decode are
listed below with the reason, keyed by the SHA-1 of their telegram.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import mbus
import wmbus

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "wmbus" / "dev.jsonl"

# sha1(telegram hex)[:12] -> why it does not decode (each checked by test_exclusions_still_fail).
EXCLUDED: dict[str, tuple[type[Exception], str]] = {
    "a550c5194c83": (wmbus.UnknownSignatureError, "compact frame (kamheat 30 0c): no full "
                     "frame with signature 0x52c2 anywhere in the corpus; wmbusmeters has "
                     "built-in Kamstrup formats"),
    "6e63d3a462fe": (wmbus.UnknownSignatureError, "compact frame (Pressing): signature "
                     "0x73de never sent in full in the corpus"),
    "2bbfa9c0d599": (wmbus.UnknownSignatureError, "compact frame (Vadden): signature 0xc412 "
                     "never sent in full in the corpus"),
    "63767c7e5b80": (wmbus.UnknownSignatureError, "compact frame (Votten): signature 0x0905 "
                     "never sent in full in the corpus"),
    "18c2f99281a5": (wmbus.UnsupportedError, "TPL security mode 16 (rfmtx1): not supported "
                     "yet"),
    "6938cbe60fa2": (wmbus.UnsupportedError, "CI 0x81 (network layer) before the TPL: not "
                     "supported yet"),
    "a23401191649": (wmbus.CRCError, "simulated compact frame (MyTapWater): its flow "
                     "temperature was edited (0x32) but its full-frame CRC is still that of "
                     "the full frame with 0x7f"),
    "2a081164f473": (wmbus.KeyMissingError, "mode 7 ciphertext published without its key"),
    "2a694a53b27b": (wmbus.DecodeError, "L field (77) one byte short of the 4 encrypted "
                     "blocks its configuration word announces (jmbus testMessage2)"),
}


def _lines() -> list[dict[str, Any]]:
    if not CORPUS.exists():
        pytest.skip(f"conformance corpus not found at {CORPUS} (../shared/corpus is absent)")
    with CORPUS.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _key(line: dict[str, Any]) -> bytes | None:
    key = line.get("key", "NOKEY")
    return None if key == "NOKEY" else bytes.fromhex(key)


def _digest(line: dict[str, Any]) -> str:
    return hashlib.sha1(line["telegram"].encode()).hexdigest()[:12]


def _learned(lines: list[dict[str, Any]]) -> wmbus.SignatureCache:
    """Format signatures from every full frame of the corpus, as a long-running receiver learns."""
    decoder = wmbus.Decoder()
    for line in lines:
        for text in [*line.get("prior_telegrams", []), line["telegram"]]:
            with contextlib.suppress(wmbus.WMBusError, mbus.MBusError):
                decoder.decode(bytes.fromhex(text), _key(line))
    return decoder.signatures


def _decode(line: dict[str, Any], cache: wmbus.SignatureCache) -> wmbus.Telegram:
    decoder = wmbus.Decoder(signatures=cache)
    for text in line.get("prior_telegrams", []):
        decoder.decode(bytes.fromhex(text), _key(line))
    return decoder.decode(bytes.fromhex(line["telegram"]), _key(line))


@pytest.fixture(scope="module")
def corpus() -> tuple[list[dict[str, Any]], wmbus.SignatureCache]:
    lines = _lines()
    return lines, _learned(lines)


def test_every_line_decodes(corpus: tuple[list[dict[str, Any]], wmbus.SignatureCache]) -> None:
    lines, cache = corpus
    failures = []
    for number, line in enumerate(lines, 1):
        if _digest(line) in EXCLUDED:
            continue
        try:
            telegram = _decode(line, cache)
        except (wmbus.WMBusError, mbus.MBusError) as exc:
            failures.append(f"line {number} ({line.get('name')}, {_digest(line)}): {exc}")
            continue
        json.dumps(telegram.to_dict())  # every decoded object serialises
    assert not failures, "\n".join(failures)


def test_exclusions_still_fail(corpus: tuple[list[dict[str, Any]], wmbus.SignatureCache]) -> None:
    lines, cache = corpus
    seen = set()
    for line in lines:
        digest = _digest(line)
        if digest in EXCLUDED:
            seen.add(digest)
            with pytest.raises(EXCLUDED[digest][0]):
                _decode(line, cache)
    assert seen == set(EXCLUDED)


def test_every_line_with_a_key_decrypts(
        corpus: tuple[list[dict[str, Any]], wmbus.SignatureCache]) -> None:
    lines, cache = corpus
    decrypted = 0
    for line in lines:
        key = _key(line)
        if key is None or _digest(line) in EXCLUDED:
            continue
        telegram = _decode(line, cache)
        security = telegram.security
        if security.mode or security.ell_encryption:
            assert security.decrypted_by in ("key", "input"), line.get("name")
        if security.decrypted_by == "key":
            decrypted += 1
            wrong = bytes((key[0] ^ 0x01,)) + key[1:]
            with pytest.raises(wmbus.SecurityError):
                wmbus.Decoder(signatures=cache).decode(bytes.fromhex(line["telegram"]), wrong)
    assert decrypted >= 25


def _by_name(lines: list[dict[str, Any]], fragment: str) -> dict[str, Any]:
    return next(line for line in lines if fragment in (line.get("name") or ""))


def test_published_examples(corpus: tuple[list[dict[str, Any]], wmbus.SignatureCache]) -> None:
    lines, cache = corpus
    n21 = _decode(_by_name(lines, "N.2.1. wM-Bus Meter with Security profile A"), cache)
    assert [r.to_dict()["value"] for r in n21.records[:2]] == [28504.27, "2008-05-31T23:50:00"]
    assert n21.records[0].unit == "m3"
    f3 = _decode(_by_name(lines, "parse F.3 Security mode 7 example"), cache)
    assert f3.security.mac_ok is True
    assert f3.header is not None
    assert (f3.header.manufacturer, f3.header.id, f3.header.version) == ("ELS", "12345678", 51)
    assert (f3.link.manufacturer, f3.link.id) == ("RAD", "11223344")
    assert f3.ell is not None and (f3.ell.receiver_manufacturer, f3.ell.receiver_id) == (
        "XYZ", "33445566")
    n54 = _decode(_by_name(lines, "N.5.4 M-Bus Example with partial encryption"), cache)
    assert len(n54.records) == 5
    f2 = _decode(_by_name(lines, "Table F.2 from CEN/TR 17167:2018 but without"), cache)
    assert f2.security.decrypted_by == "key"
    negative = _decode(_by_name(lines, "testDecodeNegativeTemperature6BCD"), cache)
    # jmbus: assertEquals(-4.1, lastValue, 0.1)
    assert abs(float(str(negative.records[-1].value)) - -4.1) <= 0.1
    jmbus_ell = next(line for line in lines if "DecryptionTest" in line["source"])
    assert _decode(jmbus_ell, cache).records[1].value == Decimal("474.24")  # jmbus assert


_FACTORS = (1, 1e3, 1e-3, 1e6, 1e-6, 1e9, 1e-9, 3600, 1 / 3600, 3.6e6, 1 / 3.6e6, 60, 1 / 60,
            86400, 1 / 86400, 1e2, 1e-2)


def _numbers(expected: dict[str, Any]) -> list[float]:
    return [float(v) for k, v in expected.items() if isinstance(v, (int, float))
            and not isinstance(v, bool) and v != 0 and k not in ("id",)]


def _found(target: float, values: list[float]) -> bool:
    return any(math.isclose(value * factor, target, rel_tol=1e-4, abs_tol=5e-4)
               for value in values for factor in _FACTORS)


def test_recall_of_expected_values(corpus: tuple[list[dict[str, Any]], wmbus.SignatureCache],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    lines, cache = corpus
    total = found = 0
    for line in lines:
        expected = line.get("expected")
        if not expected or _digest(line) in EXCLUDED:
            continue
        telegram = _decode(line, cache)
        values = [float(r.value) for r in telegram.records
                  if isinstance(r.value, (int, float, Decimal)) and not isinstance(r.value, bool)]
        for target in _numbers(expected):
            total += 1
            found += _found(target, values)
    recall = found / total
    with capsys.disabled():
        print(f"\nwmbus conformance: {found} of {total} non-zero expected numbers found among "
              f"decoded record values (recall {recall:.1%})")
    assert recall >= 0.70
