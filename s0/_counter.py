"""Many S0 channels behind one object: feed by channel name, advance all, save all."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from fractions import Fraction

from ._channel import Channel
from ._config import ChannelConfig, to_ns
from ._errors import EdgeError, StateError, UnknownChannelError
from ._events import Event, PulseCounted, PulseRejected, S0Reading
from ._parsing import brief

__all__ = ["COUNTER_STATE_FORMAT", "S0Counter"]

COUNTER_STATE_FORMAT = "meterkit.s0.counter"
_VERSION = 1

Seconds = float | int | Decimal | Fraction


def _event_time(event: Event) -> float:
    if isinstance(event, (PulseCounted, PulseRejected)):
        return event.end
    return event.time


class S0Counter:
    """Any number of named :class:`Channel` objects, each with its own configuration.

    >>> from s0 import ChannelConfig, S0Counter
    >>> counter = S0Counter({"grid": ChannelConfig(imp_per_unit=1000),
    ...                      "gas": ChannelConfig(imp_per_unit=100, unit="m3")})
    >>> [event.total for event in counter.feed_pulse("gas", 10)]
    [Decimal('0.01')]
    >>> sorted(counter)
    ['gas', 'grid']
    """

    def __init__(self, channels: Mapping[str, ChannelConfig] | None = None) -> None:
        self._channels: dict[str, Channel] = {}
        for name, config in (channels or {}).items():
            self.add_channel(name, config)

    def add_channel(self, name: str, config: ChannelConfig) -> Channel:
        """Add a channel; its name must be new (``UnknownChannelError`` otherwise)."""
        if not isinstance(name, str) or not name:
            raise UnknownChannelError(f"{brief(name)} is not a channel name", field="channel")
        if name in self._channels:
            raise UnknownChannelError(f"{brief(name)} exists already", field="channel")
        channel = Channel(config, name=name)
        self._channels[name] = channel
        return channel

    def reconfigure(self, name: str, config: ChannelConfig) -> Channel:
        """Run the named channel with a new configuration (a new offset after a meter
        exchange, other thresholds), keeping its counts and its input state."""
        channel = Channel.restore(self[name].save(), config=config)
        self._channels[name] = channel
        return channel

    def remove_channel(self, name: str) -> Channel:
        """Remove a channel and return it (with its counts)."""
        channel = self[name]
        del self._channels[name]
        return channel

    def __getitem__(self, name: str) -> Channel:
        try:
            return self._channels[name]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self._channels)) or "none"
            raise UnknownChannelError(
                f"{brief(name)} is not a channel (known: {known})", field="channel"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._channels

    def __iter__(self) -> Iterator[str]:
        return iter(self._channels)

    def __len__(self) -> int:
        return len(self._channels)

    def feed_edge(self, channel: str, time: Seconds, level: int) -> list[Event]:
        """:meth:`Channel.feed_edge` on the named channel."""
        return self[channel].feed_edge(time, level)

    def feed_edge_ns(self, channel: str, time_ns: int, level: int) -> list[Event]:
        """:meth:`Channel.feed_edge_ns` on the named channel."""
        return self[channel].feed_edge_ns(time_ns, level)

    def feed_pulse(self, channel: str, time: Seconds) -> list[Event]:
        """:meth:`Channel.feed_pulse` on the named channel."""
        return self[channel].feed_pulse(time)

    def advance(self, now: Seconds) -> list[Event]:
        """Advance every channel to ``now``; the events in time order (by pulse end).

        Raises ``EdgeError`` (and changes nothing) if ``now`` is earlier than the latest time
        of any channel.
        """
        return self.advance_ns(to_ns(now, "now", EdgeError))

    def advance_ns(self, now_ns: int) -> list[Event]:
        """:meth:`advance` with the time in integer nanoseconds."""
        # checked for all first, so that a refusal leaves every channel unchanged
        for channel in self._channels.values():
            last = channel.last_time_ns
            if last is not None and now_ns < last:
                raise EdgeError(
                    f"{now_ns / 1e9} s is earlier than channel {channel.name!r}'s latest time "
                    f"{last / 1e9} s",
                    field="now",
                )
        events: list[Event] = []
        for channel in self._channels.values():
            events.extend(channel.advance_ns(now_ns))
        events.sort(key=_event_time)
        return events

    def next_deadline(self) -> float | None:
        """The earliest :meth:`Channel.next_deadline` of all channels, ``None`` if none."""
        deadlines = [
            d for d in (c.next_deadline_ns() for c in self._channels.values()) if d is not None
        ]
        return min(deadlines) / 1e9 if deadlines else None

    def readings(self, now: Seconds) -> list[S0Reading]:
        """One :class:`S0Reading` per channel at ``now``."""
        return [channel.reading(now) for channel in self._channels.values()]

    def save(self) -> dict[str, object]:
        """Every channel's :meth:`Channel.save` in one JSON-compatible dict."""
        return {
            "format": COUNTER_STATE_FORMAT,
            "version": _VERSION,
            "channels": {name: channel.save() for name, channel in self._channels.items()},
        }

    @classmethod
    def restore(cls, saved: Mapping[str, object]) -> S0Counter:
        """A counter from :meth:`save`'s dict (``StateError`` if it is not one)."""
        if not isinstance(saved, Mapping):
            raise StateError("a saved counter must be a mapping", field="")
        if saved.get("format") != COUNTER_STATE_FORMAT:
            raise StateError(
                f"is {brief(saved.get('format'))}, expected {COUNTER_STATE_FORMAT!r}",
                field="format",
            )
        if saved.get("version") != _VERSION:
            raise StateError(
                f"version {brief(saved.get('version'))} is not supported (expected {_VERSION})",
                field="version",
            )
        channels = saved.get("channels")
        if not isinstance(channels, Mapping):
            raise StateError("missing or not a mapping", field="channels")
        counter = cls()
        for name, data in channels.items():
            try:
                channel = Channel.restore(data)
            except StateError as exc:
                inner = f".{exc.field}" if exc.field else ""
                raise StateError(exc.message, field=f"channels.{name}{inner}") from None
            if channel.name != name:
                raise StateError(f"holds channel {channel.name!r}", field=f"channels.{name}.name")
            counter._channels[name] = channel
        return counter

    def __repr__(self) -> str:
        return f"S0Counter({', '.join(repr(c) for c in self._channels.values())})"
