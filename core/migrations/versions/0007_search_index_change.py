"""search: the index change log read by every process's facet columns

Revision ID: 0006_search_index_change
Revises: 0006_counter_sales
Create Date: 2026-11-24 09:00:00

``search_index_change`` (one row per write to the database backend's index:
the products touched, or a rebuild, with a random token) lets each worker
bring its in-memory facet columns up to date instead of reloading them.
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "0006_search_index_change"
down_revision = "0006_counter_sales"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_index_change",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("rebuild", sa.Boolean(), nullable=False),
        sa.Column("product_ids", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_search_index_change")),
    )


def downgrade():
    op.drop_table("search_index_change")
