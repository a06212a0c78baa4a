"""Storefront response and query schemas."""
from __future__ import annotations

from marshmallow import fields, validate

from core.catalogue.models import LEGAL_FORMS
from core.pricing.schemas import PromotionBadgeSchema, VnDateTime
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, paginated


class UnitRefSchema(OutputSchema):
    code = fields.String()
    name = fields.String()


class ProducerRefSchema(OutputSchema):
    slug = fields.String()
    name = fields.String()
    legal_form = fields.String()
    province = fields.Nested(UnitRefSchema)


class GroupRefSchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()


class BadgeSchema(OutputSchema):
    stars = fields.Integer()
    score = fields.Float()
    level = fields.String()
    criteria_set = fields.String()
    decision_no = fields.String(allow_none=True)
    issued_on = fields.Date()
    expires_on = fields.Date()
    issuing_unit = fields.Nested(UnitRefSchema, allow_none=True)
    status = fields.String(metadata={"description": "active, expired, withdrawn or superseded"})


class VariantSchema(OutputSchema):
    sku = fields.String()
    gtin = fields.String(allow_none=True)
    name = fields.String()
    unit = fields.String(allow_none=True)
    weight_g = fields.Integer(allow_none=True)
    price = fields.Integer(metadata={"description": "VND"})
    is_service = fields.Boolean()
    sale_price = fields.Integer(allow_none=True, metadata={"description": "VND now, when a promotion applies"})
    sale_ends_at = VnDateTime(allow_none=True, metadata={"description": "when the sale price ends"})


class ImageSchema(OutputSchema):
    url = fields.String()
    alt = fields.String(allow_none=True)


class ProductSummarySchema(OutputSchema):
    slug = fields.String()
    name = fields.String()
    producer = fields.Nested(ProducerRefSchema)
    group = fields.Nested(GroupRefSchema)
    stars = fields.Integer()
    price_min = fields.Integer(metadata={"description": "VND"})
    price_max = fields.Integer(metadata={"description": "VND"})
    sale_price_min = fields.Integer(allow_none=True, metadata={"description": "lowest sale price now (VND), "
                                                                             "when a promotion applies"})
    sale_ends_at = VnDateTime(allow_none=True, metadata={"description": "when that sale price ends"})
    promotions = fields.List(fields.Nested(PromotionBadgeSchema), metadata={"description": "live promotions"})
    image = fields.String(allow_none=True)


class ProductDetailSchema(ProductSummarySchema):
    product_set = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    story = fields.String(allow_none=True)
    origin_commune = fields.Nested(UnitRefSchema, allow_none=True)
    certification = fields.Nested(BadgeSchema)
    certification_history = fields.List(fields.Nested(BadgeSchema),
                                        metadata={"description": "every certificate held, oldest first"})
    variants = fields.List(fields.Nested(VariantSchema))
    images = fields.List(fields.Nested(ImageSchema))


ProductPageSchema = paginated(ProductSummarySchema, "ProductPage")

SORTS = ("newest", "name", "price_asc", "price_desc", "stars")


class ProductQuerySchema(PageArgsSchema):
    group = fields.String(metadata={"description": "Decision 148 group code (a 1048 group code is mapped)"})
    stars = fields.Integer(validate=validate.Range(3, 5))
    province = fields.String(metadata={"description": "current province code, e.g. 75 (a pre-2025 code maps "
                                                      "to its successor)"})
    producer = fields.String(metadata={"description": "producer slug"})
    legal_form = fields.String(validate=validate.OneOf(LEGAL_FORMS))
    sort = fields.String(load_default="newest", validate=validate.OneOf(SORTS))


class ProducerPageSchema(OutputSchema):
    slug = fields.String()
    name = fields.String()
    legal_form = fields.String()
    province = fields.Nested(UnitRefSchema)
    commune = fields.Nested(UnitRefSchema)
    website = fields.String(allow_none=True)
    products = fields.List(fields.Nested(ProductSummarySchema))


class ProductSetSchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()


class GroupSchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()
    product_sets = fields.List(fields.Nested(ProductSetSchema))
    legacy_1048 = fields.List(fields.Nested(ProductSetSchema))
    listed_products = fields.Integer()
