"""Credit for orders: a session's own orders, storefront orders arriving by its link ``?ls=<code>``, and
storefront orders using the session's voucher code (``voucher_code``, a core voucher).

A storefront checkout is tagged with the code (``POST /storefront/v1/livestreams/track``, or the
``ls`` query argument on the complete request); the order is credited when placed between the
session's start and :data:`GRACE` after its end. A tag is kept in ``livestream_checkout_tag`` and noted
on the checkout itself (``checkout.referral``), which placement has loaded: an untagged checkout (nearly
every one) costs the attribution no query.
"""
from __future__ import annotations

import datetime as dt

from flask import has_request_context, request
from sqlalchemy import select

from core.db import db, utcnow
from core.errors import NotFound
from core.sales import checkout as checkouts
from core.sales.models import Checkout, SalesChannel
from plugins.livestream import sessions
from plugins.livestream.models import CheckoutTag, LivestreamSession

GRACE = dt.timedelta(hours=2)
SOURCE = "livestream"


def credit(session: LivestreamSession, via: str) -> dict:
    return {"source": SOURCE, "reference": sessions.channel_code(session.id), "session_id": session.id, "via": via}


def in_window(session: LivestreamSession, at: dt.datetime) -> bool:
    """Whether ``at`` falls in the session's attribution window (started, not more than GRACE after the end)."""
    if session.started_at is None or at < session.started_at:
        return False
    return session.ended_at is None or at <= session.ended_at + GRACE


def tag_checkout(checkout_token: str, code: str) -> CheckoutTag:
    """Remember that a storefront checkout came through a session's link (the latest link wins). Flushes."""
    session = sessions.session_by_tracking_code(code)
    if session is None:
        raise NotFound("livestream_session", "phiên livestream", {"code": code})
    row = db.session.execute(select(Checkout).where(Checkout.token == checkout_token)).scalar_one_or_none()
    if row is None:
        raise NotFound("checkout", "giỏ hàng")
    tag = db.session.execute(select(CheckoutTag).where(CheckoutTag.checkout_id == row.id)).scalar_one_or_none()
    if tag is None:
        tag = CheckoutTag(checkout_id=row.id)
        db.session.add(tag)
    tag.session_id, tag.tagged_at = session.id, utcnow()
    checkouts.note_referral(row, SOURCE, {"session_id": session.id})  # flushes
    return tag


def _link_code() -> str | None:
    if not has_request_context():
        return None
    code = request.args.get("ls")
    return code if isinstance(code, str) and 0 < len(code) <= 40 else None


def attribute(order) -> dict | None:
    """The ``order_attribution`` answer for ``order``: its session, or None to let others answer."""
    # the order's channel is in the session already (placement loaded it): only a livestream channel has a session
    channel = db.session.get(SalesChannel, order.channel_id) if order.channel_id is not None else None
    own = sessions.session_by_channel(order.channel_id) if channel is not None and \
        channel.kind == sessions.LIVESTREAM_KIND else None
    if own is not None:
        return credit(own, "channel")
    session, via = None, None
    code = _link_code()
    if code:
        session, via = sessions.session_by_tracking_code(code), "link"
    if session is None and order.voucher_codes:
        session, via = sessions.session_by_voucher_codes(order.voucher_codes), "voucher"
    if session is None and order.checkout_id is not None:
        # the tag is noted on the checkout, which placement loaded (identity map): no query when untagged
        checkout = db.session.get(Checkout, order.checkout_id)
        claim = checkouts.referral(checkout, SOURCE) if checkout is not None else None
        session_id = claim.get("session_id") if isinstance(claim, dict) else None
        session = db.session.get(LivestreamSession, session_id) if isinstance(session_id, int) else None
        via = "tag"
    if session is None or not in_window(session, order.created_at or utcnow()):
        return None
    return credit(session, via)
