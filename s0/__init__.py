"""s0: DIN EN 62053-31 pulse inputs, sans-IO.

Raw ``(time, level)`` edges go in (or bare pulse times); debounced, validated pulses come
out as events, with an exact Decimal total, power/flow, roll-over and state save/restore.
Time is always an argument: nothing here reads a clock, except the optional GPIO adapter
(:class:`GpioPulseReader`, needs ``meterkit[gpio]``), which feeds kernel-timestamped edges.

>>> from decimal import Decimal
>>> from s0 import Channel, ChannelConfig
>>> meter = Channel(ChannelConfig(imp_per_unit=1000, unit="kWh"))
>>> for t, level in [("0.0", 1), ("0.05", 0), ("1.0", 1), ("1.05", 0)]:
...     events = meter.feed_edge(Decimal(t), level)
>>> events = meter.advance(Decimal("1.1"))
>>> meter.pulses, meter.total, meter.power(Decimal("1.1"))
(2, Decimal('0.002'), 3.6)
"""

from ._channel import STATE_FORMAT, STATE_VERSION, Channel
from ._cli import main
from ._config import ChannelConfig, rate_unit
from ._counter import COUNTER_STATE_FORMAT, S0Counter
from ._errors import (
    ConfigError,
    EdgeError,
    GpioError,
    ReplayInputError,
    S0Error,
    StateError,
    UnknownChannelError,
)
from ._events import (
    EdgesLost,
    Event,
    PulseCounted,
    PulseRejected,
    RejectReason,
    S0Reading,
    TotalRolledOver,
)
from ._gpio import EdgeEventLike, GpioPulseReader, LineRequestLike
from ._replay import Edge, ReplayResult, read_edges_csv, replay_edges
from ._statefile import load_state_file, save_state_file

__all__ = [
    "COUNTER_STATE_FORMAT",
    "STATE_FORMAT",
    "STATE_VERSION",
    "Channel",
    "ChannelConfig",
    "ConfigError",
    "Edge",
    "EdgeError",
    "EdgeEventLike",
    "EdgesLost",
    "Event",
    "GpioError",
    "GpioPulseReader",
    "LineRequestLike",
    "PulseCounted",
    "PulseRejected",
    "RejectReason",
    "ReplayInputError",
    "ReplayResult",
    "S0Counter",
    "S0Error",
    "S0Reading",
    "StateError",
    "TotalRolledOver",
    "UnknownChannelError",
    "load_state_file",
    "main",
    "rate_unit",
    "read_edges_csv",
    "replay_edges",
    "save_state_file",
]

# Public classes present themselves as ``s0.X`` (tracebacks, reprs, docs), not ``s0._x.X``.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
