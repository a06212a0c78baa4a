"""Loads the demo OCOP catalogue (drawn from the seed plans) shipped in ``core/data``."""
from __future__ import annotations

import datetime as dt
import json
from importlib import resources

from sqlalchemy import select
from stdnum import ean

from core.db import db
from core.catalogue.models import Producer, Product
from core.accounts.models import User
from core.certification import certifications
from core.geo import units as geo
from core.catalogue import listing, producers, products
from core.accounts.authentication import create_user
from core import clock
from core.inventory import ledger
from core.inventory.models import StockLocation
from core.plugins import plugin_manager
from core.pricing import promotions, vouchers

DEMO_PASSWORD = "ocop-demo-2026"


def demo_data() -> dict:
    return json.loads(resources.files("core").joinpath("data/demo_catalogue.json").read_text("utf-8"))


def demo_gtin(index: int) -> str:
    """An illustrative GTIN-13 with Vietnam's GS1 prefix 893 and a valid check digit."""
    body = f"893{index:09d}"
    return body + ean.calc_check_digit(body)


def demo_present() -> bool:
    """True once the demo catalogue (or any catalogue) is in the database: :func:`seed_demo` then does nothing."""
    return db.session.execute(select(Product.id).limit(1)).first() is not None


def seed_demo(progress=None, campaign: bool = True) -> dict:
    """Load demo units, producers, products, variants, certifications and demo users (idempotent).

    Flushes only: ``ocop seed demo`` (or the caller) commits, in one transaction.
    """
    data = demo_data()
    if demo_present():
        return {"skipped": True}
    geo.upsert_units(data["administrative_units"])
    admin = create_user("admin", DEMO_PASSWORD, "admin", full_name="Quản trị viên demo")
    create_user("sct.dongnai", DEMO_PASSWORD, "organiser", province_code="75",
                full_name="Sở Công Thương Đồng Nai")
    create_user("hoidong.dongnai", DEMO_PASSWORD, "certifier", province_code="75",
                full_name="Hội đồng OCOP tỉnh Đồng Nai")
    by_key: dict[str, Producer] = {}
    for row in data["producers"]:
        by_key[row["key"]] = producers.create_producer(None, {
            "name": row["name"], "legal_form": row["legal_form"], "commune_code": row["commune"]})
    for key, producer in by_key.items():
        create_user(f"cs.{key}", DEMO_PASSWORD, "producer", producer_id=producer.id, full_name=producer.name)
    gtin_index = 1
    stock = {}
    items = data["products"]
    for row in items:
        producer = by_key[row["producer"]]
        variants = []
        for v in row["variants"]:
            variants.append({"sku": v["sku"], "name": v["name"], "price": v["price"], "gtin": demo_gtin(gtin_index),
                             "is_service": v.get("stock") is None})
            stock[v["sku"]] = v.get("stock")
            gtin_index += 1
        product = products.create_product(admin, producer, {
            "name": row["name"], "group": row["group"], "product_set": row.get("product_set"),
            "description": row.get("description"), "origin_commune_code": row.get("commune", producer.commune_code),
            "status": "active", "variants": variants})
        for n, c in enumerate(sorted(row["certifications"], key=lambda c: c["issued_on"])):
            certifications.record_certification(admin, product, {
                "stars": c["stars"], "score": c["score"], "level": c["level"], "criteria_set": c["criteria"],
                "issued_on": dt.date.fromisoformat(c["issued_on"]),
                "decision_no": c.get("decision_no") or f"{100 + n + gtin_index}/QĐ-UBND",
                "issuing_unit_code": _issuing_unit(producer, c["level"]),
                "council": _council(c["level"])})
        if progress:
            progress()
    for product in db.session.execute(select(Product)).scalars():
        listing.refresh(product)
    _seed_stock(admin, by_key, stock)
    campaign_id = _seed_campaign() if campaign else None  # False: a database migrated before pricing (tests)
    return {"producers": len(by_key), "products": len(items), "stock": stock, "campaign": campaign_id}


def _seed_stock(admin: User, by_key: dict[str, Producer], figures: dict[str, int | None]) -> None:
    """One warehouse per demo producer holding the demo ``stock`` figures (lot + best-before for food/beverages)."""
    today = clock.today()
    for producer in by_key.values():
        warehouse = StockLocation(kind="producer_warehouse", name=f"Kho {producer.name}", producer_id=producer.id,
                                  province_code=producer.province_code, address=producer.address, active=True)
        db.session.add(warehouse)
        db.session.flush()
        for product in producer.products:
            for variant in product.variants:
                if figures.get(variant.sku) is None or variant.is_service:
                    continue
                lot_no = best_before = None
                if product.group_code in ("food", "beverages"):
                    days = 30 if product.product_set_code == "fresh_produce" else 365
                    lot_no, best_before = f"DEMO-{today:%Y%m}", today + dt.timedelta(days=days)
                ledger.receive(warehouse, variant, figures[variant.sku], actor=admin, reason="Tồn kho demo",
                               reference="demo:seed", lot_no=lot_no, best_before=best_before)


def _issuing_unit(producer: Producer, level: str) -> str | None:
    if level == "central":
        return None
    chain = geo.lineage(producer.commune)
    wanted = "district" if level == "district" else "province"
    return next((u.code for u in chain if u.level == wanted), None)


def _council(level: str) -> str:
    return {"district": "Hội đồng đánh giá, phân hạng sản phẩm OCOP cấp huyện",
            "province": "Hội đồng đánh giá, phân hạng sản phẩm OCOP cấp tỉnh",
            "central": "Hội đồng đánh giá, phân hạng sản phẩm OCOP cấp trung ương"}[level]


#: the demo's "Tuần lễ OCOP" campaign: organised by Đồng Nai; two of its producers opted in, the others did not
DEMO_CAMPAIGN_PRODUCERS = ("cs.htx-binh-minh", "cs.nhan-tuan-nhan")
DEMO_CAMPAIGN_PERCENT = 15


def _seed_campaign() -> int:
    """The Đồng Nai organiser's OCOP week (15% off, 3 days ago → 4 days ahead), two producers in; a voucher. Commits."""
    users = {u.username: u for u in db.session.execute(select(User)).scalars()}
    organiser = users["sct.dongnai"]
    start = dt.datetime.combine(clock.today() - dt.timedelta(days=3), dt.time(), clock.VN_TZ)
    kinds = plugin_manager().sales_channel_kinds
    campaign = promotions.create_promotion(organiser, {
        "name": "Tuần lễ OCOP Đồng Nai", "name_en": "Đồng Nai OCOP week",
        "description": "Sở Công Thương Đồng Nai giảm giá sản phẩm OCOP của các chủ thể tham gia.",
        "kind": "percentage", "value": DEMO_CAMPAIGN_PERCENT,
        "starts_at": start, "ends_at": start + dt.timedelta(days=7),
        "channels": [k for k in ("online_store", "sales_point", "fair_booth") if k in kinds],
        "max_units_per_order": 5, "budget": 20_000_000})
    promotions.activate_promotion(organiser, campaign)
    for username in DEMO_CAMPAIGN_PRODUCERS:
        promotions.opt_in(users[username], campaign)
    voucher = vouchers.create_voucher(organiser, {
        "code": "OCOP-DONGNAI", "name": "Giảm 20.000 ₫ cho đơn từ 200.000 ₫", "name_en": "20,000 VND off from 200,000",
        "kind": "amount", "value": 20_000, "min_subtotal": 200_000, "max_uses": 100, "per_customer_limit": 1,
        "starts_at": start, "ends_at": start + dt.timedelta(days=7), "channels": ["online_store"]})
    vouchers.activate_voucher(organiser, voucher)
    return campaign.id
