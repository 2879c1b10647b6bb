"""Simulated meters and segments: test and demonstrate a master without hardware.

:class:`Segment` puts :class:`mbus.Slave` objects on one line (answers sent at
once arrive as their bitwise AND, as on the real bus); :class:`SimulatedPort`
connects a :class:`mbus.Bus` to it in process with a virtual clock;
:class:`SimulatorServer` serves it over TCP (``mbus simulate``);
:func:`random_meters` and :func:`load_meters` make the slaves.

>>> import mbus
>>> from mbus.sim import Segment, SimulatedPort, random_meters
>>> bus = mbus.Bus(SimulatedPort(Segment(random_meters(3, seed=2))))
>>> [found.primary for found in bus.scan_primary(range(10))]
[1, 2, 3]
"""

from ._meters import load_meters, random_meters, secondary_addresses, slaves_from_json
from ._port import AwaitableSimulatedPort, SimulatedPort
from ._segment import Segment, collide, even_parity
from ._server import SimulatorServer

__all__ = [
    "AwaitableSimulatedPort",
    "Segment",
    "SimulatedPort",
    "SimulatorServer",
    "collide",
    "even_parity",
    "load_meters",
    "random_meters",
    "secondary_addresses",
    "slaves_from_json",
]
