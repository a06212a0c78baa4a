"""Public storefront routes of the sales points plugin: where to buy OCOP products in person."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from core.db import db
from core.catalogue.models import Variant
from core.inventory.models import Stock
from core.catalogue import products
from core.pricing import resolver
from core.sales.models import SalesChannel
from plugins.sales_points import schemas as s
from plugins.sales_points import services
from plugins.sales_points.models import SalesPoint

blp = Blueprint("sales_points_public", __name__, url_prefix="/storefront/v1",
                description="OCOP showcase and sales points (plugin)")


def points_with_product(slug: str) -> dict:
    """Active points holding free stock of a listed product now, with the quantities per variant."""
    product = products.get_listed_by_slug(slug)
    rows = db.session.execute(
        select(SalesPoint, Variant, Stock).join(Stock, Stock.location_id == SalesPoint.stock_location_id)
        .join(Variant, Variant.id == Stock.variant_id)
        .where(Variant.product_id == product.id, Variant.active.is_(True), SalesPoint.status == "active",
               Stock.on_hand - Stock.allocated > 0)
        .order_by(SalesPoint.province_code, SalesPoint.name, Variant.sku)).all()
    # each point's prices are its channel's (core price resolver): one resolution per point, not per variant
    channel_of = {c.id: c for c in db.session.execute(select(SalesChannel).where(
        SalesChannel.id.in_({point.sales_channel_id for point, _, _ in rows}))).scalars()} if rows else {}
    variant_ids: dict[int, list[int]] = {}
    for point, variant, _ in rows:
        variant_ids.setdefault(point.id, []).append(variant.id)
    prices = {point.id: resolver.prices_for(variant_ids[point.id], channel_of.get(point.sales_channel_id))
              for point, _, _ in rows if point.id in variant_ids}
    by_point: dict[int, _PointStock] = {}
    for point, variant, stock in rows:
        entry = by_point.setdefault(point.id, _PointStock(point))
        price = prices[point.id][variant.id]
        entry.variants.append({"sku": variant.sku, "name": variant.name, "price": price.unit_price,
                               "available": stock.on_hand - stock.allocated})
    results = list(by_point.values())
    return {"results": results, "total": len(results), "next": None}


class _PointStock:
    """A sales point plus the variants of one product it holds (for serialisation)."""

    def __init__(self, point: SalesPoint):
        self.point = point
        self.variants: list[dict] = []

    def __getattr__(self, name):
        return getattr(self.point, name)


@blp.route("/sales-points")
class PublicSalesPoints(MethodView):
    @blp.arguments(s.SpPublicPointQuerySchema, location="query")
    @blp.response(200, s.PublicPointPageSchema)
    def get(self, args):
        """Active OCOP sales points (filter by province, commune or location kind) with opening hours."""
        return services.public_points(args)


@blp.route("/products/<slug>/sales-points")
class ProductSalesPoints(MethodView):
    @blp.response(200, s.SpPublicPointStockListSchema)
    def get(self, slug):
        """Sales points that have this product in stock now (404 for an unlisted product)."""
        return points_with_product(slug)
