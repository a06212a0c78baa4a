"""pricing: promotions, producer opt-ins, vouchers, usage rows, the pricing version; order price snapshots

Revision ID: 0006_pricing
Revises: 0006_search_index_change
Create Date: 2026-12-01 09:34:36

Generated from the models, then: existing order lines get their unit price as
``base_unit_price`` (they were charged the base price, no discount).
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "0006_pricing"
down_revision = "0006_search_index_change"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pricing_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pricing_version'))
    )
    op.create_table('promotion',
    sa.Column('requires_opt_in', sa.Boolean(), nullable=False),
    sa.Column('max_units_per_order', sa.Integer(), nullable=True),
    sa.Column('max_uses_per_customer', sa.Integer(), nullable=True),
    sa.Column('max_total_units', sa.BigInteger(), nullable=True),
    sa.Column('budget', sa.BigInteger(), nullable=True),
    sa.Column('units_used', sa.BigInteger(), nullable=False),
    sa.Column('discount_used', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('starts_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('ends_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('stackable', sa.Boolean(), nullable=False),
    sa.Column('owner_kind', sa.String(length=20), nullable=False),
    sa.Column('province_code', sa.String(length=20), nullable=True),
    sa.Column('producer_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('activated_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('stopped_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('updated_at', core.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("kind <> 'percentage' OR value <= 100", name=op.f('ck_promotion_percentage_at_most_100')),
    sa.CheckConstraint('budget IS NULL OR discount_used <= budget', name=op.f('ck_promotion_budget_within_limit')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_promotion_window_order')),
    sa.CheckConstraint('max_total_units IS NULL OR units_used <= max_total_units', name=op.f('ck_promotion_units_within_limit')),
    sa.CheckConstraint('units_used >= 0 AND discount_used >= 0', name=op.f('ck_promotion_usage_not_negative')),
    sa.CheckConstraint('value > 0 AND value <= 1000000000000', name=op.f('ck_promotion_value_range')),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_promotion_producer_id_producer')),
    sa.ForeignKeyConstraint(['province_code'], ['administrative_unit.code'], name=op.f('fk_promotion_province_code_administrative_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion'))
    )
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotion_producer_id'), ['producer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_province_code'), ['province_code'], unique=False)
        batch_op.create_index('ix_promotion_published_ends', ['status', 'ends_at'], unique=False)
        batch_op.create_index('ix_promotion_published_starts', ['status', 'starts_at'], unique=False)

    op.create_table('voucher',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('code_key', sa.String(length=64), nullable=False),
    sa.Column('min_subtotal', sa.BigInteger(), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('per_customer_limit', sa.Integer(), nullable=True),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('starts_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('ends_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('stackable', sa.Boolean(), nullable=False),
    sa.Column('owner_kind', sa.String(length=20), nullable=False),
    sa.Column('province_code', sa.String(length=20), nullable=True),
    sa.Column('producer_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('activated_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('stopped_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('updated_at', core.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("kind <> 'percentage' OR value <= 100", name=op.f('ck_voucher_percentage_at_most_100')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_voucher_window_order')),
    sa.CheckConstraint('max_uses IS NULL OR uses <= max_uses', name=op.f('ck_voucher_uses_within_limit')),
    sa.CheckConstraint('uses >= 0', name=op.f('ck_voucher_uses_not_negative')),
    sa.CheckConstraint('value > 0 AND value <= 1000000000000', name=op.f('ck_voucher_value_range')),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_voucher_producer_id_producer')),
    sa.ForeignKeyConstraint(['province_code'], ['administrative_unit.code'], name=op.f('fk_voucher_province_code_administrative_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher')),
    sa.UniqueConstraint('code_key', name=op.f('uq_voucher_code_key'))
    )
    with op.batch_alter_table('voucher', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_producer_id'), ['producer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_province_code'), ['province_code'], unique=False)
        batch_op.create_index('ix_voucher_published_ends', ['status', 'ends_at'], unique=False)
        batch_op.create_index('ix_voucher_published_starts', ['status', 'starts_at'], unique=False)

    op.create_table('promotion_participant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('accepted_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('withdrawn_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_promotion_participant_producer_id_producer')),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotion.id'], name=op.f('fk_promotion_participant_promotion_id_promotion'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_participant')),
    sa.UniqueConstraint('promotion_id', 'producer_id', name='uq_promotion_participant_producer')
    )
    with op.batch_alter_table('promotion_participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotion_participant_producer_id'), ['producer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_participant_promotion_id'), ['promotion_id'], unique=False)

    op.create_table('promotion_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('order_ref', sa.String(length=100), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('customer_key', sa.String(length=120), nullable=True),
    sa.Column('units', sa.BigInteger(), nullable=False),
    sa.Column('discount_amount', sa.BigInteger(), nullable=False),
    sa.Column('gross_amount', sa.BigInteger(), nullable=False),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('released_at', core.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint('units >= 0 AND discount_amount >= 0 AND gross_amount >= 0', name=op.f('ck_promotion_usage_amounts_not_negative')),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotion.id'], name=op.f('fk_promotion_usage_promotion_id_promotion')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_usage')),
    sa.UniqueConstraint('promotion_id', 'order_ref', 'producer_id', name='uq_promotion_usage_order_producer')
    )
    with op.batch_alter_table('promotion_usage', schema=None) as batch_op:
        batch_op.create_index('ix_promotion_usage_customer', ['promotion_id', 'customer_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_usage_order_ref'), ['order_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_usage_promotion_id'), ['promotion_id'], unique=False)

    op.create_table('voucher_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('voucher_id', sa.Integer(), nullable=False),
    sa.Column('order_ref', sa.String(length=100), nullable=False),
    sa.Column('customer_key', sa.String(length=120), nullable=True),
    sa.Column('discount_amount', sa.BigInteger(), nullable=False),
    sa.Column('gross_amount', sa.BigInteger(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('released_at', core.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint('discount_amount >= 0 AND gross_amount >= 0', name=op.f('ck_voucher_usage_amounts_not_negative')),
    sa.ForeignKeyConstraint(['voucher_id'], ['voucher.id'], name=op.f('fk_voucher_usage_voucher_id_voucher')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_usage')),
    sa.UniqueConstraint('voucher_id', 'order_ref', name='uq_voucher_usage_order')
    )
    with op.batch_alter_table('voucher_usage', schema=None) as batch_op:
        batch_op.create_index('ix_voucher_usage_customer', ['voucher_id', 'customer_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_usage_order_ref'), ['order_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_usage_voucher_id'), ['voucher_id'], unique=False)

    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('base_unit_price', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('discount_amount', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('discounts', sa.JSON(), nullable=True))
    op.execute("UPDATE order_line SET base_unit_price = unit_price WHERE base_unit_price IS NULL")
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_amount', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('voucher_codes', sa.JSON(), nullable=True))
    with op.batch_alter_table('checkout', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voucher_codes', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('checkout', schema=None) as batch_op:
        batch_op.drop_column('voucher_codes')
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_column('voucher_codes')
        batch_op.drop_column('discount_amount')
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_column('discounts')
        batch_op.drop_column('discount_amount')
        batch_op.drop_column('base_unit_price')

    with op.batch_alter_table('voucher_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_usage_voucher_id'))
        batch_op.drop_index(batch_op.f('ix_voucher_usage_order_ref'))
        batch_op.drop_index('ix_voucher_usage_customer')

    op.drop_table('voucher_usage')
    with op.batch_alter_table('promotion_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotion_usage_promotion_id'))
        batch_op.drop_index(batch_op.f('ix_promotion_usage_order_ref'))
        batch_op.drop_index('ix_promotion_usage_customer')

    op.drop_table('promotion_usage')
    with op.batch_alter_table('promotion_participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotion_participant_promotion_id'))
        batch_op.drop_index(batch_op.f('ix_promotion_participant_producer_id'))

    op.drop_table('promotion_participant')
    with op.batch_alter_table('voucher', schema=None) as batch_op:
        batch_op.drop_index('ix_voucher_published_starts')
        batch_op.drop_index('ix_voucher_published_ends')
        batch_op.drop_index(batch_op.f('ix_voucher_province_code'))
        batch_op.drop_index(batch_op.f('ix_voucher_producer_id'))

    op.drop_table('voucher')
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.drop_index('ix_promotion_published_starts')
        batch_op.drop_index('ix_promotion_published_ends')
        batch_op.drop_index(batch_op.f('ix_promotion_province_code'))
        batch_op.drop_index(batch_op.f('ix_promotion_producer_id'))

    op.drop_table('promotion')
    op.drop_table('pricing_version')
