"""merge the stock, orders and search branches into one core history

Revision ID: 0005_merge
Revises: 0003_orders, 0004_search (0003 depends on 0002_stock)
"""

revision = "0005_merge"
down_revision = ("0003_orders", "0004_search")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
