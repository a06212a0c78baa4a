"""trust rules: login throttle counters

Revision ID: 0010_trust_rules
Revises: 0006_pricing
Create Date: 2026-12-01 13:00:00

Login throttle counters keyed by account or client address (changed only by conditional UPDATEs).
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "0010_trust_rules"
down_revision = "0006_pricing"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', core.db.UTCDateTime(), nullable=True),
    sa.Column('updated_at', core.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )


def downgrade():
    op.drop_table('login_throttle')
