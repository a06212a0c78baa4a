"""checkout referral: where the shopper came from, noted on the checkout by plugins (read back at placement)

Revision ID: 0013_checkout_referral
Revises: 0012_image_sizes_unit_lookups
Create Date: 2026-12-01 23:00:00

``checkout.referral`` (JSON, NULL = none): ``{source: data}`` claims noted while the shopper shops (a
livestream link, …), so placing the order reads them with the checkout instead of asking each plugin's
tables (a query per order, for the few checkouts that carry a claim).
"""
from alembic import op
import sqlalchemy as sa


revision = "0013_checkout_referral"
down_revision = "0012_image_sizes_unit_lookups"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('checkout', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('checkout', schema=None) as batch_op:
        batch_op.drop_column('referral')
