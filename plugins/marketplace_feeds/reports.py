"""Marketplace reports (the ``reports`` hook): producers present per marketplace and province, items
published vs refused in the latest feeds, and campaign results (core promotions on marketplace channels,
GMV and orders from the core's promotion usage)."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from core.catalogue.models import Producer
from core.db import db
from core.geo.models import AdministrativeUnit
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
             "name_en": "Marketplaces: producers present per marketplace and province", "url": f"{BASE}/presence",
             "dashboard": dashboard_producers},
            {"code": "marketplace_feeds.items", "name": "Sàn TMĐT: sản phẩm đăng và bị từ chối",
             "name_en": "Marketplaces: items published and refused", "url": f"{BASE}/items"},
            {"code": "marketplace_feeds.campaigns", "name": "Sàn TMĐT: kết quả chiến dịch",
             "name_en": "Marketplaces: campaign results", "url": f"{BASE}/campaigns"}]


def dashboard_producers(*, province_code, unit_code, date_from, date_to) -> dict:
    """The province dashboard's figure ``marketplace_producers`` (the plans' KPI): producers present on at least
    one marketplace today (opted in and active), per marketplace in the rows; ``unit_code`` narrows to producers
    of that commune (or of the communes under a district). Presence is a state, so the period does not apply."""
    scope = [MarketplaceProducer.status == "active"]
    if province_code is not None:
        scope.append(Producer.province_code == province_code)
    if unit_code is not None:
        scope.append(Producer.commune_code.in_(select(AdministrativeUnit.code).where(or_(
            AdministrativeUnit.code == unit_code, AdministrativeUnit.parent_code == unit_code))))
    joined = (select(func.count(func.distinct(Producer.id)))
              .select_from(MarketplaceProducer).join(Producer, Producer.id == MarketplaceProducer.producer_id)
              .where(*scope))
    per_marketplace = (select(Marketplace.name, func.count(func.distinct(Producer.id)))
                       .join(MarketplaceProducer, MarketplaceProducer.marketplace_id == Marketplace.id)
                       .join(Producer, Producer.id == MarketplaceProducer.producer_id)
                       .where(*scope).group_by(Marketplace.id, Marketplace.name).order_by(Marketplace.name))
    return {"code": "marketplace_producers", "name": "Chủ thể OCOP trên sàn thương mại điện tử",
            "name_en": "OCOP producers on marketplaces", "value": int(db.session.execute(joined).scalar_one()),
            "unit": "chủ thể / producers",
            "rows": [{"label": name, "value": int(n)} for name, n in db.session.execute(per_marketplace)]}


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
