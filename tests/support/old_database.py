"""A database built at older revisions, for migration tests: an empty database of the engine under test
(SQLite file, or a throwaway PostgreSQL database on the server under test) and a second app on it."""
from __future__ import annotations

import uuid

import pytest
from alembic import command

from core import migrate
from core.db import db


@pytest.fixture
def old_database_url(database_url, tmp_path):
    """An empty database of the engine under test, dropped afterwards."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    import psycopg
    admin_url = database_url.replace("postgresql+psycopg://", "postgresql://")
    base, name = admin_url.rsplit("/", 1)
    name = f"{name.split('?', 1)[0]}_old_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def old_app(app, instance_path, old_database_url):
    """A second app on that database (the session's app gets Celery back afterwards)."""
    from conftest import make_settings
    from core.app import create_app
    from core.celery_app import init_celery
    db.session.commit()
    other = create_app(make_settings(instance_path, old_database_url))
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    init_celery(app)


def upgrade_to(component: str, revision: str) -> None:
    versions = dict(migrate.components())[component]
    with db.engine.begin() as connection:
        command.upgrade(migrate._config(component, versions, connection), revision)
