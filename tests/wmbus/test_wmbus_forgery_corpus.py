"""Forged plaintext built from every encrypted telegram of the dev corpus is refused.

For each line whose configuration word or ELL says encrypted, the variant with
its payload in clear is made (security bits and MAC left as they were): the
lines stored decrypted already are such a variant; for real ciphertext the
payload is replaced by its plaintext. With a key known for the meter (the
line's key, or any key for lines published without one: the decoder cannot
tell) every variant must be refused, and the already-decrypted mode must read
every one of them. Mode 5 and ELL lines also give a downgrade variant: the same
plaintext with the security bits cleared (mode 0, no ELL encryption), refused
too. ``pytest -s`` prints the figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import wmbus

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "wmbus" / "dev.jsonl"
SOME_KEY = bytes(range(0x40, 0x50))  # "a key is known" for lines published without one


def _key(line: dict[str, Any]) -> bytes | None:
    key = line.get("key", "NOKEY")
    return None if key == "NOKEY" else bytes.fromhex(key)


def _crc_less(frame: bytes) -> bytes | None:
    """The frame as L C M A + application bytes (link CRCs and trailing bytes dropped)."""
    link, apl = wmbus.parse_link(frame)
    if link.format == "wired":
        return None
    body = bytes((link.c,)) + link.raw_address + apl
    return bytes((len(body),)) + body


def _plaintext_variant(frame: bytes, telegram: wmbus.Telegram) -> bytes | None:
    """``frame`` (decrypted by the key) with its ciphertext replaced by the plaintext."""
    security = telegram.security
    plain = telegram.payload
    if security.ell_encryption is not None:
        # The ELL encrypts from its payload CRC on: CRC | TPL CI | TPL header | payload.
        ell = telegram.ell
        tpl = telegram.tpl
        if ell is None or ell.payload_crc is None or tpl is None or tpl.kind != "none":
            return None  # not needed for the corpus: its ELL lines carry CI 0x78/0x79
        plain = ell.payload_crc.to_bytes(2, "little") + bytes((tpl.ci,)) + plain
    return frame[:len(frame) - len(plain)] + plain


def _downgraded(variant: bytes, telegram: wmbus.Telegram) -> bytes | None:
    """The plaintext ``variant`` of a mode 5 or ELL telegram with its security bits cleared."""
    out = bytearray(variant)
    ell = telegram.ell
    if telegram.security.ell_encryption is not None and ell is not None:
        sn_at = 10 + 1 + (10 if ell.ci == 0x8F else 2)  # L C M A | CI | CC ACC [M2 A2]
        out[sn_at + 3] &= 0x1F  # SN bits 29-31: no encryption
    if telegram.security.mode == 5:
        cw_at = len(out) - len(telegram.payload) - 2  # every TPL header ends with its CW
        out[cw_at + 1] &= ~0x1F & 0xFF  # mode bits 8-12
        out[cw_at] &= 0x0F  # encrypted blocks, bits 4-7
    elif telegram.security.mode:
        return None  # mode 7 would also need its AFL and CFE byte removed
    return bytes(out)


def _variants() -> list[tuple[dict[str, Any], bytes, str, wmbus.SignatureCache]]:
    if not CORPUS.exists():
        pytest.skip(f"conformance corpus not found at {CORPUS} (../shared/corpus is absent)")
    with CORPUS.open(encoding="utf-8") as handle:
        lines = [json.loads(text) for text in handle if text.strip()]
    signatures = wmbus.SignatureCache()
    out = []
    for line in lines:
        decoder = wmbus.Decoder(signatures=signatures, already_decrypted=True)
        try:
            for text in line.get("prior_telegrams", []):
                decoder.decode(bytes.fromhex(text), _key(line))
            frame = _crc_less(bytes.fromhex(line["telegram"]))
            if frame is None:
                continue
            telegram = decoder.decode(frame, _key(line))
        except wmbus.WMBusError:
            continue  # the lines that do not decode at all (see the conformance test)
        security = telegram.security
        if security.scrambling is not None:
            continue  # Diehl PRIOS: manufacturer scrambling, no clear form of it exists
        variant: bytes | None = None
        if security.decrypted_by == "input":
            variant = frame
            out.append((line, frame, "stored decrypted", signatures))
        elif security.decrypted_by == "key":
            variant = _plaintext_variant(frame, telegram)
            assert variant is not None, line.get("name")
            out.append((line, variant, "ciphertext replaced", signatures))
        downgraded = None if variant is None else _downgraded(variant, telegram)
        if downgraded is not None and telegram.records:
            out.append((line, downgraded, "security bits cleared", signatures))
    return out


def test_forged_plaintext_variants_are_refused() -> None:
    variants = _variants()
    refused: dict[str, int] = {}
    accepted = []
    for line, frame, kind, signatures in variants:
        key = _key(line) or SOME_KEY
        try:
            wmbus.Decoder(signatures=signatures).decode(frame, key)
        except wmbus.AuthenticationError as exc:
            refused[type(exc).__name__] = refused.get(type(exc).__name__, 0) + 1
        except wmbus.SecurityError as exc:  # a wrong key: refused too, never records
            refused[type(exc).__name__] = refused.get(type(exc).__name__, 0) + 1
        else:
            accepted.append(f"{line.get('name')} ({kind})")
        # The explicit mode for captures decrypted earlier reads each of them.
        telegram = wmbus.Decoder(signatures=signatures, already_decrypted=True).decode(frame, key)
        assert not telegram.security.verified
        if kind == "security bits cleared":
            assert telegram.security.decrypted_by is None and telegram.security.mode == 0
        else:
            assert telegram.security.decrypted_by == "input"
    kinds = {kind: sum(1 for *_, k, _ in variants if k == kind)
             for kind in ("stored decrypted", "ciphertext replaced", "security bits cleared")}
    print(f"\nforged plaintext variants of the dev corpus: {len(variants)} ({kinds}); "
          f"refused with a key known: {sum(refused.values())} {refused}; "
          f"accepted: {len(accepted)}")
    assert len(variants) >= 230 and kinds["ciphertext replaced"] >= 25
    assert not accepted, accepted
