"""trust rules: login throttle counters, refund-due records of late gateway money, notification delivery claims

Revision ID: 0010_trust_rules
Revises: 0009_bigint_money
Create Date: 2026-12-01 13:00:00

Login throttle counters keyed by account or client address (changed only by conditional UPDATEs).
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "0010_trust_rules"
down_revision = "0009_bigint_money"
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
    op.create_table('payment_refund_due',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('resolved_at', core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_payment_refund_due_order_id_order')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_payment_refund_due_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_refund_due')),
    sa.UniqueConstraint('gateway', 'event_id', name='uq_payment_refund_due_gateway_event')
    )
    with op.batch_alter_table('payment_refund_due', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_refund_due_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_refund_due_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_refund_due_status'), ['status'], unique=False)


    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', core.db.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claim_token')
    op.drop_table('payment_refund_due')
    op.drop_table('login_throttle')
