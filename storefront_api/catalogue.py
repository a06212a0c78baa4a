"""Storefront catalogue: listed products, product detail, producer pages, product groups."""
from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from core.catalogue import version as catalogue_cache, browse as catalogue_read, producers, products
from core.errors import NotFound
from storefront_api.schemas import (GroupSchema, ProducerPageSchema, ProductDetailSchema, ProductPageSchema,
                                    ProductQuerySchema)

blp = Blueprint("storefront_catalogue", __name__, url_prefix="/storefront/v1",
                description="Public catalogue of certified OCOP products")


def json_body(data) -> bytes:
    return current_app.json.dumps(data).encode()


@blp.route("/products")
class ProductList(MethodView):
    @blp.arguments(ProductQuerySchema, location="query")
    @blp.response(200, ProductPageSchema)
    def get(self, args):
        """List listed OCOP products (active, unexpired 3+ star certification)."""
        body = catalogue_cache.cached("products", args, lambda: json_body(
            ProductPageSchema().dump(catalogue_read.list_products(args))))
        return Response(body, mimetype="application/json")


@blp.route("/products/<slug>")
class ProductDetail(MethodView):
    @blp.response(200, ProductDetailSchema)
    def get(self, slug):
        """Product detail with its certification badge (stars, level, decision no., expiry)."""
        return catalogue_read.detail(products.get_listed_by_slug(slug))


@blp.route("/producers/<slug>")
class ProducerDetail(MethodView):
    @blp.response(200, ProducerPageSchema)
    def get(self, slug):
        """A verified producer's page with its listed products."""
        producer = producers.get_by_slug(slug)
        if producer.status != "verified":
            raise NotFound("producer", "chủ thể")
        return catalogue_read.producer_page(producer)


@blp.route("/groups")
class GroupList(MethodView):
    @blp.response(200, GroupSchema(many=True))
    def get(self):
        """OCOP product groups and sets (Decision 148), with older 1048 groups mapped."""
        return catalogue_read.group_tree()
