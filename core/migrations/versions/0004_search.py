"""search: outbox, database-backend documents, SQLite FTS5 / PostgreSQL full text and trigram indexes

Revision ID: 0004_search
Revises: 0001
Create Date: 2026-11-23 10:00:00

Written by hand. The engine-specific objects are not in the SQLAlchemy
metadata (autogenerate never sees them):

* SQLite: FTS5 table ``search_fts(name, body)`` (prefix indexes for 2 and 3
  characters) over the folded text of ``search_document_source`` (rowid =
  product id), kept in sync by triggers, and the ``search_fts_vocab``
  fts5vocab table used for typo correction.
* PostgreSQL: extensions ``pg_trgm`` and ``unaccent``; a ``tsv`` column on
  ``search_document`` (name weighted A, the rest B, ``simple`` configuration
  over text already folded in Python — the folding is done once, in Python,
  so no IMMUTABLE wrapper around ``unaccent`` is needed) with a GIN index, and
  a GIN trigram index on ``name_folded`` for typo tolerance
  (``word_similarity``).
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "0004_search"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("processed_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_outbox")),
    )
    with op.batch_alter_table("search_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_search_outbox_pending", ["processed_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_search_outbox_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_search_outbox_created_at"), ["created_at"], unique=False)

    op.create_table(
        "search_document",
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("group_code", sa.String(length=60), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=20), nullable=True),
        sa.Column("legal_form", sa.String(length=30), nullable=False),
        sa.Column("price_min", sa.Integer(), nullable=True),
        sa.Column("price_max", sa.Integer(), nullable=True),
        sa.Column("price_bucket", sa.Integer(), nullable=False),
        sa.Column("in_stock", sa.Boolean(), nullable=False),
        sa.Column("listed_until", sa.Date(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("name_folded", sa.Text(), nullable=False),
        sa.Column("meta_folded", sa.Text(), nullable=False),
        sa.Column("exact_text", sa.Text(), nullable=False),
        sa.Column("indexed_at", core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_search_document")),
    )
    with op.batch_alter_table("search_document", schema=None) as batch_op:
        for column in ("producer_id", "group_code", "province_code", "price_min", "listed_until", "created_at"):
            batch_op.create_index(batch_op.f(f"ix_search_document_{column}"), [column], unique=False)
    op.create_table(
        "search_document_source",
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name_folded", sa.Text(), nullable=False),
        sa.Column("body_folded", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_search_document_source")),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5("
                   "name, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')")
        op.execute("CREATE VIRTUAL TABLE search_fts_vocab USING fts5vocab('search_fts', 'row')")
        op.execute("CREATE TRIGGER search_document_source_ai AFTER INSERT ON search_document_source BEGIN "
                   "INSERT INTO search_fts(rowid, name, body) VALUES (new.product_id, new.name_folded, new.body_folded); "
                   "END")
        op.execute("CREATE TRIGGER search_document_source_ad AFTER DELETE ON search_document_source BEGIN "
                   "DELETE FROM search_fts WHERE rowid = old.product_id; "
                   "END")
        op.execute("CREATE TRIGGER search_document_source_au AFTER UPDATE ON search_document_source BEGIN "
                   "DELETE FROM search_fts WHERE rowid = old.product_id; "
                   "INSERT INTO search_fts(rowid, name, body) VALUES (new.product_id, new.name_folded, new.body_folded); "
                   "END")
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        # written by the backend: setweight(to_tsvector('simple', name), 'A') || setweight(…body…, 'B')
        op.execute("ALTER TABLE search_document ADD COLUMN tsv tsvector NOT NULL")
        op.execute("CREATE INDEX ix_search_document_tsv ON search_document USING gin (tsv)")
        op.execute("CREATE INDEX ix_search_document_name_trgm ON search_document USING gin (name_folded gin_trgm_ops)")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("search_document_source_ai", "search_document_source_ad", "search_document_source_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts_vocab")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_document_source")
    op.drop_table("search_document")
    op.drop_table("search_outbox")
