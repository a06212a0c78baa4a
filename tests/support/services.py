"""Skip-or-fail for tests that need a real service (PostgreSQL, Redis, localstripe)."""
from __future__ import annotations

import os
import socket

import pytest

REQUIRE = os.environ.get("OCOP_TEST_REQUIRE_SERVICES") == "1"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def need_service(name: str, available: bool, reason: str, required_here: bool = True) -> None:
    """Skip with ``reason`` when ``available`` is false; fail instead under OCOP_TEST_REQUIRE_SERVICES=1.

    ``required_here=False`` marks a test that only belongs to another run
    (e.g. PostgreSQL-only tests during the SQLite run): it always skips.
    """
    if available:
        return
    if REQUIRE and required_here:
        pytest.fail(f"required service missing: {name}: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")
