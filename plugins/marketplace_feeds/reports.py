"""Marketplace reports (the ``reports`` hook): producers present per marketplace and province, items
published vs refused in the latest feeds, and campaign results (core promotions on marketplace channels,
GMV and orders from the core's promotion usage)."""
from __future__ import annotations

from sqlalchemy import func, select

from core.catalogue.models import Producer
from core.db import db
from core.pricing import access as pricing_access
from core.pricing import promotions
from core.pricing.models import Promotion
from plugins.marketplace_feeds.builds import FORMATS, latest_build
from plugins.marketplace_feeds.models import MARKETPLACE_KIND, Marketplace, MarketplaceProducer

BASE = "/admin/v1/marketplaces/reports"
ROLES = ("admin", "organiser")


def available_reports(user) -> list[dict]:
    if user is None or user.role not in ROLES:
        return []
    return [{"code": "marketplace_feeds.presence", "name": "Sàn TMĐT: chủ thể tham gia theo sàn và tỉnh",
             "name_en": "Marketplaces: producers present per marketplace and province", "url": f"{BASE}/presence"},
            {"code": "marketplace_feeds.items", "name": "Sàn TMĐT: sản phẩm đăng và bị từ chối",
             "name_en": "Marketplaces: items published and refused", "url": f"{BASE}/items"},
            {"code": "marketplace_feeds.campaigns", "name": "Sàn TMĐT: kết quả chiến dịch",
             "name_en": "Marketplaces: campaign results", "url": f"{BASE}/campaigns"}]


def presence(user) -> dict:
    """Active producers per marketplace and province (organisers: their province)."""
    stmt = (select(Marketplace.code, Marketplace.name, Producer.province_code, func.count(Producer.id))
            .join(MarketplaceProducer, MarketplaceProducer.marketplace_id == Marketplace.id)
            .join(Producer, Producer.id == MarketplaceProducer.producer_id)
            .where(MarketplaceProducer.status == "active")
            .group_by(Marketplace.code, Marketplace.name, Producer.province_code)
            .order_by(Marketplace.code, Producer.province_code))
    if user.role == "organiser":
        stmt = stmt.where(Producer.province_code == user.province_code)
    rows = [{"marketplace": code, "name": name, "province_code": province, "producers": int(n)}
            for code, name, province, n in db.session.execute(stmt)]
    return {"results": rows, "total": len(rows)}


def items(user) -> dict:
    """Per marketplace and format: items in the latest feed, refused, and the rules they broke."""
    rows = []
    for marketplace in db.session.execute(select(Marketplace).order_by(Marketplace.id)).scalars():
        for fmt in FORMATS:
            build = latest_build(marketplace, fmt)
            if build is not None:
                rows.append({"marketplace": marketplace.code, "format": fmt, "items": build.items,
                             "refused": build.refused, "by_rule": build.problems.get("by_rule", {}),
                             "built_at": build.built_at.isoformat()})
    return {"results": rows, "total": len(rows)}


def on_marketplaces(promotion: Promotion) -> bool:
    return any(c == MARKETPLACE_KIND or c.startswith(f"{MARKETPLACE_KIND}:") for c in promotion.channels or ())


def campaigns(user) -> dict:
    """Every visible promotion on marketplace channels with its core report (orders, units, discount, GMV
    per producer)."""
    stmt = select(Promotion).where(pricing_access.visible_clause(user, Promotion)).order_by(Promotion.id)
    rows = [promotions.report(user, p) for p in db.session.execute(stmt).scalars() if on_marketplaces(p)]
    return {"results": rows, "total": len(rows)}
