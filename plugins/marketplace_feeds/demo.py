"""The demo's marketplaces: Google Merchant and Shopee with every verified Đồng Nai demo producer, Postmart
with two of them, and a marketplace campaign (a core promotion on marketplace channels, producers opt in)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core import clock
from core.accounts.models import User
from core.catalogue.models import Producer
from core.db import db
from core.pricing import promotions
from plugins.marketplace_feeds import registry
from plugins.marketplace_feeds.models import Marketplace

FALLBACK_IMAGE = "https://ocop.example.vn/static/ocop-placeholder.jpg"
DEMO = (("google", "google_merchant", "Google Merchant Center"), ("shopee", "shopee", "Shopee"),
        ("postmart", "postmart", "Postmart"))
CAMPAIGN = "Ngày hội OCOP trên sàn"
CAMPAIGN_PRODUCERS = ("cs.htx-binh-loi",)


def seed_demo_marketplaces() -> dict:
    """Flushes; the command commits."""
    if db.session.execute(select(Marketplace.id).limit(1)).first():
        return {"skipped": True}
    users = {u.username: u for u in db.session.execute(select(User)).scalars()}
    if "admin" not in users:
        return {"skipped": True, "reason": "the core demo catalogue is not loaded (ocop demo)"}
    admin = users["admin"]
    verified = list(db.session.execute(select(Producer).where(Producer.status == "verified")
                                       .order_by(Producer.id)).scalars())
    made = {}
    for code, kind, name in DEMO:
        marketplace = registry.create_marketplace(admin, {"code": code, "kind": kind, "name": name,
                                                          "fallback_image_url": FALLBACK_IMAGE})
        for producer in (verified if code != "postmart" else verified[:2]):
            registry.set_participation(admin, marketplace, {"producer_id": producer.id}, "active")
        made[code] = marketplace.id
    campaign_id = None
    if "sct.dongnai" in users:
        start = dt.datetime.combine(clock.today() - dt.timedelta(days=1), dt.time(), clock.VN_TZ)
        campaign = promotions.create_promotion(users["sct.dongnai"], {
            "name": CAMPAIGN, "name_en": "OCOP day on marketplaces", "kind": "percentage", "value": 10,
            "starts_at": start, "ends_at": start + dt.timedelta(days=5), "channels": ["marketplace"]})
        promotions.activate_promotion(users["sct.dongnai"], campaign)
        for username in CAMPAIGN_PRODUCERS:
            if username in users:
                promotions.opt_in(users[username], campaign)
        campaign_id = campaign.id
    db.session.flush()
    return {"marketplaces": made, "campaign": campaign_id}
