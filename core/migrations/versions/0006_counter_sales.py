"""counter sales: the till's idempotency key on orders (unique per channel), returned quantities on lines

Revision ID: 0006_counter_sales
Revises: 0005_merge
"""
from alembic import op
import sqlalchemy as sa


revision = "0006_counter_sales"
down_revision = "0005_merge"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_ref", sa.String(length=120), nullable=True))
    op.create_index("uq_order_channel_client_ref", "order", ["channel_id", "client_ref"], unique=True)
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returned_quantity", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_column("returned_quantity")
    op.drop_index("uq_order_channel_client_ref", table_name="order")
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.drop_column("client_ref")
