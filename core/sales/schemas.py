"""Sales schemas: checkouts, orders, fulfilments and payments (storefront and admin APIs)."""
from __future__ import annotations

import datetime as dt

from marshmallow import ValidationError, fields, validate, validates_schema

from core.clock import local
from core.pricing.schemas import DiscountSchema, VnDateTime
from core.errors import Message
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema


class _SnapshotMoment(fields.Field):
    """A moment of a stored price snapshot (ISO text in JSON), answered in Vietnam time."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return local(value) if value else None


class LineDiscountSchema(DiscountSchema):
    """One discount of a line as stored with it (``OrderLine.discounts``)."""

    starts_at = _SnapshotMoment(allow_none=True, metadata={"type": "string", "format": "date-time"})
    ends_at = _SnapshotMoment(allow_none=True, metadata={"type": "string", "format": "date-time"})


# --- input schemas ----------------------------------------------------------------------
class LineInSchema(BaseSchema):
    variant_id = fields.Integer(strict=True, metadata={"description": "variant id (or give sku)"})
    sku = fields.String(validate=validate.Length(1, 64))
    quantity = fields.Integer(strict=True, required=True, metadata={"description": "1…99"})

    @validates_schema
    def _one_reference(self, data, **kwargs):
        if ("variant_id" in data) == ("sku" in data):
            raise ValidationError(Message("chỉ ghi một trong variant_id hoặc sku", "give exactly one of variant_id or sku"),
                                  "variant_id")


class QuantitySchema(BaseSchema):
    quantity = fields.Integer(strict=True, required=True, metadata={"description": "1…99"})


class AddressInSchema(BaseSchema):
    province_code = fields.String(required=True, validate=validate.Length(1, 20),
                                  metadata={"description": "province code, current (e.g. 75) or pre-2025"})
    district_code = fields.String(allow_none=True, validate=validate.Length(1, 20),
                                  metadata={"description": "pre-2025 addresses only; omit for the 2025 two-tier units"})
    commune_code = fields.String(required=True, validate=validate.Length(1, 20))
    street = fields.String(required=True, validate=validate.Length(1, 300),
                           metadata={"description": "house number, street, hamlet"})


class CheckoutPatchSchema(BaseSchema):
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    phone = fields.String(allow_none=True, validate=validate.Length(max=30))
    full_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    shipping_address = fields.Nested(AddressInSchema, allow_none=True)
    delivery_method = fields.String(allow_none=True, validate=validate.Length(max=60),
                                    metadata={"description": "a code from delivery-methods, or 'pickup'"})
    pickup_location_id = fields.Integer(strict=True, allow_none=True)
    payment_gateway = fields.String(allow_none=True, validate=validate.Length(max=40),
                                    metadata={"description": "started when the checkout is completed"})
    note = fields.String(allow_none=True, validate=validate.Length(max=1000), metadata={"multiline": True})
    vouchers = fields.List(fields.String(validate=validate.Length(1, 60)), allow_none=True,
                           validate=validate.Length(max=5),
                           metadata={"description": "voucher codes (case-insensitive); replaces the codes entered "
                                                    "before; [] or null removes them"})


class CheckoutInSchema(CheckoutPatchSchema):
    lines = fields.List(fields.Nested(LineInSchema))


class PaymentInSchema(BaseSchema):
    gateway = fields.String(required=True, validate=validate.Length(1, 40))


# --- output schemas ----------------------------------------------------------------------
class LineProducerSchema(OutputSchema):
    id = fields.Integer()
    slug = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class AddressUnitSchema(OutputSchema):
    code = fields.String()
    name = fields.String(allow_none=True)


class AddressOutSchema(OutputSchema):
    province = fields.Nested(AddressUnitSchema, allow_none=True)
    district = fields.Nested(AddressUnitSchema, allow_none=True)
    commune = fields.Nested(AddressUnitSchema, allow_none=True)
    street = fields.String(allow_none=True)


class ContactSchema(OutputSchema):
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    full_name = fields.String(allow_none=True)


class DeliverySchema(OutputSchema):
    method = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    fee = fields.Integer(allow_none=True, metadata={"description": "VND"})
    pickup_location_id = fields.Integer(allow_none=True)


class CheckoutLineOutSchema(OutputSchema):
    id = fields.Integer()
    variant_id = fields.Integer()
    sku = fields.String()
    product_name = fields.String()
    product_slug = fields.String()
    variant_name = fields.String()
    base_unit_price = fields.Integer(metadata={"description": "VND, the variant's price before discounts"})
    unit_price = fields.Integer(metadata={"description": "VND, sale price of one unit (promotions)"})
    quantity = fields.Integer()
    discount_amount = fields.Integer(metadata={"description": "VND off the line (promotions and vouchers)"})
    line_total = fields.Integer(metadata={"description": "VND charged for the line"})
    discounts = fields.List(fields.Nested(LineDiscountSchema))
    sale_ends_at = VnDateTime(allow_none=True)
    is_service = fields.Boolean()
    producer = fields.Nested(LineProducerSchema)


class CheckoutDiscountSchema(OutputSchema):
    """A discount line of the checkout: one promotion, plugin rule or voucher, added up over the lines."""

    source = fields.String()
    id = fields.Integer(allow_none=True)
    reference = fields.String()
    name = fields.String()
    name_en = fields.String()
    code = fields.String(allow_none=True)
    amount = fields.Integer(metadata={"description": "VND"})


class CheckoutOutSchema(OutputSchema):
    token = fields.String()
    status = fields.String(metadata={"description": "open or completed"})
    contact = fields.Nested(ContactSchema)
    shipping_address = fields.Nested(AddressOutSchema, allow_none=True)
    note = fields.String(allow_none=True)
    delivery = fields.Nested(DeliverySchema)
    payment_gateway = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(CheckoutLineOutSchema))
    vouchers = fields.List(fields.String())
    voucher_error = fields.Dict(allow_none=True, metadata={
        "description": "a code entered before that no longer applies (priced without it)"})
    discounts = fields.List(fields.Nested(CheckoutDiscountSchema))
    base_subtotal = fields.Integer(metadata={"description": "VND before discounts"})
    discount_amount = fields.Integer()
    subtotal = fields.Integer(metadata={"description": "VND after discounts"})
    shipping_fee = fields.Integer()
    total = fields.Integer()
    currency = fields.String()
    order_token = fields.String(allow_none=True)


class ShippingQuoteSchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()
    fee = fields.Integer(metadata={"description": "VND"})
    eta_days = fields.Integer(allow_none=True)
    provider = fields.String(allow_none=True)


class PickupLocationSchema(OutputSchema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    province_code = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


class DeliveryOptionsSchema(OutputSchema):
    results = fields.List(fields.Nested(ShippingQuoteSchema))
    pickup_locations = fields.List(fields.Nested(PickupLocationSchema))


class OrderLineOutSchema(OutputSchema):
    id = fields.Integer()
    variant_id = fields.Integer()
    sku = fields.String()
    product_name = fields.String()
    variant_name = fields.String()
    unit_price = fields.Integer(metadata={"description": "VND, price when ordered"})
    base_unit_price = fields.Integer(metadata={"description": "VND before discounts"})
    quantity = fields.Integer()
    discount_amount = fields.Integer()
    discounts = fields.List(fields.Nested(LineDiscountSchema))
    line_total = fields.Integer()
    is_service = fields.Boolean()
    producer = fields.Nested(LineProducerSchema)
    location_id = fields.Integer(allow_none=True)
    fulfilled_quantity = fields.Integer()
    returned_quantity = fields.Integer(metadata={"description": "units refunded (returned, or refunded before "
                                                                "shipping and never shipped)"})


class PaymentOutSchema(OutputSchema):
    id = fields.Integer()
    gateway = fields.String()
    amount = fields.Integer()
    status = fields.String()
    external_id = fields.String(allow_none=True)
    transfer_reference = fields.String(allow_none=True)
    refunded_amount = fields.Integer()
    client_data = fields.Dict(allow_none=True)
    created_at = fields.DateTime()


class FulfilmentLineOutSchema(OutputSchema):
    order_line_id = fields.Integer()
    quantity = fields.Integer()


class FulfilmentOutSchema(OutputSchema):
    id = fields.Integer()
    producer_id = fields.Integer()
    carrier = fields.String()
    tracking_no = fields.String()
    status = fields.String()
    lines = fields.List(fields.Nested(FulfilmentLineOutSchema))
    created_at = fields.DateTime()


class OrderOutSchema(OutputSchema):
    number = fields.String()
    token = fields.String()
    status = fields.String()
    payment_status = fields.String()
    payment_gateway = fields.String(allow_none=True)
    created_at = fields.DateTime()
    contact = fields.Nested(ContactSchema)
    shipping_address = fields.Nested(AddressOutSchema, allow_none=True)
    delivery = fields.Nested(DeliverySchema)
    lines = fields.List(fields.Nested(OrderLineOutSchema))
    subtotal = fields.Integer()
    discount_amount = fields.Integer()
    voucher_codes = fields.List(fields.String())
    shipping_fee = fields.Integer()
    total = fields.Integer()
    paid_amount = fields.Integer()
    refunded_amount = fields.Integer()
    currency = fields.String()
    payments = fields.List(fields.Nested(PaymentOutSchema))
    fulfilments = fields.List(fields.Nested(FulfilmentOutSchema))
    payment_error = fields.Dict(allow_none=True)


class PaymentStartOutSchema(OutputSchema):
    payment = fields.Nested(PaymentOutSchema)
    order = fields.Nested(OrderOutSchema)


class PaymentGatewaySchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()
    offline = fields.Boolean()


# --- refund-due queue (money for a cancelled payment or a closed order) -------------------------------
class RefundLineInSchema(BaseSchema):
    order_line_id = fields.Integer(strict=True, required=True)
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=1_000_000))


class RefundInSchema(BaseSchema):
    amount = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={"description": "VND"})
    lines = fields.List(fields.Nested(RefundLineInSchema), validate=validate.Length(1, 200), metadata={
        "description": "instead of amount: units of order lines, refunded at what they were charged "
                       "(discounts pro-rated; units not shipped yet are released and never ship)"})
    reason = fields.String(validate=validate.Length(1, 500))
    payment_id = fields.Integer(strict=True)

    @validates_schema
    def _amount_or_lines(self, data, **kwargs):
        if ("amount" in data) == ("lines" in data):
            raise ValidationError(Message("cần đúng một trong amount hoặc lines",
                                          "give either amount or lines"), "amount")


class PaymentRefundDueQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(("open", "refunded", "dismissed")))
    order_id = fields.Integer(validate=validate.Range(min=1))


class PaymentRefundDueSchema(OutputSchema):
    id = fields.Integer()
    order_id = fields.Integer()
    payment_id = fields.Integer()
    gateway = fields.String()
    event_id = fields.String()
    amount = fields.Integer(metadata={"description": "VND"})
    reason = fields.String(metadata={"description": "order_cancelled, order_refunded or payment_cancelled"})
    status = fields.String(metadata={"description": "open, refunded or dismissed"})
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


class PaymentRefundDuePageSchema(OutputSchema):
    results = fields.List(fields.Nested(PaymentRefundDueSchema))
    total = fields.Integer()
    next = fields.String(allow_none=True)


class ClosePaymentRefundDueSchema(BaseSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(("refunded", "dismissed")),
                            metadata={"description": "refunded: sent back to the payer; dismissed: kept, say why"})
    note = fields.String(required=True, validate=validate.Length(min=1, max=500), metadata={"multiline": True})
