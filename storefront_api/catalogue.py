"""Storefront catalogue: listed products, product detail, producer pages, product groups."""
from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from core import clock
from core.catalogue import version as catalogue_cache, browse as catalogue_read, producers, products
from core.errors import NotFound
from core.pricing import resolver, version as pricing_version
from storefront_api.schemas import (GroupSchema, ProducerPageSchema, ProductDetailSchema, ProductPageSchema,
                                    ProductQuerySchema, VariantSchema)

blp = Blueprint("storefront_catalogue", __name__, url_prefix="/storefront/v1",
                description="Public catalogue of certified OCOP products")
CHANNEL = "online_store"


def json_body(data) -> bytes:
    return current_app.json.dumps(data).encode()


def product_detail(slug: str):
    """(product, detail) of a listed product with its variants' sale prices now (404 when not listed).

    The JSON route and the public site's product page both answer this, so they show the same price.
    """
    product = products.get_listed_by_slug(slug)
    offer = resolver.product_prices([product], CHANNEL).get(product.id, {})
    data = {**catalogue_read.detail(product), **offer}
    sales = offer.get("variant_prices", {})
    data["variants"] = [{**VariantSchema().dump(v), **sales.get(v.id, {}), "variant_id": v.id}
                        for v in data["variants"]]
    return product, data


def producer_detail(slug: str) -> dict:
    """A verified producer's page with its listed products (404 for any other producer)."""
    producer = producers.get_by_slug(slug)
    if producer.status != "verified":
        raise NotFound("producer", "chủ thể")
    return catalogue_read.producer_page(producer,
                                        decorate=lambda page: resolver.product_prices(page, CHANNEL))


@blp.route("/products")
class ProductList(MethodView):
    @blp.arguments(ProductQuerySchema, location="query")
    @blp.response(200, ProductPageSchema)
    def get(self, args):
        """List listed OCOP products (active, unexpired 3+ star certification) with their sale prices now."""
        now = clock.now()
        key = {**args, "pricing": pricing_version.cache_key(now)}
        body = catalogue_cache.cached("products", key, lambda: json_body(ProductPageSchema().dump(
            catalogue_read.list_products(args, decorate=lambda page: resolver.product_prices(page, CHANNEL, now)))))
        return Response(body, mimetype="application/json")


@blp.route("/products/<slug>")
class ProductDetail(MethodView):
    @blp.response(200, ProductDetailSchema)
    def get(self, slug):
        """Product detail: certification badge, variants with their sale price and end, live promotions."""
        return product_detail(slug)[1]


@blp.route("/producers/<slug>")
class ProducerDetail(MethodView):
    @blp.response(200, ProducerPageSchema)
    def get(self, slug):
        """A verified producer's page with its listed products."""
        return producer_detail(slug)


@blp.route("/groups")
class GroupList(MethodView):
    @blp.response(200, GroupSchema(many=True))
    def get(self):
        """OCOP product groups and sets (Decision 148), with older 1048 groups mapped."""
        return catalogue_read.group_tree()
