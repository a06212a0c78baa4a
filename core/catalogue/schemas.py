"""Catalogue schemas (producers, products, variants, images): used by the admin API and the bulk import."""
from __future__ import annotations

from marshmallow import fields, validate

from core.catalogue.models import LEGAL_FORMS, PRODUCER_STATUSES, PRODUCT_STATUSES
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, PartialMixin, paginated

ML = {"multiline": True}


class ProducerInSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(2, 300))
    legal_form = fields.String(required=True, validate=validate.OneOf(LEGAL_FORMS))
    tax_code = fields.String(allow_none=True, validate=validate.Length(max=20))
    registration_no = fields.String(allow_none=True, validate=validate.Length(max=40))
    commune_code = fields.String(required=True, validate=validate.Length(1, 20))
    address = fields.String(allow_none=True, validate=validate.Length(max=500))
    contact_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 .-]{8,20}$"))
    email = fields.Email(allow_none=True)
    website = fields.Url(allow_none=True)


class ProducerPatchSchema(PartialMixin, ProducerInSchema):
    pass


class ProducerStatusSchema(BaseSchema):
    status = fields.String(required=True, validate=validate.OneOf(("verified", "rejected", "suspended")))
    reason = fields.String(validate=validate.Length(max=1000), metadata=ML)


class ProducerOutSchema(OutputSchema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    legal_form = fields.String()
    tax_code = fields.String(allow_none=True)
    registration_no = fields.String(allow_none=True)
    commune_code = fields.String()
    province_code = fields.String()
    address = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()


class ProducerQuerySchema(PageArgsSchema):
    province = fields.String()
    status = fields.String(validate=validate.OneOf(PRODUCER_STATUSES))
    legal_form = fields.String(validate=validate.OneOf(LEGAL_FORMS))
    q = fields.String(validate=validate.Length(max=100))


class VariantInSchema(BaseSchema):
    sku = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"))
    gtin = fields.String(allow_none=True)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    unit = fields.String(allow_none=True, validate=validate.Length(max=40))
    weight_g = fields.Integer(allow_none=True, validate=validate.Range(0, 1_000_000))
    price = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                           metadata={"description": "integer VND > 0"})
    is_service = fields.Boolean()
    capacity_per_day = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    active = fields.Boolean()


class VariantPatchSchema(PartialMixin, VariantInSchema):
    class Meta(VariantInSchema.Meta):
        exclude = ("sku",)  # a SKU never changes (stock and orders refer to it)


class VariantOutSchema(OutputSchema):
    id = fields.Integer()
    sku = fields.String()
    gtin = fields.String(allow_none=True)
    name = fields.String()
    unit = fields.String(allow_none=True)
    weight_g = fields.Integer(allow_none=True)
    price = fields.Integer()
    is_service = fields.Boolean()
    capacity_per_day = fields.Integer(allow_none=True)
    active = fields.Boolean()


class ProductInSchema(BaseSchema):
    producer_id = fields.Integer(metadata={"description": "required unless the caller is a producer user"})
    name = fields.String(required=True, validate=validate.Length(2, 300))
    slug = fields.String(validate=validate.Length(1, 160))
    group = fields.String(required=True)
    product_set = fields.String(allow_none=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=10000), metadata=ML)
    story = fields.String(allow_none=True, validate=validate.Length(max=20000), metadata=ML)
    origin_commune_code = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(PRODUCT_STATUSES))
    variants = fields.List(fields.Nested(VariantInSchema))


class ProductPatchSchema(BaseSchema):
    name = fields.String(validate=validate.Length(2, 300))
    slug = fields.String(validate=validate.Length(1, 160))
    group = fields.String()
    product_set = fields.String(allow_none=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=10000), metadata=ML)
    story = fields.String(allow_none=True, validate=validate.Length(max=20000), metadata=ML)
    origin_commune_code = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(PRODUCT_STATUSES))


class ImageOutSchema(OutputSchema):
    id = fields.Integer()
    url = fields.String(allow_none=True)
    storage_key = fields.String(allow_none=True)
    content_type = fields.String(allow_none=True)
    size_bytes = fields.Integer(allow_none=True)
    alt = fields.String(allow_none=True)
    position = fields.Integer()


class ImageUrlSchema(BaseSchema):
    url = fields.Url(required=True)
    alt = fields.String(validate=validate.Length(max=300))


class ProductOutSchema(OutputSchema):
    id = fields.Integer()
    producer_id = fields.Integer()
    name = fields.String()
    slug = fields.String()
    group_code = fields.String()
    product_set_code = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    story = fields.String(allow_none=True)
    origin_commune_code = fields.String(allow_none=True)
    status = fields.String()
    is_listed = fields.Boolean()
    listed_stars = fields.Integer(allow_none=True)
    price_min = fields.Integer(allow_none=True)
    price_max = fields.Integer(allow_none=True)
    variants = fields.List(fields.Nested(VariantOutSchema))
    images = fields.List(fields.Nested(ImageOutSchema))


class ProductQuerySchema(PageArgsSchema):
    producer_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(PRODUCT_STATUSES))
    listed = fields.Boolean()


ProducerPageSchema = paginated(ProducerOutSchema, "AdminProducerPage")
ProductPageSchema = paginated(ProductOutSchema, "AdminProductPage")
