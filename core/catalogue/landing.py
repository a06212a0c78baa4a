"""Reads for the public site's landing pages: a delisted product's listed neighbours, the sitemap's slugs."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.db import db
from core.catalogue.browse import listed_filter, summary
from core.catalogue.listing import is_listed
from core.catalogue.models import Producer, Product

#: verified producers are the only ones with public pages (as on the storefront API)
PUBLIC_PRODUCER = "verified"


def delisted_product(slug: str) -> Product | None:
    """The product behind ``slug`` if it exists but is not listed today (its page is *gone*, not unknown)."""
    product = db.session.execute(select(Product).where(Product.slug == slug)).scalar_one_or_none()
    return product if product is not None and not is_listed(product) else None


def similar_listed(product: Product, limit: int = 6) -> list[dict]:
    """Listed products to offer instead of ``product``: same OCOP group first, then the same producer; most stars first."""
    stmt = (select(Product).where(listed_filter(), Product.id != product.id,
                                  (Product.group_code == product.group_code) | (Product.producer_id == product.producer_id))
            .options(selectinload(Product.producer).selectinload(Producer.province), selectinload(Product.images))
            .order_by((Product.group_code == product.group_code).desc(), Product.listed_stars.desc(), Product.name)
            .limit(limit))
    found = list(db.session.execute(stmt).scalars())
    if len(found) < limit:  # a lonely group: fill with the best-rated listed products
        seen = {p.id for p in found} | {product.id}
        more = (select(Product).where(listed_filter(), Product.id.not_in(seen))
                .options(selectinload(Product.producer).selectinload(Producer.province), selectinload(Product.images))
                .order_by(Product.listed_stars.desc(), Product.name).limit(limit - len(found)))
        found += list(db.session.execute(more).scalars())
    return [summary(p) for p in found]


def listed_product_count() -> int:
    return db.session.execute(select(func.count()).select_from(Product).where(listed_filter())).scalar_one()


def listed_product_slugs(offset: int, limit: int) -> list[tuple[str, object]]:
    """(slug, updated_at) of listed products, in a stable order, for one sitemap chunk."""
    return [tuple(row) for row in db.session.execute(
        select(Product.slug, Product.updated_at).where(listed_filter()).order_by(Product.id)
        .offset(offset).limit(limit))]


def producer_slugs_with_listed_products() -> list[str]:
    """Slugs of verified producers that have at least one listed product."""
    return list(db.session.execute(
        select(Producer.slug).where(Producer.status == PUBLIC_PRODUCER,
                                    Producer.id.in_(select(Product.producer_id).where(listed_filter())))
        .order_by(Producer.id)).scalars())
