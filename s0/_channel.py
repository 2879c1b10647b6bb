"""One S0 input: edges -> debounced level -> validated pulses -> total and power.

Rules (DIN EN 62053-31 pulse outputs, as this package applies them):

1. Debounce. A raw level counts only once it has been stable for ``debounce`` seconds
   (stable for exactly ``debounce`` is enough). The debounced (filtered) signal takes the new
   level as of the raw edge that began the stable run, so durations are measured between
   raw edges and are not shifted by the filter.
2. A pulse is a high phase of the filtered signal. It is judged when it ends, i.e. when the
   following low level is confirmed (at the falling edge + ``debounce``):
   - counted if it lasted at least ``min_on`` and the low phase before it at least
     ``min_off`` (a low phase that began before observation counts as long enough);
   - otherwise rejected, with the reason ``ON_TOO_SHORT`` (checked first),
     ``OFF_TOO_SHORT``, or ``START_UNKNOWN`` when its start was never observed.
   A rejected high phase is still part of the filtered signal: the next pulse's low phase
   begins at its end.
3. The integer count of pulses is the truth; the total is
   ``offset + pulses / imp_per_unit`` as an exact Decimal, wrapped at ``rollover``.
4. Power/flow comes from the interval between the starts of the last two pulses. Once
   ``t`` seconds have passed since the last pulse it is at most one pulse per ``t`` (the
   next interval cannot be shorter), and it is zero once ``power_timeout`` has passed.

Time is an argument everywhere (seconds on any monotonic clock); nothing here reads a clock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import ROUND_DOWN, Context, Decimal, Inexact
from fractions import Fraction

from ._config import ChannelConfig, to_ns
from ._errors import ConfigError, EdgeError, StateError
from ._events import Event, PulseCounted, PulseRejected, RejectReason, S0Reading, TotalRolledOver
from ._parsing import brief

__all__ = ["STATE_FORMAT", "STATE_VERSION", "Channel"]

_log = logging.getLogger(__name__)

STATE_FORMAT = "meterkit.s0.channel"
STATE_VERSION = 1

_NS_PER_S = 1_000_000_000
# Times and counts beyond these are damage, not data: 1e12 s, and a count no meter reaches.
_MAX_ABS_NS = 10**21
_MAX_COUNT = 10**18
_NS_PER_HOUR = 3600 * _NS_PER_S
_DECIMALS_FOR_NON_TERMINATING = 9
# Wide enough for any total with 30-digit offsets and pulse counts far beyond a meter's life.
_CONTEXT = Context(prec=100)
_RATE_CONTEXT = Context(prec=17)


def _seconds(ns: int) -> float:
    return ns / _NS_PER_S


class Channel:
    """The sans-IO counter of one S0 input.

    Feed it raw edges with :meth:`feed_edge` (or bare pulse times with :meth:`feed_pulse`)
    and call :meth:`advance` when :meth:`next_deadline` passes without an edge; each returns
    the events that happened. Times must not go backwards. Bad input raises ``EdgeError``
    and leaves the state unchanged.

    >>> from decimal import Decimal
    >>> from s0 import Channel, ChannelConfig
    >>> ch = Channel(ChannelConfig(imp_per_unit=1000), name="main")
    >>> ch.feed_edge(Decimal("1.000"), 1)
    []
    >>> ch.feed_edge(Decimal("1.050"), 0)
    []
    >>> [type(e).__name__ for e in ch.advance(Decimal("1.060"))]
    ['PulseCounted']
    >>> ch.pulses, ch.total
    (1, Decimal('0.001'))
    """

    __slots__ = (
        "_config",
        "_debounce",
        "_exponent",
        "_filtered",
        "_imp",
        "_last_pulse",
        "_last_time",
        "_min_off",
        "_min_on",
        "_name",
        "_phase_start",
        "_prev_phase_start",
        "_prev_pulse",
        "_pulses",
        "_quantum",
        "_raw",
        "_raw_since",
        "_rejected",
        "_timeout",
    )

    def __init__(self, config: ChannelConfig, *, name: str = "s0") -> None:
        if not isinstance(config, ChannelConfig):
            raise ConfigError(f"{brief(config)} is not a ChannelConfig", field="config")
        self._name = str(name)
        self._config = config
        self._debounce = to_ns(config.debounce, "debounce")
        self._min_on = to_ns(config.min_on, "min_on")
        self._min_off = to_ns(config.min_off, "min_off")
        self._timeout = to_ns(config.power_timeout, "power_timeout")
        self._imp = Decimal(config.imp_per_unit)
        self._exponent = _total_exponent(config)
        self._quantum = Decimal(1).scaleb(self._exponent)
        self._pulses = 0
        self._rejected: dict[RejectReason, int] = {}
        self._filtered = config.initial_level
        self._raw = config.initial_level
        self._raw_since: int | None = None
        # start of the current filtered phase and of the one before; None = before observation
        self._phase_start: int | None = None
        self._prev_phase_start: int | None = None
        self._last_time: int | None = None
        self._last_pulse: int | None = None
        self._prev_pulse: int | None = None

    # -- properties ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The channel's name, carried by its events."""
        return self._name

    @property
    def config(self) -> ChannelConfig:
        """The configuration this channel runs with."""
        return self._config

    @property
    def pulses(self) -> int:
        """Counted pulses since the channel was created (carried over by save/restore)."""
        return self._pulses

    @property
    def rejected(self) -> int:
        """Rejected high phases, all reasons together."""
        return sum(self._rejected.values())

    @property
    def rejected_by_reason(self) -> dict[RejectReason, int]:
        """Rejected high phases per reason (reasons that never happened are absent)."""
        return dict(self._rejected)

    @property
    def level(self) -> int:
        """The debounced level (0 or 1)."""
        return self._filtered

    @property
    def total(self) -> Decimal:
        """``offset + pulses / imp_per_unit``, wrapped at ``rollover``, rounded down to the
        configured decimals."""
        return self._total_of(self._pulses)[0]

    @property
    def last_time(self) -> float | None:
        """The latest time fed to the channel (seconds), ``None`` before the first."""
        return None if self._last_time is None else _seconds(self._last_time)

    @property
    def last_time_ns(self) -> int | None:
        """:attr:`last_time` in integer nanoseconds."""
        return self._last_time

    # -- feeding ---------------------------------------------------------------------------

    def feed_edge(self, time: float | int | Decimal | Fraction, level: int) -> list[Event]:
        """The raw input changed to ``level`` (0 or 1) at ``time`` seconds.

        A repeated level is harmless (it is no change). Returns the pulses judged up to and
        including ``time``.
        """
        return self.feed_edge_ns(to_ns(time, "time", EdgeError), level)

    def feed_edge_ns(self, time_ns: int, level: int) -> list[Event]:
        """:meth:`feed_edge` with the time in integer nanoseconds (kernel timestamps)."""
        if type(level) is not int or (level != 0 and level != 1):
            level = _check_level(level)
        if type(time_ns) is not int or not -_MAX_ABS_NS <= time_ns <= _MAX_ABS_NS:
            time_ns = _check_ns(time_ns)
        last = self._last_time
        if last is not None and time_ns < last:
            raise EdgeError(
                f"{_seconds(time_ns)} s is earlier than the previous time {_seconds(last)} s",
                field="time",
            )
        self._last_time = time_ns
        events: list[Event] = []
        raw_since = self._raw_since
        if (
            self._raw != self._filtered
            and raw_since is not None
            and time_ns - raw_since >= self._debounce
        ):
            self._confirm(events)
        if level != self._raw:
            self._raw = level
            self._raw_since = time_ns
            if level != self._filtered and self._debounce == 0:
                self._confirm(events)
        return events

    def feed_pulse(self, time: float | int | Decimal | Fraction) -> list[Event]:
        """Count one pulse at ``time`` whose validity was judged elsewhere (a pulse log, a
        counter chip). It is counted as-is; its time starts the low phase that a following
        edge-fed pulse is checked against.

        Raises:
            EdgeError: the time goes backwards, or the input is high (edges and bare
                pulses may alternate only while the input is low).
        """
        time_ns = to_ns(time, "time", EdgeError)
        last = self._last_time
        if last is not None and time_ns < last:
            raise EdgeError(
                f"{_seconds(time_ns)} s is earlier than the previous time {_seconds(last)} s",
                field="time",
            )
        raw_since = self._raw_since
        if self._raw or (
            self._filtered and raw_since is not None and time_ns - raw_since < self._debounce
        ):
            raise EdgeError("a bare pulse arrived while the input is high", field="time")
        events = self.advance_ns(time_ns)
        self._phase_start = time_ns
        self._count(time_ns, time_ns, None, None, events)
        return events

    def advance(self, now: float | int | Decimal | Fraction) -> list[Event]:
        """Nothing changed on the input up to ``now``: confirm a level that has been stable
        for ``debounce`` and return what that judged. Later edges must not be earlier."""
        return self.advance_ns(to_ns(now, "now", EdgeError))

    def advance_ns(self, now_ns: int) -> list[Event]:
        """:meth:`advance` with the time in integer nanoseconds."""
        if type(now_ns) is not int or not -_MAX_ABS_NS <= now_ns <= _MAX_ABS_NS:
            now_ns = _check_ns(now_ns)
        last = self._last_time
        if last is not None and now_ns < last:
            raise EdgeError(
                f"{_seconds(now_ns)} s is earlier than the previous time {_seconds(last)} s",
                field="now",
            )
        self._last_time = now_ns
        events: list[Event] = []
        raw_since = self._raw_since
        if (
            self._raw != self._filtered
            and raw_since is not None
            and now_ns - raw_since >= self._debounce
        ):
            self._confirm(events)
        return events

    def next_deadline(self) -> float | None:
        """When (seconds) a pending level change will be confirmed if no edge comes first;
        call :meth:`advance` then. ``None`` while nothing is pending."""
        ns = self.next_deadline_ns()
        return None if ns is None else _seconds(ns)

    def next_deadline_ns(self) -> int | None:
        """:meth:`next_deadline` in integer nanoseconds."""
        if self._raw != self._filtered and self._raw_since is not None:
            return self._raw_since + self._debounce
        return None

    # -- reading ---------------------------------------------------------------------------

    def power(self, now: float | int | Decimal | Fraction) -> float | None:
        """Power/flow at ``now`` in ``config.power_unit`` (``unit`` per hour).

        From the interval between the starts of the last two pulses, bounded by one pulse per
        time since the last pulse, zero once ``power_timeout`` has passed since it. ``None``
        while unknown (fewer than two pulses and no timeout yet).
        """
        return self.power_ns(to_ns(now, "now", EdgeError))

    def power_ns(self, now_ns: int) -> float | None:
        """:meth:`power` with the time in integer nanoseconds."""
        last = self._last_pulse
        if last is None:
            return None
        since = now_ns - last
        if since >= self._timeout:
            return 0.0
        if self._prev_pulse is None:
            return None  # the bound alone is no estimate
        interval = max(last - self._prev_pulse, since)
        if interval <= 0:
            return None
        # per hour, one rounding: Decimal division in a 17-digit context
        ctx = _RATE_CONTEXT
        rate = ctx.divide(Decimal(_NS_PER_HOUR), ctx.multiply(interval, self._imp))
        return float(rate)

    def reading(self, now: float | int | Decimal | Fraction) -> S0Reading:
        """Counts, total and power at ``now`` as one value with ``to_dict()``."""
        now_ns = to_ns(now, "now", EdgeError)
        return S0Reading(
            channel=self._name,
            time=_seconds(now_ns),
            pulses=self._pulses,
            rejected=self.rejected,
            rejected_by_reason={reason.value: n for reason, n in self._rejected.items()},
            total=self.total,
            unit=self._config.unit,
            power=self.power_ns(now_ns),
            power_unit=self._config.power_unit,
        )

    # -- the state machine -----------------------------------------------------------------

    def _confirm(self, events: list[Event]) -> None:
        at = self._raw_since
        assert at is not None  # a pending change always has its start
        if self._raw:
            self._prev_phase_start = self._phase_start
            self._phase_start = at
            self._filtered = 1
            return
        start = self._phase_start
        low_start = self._prev_phase_start
        self._prev_phase_start = start
        self._phase_start = at
        self._filtered = 0
        on = None if start is None else at - start
        off = None if start is None or low_start is None else start - low_start
        if start is None or on is None:
            reason = RejectReason.START_UNKNOWN
        elif on < self._min_on:
            reason = RejectReason.ON_TOO_SHORT
        elif off is not None and off < self._min_off:
            reason = RejectReason.OFF_TOO_SHORT
        else:
            self._count(start, at, on, off, events)
            return
        self._rejected[reason] = self._rejected.get(reason, 0) + 1
        _log.debug("%s: rejected high phase ending at %d ns: %s", self._name, at, reason.value)
        events.append(
            PulseRejected(
                channel=self._name,
                start=None if start is None else _seconds(start),
                end=_seconds(at),
                on_duration=None if on is None else _seconds(on),
                off_duration=None if off is None else _seconds(off),
                reason=reason,
                rejected=self.rejected,
            )
        )

    def _count(
        self, start: int, end: int, on: int | None, off: int | None, events: list[Event]
    ) -> None:
        wraps_before = self._total_of(self._pulses)[1]
        self._pulses += 1
        self._prev_pulse = self._last_pulse
        self._last_pulse = start
        total, wraps = self._total_of(self._pulses)
        events.append(
            PulseCounted(
                channel=self._name,
                start=_seconds(start),
                end=_seconds(end),
                on_duration=None if on is None else _seconds(on),
                off_duration=None if off is None else _seconds(off),
                pulses=self._pulses,
                total=total,
            )
        )
        if wraps != wraps_before:
            rollover = self._config.rollover
            assert isinstance(rollover, Decimal)
            _log.info("%s: total rolled over at %s", self._name, rollover)
            events.append(
                TotalRolledOver(
                    channel=self._name, time=_seconds(end), total=total, rollover=rollover
                )
            )

    def _total_of(self, pulses: int) -> tuple[Decimal, int]:
        ctx = _CONTEXT
        offset = Decimal(self._config.offset)
        value = ctx.add(offset, ctx.divide(Decimal(pulses), self._imp))
        wraps = 0
        rollover = self._config.rollover
        if rollover is not None:
            modulus = Decimal(rollover)
            wraps = int(ctx.divide_int(value, modulus))
            value = ctx.subtract(value, ctx.multiply(modulus, wraps))
            if value < 0:  # divide_int truncates toward zero; a register never shows < 0
                wraps -= 1
                value = ctx.add(value, modulus)
        return value.quantize(self._quantum, rounding=ROUND_DOWN, context=ctx), wraps

    # -- save / restore --------------------------------------------------------------------

    def save(self) -> dict[str, object]:
        """The whole channel (configuration and state, pending debounce included) as a dict
        that ``json.dumps`` accepts. :meth:`restore` of it continues exactly where this left
        off: feeding the rest of an edge stream gives the same events and totals."""
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "name": self._name,
            "config": self._config.to_dict(),
            "state": {
                "pulses": self._pulses,
                "rejected": {reason.value: n for reason, n in self._rejected.items()},
                "level": self._filtered,
                "raw_level": self._raw,
                "raw_since_ns": self._raw_since,
                "phase_start_ns": self._phase_start,
                "prev_phase_start_ns": self._prev_phase_start,
                "last_time_ns": self._last_time,
                "last_pulse_ns": self._last_pulse,
                "prev_pulse_ns": self._prev_pulse,
            },
        }

    @classmethod
    def restore(
        cls, saved: Mapping[str, object], *, config: ChannelConfig | None = None
    ) -> Channel:
        """A channel from :meth:`save`'s dict.

        Args:
            saved: the dict (for example read back from JSON).
            config: run with this configuration instead of the saved one (a new offset after
                a meter exchange, other thresholds); the counted pulses are kept.

        Raises:
            StateError: the dict is not a saved channel; ``field`` names the bad entry.
        """
        if not isinstance(saved, Mapping):
            raise StateError("a saved channel must be a mapping", field="")
        if saved.get("format") != STATE_FORMAT:
            raise StateError(
                f"is {brief(saved.get('format'))}, expected {STATE_FORMAT!r}", field="format"
            )
        if saved.get("version") != STATE_VERSION:
            raise StateError(
                f"version {brief(saved.get('version'))} is not supported "
                f"(expected {STATE_VERSION})",
                field="version",
            )
        name = saved.get("name")
        if not isinstance(name, str):
            raise StateError("missing or not a string", field="name")
        if config is None:
            config = _config_from_dict(saved.get("config"))
        state = saved.get("state")
        if not isinstance(state, Mapping):
            raise StateError("missing or not a mapping", field="state")
        channel = cls(config, name=name)
        channel._pulses = _state_count(state, "pulses")
        rejected = state.get("rejected")
        if not isinstance(rejected, Mapping):
            raise StateError("missing or not a mapping", field="state.rejected")
        for key, count in rejected.items():
            try:
                reason = RejectReason(key)
            except ValueError:
                raise StateError(
                    f"{key!r} is not a reject reason", field="state.rejected"
                ) from None
            if isinstance(count, bool) or not isinstance(count, int):
                raise StateError(f"{brief(count)} is not a count", field=f"state.rejected.{key}")
            if not 0 <= count <= _MAX_COUNT:
                raise StateError(f"{brief(count)} is not a count", field=f"state.rejected.{key}")
            if count:
                channel._rejected[reason] = count
        channel._filtered = _state_level(state, "level")
        channel._raw = _state_level(state, "raw_level")
        channel._raw_since = _state_int(state, "raw_since_ns", optional=True)
        channel._phase_start = _state_int(state, "phase_start_ns", optional=True)
        channel._prev_phase_start = _state_int(state, "prev_phase_start_ns", optional=True)
        channel._last_time = _state_int(state, "last_time_ns", optional=True)
        channel._last_pulse = _state_int(state, "last_pulse_ns", optional=True)
        channel._prev_pulse = _state_int(state, "prev_pulse_ns", optional=True)
        if channel._raw != channel._filtered and channel._raw_since is None:
            raise StateError("a pending level change needs its start", field="state.raw_since_ns")
        if channel._last_pulse is None and channel._prev_pulse is not None:
            raise StateError("set without last_pulse_ns", field="state.prev_pulse_ns")
        return channel

    def __repr__(self) -> str:
        return (
            f"Channel(name={self._name!r}, pulses={self._pulses}, rejected={self.rejected}, "
            f"total={self.total}, level={self._filtered})"
        )


def _total_exponent(config: ChannelConfig) -> int:
    if config.decimals is not None:
        return -config.decimals
    strict = Context(prec=80, traps=[Inexact])
    try:
        step = strict.divide(Decimal(1), Decimal(config.imp_per_unit)).normalize(strict)
    except Inexact:
        return -_DECIMALS_FOR_NON_TERMINATING
    exponents = [step.as_tuple().exponent, Decimal(config.offset).as_tuple().exponent, 0]
    return min(e for e in exponents if isinstance(e, int))


def _check_level(level: object) -> int:
    if isinstance(level, bool):
        return int(level)
    if isinstance(level, Decimal) and not level.is_finite():  # sNaN refuses to compare
        raise EdgeError(f"{brief(level)} is not 0 or 1", field="level")
    if isinstance(level, (int, float, Decimal)) and level in (0, 1):
        return int(level)
    raise EdgeError(f"{brief(level)} is not 0 or 1", field="level")


def _check_ns(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EdgeError(f"{brief(value)} is not an integer number of nanoseconds", field="time")
    if not -_MAX_ABS_NS <= value <= _MAX_ABS_NS:
        raise EdgeError(f"{value} ns is out of range (more than 1e12 s)", field="time")
    return int(value)


def _state_int(state: Mapping[str, object], key: str, *, optional: bool = False) -> int | None:
    value = state.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise StateError(f"{brief(value)} is not an integer", field=f"state.{key}")
    if not -_MAX_ABS_NS <= value <= _MAX_ABS_NS:
        raise StateError(f"{brief(value)} is out of range", field=f"state.{key}")
    return value


def _state_count(state: Mapping[str, object], key: str) -> int:
    value = _state_int(state, key)
    if value is None or not 0 <= value <= _MAX_COUNT:
        raise StateError(f"{brief(value)} is not a count (0..1e18)", field=f"state.{key}")
    return value


def _state_level(state: Mapping[str, object], key: str) -> int:
    value = state.get(key)
    if type(value) is not int or value not in (0, 1):
        raise StateError(f"{brief(value)} is not 0 or 1", field=f"state.{key}")
    return value


_CONFIG_KEYS = (
    "imp_per_unit",
    "unit",
    "offset",
    "debounce",
    "min_on",
    "min_off",
    "power_timeout",
    "rollover",
    "decimals",
    "initial_level",
)
_DURATION_KEYS = ("debounce", "min_on", "min_off", "power_timeout")


def _config_from_dict(data: object) -> ChannelConfig:

    if not isinstance(data, Mapping):
        raise StateError("missing or not a mapping", field="config")
    missing = [key for key in _CONFIG_KEYS if key not in data]
    if missing:
        raise StateError(f"missing {', '.join(missing)}", field="config")
    values = dict(data)
    for key in _DURATION_KEYS:
        text = values[key]
        if not isinstance(text, str):
            raise StateError(f"{brief(text)} is not a decimal string", field=f"config.{key}")
        try:
            values[key] = Decimal(text)
        except ArithmeticError:
            raise StateError(
                f"{brief(text)} is not a decimal number", field=f"config.{key}"
            ) from None
    try:
        return ChannelConfig(**{key: values[key] for key in _CONFIG_KEYS})
    except ConfigError as exc:
        raise StateError(exc.message, field=f"config.{exc.field}") from None
    except TypeError as exc:
        raise StateError(str(exc), field="config") from None
