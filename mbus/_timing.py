"""How long a master waits for an answer, computed from the baud rate.

EN 13757-2, link layer timing (clause 5, the response-time rule): a slave
starts its answer no sooner than 11 bit times and no later than 330 bit
times + 50 ms after the end of the master's frame. A character is 11 bits
(start, 8 data, even parity, stop). So the master waits::

    window = transmit(request) + 330 / baud + 0.050 s + margin

for the first byte of the answer, and once bytes arrive, as long as the rest
of the frame takes to transmit plus an idle gap of ``window`` without the
request part. ``margin`` covers level converters, USB latency and TCP; an
explicit ``timeout`` replaces the whole computed wait, transmit times
included (useful over TCP, where the caller knows the link better).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._master_errors import AddressError

__all__ = ["BITS_PER_CHARACTER", "DEFAULT_MARGIN", "Timing", "answer_window"]

BITS_PER_CHARACTER = 11  # 8E1: start + 8 data + parity + stop
DEFAULT_MARGIN = 0.1  # seconds: USB-serial latency and typical level converters


def answer_window(baud: int, margin: float = 0.0) -> float:
    """Latest start of a slave's answer after the master's last bit, in seconds.

    >>> from mbus import answer_window
    >>> round(answer_window(2400), 4)  # 330 bit times at 2400 Bd + 50 ms
    0.1875
    """
    if baud <= 0:
        raise AddressError(f"baud rate must be positive, got {baud}", field="baud")
    return 330 / baud + 0.050 + margin


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """The master's waiting rules for one baud rate.

    Attributes:
        baud: line speed (the slaves' speed, even when a TCP converter ignores it).
        margin: added to the standard's window (seconds).
        timeout: when set, replaces the computed window and idle gap (seconds).
    """

    baud: int = 2400
    margin: float = DEFAULT_MARGIN
    timeout: float | None = None

    def __post_init__(self) -> None:
        answer_window(self.baud)  # validates baud
        if self.margin < 0 or (self.timeout is not None and self.timeout <= 0):
            raise AddressError("margin must be >= 0 and timeout > 0", field="timeout")

    def transmit_time(self, size: int) -> float:
        """Seconds to send ``size`` characters at the baud rate."""
        return size * BITS_PER_CHARACTER / self.baud

    @property
    def window(self) -> float:
        """Time from the end of the request to the latest start of the answer."""
        if self.timeout is not None:
            return self.timeout
        return answer_window(self.baud, self.margin)

    @property
    def idle_gap(self) -> float:
        """Silence after which a started answer is taken as ended."""
        return self.window

    def first_byte_deadline(self, now: float, request_size: int, *, echo: bool = False) -> float:
        """When to give up waiting for an answer to a request written at ``now``.

        With ``echo`` the request comes back first and takes as long again.
        """
        if self.timeout is not None:
            return now + self.timeout
        return now + self.transmit_time(request_size) * (2 if echo else 1) + self.window

    def rest_deadline(self, now: float, remaining: int) -> float:
        """When to give up on the rest of an answer of which ``remaining`` bytes are missing."""
        if self.timeout is not None:
            return now + self.timeout
        return now + self.transmit_time(max(remaining, 0)) + self.idle_gap
