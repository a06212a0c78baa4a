"""livestream: existing checkout tags are noted on their checkouts (``checkout.referral``)

Revision ID: lv003
Revises: lv002
Create Date: 2026-12-01 23:00:00

Placement reads a checkout's livestream tag from ``checkout.referral`` (core ``0013_checkout_referral``);
checkouts tagged before it get their claim copied from ``livestream_checkout_tag``, so an open tagged
checkout placed after the upgrade is still credited.
"""
from alembic import op
import sqlalchemy as sa


revision = 'lv003'
down_revision = 'lv002'
branch_labels = None
depends_on = None  # core migrates first (core.migrate.upgrade): checkout.referral exists by then

_tag = sa.table('livestream_checkout_tag', sa.column('checkout_id', sa.Integer), sa.column('session_id', sa.Integer))
_checkout = sa.table('checkout', sa.column('id', sa.Integer), sa.column('referral', sa.JSON))


def upgrade():
    conn = op.get_bind()
    tags = conn.execute(sa.select(_tag.c.checkout_id, _tag.c.session_id).order_by(_tag.c.checkout_id)).all()
    for start in range(0, len(tags), 500):  # a bounded IN list (SQLite's parameter limit)
        batch = tags[start:start + 500]
        referrals = dict(conn.execute(sa.select(_checkout.c.id, _checkout.c.referral)
                                      .where(_checkout.c.id.in_([t.checkout_id for t in batch]))).all())
        for checkout_id, session_id in batch:
            referral = dict(referrals.get(checkout_id) or {})
            referral['livestream'] = {'session_id': session_id}
            conn.execute(sa.update(_checkout).where(_checkout.c.id == checkout_id).values(referral=referral))


def downgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.select(_checkout.c.id, _checkout.c.referral).where(_checkout.c.referral.is_not(None))).all()
    for checkout_id, referral in rows:
        if isinstance(referral, dict) and 'livestream' in referral:
            rest = {k: v for k, v in referral.items() if k != 'livestream'}
            conn.execute(sa.update(_checkout).where(_checkout.c.id == checkout_id).values(referral=rest or None))
