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


#: the test Redis server (``OCOP_TEST_REDIS_URL``, default redis://127.0.0.1:6379); tests pick their own db number
REDIS_URL = (os.environ.get("OCOP_TEST_REDIS_URL") or "redis://127.0.0.1:6379").rstrip("/")


def redis_address() -> tuple[str, int]:
    """Host and port of the test Redis server (from ``OCOP_TEST_REDIS_URL``)."""
    from urllib.parse import urlsplit
    parts = urlsplit(REDIS_URL)
    return parts.hostname or "127.0.0.1", parts.port or 6379


def redis_url(db: int) -> str:
    """``OCOP_TEST_REDIS_URL`` with database number ``db`` (any path the variable had is replaced)."""
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(REDIS_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def need_redis() -> None:
    host, port = redis_address()
    need_service("redis", port_open(host, port), f"Redis at {host}:{port} (set OCOP_TEST_REDIS_URL)")
