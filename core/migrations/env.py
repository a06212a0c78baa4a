"""Alembic environment shared by the core and every plugin (one version table per component)."""
from alembic import context

from core.db import db

config = context.config
component = config.attributes["component"]
connection = config.attributes["connection"]


def include_object(obj, name, type_, reflected, compare_to):
    table = obj if type_ == "table" else getattr(obj, "table", None)
    if table is None:
        return True
    if reflected and compare_to is None:
        return False  # never drop tables we do not know (other components')
    return table.info.get("component", "core") == component


context.configure(
    connection=connection,
    target_metadata=db.metadata,
    version_table=config.attributes["version_table"],
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
