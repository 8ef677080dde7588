"""Loopback helpers shared by every test (tests/ is not a package; both conftests and tests import this).

The hub already has them (queue_server.broker); these keep the tests' one-argument signatures."""
from __future__ import annotations

from queue_server import broker
from queue_server.broker import free_port

__all__ = ["free_port", "wait_for_port"]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    broker.wait_for_port("127.0.0.1", port, timeout)
