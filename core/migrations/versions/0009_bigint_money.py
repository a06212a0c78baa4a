"""money: every VND column of the core is BIGINT (orders over 2,147,483,647 đ; prices up to the input maximum)

Revision ID: 0009_bigint_money
Revises: 0006_pricing
Create Date: 2026-12-01 13:10:00

PostgreSQL widens the columns in place (``ALTER COLUMN … TYPE BIGINT``: integer to bigint needs no USING).
SQLite stores any integer in 64 bits already; the batch operations only rewrite the declared type.
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_bigint_money"
down_revision = "0006_pricing"
branch_labels = None
depends_on = None

#: table → (column, nullable) of its VND amounts that were INTEGER
MONEY_COLUMNS = {
    "checkout": (("subtotal", False), ("shipping_fee", False), ("total", False)),
    "order": (("subtotal", False), ("shipping_fee", False), ("total", False), ("paid_amount", False),
              ("refunded_amount", False)),
    "order_line": (("unit_price", False), ("line_total", False)),
    "payment": (("amount", False), ("refunded_amount", False)),
    "payment_event": (("amount", True),),
    "refund": (("amount", False),),
    "product": (("price_min", True), ("price_max", True)),
    "variant": (("price", False),),
    "search_document": (("price_min", True), ("price_max", True)),
}


def _retype(old, new):
    for table, columns in MONEY_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, nullable in columns:
                batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=nullable)


def upgrade():
    _retype(sa.Integer(), sa.BigInteger())


def downgrade():
    _retype(sa.BigInteger(), sa.Integer())
