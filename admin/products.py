"""Admin: products, variants and images."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError

from core.catalogue.schemas import (ImageOutSchema, ImageUrlSchema, ProductInSchema, ProductOutSchema, ProductPageSchema,
                           ProductPatchSchema, ProductQuerySchema, VariantInSchema, VariantOutSchema,
                           VariantPatchSchema)
from core.errors import ValidationFailed, invalid
from core.accounts.security import current_user, require_roles
from core.catalogue import producers, products

blp = Blueprint("admin_products", __name__, url_prefix="/admin/v1", description="Products and variants")
EDITORS = ("admin", "organiser", "producer")


@blp.route("/products")
class Products(MethodView):
    @require_roles("admin", "organiser", "certifier", "producer")
    @blp.arguments(ProductQuerySchema, location="query")
    @blp.response(200, ProductPageSchema)
    def get(self, args):
        """Products in the caller's scope."""
        return products.list_products_for(current_user(), args)

    @require_roles(*EDITORS)
    @blp.arguments(ProductInSchema)
    @blp.response(201, ProductOutSchema)
    def post(self, data):
        """Create a product with its variants (producer users: for their own producer)."""
        user = current_user()
        producer_id = data.pop("producer_id", None) or user.producer_id
        if producer_id is None:
            raise invalid("producer_id", "thiếu mã chủ thể", "producer_id is required")
        return products.create_product(user, producers.get_producer(producer_id), data)


@blp.route("/products/<int:product_id>")
class ProductItem(MethodView):
    @require_roles("admin", "organiser", "certifier", "producer")
    @blp.response(200, ProductOutSchema)
    def get(self, product_id):
        """One product in the caller's scope."""
        return products.view_product(current_user(), product_id)

    @require_roles(*EDITORS)
    @blp.arguments(ProductPatchSchema)
    @blp.response(200, ProductOutSchema)
    def patch(self, data, product_id):
        """Edit a product; status ``archived`` delists it."""
        return products.update_product(current_user(), products.get_product(product_id), data)


@blp.route("/products/<int:product_id>/variants")
class Variants(MethodView):
    @require_roles(*EDITORS)
    @blp.arguments(VariantInSchema)
    @blp.response(201, VariantOutSchema)
    def post(self, data, product_id):
        """Add a variant (SKU unique, GTIN check digit, price in VND > 0)."""
        return products.add_variant(current_user(), products.get_product(product_id), data)


@blp.route("/variants/<int:variant_id>")
class VariantItem(MethodView):
    @require_roles(*EDITORS)
    @blp.arguments(VariantPatchSchema)
    @blp.response(200, VariantOutSchema)
    def patch(self, data, variant_id):
        """Edit a variant."""
        return products.update_variant(current_user(), products.get_variant(variant_id), data)


@blp.route("/products/<int:product_id>/images")
class Images(MethodView):
    @require_roles(*EDITORS)
    @blp.response(201, ImageOutSchema)
    @blp.doc(requestBody={"content": {
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"}, "alt": {"type": "string"}}}},
        "application/json": {"schema": ImageUrlSchema}}})
    def post(self, product_id):
        """Upload an image (multipart ``file``: JPEG/PNG/WebP ≤ 5 MB) or reference one by URL (JSON)."""
        user, product = current_user(), products.get_product(product_id)
        if request.files:
            upload = request.files.get("file")
            if upload is None:
                raise invalid("file", "thiếu tệp ảnh", "file is required")
            alt = request.form.get("alt")
            return products.add_image_upload(user, product, upload.read(), upload.mimetype, alt)
        try:
            data = ImageUrlSchema().load(request.get_json(silent=True) or {})
        except ValidationError as exc:  # parsed by hand (multipart or JSON), so map it to the envelope
            raise ValidationFailed(exc.messages)
        return products.add_image_url(user, product, data["url"], data.get("alt"))
