"""A real broadcast: two network namespaces joined by a veth pair (root only).

meterkit's server runs in one namespace (10.231.7.1/24), meterkit's client and a
bacpypes3 peer in the other (10.231.7.2/24), both on port 47808 as BACnet/IP wants:
``bacnet discover`` finds the server with a global Who-Is broadcast, and the server finds
a recipient given as a device instance (``"device,9001"``) with its own Who-Is broadcast.
On one host's loopback a broadcast never reaches another port, hence the namespaces.
The namespaces are removed even when the test fails. Outside root it skips; under
``CI=true`` (the CI runs as root) it fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("bacpypes3", reason="the bacnet extra (bacpypes3) is not installed")

from .support import ROOT, WAIT, Peer, python_peer

SERVER = Path(__file__).with_name("namespace_server.py")
SERVER_NET, CLIENT_NET = "10.231.7.1/24", "10.231.7.2/24"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the namespace broadcast test cannot run under CI: {reason}")
    pytest.skip(f"the namespace broadcast test needs root and iproute2: {reason}")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=WAIT)


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    if os.geteuid() != 0:
        _unavailable("not running as root (ip netns needs it)")
    if shutil.which("ip") is None:
        _unavailable("the ip command (iproute2) is not installed")
    tag = f"mk{os.getpid() % 100000}"
    server, client = f"{tag}-srv", f"{tag}-cli"
    created: list[str] = []
    try:
        for name in (server, client):
            _ip("netns", "add", name)
            created.append(name)
        _ip("link", "add", f"{tag}a", "netns", server, "type", "veth", "peer", "name",
            f"{tag}b", "netns", client)
        for name, link, address in ((server, f"{tag}a", SERVER_NET),
                                    (client, f"{tag}b", CLIENT_NET)):
            _ip("-n", name, "addr", "add", address, "dev", link)
            _ip("-n", name, "link", "set", link, "up")
            _ip("-n", name, "link", "set", "lo", "up")
        yield server, client
    finally:
        for name in created:  # deleting a namespace deletes its end of the veth pair
            subprocess.run(["ip", "netns", "delete", name], capture_output=True,
                           timeout=WAIT)


def test_who_is_broadcast_and_device_recipient_across_namespaces(
        namespaces: tuple[str, str]) -> None:
    server_ns, client_ns = namespaces
    server = Peer(["ip", "netns", "exec", server_ns, sys.executable, str(SERVER),
                   SERVER_NET, "4711", "device,9001"])
    try:
        assert server.until("ready") == {"ready": "10.231.7.1/24:47808"}
        # meterkit's client: a global Who-Is broadcast from the other namespace
        # (a broadcast is not acknowledged: like any BACnet client, ask again when a
        # Who-Is or its I-Am was lost, at most three times)
        for _attempt in range(3):
            found = subprocess.run(
                ["ip", "netns", "exec", client_ns, sys.executable, "-m", "bacnet", "discover",
                 "--interface", CLIENT_NET, "--range", "4700-4800", "--wait", "3", "--json"],
                cwd=ROOT, capture_output=True, text=True, timeout=WAIT)
            assert found.returncode == 0, found.stderr
            devices = json.loads(found.stdout)
            if devices:
                break
        # (bacpypes3 writes the address without its default port)
        assert [(d["instance"], d["address"]) for d in devices] == [(4711, "10.231.7.1")]
        assert devices[0]["vendor"] == "meterkit"

        # a recipient given as device 9001: the server finds it by Who-Is broadcast
        peer = Peer(["ip", "netns", "exec", client_ns,
                     *python_peer(f"{CLIENT_NET}:47808", "9001")])
        try:
            peer.until("ready")
            server.send({"op": "alarm"})
            event = peer.until("event")["event"]
            assert (event["device"], event["object"]) == ("device,4711", "device,4711")
            assert event["text"] == "broadcast test alarm"
            assert event["to_state"] == "offnormal"
        finally:
            peer.close()
    finally:
        server.close()
