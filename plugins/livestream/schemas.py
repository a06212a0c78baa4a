"""Request and response schemas of the livestream admin API (times answered in +07:00, money in VND)."""
from __future__ import annotations

from marshmallow import fields, validate

from core import clock
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, PartialMixin, paginated
from plugins.livestream.holds import held
from plugins.livestream.showcases import session_price
from plugins.livestream.models import DRAFT_STATUSES, PLATFORMS, SESSION_STATUSES
from plugins.livestream.parser import INTENTS


class LocalDateTime(fields.DateTime):
    """A UTC datetime answered in Vietnam time (ISO 8601 with +07:00)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return clock.local(value)


def _aware(**kwargs):
    return fields.AwareDateTime(default_timezone=clock.VN_TZ, **kwargs)


# --- sessions -----------------------------------------------------------------------------
class SessionInSchema(BaseSchema):
    voucher_code = fields.String(allow_none=True, validate=validate.Length(1, 60), metadata={
        "description": "a voucher code (/admin/v1/vouchers) given out in the session; orders using it are credited"})
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    title = fields.String(required=True, validate=validate.Length(1, 300))
    stream_url = fields.URL(allow_none=True, validate=validate.Length(max=1000))
    scheduled_at = _aware(required=True, metadata={"description": "ISO 8601; without offset: Vietnam time"})
    producer_ids = fields.List(fields.Integer(), validate=validate.Length(max=10),
                               metadata={"description": "host producers (producers: defaults to their own)"})


class SessionPatchSchema(PartialMixin, BaseSchema):
    voucher_code = fields.String(allow_none=True, validate=validate.Length(1, 60), metadata={
        "description": "a voucher code (/admin/v1/vouchers) given out in the session; orders using it are credited"})
    platform = fields.String(validate=validate.OneOf(PLATFORMS))
    title = fields.String(validate=validate.Length(1, 300))
    stream_url = fields.URL(allow_none=True, validate=validate.Length(max=1000))
    scheduled_at = _aware()


class SessionQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(SESSION_STATUSES))
    platform = fields.String(validate=validate.OneOf(PLATFORMS))


class HostOutSchema(OutputSchema):
    producer_id = fields.Integer()
    name = fields.Function(lambda h: h.producer.name)


class SessionOutSchema(OutputSchema):
    id = fields.Integer()
    platform = fields.String()
    title = fields.String()
    stream_url = fields.String(allow_none=True)
    status = fields.String()
    scheduled_at = LocalDateTime()
    started_at = LocalDateTime(allow_none=True)
    ended_at = LocalDateTime(allow_none=True)
    province_code = fields.String(allow_none=True)
    sales_channel_id = fields.Integer()
    tracking_code = fields.String()
    tracking_link = fields.Function(lambda s: f"?ls={s.tracking_code}",
                                    metadata={"description": "append to a storefront URL"})
    voucher_code = fields.String(allow_none=True)
    webhook_secret = fields.String(metadata={"description": "HMAC-SHA256 key of the comment webhook"})
    hosts = fields.List(fields.Nested(HostOutSchema))


SessionPageSchema = paginated(SessionOutSchema, "LivestreamSessionPage")


# --- showcase -------------------------------------------------------------------------------
class OfferedInSchema(BaseSchema):
    variant_id = fields.Integer(required=True)
    words = fields.String(validate=validate.Length(1, 200), metadata={"description": "e.g. 'hộp 2 trái', 'Xanh M'"})
    session_price = fields.Integer(allow_none=True, validate=validate.Range(0, 10_000_000_000))
    hold_quantity = fields.Integer(validate=validate.Range(0, 100_000))


class ItemInSchema(BaseSchema):
    code = fields.String(required=True, validate=validate.Length(1, 10))
    product_id = fields.Integer(required=True)
    variants = fields.List(fields.Nested(OfferedInSchema), validate=validate.Length(max=50))


class ItemPatchSchema(PartialMixin, BaseSchema):
    code = fields.String(validate=validate.Length(1, 10))
    variants = fields.List(fields.Nested(OfferedInSchema), validate=validate.Length(1, 50))


class OfferedOutSchema(OutputSchema):
    variant_id = fields.Integer()
    sku = fields.Function(lambda o: o.variant.sku)
    name = fields.Function(lambda o: o.variant.name)
    words = fields.String()
    catalogue_price = fields.Function(lambda o: o.variant.price)
    session_price = fields.Integer(allow_none=True)
    price = fields.Method("_price")
    hold_quantity = fields.Integer()
    held = fields.Method("_held")

    def _price(self, offered):
        return session_price(offered)

    def _held(self, offered):
        return held(offered.item.session_id, offered.variant_id)


class PinOutSchema(OutputSchema):
    started_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)


class ItemOutSchema(OutputSchema):
    id = fields.Integer()
    code = fields.String()
    product_id = fields.Integer()
    product_name = fields.Function(lambda i: i.product.name)
    variants = fields.List(fields.Nested(OfferedOutSchema))
    pins = fields.List(fields.Nested(PinOutSchema))
    on_screen = fields.Function(lambda i: any(p.ended_at is None for p in i.pins))


class ItemListSchema(OutputSchema):
    results = fields.List(fields.Nested(ItemOutSchema))


# --- comments -----------------------------------------------------------------------------
class CommentBatchSchema(BaseSchema):
    format = fields.String(load_default="generic", metadata={"description": "adapter: generic, facebook, tiktok, youtube…"})
    document = fields.Raw(required=True, metadata={"description": "the export as the adapter reads it"})


class IngestOutSchema(OutputSchema):
    received = fields.Integer()
    created = fields.Integer()
    skipped = fields.Integer(metadata={"description": "comments whose id the session already had"})
    drafts = fields.Integer(metadata={"description": "drafts created or changed"})


class CommentQuerySchema(PageArgsSchema):
    intent = fields.String(validate=validate.OneOf(INTENTS))
    author_id = fields.String(validate=validate.Length(1, 200))


class CommentOutSchema(OutputSchema):
    id = fields.Integer()
    platform_comment_id = fields.String()
    author_id = fields.String()
    author_name = fields.String(allow_none=True)
    text = fields.String()
    written_at = LocalDateTime(allow_none=True)
    intent = fields.String()
    lines = fields.Raw()
    phone = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


CommentPageSchema = paginated(CommentOutSchema, "LivestreamCommentPage")


# --- drafts -------------------------------------------------------------------------------
class DraftQuerySchema(BaseSchema):
    status = fields.String(load_default="open", validate=validate.OneOf(DRAFT_STATUSES))
    needs_review = fields.Boolean()


class DraftLineInSchema(BaseSchema):
    code = fields.String(required=True, validate=validate.Length(1, 10))
    variant_sku = fields.String(allow_none=True, validate=validate.Length(1, 64))
    quantity = fields.Integer(required=True, validate=validate.Range(1, 99))


class DraftPatchSchema(PartialMixin, BaseSchema):
    lines = fields.List(fields.Nested(DraftLineInSchema), validate=validate.Length(max=50))
    phone = fields.String(allow_none=True, validate=validate.Length(max=30))


class LsAddressInSchema(BaseSchema):
    province_code = fields.String(required=True, validate=validate.Length(1, 20))
    district_code = fields.String(allow_none=True, validate=validate.Length(1, 20))
    commune_code = fields.String(required=True, validate=validate.Length(1, 20))
    street = fields.String(required=True, validate=validate.Length(1, 300))


class ConfirmInSchema(BaseSchema):
    full_name = fields.String(validate=validate.Length(1, 200))
    phone = fields.String(required=True, validate=validate.Length(8, 30))
    shipping_address = fields.Nested(LsAddressInSchema, required=True)
    payment_gateway = fields.String(required=True, validate=validate.OneOf(("cod", "bank_transfer")))
    delivery_method = fields.String(load_default="standard", validate=validate.Length(1, 60))
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))


class DraftLineOutSchema(OutputSchema):
    code = fields.String()
    variant_sku = fields.String(allow_none=True)
    quantity = fields.Integer()
    product_name = fields.String(allow_none=True)
    variant_name = fields.String(allow_none=True)
    unit_price = fields.Integer(allow_none=True)
    line_total = fields.Integer(allow_none=True)


class DraftOutSchema(OutputSchema):
    id = fields.Function(lambda p: p["draft"].id)
    author_id = fields.Function(lambda p: p["draft"].author_id)
    author_name = fields.Function(lambda p: p["draft"].author_name)
    phone = fields.Function(lambda p: p["draft"].phone)
    status = fields.Function(lambda p: p["draft"].status)
    edited = fields.Function(lambda p: p["draft"].edited)
    needs_review = fields.Function(lambda p: bool(p["draft"].to_review))
    to_review = fields.Function(lambda p: p["draft"].to_review)
    comment_ids = fields.Function(lambda p: p["draft"].comment_ids)
    order_id = fields.Function(lambda p: p["draft"].order_id)
    lines = fields.List(fields.Nested(DraftLineOutSchema))
    total = fields.Integer(metadata={"description": "at session prices (VND)"})


class DraftListSchema(OutputSchema):
    results = fields.List(fields.Nested(DraftOutSchema))


class ConfirmOutSchema(OutputSchema):
    draft_id = fields.Integer()
    order_id = fields.Integer()
    number = fields.String()
    total = fields.Integer()
    status = fields.String()
    created = fields.Boolean()


# --- metrics, reports, attribution ------------------------------------------------------------
class SampleInSchema(BaseSchema):
    at = _aware(required=True)
    views = fields.Integer(validate=validate.Range(0, 10**12))
    peak_viewers = fields.Integer(validate=validate.Range(0, 10**12))
    likes = fields.Integer(validate=validate.Range(0, 10**12))
    shares = fields.Integer(validate=validate.Range(0, 10**12))
    comments = fields.Integer(validate=validate.Range(0, 10**12))


class SamplesInSchema(BaseSchema):
    samples = fields.List(fields.Nested(SampleInSchema), required=True, validate=validate.Length(1, 1000))


class SampleOutSchema(OutputSchema):
    at = LocalDateTime()
    views = fields.Integer()
    peak_viewers = fields.Integer()
    likes = fields.Integer()
    shares = fields.Integer()
    comments = fields.Integer()


class SamplesOutSchema(OutputSchema):
    recorded = fields.Integer()


class ProductSalesSchema(OutputSchema):
    product_id = fields.Integer()
    name = fields.String()
    quantity = fields.Integer()
    revenue = fields.Integer()


class MinuteSchema(OutputSchema):
    minute = LocalDateTime()
    orders = fields.Integer()


class PinResultSchema(OutputSchema):
    code = fields.String()
    started_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)
    orders = fields.Integer()
    orders_per_minute = fields.Float()


class SummarySchema(OutputSchema):
    session_id = fields.Integer()
    gmv = fields.Integer()
    orders = fields.Integer()
    orders_from_comments = fields.Integer()
    orders_from_link = fields.Integer()
    comments = fields.Integer()
    unique_commenters = fields.Integer()
    conversion = fields.Float(metadata={"description": "orders from comments / unique commenters"})
    products = fields.List(fields.Nested(ProductSalesSchema))
    orders_per_minute = fields.List(fields.Nested(MinuteSchema))
    pins = fields.List(fields.Nested(PinResultSchema))
    peak_viewers = fields.Integer()
    latest = fields.Dict(allow_none=True)
    samples = fields.List(fields.Nested(SampleOutSchema))


class ReportQuerySchema(BaseSchema):
    from_ = _aware(data_key="from")
    to = _aware()


class ReportRowSchema(OutputSchema):
    producer_id = fields.Integer()
    name = fields.String()
    province_code = fields.String(allow_none=True)
    sessions = fields.Integer()
    gmv = fields.Integer()
    orders = fields.Integer()


class ProvinceRowSchema(OutputSchema):
    province_code = fields.String(allow_none=True)
    sessions = fields.Integer()
    gmv = fields.Integer()
    orders = fields.Integer()


class SessionsReportSchema(OutputSchema):
    sessions = fields.Integer()
    gmv = fields.Integer()
    orders = fields.Integer()
    producers = fields.List(fields.Nested(ReportRowSchema))
    provinces = fields.List(fields.Nested(ProvinceRowSchema))
    best_products = fields.List(fields.Nested(ProductSalesSchema))


class TrackInSchema(BaseSchema):
    checkout_token = fields.String(required=True, validate=validate.Length(1, 64))
    code = fields.String(required=True, validate=validate.Length(1, 40))


class TrackOutSchema(OutputSchema):
    session_id = fields.Integer()
    tagged = fields.Boolean()
