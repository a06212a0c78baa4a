"""Test fixtures: a real database (SQLite file, or PostgreSQL via OCOP_TEST_DATABASE_URL), the real app.

Services that may be missing on a bare machine (PostgreSQL, Redis, localstripe)
make their tests *skip with a reason*; with ``OCOP_TEST_REQUIRE_SERVICES=1``
(set by ``.ci/run``) such a skip becomes a failure.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete

sys.path.insert(0, str(Path(__file__).parent))  # for `support`

from support.services import need_service  # noqa: E402
from support.browser import browser, live_server, page, page_without_js  # noqa: E402,F401  (fixtures)

TEST_DATABASE_URL = os.environ.get("OCOP_TEST_DATABASE_URL")
os.environ.setdefault("OCOP_TODAY", "2026-11-23")
# the demo's sample receiving account, so bank transfer (VietQR) is offered as in `dev.py serve`
from plugins.bank_transfer.config import DEMO_ACCOUNT_ENV  # noqa: E402
os.environ.update(DEMO_ACCOUNT_ENV)


@pytest.fixture(autouse=True)
def _celery_join_flag():
    """Reset Celery's process-wide "inside a task" flag after each test.

    An eager ``apply()`` sets that flag for its duration and restores the value it found, with no lock:
    eager tasks run by many threads at once (the concurrency tests) can leave it set, and every later
    ``result.get()`` in that process then raises "Never call result.get() within a task!".
    """
    yield
    from celery.result import _set_task_join_will_block
    _set_task_join_will_block(False)


def pytest_report_header(config):
    return f"ocop database: {TEST_DATABASE_URL or 'sqlite (temporary file)'}"


def _pg_admin(url: str, statement: str) -> None:
    import psycopg
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """SQLite file per test process, or the PostgreSQL test database.

    Under pytest-xdist each worker gets its own PostgreSQL database
    (``<name>_<worker>``), created here and dropped at the end.
    """
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not TEST_DATABASE_URL.startswith("postgres"):
        yield TEST_DATABASE_URL
        return
    base, name = TEST_DATABASE_URL.rsplit("/", 1)
    name = name.split("?", 1)[0]
    worker_name = f"{name}_{worker}"
    _pg_admin(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{worker_name}" WITH (FORCE)')
    _pg_admin(TEST_DATABASE_URL, f'CREATE DATABASE "{worker_name}"')
    yield f"{base}/{worker_name}"
    _pg_admin(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{worker_name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory):
    return tmp_path_factory.mktemp("instance")


def make_settings(instance_path, database_url, **overrides):
    from core.config import load_settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_") or k == "OCOP_TODAY"}
    return load_settings(env, instance_path=instance_path, database_url=database_url,
                         password_hash_method="scrypt:1024:8:1",
                         **{"rate_limits_enabled": False, **overrides})  # tests/test_login_throttling.py turns them on


@pytest.fixture(scope="session")
def settings(instance_path, database_url):
    return make_settings(instance_path, database_url)


@pytest.fixture(scope="session")
def _migrated_app(settings):
    from core.app import create_app
    from core import migrate
    from core.db import db
    app = create_app(settings)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            # start from an empty schema in the throwaway database
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        migrate.upgrade()
    return app


def _clean(app):
    from core.db import db
    from core.catalogue import version as catalogue_cache
    from core.pricing import live as live_promotions
    catalogue_cache.clear()  # the per-process answer cache is keyed by a version the wipe resets
    live_promotions.clear()  # so is the per-process set of live promotions
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if conn.dialect.has_table(conn, table.name):
                    conn.execute(delete(table))


@pytest.fixture
def app(_migrated_app):
    """The real app on a migrated, empty database (cleaned after each test)."""
    ctx = _migrated_app.app_context()
    ctx.push()
    try:
        yield _migrated_app
    finally:
        from core.db import db
        db.session.remove()
        ctx.pop()
        _clean(_migrated_app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def demo(app):
    """The demo catalogue loaded through the real services (committed, as ``ocop seed demo`` does)."""
    from core.db import commit
    from core.demo import seed_demo
    result = seed_demo()
    commit()
    return result


@pytest.fixture
def login(client):
    """``login(username)`` → headers with a bearer token for a demo or test user."""
    def _login(username, password="ocop-demo-2026"):
        response = client.post("/auth/token", json={"username": username, "password": password})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}
    return _login


@pytest.fixture
def postgres_url():
    """The PostgreSQL test database URL, or skip (fail under OCOP_TEST_REQUIRE_SERVICES=1)."""
    if not TEST_DATABASE_URL or not TEST_DATABASE_URL.startswith("postgresql"):
        need_service("postgres", False, "PostgreSQL run only (set OCOP_TEST_DATABASE_URL)", required_here=False)
    return TEST_DATABASE_URL
