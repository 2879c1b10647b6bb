"""Secondary scan: meterkit's search vs a model of libmbus 0.10's recursive search.

Both run against the same simulated segments (mbus.sim.Segment: collisions as the
bitwise AND of the answers, parity bits included), 250 meters with random IDs
and with IDs clustered on shared prefixes, each with and without dropping the
characters whose parity a collision broke. Transactions (requests sent) are
what a scan costs on a real bus (hundreds of milliseconds each at 2400 Bd).

The libmbus model follows mbus_scan_2nd_address_range/mbus_probe_secondary_address:
digits 0-9 at each of the 16 positions from the left (manufacturer, version and
medium nibbles too), recurse on collision; every probe that gets no answer is
repeated once (max_search_retry = 1); after E5 a REQ_UD2 follows; a timeout
there, or an incomplete answer, counts as "nobody"; a frame that does not decode
is a collision; any valid long frame is accepted as the single meter.
"""

from __future__ import annotations

import asyncio
import threading
import time

from mbus import Bus, ChecksumError, FrameError, LongFrame, SecondaryAddress, decode_frame
from mbus.procedures import NETWORK_ADDRESS, req_ud2, select
from mbus.records import frame_length
from mbus.sim import Segment, SimulatedPort, random_meters

METERS = 250


def _libmbus_receive(answer: bytes) -> str:
    """'timeout', 'invalid' or 'ack'/'long:<secondary>' as libmbus's mbus_recv_frame sees it."""
    if not answer:
        return "timeout"
    try:
        size = frame_length(answer)
    except FrameError:
        return "invalid"
    if size is None or len(answer) < size:
        return "timeout"  # libmbus waits for the rest, which never comes
    try:
        frame = decode_frame(answer[:size])
    except (ChecksumError, FrameError):
        return "invalid"
    if isinstance(frame, LongFrame):
        data = frame.data
        if frame.ci != 0x72 or len(data) < 8:
            return "invalid"
        return "long:" + str(SecondaryAddress.decode(data[:8]))
    return "ack"


class LibmbusModel:
    """libmbus's secondary scan over a Segment; counts requests."""

    def __init__(self, segment: Segment) -> None:
        self.segment = segment
        self.requests = 0
        self.found: set[str] = set()

    def _send(self, data: bytes) -> str:
        self.requests += 1
        answer = self.segment.receive_data(data)
        self.segment.idle()
        return _libmbus_receive(answer)

    def probe(self, mask: str) -> tuple[str, str | None]:
        for _ in range(2):  # max_search_retry = 1: two tries when nothing answers
            reply = self._send(select(SecondaryAddress.parse(mask)).encode())
            if reply == "timeout":
                continue
            if reply != "ack":
                return "collision", None
            reply = self._send(req_ud2(NETWORK_ADDRESS).encode(True))
            if reply == "timeout":
                return "nothing", None
            if reply.startswith("long:"):
                return "single", reply[5:]
            return "collision", None
        return "nothing", None

    def scan(self, mask: str = "F" * 16, position: int = 0) -> None:
        if position >= 16:
            return
        if mask[position] != "F":
            self.scan(mask, position + 1)
            return
        for digit in "0123456789":
            narrowed = mask[:position] + digit + mask[position + 1:]
            result, address = self.probe(narrowed)
            if result == "single" and address is not None:
                self.found.add(address)
            elif result == "collision":
                self.scan(narrowed, position + 1)


def _segment(clustered: bool, drop: bool, seed: int) -> tuple[Segment, set[str]]:
    slaves = random_meters(METERS, seed=seed, clustered=clustered)
    return (Segment(slaves, drop_parity_errors=drop),
            {str(slave.secondary) for slave in slaves})


def _tcp_wall_time(clustered: bool, drop: bool, seed: int) -> tuple[float, int]:
    from mbus.sim import SimulatorServer
    from mbus.transports import SerialPort

    segment, _ = _segment(clustered, drop, seed)
    server = SimulatorServer(segment)
    loop = asyncio.new_event_loop()
    port_number = loop.run_until_complete(server.start("127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        with SerialPort(f"socket://127.0.0.1:{port_number}") as port:
            bus = Bus(port, timeout=0.02)
            start = time.perf_counter()
            result = bus.scan_secondary()
            return time.perf_counter() - start, len(result.meters)
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def main() -> None:
    """Print meters found and requests for both searches on four segments."""
    print(f"{'segment (250 meters)':36} {'meterkit found':>14} {'requests':>9} "
          f"{'libmbus found':>14} {'requests':>9}")
    bus_times: list[float] = []
    for clustered in (False, True):
        for drop in (False, True):
            name = (f"{'clustered' if clustered else 'random'} IDs, "
                    f"{'parity-broken dropped' if drop else 'all bytes kept'}")
            segment, truth = _segment(clustered, drop, seed=7)
            port = SimulatedPort(segment)
            bus = Bus(port)
            result = bus.scan_secondary()
            bus_times.append(port.clock)
            ours = {str(meter.address) for meter in result.meters}
            segment, truth = _segment(clustered, drop, seed=7)
            model = LibmbusModel(segment)
            model.scan()
            print(f"{name:36} {len(ours & truth):>10}/{len(truth)} "
                  f"{bus.master.requests_sent:>9} {len(model.found & truth):>10}/{len(truth)} "
                  f"{model.requests:>9}")
    print("meterkit's scan time on a 2400 Bd bus (virtual clock: the standard's answer window "
          "+ 0.1 s margin, every byte's transmit time): "
          + ", ".join(f"{seconds / 60:.1f} min" for seconds in bus_times))
    try:
        seconds, found = _tcp_wall_time(True, True, seed=7)
    except Exception as error:  # a benchmark reports, it does not fail
        print(f"TCP simulator: not measured ({error})")
    else:
        print(f"meterkit scan over the TCP simulator (loopback, timeout 20 ms, clustered, "
              f"parity dropped): {found} meters in {seconds:.1f} s")


if __name__ == "__main__":
    main()
