"""sales points: the VND columns left INTEGER (receipt line cost, sale return refund and line amounts) are BIGINT

Revision ID: sp003_bigint_money
Revises: sp002

Same as the core's ``0009_bigint_money``: widened in place on PostgreSQL; on SQLite the batch
operations only rewrite the declared type (its integers are 64-bit already).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sp003_bigint_money"
down_revision = "sp002"
branch_labels = None
depends_on = None

MONEY_COLUMNS = {
    "sales_point_receipt_line": ("unit_cost",),
    "sales_point_sale_return": ("refund_amount",),
    "sales_point_sale_return_line": ("amount",),
}


def _retype(old, new):
    for table, columns in MONEY_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=False)


def upgrade():
    _retype(sa.Integer(), sa.BigInteger())


def downgrade():
    _retype(sa.BigInteger(), sa.Integer())
