"""Whether a product is *listed*: active, verified producer, active unexpired 3+ star certification.

The state is denormalised on ``Product`` (``is_listed``, ``listed_stars``,
``listed_until``, ``price_min``/``price_max``) so the storefront can filter
cheaply; ``listed_until`` keeps reads right even before the daily expiry job.
Every reader asks :func:`is_listed` (an object) or :func:`listed_clause` (SQL).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload, selectinload

from core import clock
from core.db import db, on_commit, publish
from core.catalogue.models import Product
from core.catalogue.version import bump
from core.plugins import hooks

#: OCOP products are listed (storefront, search, feeds) with a 3, 4 or 5 star certification.
MIN_LISTED_STARS = 3


def is_listed(product: Product, today: dt.date | None = None) -> bool:
    """Is ``product`` listed on ``today`` (default: today)? Its listing lapses with ``listed_until``."""
    today = today or clock.today()
    return bool(product.is_listed and product.listed_until and product.listed_until > today)


def listed_clause(today: dt.date | None = None):
    """SQL condition on ``Product``: listed on ``today`` (default: today) — the same rule as :func:`is_listed`."""
    today = today or clock.today()
    return and_(Product.is_listed.is_(True), Product.listed_until > today)


def listable_certification(product: Product):
    """The certification that makes ``product`` listable today, or None."""
    cert = product.current_certification()
    if cert is None or cert.stars < MIN_LISTED_STARS or cert.expires_on <= clock.today():
        return None
    return cert


#: why a product is not listed: code → (Vietnamese, English), in the order they are checked
UNLISTED_REASONS = {
    "not_active": ("Sản phẩm chưa ở trạng thái đang bán", "The product is not active"),
    "producer_not_verified": ("Chủ thể chưa được Sở Công Thương xác minh", "The producer is not verified"),
    "no_certification": ("Chưa có chứng nhận OCOP còn hiệu lực từ 3 sao", "No valid OCOP certification of 3+ stars"),
    "no_active_variant": ("Chưa có phiên bản nào đang bán", "No active variant"),
}


def unlisted_reasons(product: Product, cert=None) -> list[str]:
    """Why ``product`` is not listed today (codes of :data:`UNLISTED_REASONS`); empty when it is listable.

    ``cert``: its :func:`listable_certification` when the caller already has it. The one home of the rule
    :func:`refresh` applies.
    """
    cert = cert if cert is not None else listable_certification(product)
    reasons = []
    if product.status != "active":
        reasons.append("not_active")
    if product.producer is None or product.producer.status != "verified":
        reasons.append("producer_not_verified")
    if cert is None:
        reasons.append("no_certification")
    if not any(v.active for v in product.variants):
        reasons.append("no_active_variant")
    return reasons


def preload_listing_state(products: list[Product]) -> None:
    """Load what :func:`unlisted_reasons` and the certification badge read (producer, variants,
    certifications) for a page of ``products`` in three queries instead of three per product."""
    ids = [p.id for p in products]
    if ids:
        db.session.execute(select(Product).where(Product.id.in_(ids)).options(
            joinedload(Product.producer), selectinload(Product.variants),
            selectinload(Product.certifications))).scalars().all()


def refresh(product: Product, reason: str = "changed") -> bool:
    """Recompute the listing state of ``product`` (caller commits); fire listed/delisted hooks after commit."""
    was_listed = bool(product.is_listed)
    cert = listable_certification(product)
    active_variants = [v for v in product.variants if v.active]
    prices = [v.price for v in active_variants]
    product.price_min = min(prices) if prices else None
    product.price_max = max(prices) if prices else None
    listed = not unlisted_reasons(product, cert)
    product.is_listed = listed
    product.listed_stars = cert.stars if cert else None
    product.listed_until = cert.expires_on if (cert and listed) else None
    db.session.flush()
    bump()
    publish("catalogue.listing_refreshed", product=product, was_listed=was_listed, reason=reason)
    if listed != was_listed:
        hook = hooks()
        if listed:
            on_commit(lambda: hook.product_listed(product=product))
        else:
            on_commit(lambda: hook.product_delisted(product=product, reason=reason))
    return listed
