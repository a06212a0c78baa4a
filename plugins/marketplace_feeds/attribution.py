"""Orders on a marketplace's channel are credited to that marketplace (``order_attribution``)."""
from __future__ import annotations

from core.db import db
from core.sales.models import SalesChannel
from plugins.marketplace_feeds.models import MARKETPLACE_KIND


def attribute(order) -> dict | None:
    channel = db.session.get(SalesChannel, order.channel_id) if order.channel_id else None
    if channel is None or channel.kind != MARKETPLACE_KIND:
        return None
    return {"source": "marketplace", "reference": channel.code}
