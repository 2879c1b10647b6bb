"""Transport layer, TPL (EN 13757-7:2018 7): header forms and the configuration word.

* long header (CI 0x72, 0x73, 0x6B format frame): ID(4) M(2) VER TYPE ACC STS CW(2)
* short header (CI 0x7A, 0x6A, 0x7B): ACC STS CW(2)
* no header (CI 0x78, 0x69, 0x79)

The configuration word (mode 0-5 and 7 layout, EN 13757-7 Tables 19/22): bit 15
bidirectional, 14 accessibility, 13 synchronous, 12-8 security mode, 7-4 number
of encrypted 16-byte blocks, 3-2 content, 1-0 hop count. Mode 7 adds a
configuration extension byte: bits 5-4 KDF selection, 3-0 key ID.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol

import mbus

from ._errors import LinkError

__all__ = [
    "COMPACT_CIS",
    "FORMAT_CIS",
    "HEADER_KINDS",
    "MODE_NAMES",
    "NO_APL_CIS",
    "RESERVED_MODES",
    "ConfigWord",
    "TransportLayer",
    "parse_tpl",
]

# CI -> header kind of the TPL (EN 13757-7:2018 Table 2).
HEADER_KINDS: dict[int, str] = {
    0x72: "long", 0x7A: "short", 0x78: "none",
    0x69: "none", 0x6A: "short", 0x6B: "long",  # format frames (record headers only)
    0x79: "none", 0x7B: "short",  # compact frames (data only)
    0x73: "long",  # compact frame, long header (wireless; wired 0x73 is EN 1434 fixed data)
    0x8A: "short", 0x8B: "long",  # TPL without application data (acknowledgements)
}
FORMAT_CIS = frozenset((0x69, 0x6A, 0x6B))
COMPACT_CIS = frozenset((0x79, 0x7B, 0x73))
NO_APL_CIS = frozenset((0x8A, 0x8B))

# Security modes read here with an extension byte after the configuration word (the other
# modes that have one are not supported yet, and are refused before it matters).
_EXTENDED_MODES = frozenset((7,))

# Security modes by EN 13757-7:2018 Table 19 that are defined but not decoded here: their
# telegrams are refused by name. The other modes (1, 4, 6, 14, 15: manufacturer-specific,
# "specific usage" or reserved; 16-31 reserved) are RESERVED_MODES.
MODE_NAMES: dict[int, str] = {
    2: "DES-CBC with a zero IV",
    3: "DES-CBC with an IV",
    8: "AES-128-CTR with CMAC",
    9: "AES-128-GCM",
    10: "AES-128-CCM",
    11: "reserved",
    12: "reserved",
    13: "TLS",
}
RESERVED_MODES = frozenset(range(32)) - {0, 5, 7} - set(MODE_NAMES)


class _Identity(Protocol):
    """What a short header borrows from the link layer."""

    @property
    def id(self) -> str | None: ...

    @property
    def manufacturer(self) -> str | None: ...

    @property
    def version(self) -> int | None: ...

    @property
    def device_type(self) -> int | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigWord:
    """The TPL configuration word and, for mode 7, its extension byte."""

    raw: int
    extension: int | None = None

    @property
    def mode(self) -> int:
        """Security mode (0 none, 5 AES-CBC with IV, 7 AES-CBC with KDF, ...)."""
        return (self.raw >> 8) & 0x1F

    @property
    def encrypted_blocks(self) -> int:
        """Number of encrypted 16-byte blocks."""
        return (self.raw >> 4) & 0x0F

    @property
    def bidirectional(self) -> bool:
        """Bit 15."""
        return bool(self.raw & 0x8000)

    @property
    def accessibility(self) -> bool:
        """Bit 14: the meter listens after sending."""
        return bool(self.raw & 0x4000)

    @property
    def synchronous(self) -> bool:
        """Bit 13: synchronous transmission."""
        return bool(self.raw & 0x2000)

    @property
    def content(self) -> int:
        """Bits 3-2: content of the message (0 standard data)."""
        return (self.raw >> 2) & 0x03

    @property
    def hop_count(self) -> int:
        """Bits 1-0: repeater hop count."""
        return self.raw & 0x03

    @property
    def kdf(self) -> int | None:
        """Mode 7: key derivation function (1 = OMS KDF-A)."""
        return None if self.extension is None else (self.extension >> 4) & 0x03

    @property
    def key_id(self) -> int | None:
        """Mode 7: key ID."""
        return None if self.extension is None else self.extension & 0x0F

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        key = (self.raw, self.extension)
        memo = _CONFIG_DICTS.get(key)  # a few words recur in every telegram: built once each
        if memo is None:
            memo = {
                "raw": self.raw, "mode": self.mode, "encrypted_blocks": self.encrypted_blocks,
                "bidirectional": self.bidirectional, "accessibility": self.accessibility,
                "synchronous": self.synchronous, "content": self.content,
                "hop_count": self.hop_count,
            }
            if self.extension is not None:
                memo["extension"] = self.extension
                memo["kdf"] = self.kdf
                memo["key_id"] = self.key_id
            if len(_CONFIG_DICTS) >= 4096:
                _CONFIG_DICTS.clear()
            _CONFIG_DICTS[key] = memo
        return memo.copy()


_CONFIG_DICTS: dict[tuple[int, int | None], dict[str, Any]] = {}


@dataclass(frozen=True, slots=True, init=False)
class TransportLayer:
    """A TPL: its CI, header kind, decoded header and configuration word."""

    ci: int
    kind: str
    header: mbus.Header | None = None
    config: ConfigWord | None = None

    def __init__(self, ci: int, kind: str, header: mbus.Header | None = None,
                 config: ConfigWord | None = None) -> None:
        # Written out (each slot's own setter, called positionally by parse_tpl): 4.3k
        # instead of 9k instructions per telegram (callgrind), as for wmbus.Telegram.
        _set_ci(self, ci)
        _set_kind(self, kind)
        _set_header(self, header)
        _set_config(self, config)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        out: dict[str, Any] = {"ci": self.ci, "header": self.kind}
        if self.config is not None:
            out["config"] = self.config.to_dict()
        return out


_set_ci, _set_kind, _set_header, _set_config = [TransportLayer.__dict__[item.name].__set__
                                                for item in fields(TransportLayer)]


# Configuration words repeat and are immutable: one object per value (at most 65536)
# for the words without an extension byte.
_CONFIG_WORDS: dict[int, ConfigWord] = {}


def parse_tpl(apl: bytes, pos: int, base: int = 0,
              identity: _Identity | None = None) -> tuple[TransportLayer, int]:
    """Read the TPL whose CI is at ``apl[pos]``; return it and the offset of its payload.

    ``identity`` (the link layer) fills in the meter's ID, manufacturer, version
    and device type of a short header, which has none of its own.
    """
    ci = apl[pos]
    kind = HEADER_KINDS[ci]
    start = pos + 1
    if kind == "long":
        try:
            header = mbus.Header.decode_long(apl, start)
        except mbus.RecordError as exc:
            raise LinkError(f"TPL header: {exc.message}", field="TPL", offset=base + start,
                            data=apl[start:]) from None
        start += 12
    elif kind == "short":
        if len(apl) - start < 4:
            raise LinkError(f"TPL header: short header needs 4 bytes, {len(apl) - start} left",
                            field="TPL", offset=base + start, data=apl[start:])
        signature = apl[start + 2] | apl[start + 3] << 8
        # Positional: id, manufacturer, version, medium, access number, status, signature.
        if identity is None:
            header = mbus.Header(None, None, None, None, apl[start], apl[start + 1], signature)
        else:
            header = mbus.Header(identity.id, identity.manufacturer, identity.version,
                                 identity.device_type, apl[start], apl[start + 1], signature)
        start += 4
    else:
        return TransportLayer(ci, kind), start
    word = header.signature
    assert word is not None
    config = _CONFIG_WORDS.get(word)
    if config is None:
        config = ConfigWord(raw=word)
        if config.mode in _EXTENDED_MODES:
            if start >= len(apl):
                raise LinkError(f"mode {config.mode} needs a configuration extension byte",
                                field="TPL.CFE", offset=base + start)
            config = ConfigWord(raw=word, extension=apl[start])
            start += 1
        else:
            _CONFIG_WORDS[word] = config
    return TransportLayer(ci, kind, header, config), start
