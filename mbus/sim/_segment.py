"""A physical model of a wired M-Bus segment: many slaves, one line, collisions as AND.

On the bus a slave sends a 0 bit by drawing more current; the master's
receiver sees a 0 wherever any slave sends one. So when several slaves answer
at once, the master receives the bitwise AND of their characters, the even
parity bits included (an idle line is a 1). Where the ANDed parity bit no
longer matches the ANDed data bits, many UARTs drop the character:
``drop_parity_errors`` models that.

Answers are taken to start together (the slaves see the same request end);
a shorter answer leaves the rest of a longer one untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .._framer import Framer, FrameReceived, NoiseDiscarded
from .._slave import Slave

__all__ = ["Segment", "collide", "even_parity"]


def even_parity(byte: int) -> int:
    """The even-parity bit of a character (8E1): 1 when the data has an odd number of ones."""
    return bin(byte).count("1") & 1


def collide(answers: Sequence[bytes], *, drop_parity_errors: bool = False) -> bytes:
    """What the master receives when these answers are sent at once.

    >>> from mbus.sim import collide
    >>> collide([b"\\xe5", b"\\xe5"])  # several acknowledgements look like one
    b'\\xe5'
    >>> collide([b"\\x68\\x03", b"\\xe5"]).hex()
    '6003'
    """
    present = [answer for answer in answers if answer]
    if len(present) <= 1:
        return present[0] if present else b""
    out = bytearray()
    for index in range(max(len(answer) for answer in present)):
        data, parity = 0xFF, 1
        for answer in present:
            if index < len(answer):
                data &= answer[index]
                parity &= even_parity(answer[index])
        if drop_parity_errors and even_parity(data) != parity:
            continue
        out.append(data)
    return bytes(out)


class Segment:
    """Slaves on one line. Feed the master's bytes, get what the master would receive.

    Only slaves listening at the segment's ``baud`` understand the master; a
    slave that changed its baud rate is deaf until the segment follows it.
    """

    def __init__(self, slaves: Iterable[Slave] = (), *, baud: int = 2400,
                 drop_parity_errors: bool = False) -> None:
        self.slaves = list(slaves)
        self.baud = baud
        self.drop_parity_errors = drop_parity_errors
        self.requests = 0
        self._framer = Framer()

    def receive_data(self, data: bytes) -> bytes:
        """Master's bytes in, the line's answer out (maybe empty).

        The frame is split once for all slaves (they all see the same bytes).
        """
        self._framer.receive_data(data)
        out = bytearray()
        while True:
            event = self._framer.next_event()
            if isinstance(event, NoiseDiscarded):
                continue
            if not isinstance(event, FrameReceived):
                return bytes(out)
            self.requests += 1
            answers = [slave.handle_frame(event.frame) for slave in self.slaves
                       if slave.baud == self.baud]
            out += collide(answers, drop_parity_errors=self.drop_parity_errors)

    def idle(self) -> None:
        """The line was idle: partial input is dropped."""
        self._framer.flush()
