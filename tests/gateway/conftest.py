"""Fixtures of the gateway tests: the mosquitto broker of the exporters' delivery tests."""

from __future__ import annotations

from ..exporters.conftest import mosquitto

__all__ = ["mosquitto"]
