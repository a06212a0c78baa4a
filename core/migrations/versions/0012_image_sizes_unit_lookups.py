"""image sizes and unit lookups: product images keep their size and thumbnails; communes are browsed by code

Revision ID: 0012_image_sizes_unit_lookups
Revises: 0011_payment_payables
Create Date: 2026-12-01 19:40:00

``product_image.width`` / ``height`` (pixels, as shown: EXIF orientation applied) and ``thumbnail_widths``
(the widths generated beside the upload; NULL = not generated yet, which ``ocop images thumbnails`` fills).
Indexes for the site's lookups: an image by storage key (cards), producers by commune (commune pages) and
retired units by successor (the communes a current one was formed from).
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_image_sizes_unit_lookups"
down_revision = "0011_payment_payables"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('product_image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('thumbnail_widths', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_product_image_storage_key'), ['storage_key'], unique=False)
    with op.batch_alter_table('producer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_producer_commune_code'), ['commune_code'], unique=False)
    with op.batch_alter_table('administrative_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_administrative_unit_successor_code'), ['successor_code'], unique=False)


def downgrade():
    with op.batch_alter_table('administrative_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_administrative_unit_successor_code'))
    with op.batch_alter_table('producer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_producer_commune_code'))
    with op.batch_alter_table('product_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_image_storage_key'))
        batch_op.drop_column('thumbnail_widths')
        batch_op.drop_column('height')
        batch_op.drop_column('width')
