"""Request and response schemas of the marketplace feeds API (times answered in +07:00, money in VND)."""
from __future__ import annotations

from marshmallow import fields, validate

from core import clock
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, PartialMixin, paginated
from plugins.marketplace_feeds.models import KINDS, PARTICIPATION


class LocalDateTime(fields.DateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return clock.local(value)


class MarketplaceCategorySchema(BaseSchema):
    google = fields.String(allow_none=True, validate=validate.Length(max=12))
    category = fields.String(allow_none=True, validate=validate.Length(max=200))


_CATEGORY_MAP = fields.Dict(keys=fields.String(validate=validate.Length(1, 80)), values=fields.Nested(MarketplaceCategorySchema),
                            metadata={"description": "product set or group code → {google: taxonomy id, category}"})


class MarketplaceInSchema(BaseSchema):
    code = fields.String(required=True, validate=validate.Length(3, 40))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    product_url_template = fields.String(validate=validate.Length(1, 500), metadata={
        "description": "placeholders {base} {slug} {sku} {product_id} {variant_id} {marketplace}"})
    fallback_image_url = fields.URL(allow_none=True, validate=validate.Length(max=1000))
    category_map = _CATEGORY_MAP
    active = fields.Boolean()


class MarketplacePatchSchema(PartialMixin, BaseSchema):
    name = fields.String(validate=validate.Length(1, 200))
    product_url_template = fields.String(validate=validate.Length(1, 500))
    fallback_image_url = fields.URL(allow_none=True, validate=validate.Length(max=1000))
    category_map = _CATEGORY_MAP
    active = fields.Boolean()


class MarketplaceQuerySchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf(KINDS))


class MarketplaceOutSchema(OutputSchema):
    id = fields.Integer()
    code = fields.String()
    kind = fields.String()
    name = fields.String()
    product_url_template = fields.String()
    fallback_image_url = fields.String(allow_none=True)
    category_map = fields.Dict()
    active = fields.Boolean()
    sales_channel_id = fields.Integer()
    channel = fields.String(metadata={"description": "the core sales channel and pricing channel"})
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class MarketplaceSecretsSchema(MarketplaceOutSchema):
    """What an admin sees: the secret feed URLs and the webhook secret."""

    feed_urls = fields.Dict(keys=fields.String(), values=fields.String())
    webhook_secret = fields.String()


MarketplacePageSchema = paginated(MarketplaceOutSchema, "MarketplacePageSchema")


class MarketplaceRotateSchema(BaseSchema):
    what = fields.String(required=True, validate=validate.OneOf(("feed_token", "webhook_secret")))


class MarketplaceParticipationSchema(BaseSchema):
    producer_id = fields.Integer(metadata={"description": "producers: defaults to their own"})
    shop_url = fields.URL(allow_none=True, validate=validate.Length(max=500))


class MarketplaceParticipantQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(PARTICIPATION))


class MarketplaceParticipantSchema(OutputSchema):
    producer_id = fields.Integer()
    producer = fields.Function(lambda r: r.producer.name)
    province_code = fields.Function(lambda r: r.producer.province_code)
    status = fields.String()
    shop_url = fields.String(allow_none=True)
    joined_at = LocalDateTime()
    updated_at = LocalDateTime()


MarketplaceParticipantPageSchema = paginated(MarketplaceParticipantSchema, "MarketplaceParticipantPageSchema")


class FeedBuildSchema(OutputSchema):
    id = fields.Integer()
    format = fields.String()
    etag = fields.String()
    size_bytes = fields.Integer()
    items = fields.Integer()
    refused = fields.Integer()
    build_ms = fields.Integer()
    built_at = LocalDateTime()


class FeedReportSchema(FeedBuildSchema):
    problems = fields.Dict(metadata={"description": "{items, refused, by_rule, problems: [{item_id, field, rule, "
                                                    "severity, message, message_en}], truncated}"})


class OrderImportRowSchema(OutputSchema):
    row = fields.Integer(allow_none=True)
    order_id = fields.String()
    outcome = fields.String(metadata={"description": "created, updated, duplicate (refused: the 422 answer)"})
    reason = fields.String(allow_none=True)
    order_number = fields.String(allow_none=True)


class OrderImportSchema(OutputSchema):
    id = fields.Integer()
    source = fields.String()
    filename = fields.String(allow_none=True)
    sha256 = fields.String()
    created = fields.Integer()
    updated = fields.Integer()
    duplicate = fields.Integer()
    rows = fields.List(fields.Nested(OrderImportRowSchema))
    created_at = LocalDateTime()


class MarketplaceReportSchema(OutputSchema):
    results = fields.List(fields.Dict())
    total = fields.Integer()
