"""hello plugin: greeting table

Revision ID: h001
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "h001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("hello_greeting",
                    sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("text", sa.String(200), nullable=False))


def downgrade():
    op.drop_table("hello_greeting")
