"""Migrations: the migrated schema matches the models, and the core history has a single head."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.config import Config

from core import migrate
from core.db import db


#: columns that only exist on one engine and are created by migrations in SQL
ENGINE_ONLY_COLUMNS = {("search_document", "tsv")}  # PostgreSQL tsvector for full-text search


def test_migrated_schema_matches_the_models(app):
    known = {t.name for t in db.metadata.sorted_tables}

    def include_object(obj, name, type_, reflected, compare_to):
        if type_ == "table" and reflected and compare_to is None:
            return name in known  # ignore FTS/virtual and version tables
        if type_ == "column" and reflected and compare_to is None and (obj.table.name, name) in ENGINE_ONLY_COLUMNS:
            return False
        if type_ == "index" and reflected and compare_to is None:
            return False  # engine-specific indexes created in SQL (trigram GIN, FTS) by migrations only
        return True

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_core_history_has_one_head(app):
    cfg = Config()
    cfg.set_main_option("script_location", migrate.__file__.rsplit("/", 1)[0] + "/migrations")
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", migrate.CORE_VERSIONS)
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, heads
