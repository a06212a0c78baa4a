"""Livestream reports (the ``reports`` hook): sessions per producer and province, GMV, best products."""
from __future__ import annotations

from sqlalchemy import select

from core.catalogue.models import Producer
from core.db import db
from plugins.livestream import access, metrics
from plugins.livestream.models import LivestreamSession

BASE = "/admin/v1/livestreams"


def available_reports(user) -> list[dict]:
    """Entries for ``GET /admin/v1/reports``."""
    if user is None or user.role not in ("admin", "organiser", "producer"):
        return []
    return [{"code": "livestream.sessions", "name": "Livestream: số phiên, doanh thu (GMV) theo chủ thể và tỉnh",
             "name_en": "Livestreams: sessions and GMV by producer and province",
             "url": f"{BASE}/reports/sessions?from={{from}}&to={{to}}"},
            {"code": "livestream.best_products", "name": "Livestream: sản phẩm bán chạy",
             "name_en": "Livestreams: best-selling products", "url": f"{BASE}/reports/sessions?from={{from}}&to={{to}}"}]


def sessions_report(user, args: dict) -> dict:
    """Sessions scheduled in [from, to] within the user's scope: per producer, per province, best products."""
    stmt = select(LivestreamSession)
    clause = access.scope_clause(user)
    if clause is not None:
        stmt = stmt.where(clause)
    if args.get("from"):
        stmt = stmt.where(LivestreamSession.scheduled_at >= args["from"])
    if args.get("to"):
        stmt = stmt.where(LivestreamSession.scheduled_at <= args["to"])
    by_producer: dict[int, dict] = {}
    by_province: dict[str, dict] = {}
    products: dict[int, dict] = {}
    total = {"sessions": 0, "gmv": 0, "orders": 0}
    for session in db.session.execute(stmt.order_by(LivestreamSession.id)).scalars():
        result = metrics.summary(session)
        total["sessions"] += 1
        total["gmv"] += result["gmv"]
        total["orders"] += result["orders"]
        for host in session.hosts:
            producer: Producer = host.producer
            entry = by_producer.setdefault(producer.id, {"producer_id": producer.id, "name": producer.name,
                                                         "province_code": producer.province_code,
                                                         "sessions": 0, "gmv": 0, "orders": 0})
            entry["sessions"] += 1
            entry["gmv"] += result["gmv"]
            entry["orders"] += result["orders"]
        province = by_province.setdefault(session.province_code or "", {"province_code": session.province_code,
                                                                         "sessions": 0, "gmv": 0, "orders": 0})
        province["sessions"] += 1
        province["gmv"] += result["gmv"]
        province["orders"] += result["orders"]
        for p in result["products"]:
            entry = products.setdefault(p["product_id"], {**p, "quantity": 0, "revenue": 0})
            entry["quantity"] += p["quantity"]
            entry["revenue"] += p["revenue"]
    return {**total, "producers": sorted(by_producer.values(), key=lambda e: -e["gmv"]),
            "provinces": sorted(by_province.values(), key=lambda e: -e["gmv"]),
            "best_products": sorted(products.values(), key=lambda e: (-e["revenue"], e["product_id"]))[:10]}
