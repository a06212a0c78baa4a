"""Platform figures by time, and a session's results: GMV, orders, conversion, products, orders per minute."""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, or_, select

from core.db import db
from core.sales.models import Order, OrderLine
from plugins.livestream import sessions
from plugins.livestream.models import LivestreamComment, MetricSample

NOT_SOLD = ("cancelled", "refunded")
FIGURES = ("views", "peak_viewers", "likes", "shares", "comments")


def record_samples(session, samples: list[dict]) -> int:
    """Store figures by time; a sample for a moment already known replaces it. Flushes; returns the count."""
    known = {s.at: s for s in db.session.execute(select(MetricSample)
                                                 .where(MetricSample.session_id == session.id)).scalars()}
    for data in samples:
        at = data["at"].astimezone(dt.timezone.utc)
        row = known.get(at) or known.get(at.replace(tzinfo=None))
        if row is None:
            row = MetricSample(session_id=session.id, at=at)
            db.session.add(row)
            known[at] = row
        for key in FIGURES:
            setattr(row, key, data.get(key, getattr(row, key) or 0))
    db.session.flush()
    return len(samples)


def credited_orders_clause(session):
    """Orders placed on the session's channel or credited to it by attribution."""
    reference = sessions.channel_code(session.id)
    return or_(Order.channel_id == session.sales_channel_id, Order.attribution["reference"].as_string() == reference)


def credited_orders(session) -> list[Order]:
    return list(db.session.execute(select(Order).where(credited_orders_clause(session), Order.status.notin_(NOT_SOLD))
                                   .order_by(Order.created_at, Order.id)).scalars())


def _minute(at: dt.datetime) -> dt.datetime:
    return at.replace(second=0, microsecond=0)


def summary(session) -> dict:
    """The session's results (money in VND)."""
    orders = credited_orders(session)
    commenters = db.session.execute(select(func.count(func.distinct(LivestreamComment.author_id)))
                                    .where(LivestreamComment.session_id == session.id)).scalar_one()
    comments = db.session.execute(select(func.count(LivestreamComment.id))
                                  .where(LivestreamComment.session_id == session.id)).scalar_one()
    from_comments = [o for o in orders if o.channel_id == session.sales_channel_id]
    products: dict[int, dict] = {}
    if orders:
        for line in db.session.execute(select(OrderLine).where(OrderLine.order_id.in_([o.id for o in orders]))).scalars():
            entry = products.setdefault(line.product_id, {"product_id": line.product_id, "name": line.product_name,
                                                          "quantity": 0, "revenue": 0})
            entry["quantity"] += line.quantity
            entry["revenue"] += line.line_total
    per_minute = Counter(_minute(o.created_at) for o in orders)
    samples = list(db.session.execute(select(MetricSample).where(MetricSample.session_id == session.id)
                                      .order_by(MetricSample.at)).scalars())
    return {"session_id": session.id, "gmv": sum(o.total for o in orders), "orders": len(orders),
            "orders_from_comments": len(from_comments), "orders_from_link": len(orders) - len(from_comments),
            "comments": comments, "unique_commenters": commenters,
            "conversion": round(len(from_comments) / commenters, 4) if commenters else 0.0,
            "products": sorted(products.values(), key=lambda p: (-p["revenue"], p["product_id"])),
            "orders_per_minute": [{"minute": m, "orders": n} for m, n in sorted(per_minute.items())],
            "pins": _pins(session, orders),
            "peak_viewers": max((s.peak_viewers for s in samples), default=0),
            "latest": {k: getattr(samples[-1], k) for k in FIGURES} if samples else None}


def _pins(session, orders: list[Order]) -> list[dict]:
    """For each pin window: the orders placed while it was on screen, per minute on screen."""
    out = []
    for item in session.items:
        for window in item.pins:
            end = window.ended_at or session.ended_at
            inside = [o for o in orders if o.created_at >= window.started_at and (end is None or o.created_at < end)]
            minutes = max(((end - window.started_at).total_seconds() / 60) if end else 1.0, 1.0)
            out.append({"code": item.code, "started_at": window.started_at, "ended_at": window.ended_at,
                        "orders": len(inside), "orders_per_minute": round(len(inside) / minutes, 3)})
    return sorted(out, key=lambda p: p["started_at"])


def samples_of(session) -> list[MetricSample]:
    return list(db.session.execute(select(MetricSample).where(MetricSample.session_id == session.id)
                                   .order_by(MetricSample.at)).scalars())

