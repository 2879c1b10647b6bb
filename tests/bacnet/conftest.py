"""The bacnet tests' shared fixture: meterkit's server with a peer process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from bacnet import PointList

if TYPE_CHECKING:  # support imports bacpypes3, which the sans-IO tests do without
    from .support import PeerWorld


@pytest.fixture
def peer_world() -> Iterator[Callable[[Callable[[str], PointList], Callable[[int], list[str]]],
                                      PeerWorld]]:
    """Builds a :class:`~tests.bacnet.support.PeerWorld` (``peer_world(points, command)``)
    and closes it after the test."""
    from .support import PeerWorld

    made: list[PeerWorld] = []

    def make(points: Callable[[str], PointList],
             command: Callable[[int], list[str]]) -> PeerWorld:
        world = PeerWorld(points, command)
        made.append(world)
        return world

    yield make
    for world in made:
        world.close()
