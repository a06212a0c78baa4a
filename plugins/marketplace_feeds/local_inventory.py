"""Google local inventory: one row per published variant per physical sales point, from the core stock.

Sales points are core stock locations of kind ``sales_point`` (registered by the sales_points plugin; this
plugin reads them through the core only). The store code is the point's code (``sales_point:<code>``
external reference) and prices come from the resolver on the point's own channel.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterator

from sqlalchemy import select

from core import clock
from core.catalogue.models import Product, Variant
from core.db import db
from core.inventory.models import Stock, StockLocation
from core.pricing import resolver
from plugins.marketplace_feeds.items import BATCH, published_clause, sale_window
from plugins.marketplace_feeds.models import Marketplace
from plugins.marketplace_feeds.writers import effective_date, money

SALES_POINT_KIND = "sales_point"


def store_of(location: StockLocation) -> tuple[str, str]:
    """``(store code, pricing channel)`` of a sales point location."""
    ref = location.external_ref or ""
    if ref.startswith(f"{SALES_POINT_KIND}:"):
        return ref.split(":", 1)[1], ref
    return f"LOC-{location.id}", SALES_POINT_KIND


def sales_points() -> list[StockLocation]:
    return list(db.session.execute(select(StockLocation).where(StockLocation.kind == SALES_POINT_KIND,
                                                               StockLocation.active.is_(True))
                                   .order_by(StockLocation.id)).scalars())


class _Sale:  # what effective_date() reads
    def __init__(self, price, starts, ends):
        self.sale_price, self.sale_starts_at, self.sale_ends_at = price, starts, ends


def iter_rows(marketplace: Marketplace, at: dt.datetime | None = None, progress=None) -> Iterator[dict]:
    at, today = at or clock.now(), clock.today()
    for location in sales_points():
        store_code, channel = store_of(location)
        after = 0
        while True:
            rows = db.session.execute(
                select(Variant.id, Variant.sku, Stock.on_hand - Stock.allocated)
                .join(Stock, Stock.variant_id == Variant.id).join(Product, Product.id == Variant.product_id)
                .where(Stock.location_id == location.id, published_clause(marketplace, today), Variant.id > after)
                .order_by(Variant.id).limit(BATCH)).all()
            if not rows:
                break
            after = rows[-1][0]
            prices = resolver.prices_for([r[0] for r in rows], channel=channel, at=at)
            for variant_id, sku, free in rows:
                line = prices[variant_id]
                starts, ends = sale_window(line)
                sale = line.unit_price if line.on_sale else None
                free = max(0, int(free or 0))
                yield {"store_code": store_code, "id": sku, "availability": "in_stock" if free else "out_of_stock",
                       "quantity": free, "price": money(line.base_unit_price), "sale_price": money(sale),
                       "sale_price_effective_date": effective_date(_Sale(sale, starts, ends))}
            if progress:
                progress(len(rows))
