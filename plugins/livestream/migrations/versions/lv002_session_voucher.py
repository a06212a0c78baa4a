"""livestream: a session's voucher code (orders using it are credited to the session)

Revision ID: lv002
Revises: lv001
Create Date: 2026-12-01 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'lv002'
down_revision = 'lv001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('livestream_session') as batch_op:
        batch_op.add_column(sa.Column('voucher_code', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('voucher_code_key', sa.String(length=60), nullable=True))
        batch_op.create_index('ix_livestream_session_voucher_code_key', ['voucher_code_key'], unique=False)


def downgrade():
    with op.batch_alter_table('livestream_session') as batch_op:
        batch_op.drop_index('ix_livestream_session_voucher_code_key')
        batch_op.drop_column('voucher_code_key')
        batch_op.drop_column('voucher_code')
