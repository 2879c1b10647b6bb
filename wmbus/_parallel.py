"""Many telegrams decoded in a process pool, exactly as one :class:`Decoder` decodes them.

``wmbus decode --jobs N`` and :func:`decode_many` cut the input into chunks that
worker processes decode, and give the results in input order. One thing makes
wireless M-Bus input order-dependent: a compact frame decodes only with the
format its meter's full frame (or a format frame) taught the decoder earlier.
So each worker records what its decoder learned (full frames, format frames)
and every format lookup it made, with the answer it got; the parent replays
these, line by line in input order, on one :class:`SignatureCache` that thus
goes through exactly the states of the serial run. Where a lookup's answer
differs from the serial one (a compact frame whose full frame was in another
chunk, or the reverse), the parent decodes that line again itself. A frame
therefore decodes in parallel exactly when it decodes serially, with the same
result, and the cache (``--signatures``) ends as the serial run leaves it.
Workers are seeded with the formats learned so far, so re-decoding stays rare.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mbus
import mbus.records
from mbus._parallel import map_chunks
from mbus.records import ProfilesOption

from ._compact import SignatureCache
from ._decoder import Decoder, Telegram
from ._dongles import clean_hex
from ._errors import WMBusError
from ._keys import KeyStore

__all__ = ["DecodedTelegram", "decode_many", "decode_rendered", "render_json", "render_text"]

DECODE_ERRORS = (ValueError, WMBusError, mbus.MBusError)
"""What a line's decode may raise: a line that is not hex, or a telegram that does not decode."""

# What a worker's decoder did to its format cache, per line:
# ("learn", shapes, source) | ("add", headers, signature) | ("shape", signature, answer).
_Event = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class DecodedTelegram:
    """One input line's result: the telegram, or the error (``ValueError`` for text that
    is not hex, else a ``wmbus``/``mbus`` error), with the line's number and text."""

    line: int
    text: str
    telegram: Telegram | None = None
    error: Exception | None = None


class _RecordingCache(SignatureCache):
    """A SignatureCache that notes what is done to it, for the parent to replay."""

    events: list[_Event] | None = None

    def learn(self, records: Sequence[tuple[mbus.records.RecordShape, bytes]],
              source: bytes = b"") -> None:
        super().learn(records, source)
        if self.events is not None:
            self.events.append(("learn", tuple(shape for shape, _ in records), source))

    def add(self, headers: Sequence[bytes], *, signature: int | None = None) -> int:
        computed = super().add(headers, signature=signature)
        if self.events is not None:
            self.events.append(("add", tuple(headers), signature))
        return computed

    def shape(self, signature: int) -> tuple[tuple[bytes, int | None], ...] | None:
        found = super().shape(signature)
        if self.events is not None:
            self.events.append(("shape", signature, found))
        return found


@dataclass(frozen=True, slots=True)
class _Config:
    """What every worker needs (sent once per process)."""

    keys: KeyStore
    key: bytes | None
    already_decrypted: bool
    render: Callable[[DecodedTelegram], Any] | None
    received: dt.date | None = None
    profiles: ProfilesOption = True


_config: _Config | None = None


def _start_worker(config: _Config) -> None:
    global _config
    _config = config


def _decode_line(decoder: Decoder, number: int, text: str, config: _Config) -> DecodedTelegram:
    try:
        return DecodedTelegram(number, text, telegram=decoder.decode(
            clean_hex(text), config.key, received=config.received))
    except DECODE_ERRORS as exc:
        return DecodedTelegram(number, text, error=exc)


def _output(config: _Config, result: DecodedTelegram) -> Any:
    return result if config.render is None else config.render(result)


def _decode_chunk(chunk: list[tuple[int, str]], seed: Mapping[int | str, Sequence[bytes | str]]
                  ) -> list[tuple[int, str, Any, tuple[_Event, ...]]]:
    config = _config
    assert config is not None, "worker started without its configuration"
    cache = _RecordingCache(seed)
    decoder = Decoder(config.keys, signatures=cache, already_decrypted=config.already_decrypted,
                      profiles=config.profiles)
    out = []
    for number, text in chunk:
        events: list[_Event] = []
        cache.events = events
        result = _decode_line(decoder, number, text, config)
        out.append((number, text, _output(config, result), tuple(events)))
    return out


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        if stripped:
            yield number, stripped


def _run(lines: Iterable[str], config: _Config, signatures: SignatureCache, jobs: int,
         chunk_size: int) -> Iterator[Any]:
    """The outputs of every non-blank line, in order (see the module docstring)."""
    decoder = Decoder(config.keys, signatures=signatures,
                      already_decrypted=config.already_decrypted, profiles=config.profiles)
    numbered = _numbered(lines)
    if jobs == 1:
        for number, text in numbered:
            yield _output(config, _decode_line(decoder, number, text, config))
        return
    hints = SignatureCache(_seed(signatures))
    for outcomes in map_chunks(_decode_chunk, numbered, jobs=jobs, chunk_size=chunk_size,
                               initializer=_start_worker, initargs=(config,),
                               before_submit=lambda: (_seed(hints),)):
        for number, text, output, events in outcomes:
            if _replay(events, signatures, hints):
                yield output
            else:
                yield _output(config, _decode_line(decoder, number, text, config))


def _seed(cache: SignatureCache) -> dict[int | str, Sequence[bytes | str]]:
    """The learned formats of ``cache``, as a SignatureCache takes them to start from."""
    return {signature: headers for signature, headers in cache.to_dict().items()}


def _replay(events: tuple[_Event, ...], cache: SignatureCache, hints: SignatureCache) -> bool:
    """Apply a line's events to the serial cache; False when a lookup would differ."""
    for event in events:
        if event[0] == "learn":
            records = [(shape, b"") for shape in event[1]]
            cache.learn(records, event[2])
            hints.learn(records, event[2])
        elif event[0] == "add":
            cache.add(event[1], signature=event[2])
            hints.add(event[1], signature=event[2])
        elif cache.shape(event[1]) != event[2]:
            return False  # the serial decoder would have seen another format here
    return True


def decode_many(
    lines: Iterable[str],
    *,
    jobs: int = 1,
    keys: KeyStore | Mapping[str, bytes | str] | str | os.PathLike[str] | None = None,
    key: bytes | None = None,
    signatures: SignatureCache | None = None,
    already_decrypted: bool = False,
    received: dt.date | None = None,
    profiles: ProfilesOption = True,
    chunk_size: int = 1000,
) -> Iterator[DecodedTelegram]:
    """Decode lines of hex with one :class:`Decoder`'s results, in ``jobs`` processes.

    Blank lines are skipped; every other line gives one :class:`DecodedTelegram`
    (numbered by its position in ``lines``), in input order, exactly as
    ``jobs=1`` (one decoder, no processes) gives it, compact frames included
    (see the module docstring). ``signatures`` is updated as the serial
    decoder would update it. ``received`` is the day the telegrams were received
    (security mode 3 needs it, see :meth:`Decoder.decode`). Memory is bounded by
    ``chunk_size`` lines per job. ``profiles`` names each telegram's values as
    :class:`Decoder` does.

    >>> import wmbus
    >>> [(d.line, d.telegram.id if d.telegram else type(d.error).__name__)
    ...  for d in wmbus.decode_many(["2E4493157856341233037A2A0000002F2F0C1427048502046D"
    ...                              "32371F1502FD1700002F2F2F2F2F2F2F2F2F2F2F2F2F", "",
    ...                              "2E44zz"])]
    [(1, '12345678'), (3, 'ValueError')]
    """
    config = _Config(KeyStore.coerce(keys), key, already_decrypted, None, received, profiles)
    return _run(lines, config, signatures if signatures is not None else SignatureCache(),
                jobs, chunk_size)


Rendered = tuple[str, str, bool]
"""What the command prints for a line: (stdout text, stderr text, whether it failed)."""


def render_json(result: DecodedTelegram) -> Rendered:
    """What ``wmbus decode --json`` prints for a line."""
    if result.telegram is not None:
        return json.dumps(result.telegram.to_dict()) + "\n", "", False
    error = result.error
    return json.dumps({"error": str(error), "error_type": type(error).__name__,
                       "input": result.text}) + "\n", "", True


def render_text(result: DecodedTelegram) -> Rendered:
    """What ``wmbus decode`` prints for a line."""
    from ._cli import _summary

    if result.telegram is not None:
        return _summary(result.telegram) + "\n", "", False
    return "", f"wmbus: {result.text[:40]}: {result.error}\n", True


def decode_rendered(lines: Iterable[str], render: Callable[[DecodedTelegram], Rendered], *,
                    jobs: int, keys: KeyStore, key: bytes | None, signatures: SignatureCache,
                    already_decrypted: bool, received: dt.date | None = None,
                    profiles: ProfilesOption = True, chunk_size: int = 1000
                    ) -> Iterator[Rendered]:
    """As :func:`decode_many`, each result passed through ``render`` (in the workers)."""
    config = _Config(keys, key, already_decrypted, render, received, profiles)
    return _run(lines, config, signatures, jobs, chunk_size)
