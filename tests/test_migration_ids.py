"""Every revision id fits ``alembic_version.version_num`` (VARCHAR(32)): PostgreSQL refuses a longer one when
the upgrade records it, SQLite does not check lengths."""
from alembic.config import Config
from alembic.script import ScriptDirectory

from core import migrate


def test_every_revision_id_fits_the_version_table(app):
    folders = [migrate.CORE_VERSIONS, *(folder for _, folder in app.extensions["ocop_plugins"].migration_components())]
    for folder in folders:
        cfg = Config()
        cfg.set_main_option("script_location", migrate.__file__.rsplit("/", 1)[0] + "/migrations")
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("version_locations", folder)
        revisions = [r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()]
        assert revisions and all(len(r) <= 32 for r in revisions), (folder, [r for r in revisions if len(r) > 32])
