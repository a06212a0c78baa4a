"""Programmatic Alembic: the core and each enabled plugin migrate with their own version table."""
from __future__ import annotations

from pathlib import Path

from flask import current_app

from core.db import db
from core.plugins import LazyModule

# Alembic costs ~10 MB at import: loaded when a command migrates, not with every ``ocop`` command
command = LazyModule("alembic.command")
alembic_config = LazyModule("alembic.config")

CORE_VERSIONS = str(Path(__file__).parent / "migrations" / "versions")


def components() -> list[tuple[str, str]]:
    """``(component, versions_dir)`` for the core and every enabled plugin with migrations."""
    return [("core", CORE_VERSIONS), *current_app.extensions["ocop_plugins"].migration_components()]


def _config(component: str, versions_dir: str, connection) -> alembic_config.Config:
    cfg = alembic_config.Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", versions_dir)
    cfg.attributes.update(connection=connection, component=component,
                          version_table="alembic_version" if component == "core" else f"alembic_version_{component}")
    return cfg


def upgrade(progress=None) -> list[str]:
    """Upgrade the core then every enabled plugin to their latest revision."""
    done = []
    for component, versions in components():
        with db.engine.begin() as connection:
            command.upgrade(_config(component, versions, connection), "heads")
        done.append(component)
        if progress:
            progress(component)
    return done


def downgrade(component: str, revision: str) -> None:
    versions = dict(components())[component]
    with db.engine.begin() as connection:
        command.downgrade(_config(component, versions, connection), revision)


def revision(component: str, message: str) -> None:
    """Autogenerate a revision for ``component`` from the models (developer tool)."""
    versions = dict(components())[component]
    Path(versions).mkdir(parents=True, exist_ok=True)
    with db.engine.begin() as connection:
        command.revision(_config(component, versions, connection), message=message, autogenerate=True)
