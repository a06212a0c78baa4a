"""Celery tasks of the marketplace feeds plugin: keep every active marketplace's feeds current."""
from __future__ import annotations

from sqlalchemy import select

from core.celery_app import celery_app
from core.db import db
from plugins.marketplace_feeds import builds
from plugins.marketplace_feeds.models import Marketplace

#: the formats kept warm per marketplace kind (others are built on first fetch)
WARM = {"google_merchant": ("rss", "local_inventory"), "meta": ("csv",)}


def refresh_all() -> dict:
    """Rebuild each active marketplace's warm feeds whose state changed (catalogue, prices, stock, opt-ins)."""
    built = 0
    for marketplace in db.session.execute(select(Marketplace).where(Marketplace.active.is_(True))).scalars():
        for fmt in WARM.get(marketplace.kind, ("json",)):
            before = builds.latest_build(marketplace, fmt)
            if builds.current_build(marketplace, fmt) is not before:
                built += 1
    return {"built": built}


@celery_app.task(name="marketplace_feeds.refresh", bind=True, autoretry_for=(OSError,), retry_backoff=True,
                 max_retries=3)
def refresh(self) -> dict:
    """Every 15 minutes: regenerate the feeds whose catalogue, pricing or stock state moved on."""
    return refresh_all()
