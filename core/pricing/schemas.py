"""Pricing schemas: promotions, vouchers, opt-ins, previews, reports and priced lines (admin and storefront)."""
from __future__ import annotations

import datetime as dt

from marshmallow import ValidationError, fields, validate, validates_schema


from core import clock
from core.errors import Message
from core.clock import VN_TZ, local
from core.pricing.models import LIFECYCLES, MAX_VALUE, OWNER_KINDS, PROMOTION_KINDS, VOUCHER_KINDS
from core.pricing.rules import lifecycle
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, PartialMixin, paginated

ML = {"multiline": True}
ID = validate.Range(1, 2**31 - 1)
MOMENT = {"type": "string", "format": "date-time"}


class VnDateTime(fields.Field):
    """ISO date-time; without an offset it is Vietnam time (+07:00). Loaded as aware UTC; years 2000–2100."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {**MOMENT, "description": "ISO 8601; Vietnam time if no offset",
                              **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError("Not a valid date-time.")
        try:
            moment = dt.datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=VN_TZ)
            if not 2000 <= moment.year <= 2100:
                raise ValueError(value)
            return moment.astimezone(dt.timezone.utc)
        except (ValueError, OverflowError) as exc:
            raise ValidationError("Not a valid date-time (ISO 8601, years 2000–2100).") from exc

    def _serialize(self, value, attr, obj, **kwargs):
        return local(value)


def _now_lifecycle(offer) -> str:
    return lifecycle(offer, clock.now())


# --- input -------------------------------------------------------------------------------------
class ScopeSchema(BaseSchema):
    """What an offer covers: keys combine with AND, the values of one key with OR; empty = all in reach."""

    variants = fields.List(fields.Integer(strict=True, validate=ID), validate=validate.Length(max=500))
    products = fields.List(fields.Integer(strict=True, validate=ID), validate=validate.Length(max=500))
    producers = fields.List(fields.Integer(strict=True, validate=ID), validate=validate.Length(max=500))
    groups = fields.List(fields.String(validate=validate.Length(1, 60)), validate=validate.Length(max=50),
                         metadata={"description": "Decision 148 group codes"})
    product_sets = fields.List(fields.String(validate=validate.Length(1, 80)), validate=validate.Length(max=100))
    stars = fields.List(fields.Integer(strict=True, validate=validate.Range(3, 5)), validate=validate.Length(max=3))
    provinces = fields.List(fields.String(validate=validate.Length(1, 20)), validate=validate.Length(max=50),
                            metadata={"description": "current province codes of the products' origin"})


class _OfferInSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(2, 200))
    name_en = fields.String(required=True, validate=validate.Length(2, 200))
    description = fields.String(allow_none=True, validate=validate.Length(max=2000), metadata=ML)
    value = fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_VALUE),
                           metadata={"description": "percent (1–100) or VND"})
    starts_at = VnDateTime(required=True)
    ends_at = VnDateTime(required=True)
    channels = fields.List(fields.String(validate=validate.Length(1, 120)), validate=validate.Length(max=50),
                           metadata={"description": "channel kinds (sales_point) or one channel (livestream:ls-42); "
                                                    "empty = every channel"})
    scope = fields.Nested(ScopeSchema)
    stackable = fields.Boolean()


class PromotionInSchema(_OfferInSchema):
    kind = fields.String(required=True, validate=validate.OneOf(PROMOTION_KINDS),
                         metadata={"description": "percentage off, amount off (VND per unit) or a fixed unit price"})
    requires_opt_in = fields.Boolean(metadata={"description": "admin only; organiser campaigns always need it"})
    max_units_per_order = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, 10**6))
    max_uses_per_customer = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, 10**6))
    max_total_units = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, 10**12))
    budget = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, MAX_VALUE),
                            metadata={"description": "total discount in VND"})


class PromotionPatchSchema(PartialMixin, PromotionInSchema):
    pass


class VoucherInSchema(_OfferInSchema):
    code = fields.String(required=True, validate=validate.Length(3, 64),
                         metadata={"description": "letters, digits, '-' and '_'; matched case-insensitively"})
    kind = fields.String(required=True, validate=validate.OneOf(VOUCHER_KINDS),
                         metadata={"description": "percentage or amount (VND) off the eligible subtotal"})
    min_subtotal = fields.Integer(strict=True, validate=validate.Range(0, MAX_VALUE))
    max_uses = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, 10**9),
                              metadata={"description": "1 = single use; null = unlimited"})
    per_customer_limit = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, 10**6))


class VoucherPatchSchema(PartialMixin, VoucherInSchema):
    pass


class OfferQuerySchema(PageArgsSchema):
    lifecycle = fields.String(validate=validate.OneOf(LIFECYCLES))
    owner_kind = fields.String(validate=validate.OneOf(OWNER_KINDS))
    producer_id = fields.Integer(validate=ID)


class OptInSchema(BaseSchema):
    producer_id = fields.Integer(strict=True, validate=ID, metadata={"description": "admin only; producers act for "
                                                                                     "themselves"})


class PreviewQuerySchema(BaseSchema):
    channel = fields.String(validate=validate.Length(1, 120), metadata={"description": "default online_store"})
    at = VnDateTime(metadata={**MOMENT, "description": "default: now, or the start if later"})
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 50))


class ReportQuerySchema(PageArgsSchema):
    since = VnDateTime()
    until = VnDateTime()


class QuoteLineSchema(BaseSchema):
    variant_id = fields.Integer(strict=True, validate=ID)
    sku = fields.String(validate=validate.Length(1, 64))
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(1, 9999))

    @validates_schema
    def _one_reference(self, data, **kwargs):
        if ("variant_id" in data) == ("sku" in data):
            raise ValidationError(Message("chỉ ghi một trong variant_id hoặc sku", "give exactly one of variant_id or sku"),
                                  "variant_id")


class QuoteInSchema(BaseSchema):
    channel = fields.String(load_default="online_store", validate=validate.Length(1, 120))
    lines = fields.List(fields.Nested(QuoteLineSchema), required=True, validate=validate.Length(1, 100))
    vouchers = fields.List(fields.String(validate=validate.Length(1, 64)), validate=validate.Length(max=5))
    phone = fields.String(validate=validate.Length(max=30))
    at = VnDateTime()


# --- output ------------------------------------------------------------------------------------
class _OfferOutSchema(OutputSchema):
    id = fields.Integer()
    name = fields.String()
    name_en = fields.String()
    description = fields.String(allow_none=True)
    kind = fields.String()
    value = fields.Integer()
    starts_at = VnDateTime()
    ends_at = VnDateTime()
    channels = fields.List(fields.String())
    scope = fields.Dict()
    stackable = fields.Boolean()
    owner_kind = fields.String()
    province_code = fields.String(allow_none=True)
    producer_id = fields.Integer(allow_none=True)
    status = fields.String(metadata={"description": "stored: draft, published, stopped"})
    lifecycle = fields.Function(_now_lifecycle, metadata={"type": "string", "enum": list(LIFECYCLES)})
    activated_at = VnDateTime(allow_none=True)
    stopped_at = VnDateTime(allow_none=True)
    created_at = VnDateTime()
    updated_at = VnDateTime()


class PromotionOutSchema(_OfferOutSchema):
    requires_opt_in = fields.Boolean()
    max_units_per_order = fields.Integer(allow_none=True)
    max_uses_per_customer = fields.Integer(allow_none=True)
    max_total_units = fields.Integer(allow_none=True)
    budget = fields.Integer(allow_none=True)
    units_used = fields.Integer()
    discount_used = fields.Integer()


class VoucherOutSchema(_OfferOutSchema):
    code = fields.String()
    min_subtotal = fields.Integer()
    max_uses = fields.Integer(allow_none=True)
    per_customer_limit = fields.Integer(allow_none=True)
    uses = fields.Integer()


PromotionPageSchema = paginated(PromotionOutSchema, "PromotionPage")
VoucherPageSchema = paginated(VoucherOutSchema, "VoucherPage")


class InvitationSchema(OutputSchema):
    promotion_id = fields.Integer()
    producers = fields.Integer(metadata={"description": "producers that will be notified"})


class ParticipantOutSchema(OutputSchema):
    id = fields.Integer()
    promotion_id = fields.Integer()
    producer_id = fields.Integer()
    producer = fields.Function(lambda p: p.producer.name)
    status = fields.String()
    accepted_at = VnDateTime(allow_none=True)
    withdrawn_at = VnDateTime(allow_none=True)


ParticipantPageSchema = paginated(ParticipantOutSchema, "PromotionParticipantPage")


class PreviewLineSchema(OutputSchema):
    variant_id = fields.Integer()
    sku = fields.String()
    product = fields.String()
    variant = fields.String()
    producer_id = fields.Integer()
    producer = fields.String()
    base_price = fields.Integer()
    price_without = fields.Integer(metadata={"description": "price from the other live promotions"})
    price_with = fields.Integer(metadata={"description": "price with this promotion active"})
    promotion_discount = fields.Integer()
    opted_in = fields.Boolean()


class PreviewSchema(OutputSchema):
    promotion_id = fields.Integer()
    channel = fields.String()
    at = VnDateTime()
    results = fields.List(fields.Nested(PreviewLineSchema))
    total = fields.Integer()
    next = fields.String(allow_none=True)


class ProducerFiguresSchema(OutputSchema):
    producer_id = fields.Integer()
    producer = fields.String()
    orders = fields.Integer()
    units = fields.Integer()
    discount = fields.Integer(metadata={"description": "discount cost, VND"})
    gmv = fields.Integer(metadata={"description": "what the discounted lines charged, VND"})


class PromotionReportSchema(OutputSchema):
    promotion_id = fields.Integer()
    name = fields.String()
    lifecycle = fields.String()
    orders = fields.Integer()
    units = fields.Integer()
    discount = fields.Integer()
    gmv = fields.Integer()
    budget = fields.Integer(allow_none=True)
    budget_left = fields.Integer(allow_none=True)
    producers = fields.List(fields.Nested(ProducerFiguresSchema))


class PromotionFiguresSchema(OutputSchema):
    promotion_id = fields.Integer()
    name = fields.String()
    name_en = fields.String()
    orders = fields.Integer()
    units = fields.Integer()
    discount = fields.Integer()
    gmv = fields.Integer()


PromotionFiguresPageSchema = paginated(PromotionFiguresSchema, "PromotionFiguresPage")


class VoucherReportSchema(OutputSchema):
    voucher_id = fields.Integer()
    code = fields.String()
    uses = fields.Integer()
    orders = fields.Integer()
    discount = fields.Integer()
    gmv = fields.Integer()


class DiscountSchema(OutputSchema):
    """One discount on a line (the same shape as ``OrderLine.discounts``)."""

    source = fields.String(metadata={"description": "promotion, plugin or voucher"})
    id = fields.Integer(allow_none=True)
    reference = fields.String()
    name = fields.String()
    name_en = fields.String()
    amount = fields.Integer(metadata={"description": "VND off the line"})
    units = fields.Integer()
    unit_amount = fields.Integer(allow_none=True)
    code = fields.String(allow_none=True)
    starts_at = VnDateTime(allow_none=True)
    ends_at = VnDateTime(allow_none=True)


class LinePriceSchema(OutputSchema):
    variant_id = fields.Integer()
    quantity = fields.Integer()
    base_unit_price = fields.Integer()
    unit_price = fields.Integer(metadata={"description": "sale price of one unit"})
    discount_amount = fields.Integer()
    line_total = fields.Integer(metadata={"description": "what is charged for the line"})
    sale_ends_at = VnDateTime(allow_none=True)
    discounts = fields.List(fields.Nested(DiscountSchema))


class QuoteSchema(OutputSchema):
    channel = fields.Function(lambda c: c.channel.code)
    at = VnDateTime()
    lines = fields.List(fields.Nested(LinePriceSchema))
    vouchers = fields.Function(lambda c: [v.code for v in c.vouchers])
    base_subtotal = fields.Integer()
    discount_amount = fields.Integer()
    subtotal = fields.Integer()


class PromotionBadgeSchema(OutputSchema):
    """A live promotion as shoppers see it next to a product."""

    reference = fields.String()
    name = fields.String()
    name_en = fields.String()
    ends_at = VnDateTime(allow_none=True)
