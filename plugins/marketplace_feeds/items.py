"""What a feed publishes: one item per listed variant of the marketplace's producers, read in batches.

Each batch costs a bounded number of queries (variants with product and producer, certifications,
images, stock, and one ``core.pricing.resolver.prices_for`` call on the marketplace's channel), so the
feed shows exactly the price checkout charges on that channel and memory stays flat.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator

from flask import current_app
from sqlalchemy import and_, func, select

from core import clock
from core.db import db
from core.catalogue.listing import listed_clause
from core.catalogue.models import Producer, Product, ProductImage, Variant
from core.certification.models import Certification
from core.geo.models import AdministrativeUnit
from core.inventory.models import Stock, StockLocation
from core.inventory.stock_rows import PRODUCER_WAREHOUSE
from core.pricing import resolver
from plugins.marketplace_feeds.models import Marketplace, MarketplaceProducer
from plugins.marketplace_feeds.registry import categories_for, channel_code, product_link

BATCH = 1000
LEVELS = {"district": "Cấp huyện", "province": "Cấp tỉnh", "central": "Cấp trung ương"}


@dataclass
class FeedItem:
    """One variant as every feed format sees it (VND integers, aware UTC datetimes)."""

    id: str
    item_group_id: str
    product_id: int
    variant_id: int
    title: str
    description: str
    link: str
    image_link: str | None
    additional_image_links: list[str]
    price: int
    sale_price: int | None
    sale_starts_at: dt.datetime | None
    sale_ends_at: dt.datetime | None
    availability: str  # in_stock / out_of_stock
    quantity: int | None  # None for services
    brand: str
    gtin: str | None
    is_service: bool
    weight_g: int | None
    google_product_category: str | None
    product_type: str
    custom_labels: tuple[str, str, str, str, str]
    stars: int


def published_clause(marketplace: Marketplace, today: dt.date):
    """Variants the marketplace publishes: listed today, active, of a producer present on the marketplace."""
    present = select(MarketplaceProducer.producer_id).where(MarketplaceProducer.marketplace_id == marketplace.id,
                                                            MarketplaceProducer.status == "active")
    return and_(listed_clause(today), Product.status == "active", Variant.active.is_(True),
                Product.producer_id.in_(present))


def count_items(marketplace: Marketplace, today: dt.date | None = None) -> int:
    """How many items the marketplace's feeds would hold before validation (for a progress bar)."""
    today = today or clock.today()
    return db.session.execute(select(func.count(Variant.id)).join(Product, Product.id == Variant.product_id)
                              .where(published_clause(marketplace, today))).scalar_one()


_COLUMNS = (Variant.id, Variant.sku, Variant.gtin, Variant.name, Variant.weight_g, Variant.is_service,
            Product.id, Product.name, Product.slug, Product.description, Product.group_code,
            Product.product_set_code, Product.listed_stars, Producer.name, AdministrativeUnit.name,
            Product.listed_until)


def _variant_rows(marketplace: Marketplace, today: dt.date, after: int,
                  producer_id: int | None = None) -> tuple[list, int | None]:
    """The published variants of the next :data:`BATCH` products after product id ``after``.

    Keyset by product, and every per-batch read is a *range* of product (or variant) ids filtered here
    rather than a long ``IN`` list: the cost per batch stays flat however large the catalogue.
    """
    product_ids = db.session.execute(
        select(Product.id).join(MarketplaceProducer, and_(MarketplaceProducer.producer_id == Product.producer_id,
                                                          MarketplaceProducer.marketplace_id == marketplace.id))
        .where(Product.id > after, listed_clause(today), Product.status == "active",
               MarketplaceProducer.status == "active",
               *([Product.producer_id == producer_id] if producer_id is not None else []))
        .order_by(Product.id).limit(BATCH)).scalars().all()
    if not product_ids:
        return [], None
    wanted = set(product_ids)
    rows = db.session.execute(
        select(*_COLUMNS).join(Product, Product.id == Variant.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .outerjoin(AdministrativeUnit, AdministrativeUnit.code == Producer.province_code)
        .where(Variant.product_id.between(product_ids[0], product_ids[-1]), Variant.active.is_(True))
        .order_by(Variant.product_id, Variant.id)).all()
    return [r for r in rows if r[6] in wanted], product_ids[-1]


def _levels(first: int, last: int) -> dict[int, str]:
    """``{product_id: level}`` of the newest active certification (the one that lists it; its expiry is the
    product's ``listed_until``)."""
    return {product_id: level for product_id, level in db.session.execute(
        select(Certification.product_id, Certification.level)
        .where(Certification.product_id.between(first, last), Certification.status == "active")
        .order_by(Certification.product_id, Certification.issued_on))}


def _images(first: int, last: int) -> dict[int, list[str]]:
    base = current_app.config["OCOP"].public_base_url.rstrip("/")
    out: dict[int, list[str]] = {}
    for product_id, url, key in db.session.execute(
            select(ProductImage.product_id, ProductImage.url, ProductImage.storage_key)
            .where(ProductImage.product_id.between(first, last))
            .order_by(ProductImage.product_id, ProductImage.position, ProductImage.id)):
        link = url or (f"{base}/media/{key}" if key else None)
        if link:
            out.setdefault(product_id, []).append(link)
    return out


def warehouse_ids() -> frozenset[int]:
    """The active producer warehouses (read once per feed: the stock query then needs no join)."""
    return frozenset(db.session.execute(select(StockLocation.id).where(
        StockLocation.kind == PRODUCER_WAREHOUSE, StockLocation.active.is_(True))).scalars())


def _free_stock(variant_ids: list[int], warehouses: frozenset[int]) -> dict[int, int]:
    """Free units (on hand − allocated) per variant in the producers' active warehouses."""
    free: dict[int, int] = {}
    wanted = set(variant_ids)
    for variant_id, location_id, units in db.session.execute(
            select(Stock.variant_id, Stock.location_id, Stock.on_hand - Stock.allocated)
            .where(Stock.variant_id.between(min(variant_ids), max(variant_ids)))):
        if location_id in warehouses and variant_id in wanted:
            free[variant_id] = free.get(variant_id, 0) + units
    return free


def sale_window(line) -> tuple[dt.datetime | None, dt.datetime | None]:
    """When the sale price of a priced line holds: the latest start and the earliest end of its discounts."""
    if not line.on_sale:
        return None, None
    starts = [d.starts_at for d in line.discounts if d.starts_at]
    ends = [d.ends_at for d in line.discounts if d.ends_at]
    return (max(starts) if starts else None), (min(ends) if ends else line.sale_ends_at)


def _title(product_name: str, variant_name: str) -> str:
    """``Bưởi da xanh - Loại 1``: the product and the variant (the variant's own words, as on the storefront)."""
    return f"{product_name} - {variant_name}" if variant_name else product_name


def _description(description: str | None, product_name: str, stars: int, producer: str) -> str:
    text = (description or "").strip()
    return text or f"{product_name}: sản phẩm OCOP {stars} sao của {producer}."


def iter_items(marketplace: Marketplace, at: dt.datetime | None = None, progress=None,
               producer_id: int | None = None) -> Iterator[FeedItem]:
    """Every published variant as a :class:`FeedItem` (by product, then variant), priced on the marketplace's channel."""
    at = at or clock.now()
    today = clock.today()
    channel = channel_code(marketplace)
    base = current_app.config["OCOP"].public_base_url.rstrip("/")
    after, warehouses = 0, warehouse_ids()
    while True:
        first = after + 1
        rows, after = _variant_rows(marketplace, today, after, producer_id)
        if after is None:
            return
        if not rows:
            continue
        variant_ids = [r[0] for r in rows]
        levels, images = _levels(first, after), _images(first, after)
        stock = _free_stock(variant_ids, warehouses)
        prices = resolver.prices_for(variant_ids, channel=channel, at=at)
        for (variant_id, sku, gtin, variant_name, weight_g, is_service, product_id, product_name, slug, description,
             group_code, product_set, stars, producer, province, expires_on) in rows:
            level = levels.get(product_id)
            line = prices[variant_id]
            starts, ends = sale_window(line)
            google, category = categories_for(marketplace, _ProductView(product_set, group_code))
            pictures = images.get(product_id) or ([marketplace.fallback_image_url] if marketplace.fallback_image_url
                                                  else [])
            free = None if is_service else max(0, int(stock.get(variant_id) or 0))
            yield FeedItem(
                id=sku, item_group_id=f"ocop-{product_id}", product_id=product_id, variant_id=variant_id,
                title=_title(product_name, variant_name),
                description=_description(description, product_name, stars or 0, producer),
                link=product_link(marketplace, base, slug, sku, product_id, variant_id),
                image_link=pictures[0] if pictures else None, additional_image_links=pictures[1:11],
                price=line.base_unit_price, sale_price=line.unit_price if line.on_sale else None,
                sale_starts_at=starts, sale_ends_at=ends,
                availability="in_stock" if is_service or free > 0 else "out_of_stock", quantity=free,
                brand=producer, gtin=gtin, is_service=bool(is_service), weight_g=weight_g,
                google_product_category=google, product_type=category or group_code,
                custom_labels=(f"OCOP {stars} sao", LEVELS.get(level, level or ""),
                               f"{expires_on:%Y-%m}" if expires_on else "", province or "", group_code),
                stars=stars or 0)
        if progress:
            progress(len(rows))


@dataclass(frozen=True)
class _ProductView:
    product_set_code: str | None
    group_code: str
