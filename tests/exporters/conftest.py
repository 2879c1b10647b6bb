"""Fixtures for the delivery tests: a test PKI and a mosquitto broker (see delivery_support)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .delivery_support import Mosquitto, Pki, make_pki, mosquitto_binary


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a server certificate for 127.0.0.1 and two S/MIME identities."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh mosquitto broker on 127.0.0.1 (skips when the binary is absent)."""
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (Debian package 'mosquitto'); MQTT tests skip")
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
