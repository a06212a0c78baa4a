"""payment payables: a payment pays an order or a plugin's payable debt (kind + id), exactly one of the two

Revision ID: 0011_payment_payables
Revises: 0010_trust_rules
Create Date: 2026-12-01 16:10:00

``payment.order_id`` becomes nullable; ``payable_kind`` / ``payable_id`` name the debt otherwise (CHECK:
exactly one is set). A partial unique index keeps at most one captured payment per payable.
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_payment_payables"
down_revision = "0010_trust_rules"
branch_labels = None
depends_on = None

CAPTURED = "status IN ('succeeded', 'partially_refunded') AND payable_kind IS NOT NULL"


def upgrade():
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payable_kind', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('payable_id', sa.Integer(), nullable=True))
        batch_op.alter_column('order_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(
            op.f('ck_payment_order_or_payable'),
            "(order_id IS NULL) <> (payable_kind IS NULL) AND (payable_kind IS NULL) = (payable_id IS NULL)")
        batch_op.create_index('ix_payment_payable', ['payable_kind', 'payable_id'], unique=False)
        batch_op.create_index('uq_payment_payable_captured', ['payable_kind', 'payable_id'], unique=True,
                              sqlite_where=sa.text(CAPTURED), postgresql_where=sa.text(CAPTURED))


def downgrade():
    # payables' payments cannot live without an order: they go, and what points at them lets go first
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "bank_transaction" in tables:  # the bank_transfer plugin's statement lines
        op.execute("UPDATE bank_transaction SET payment_id = NULL "
                   "WHERE payment_id IN (SELECT id FROM payment WHERE order_id IS NULL)")
    op.execute("DELETE FROM payment_event WHERE payment_id IN (SELECT id FROM payment WHERE order_id IS NULL)")
    op.execute("DELETE FROM payment WHERE order_id IS NULL")
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('uq_payment_payable_captured')
        batch_op.drop_index('ix_payment_payable')
        batch_op.drop_constraint(op.f('ck_payment_order_or_payable'), type_='check')
        batch_op.alter_column('order_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('payable_id')
        batch_op.drop_column('payable_kind')
