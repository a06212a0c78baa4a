"""Storefront checkout, order status by token and payment start."""
from __future__ import annotations

import re

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate, validates_schema

from core.errors import invalid
from core.schemas import BaseSchema, OutputSchema
from core.sales import checkout, orders
from core.payments import processing as payments

blp = Blueprint("storefront_checkout", __name__, url_prefix="/storefront/v1",
                description="Checkout (cart, contact, Vietnamese address, delivery), orders and payments")

IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")


# --- input schemas ----------------------------------------------------------------------
class LineInSchema(BaseSchema):
    variant_id = fields.Integer(strict=True, metadata={"description": "variant id (or give sku)"})
    sku = fields.String(validate=validate.Length(1, 64))
    quantity = fields.Integer(strict=True, required=True, metadata={"description": "1…99"})

    @validates_schema
    def _one_reference(self, data, **kwargs):
        if ("variant_id" in data) == ("sku" in data):
            raise ValidationError("give exactly one of variant_id or sku", "variant_id")


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
    unit_price = fields.Integer(metadata={"description": "VND"})
    quantity = fields.Integer()
    line_total = fields.Integer()
    is_service = fields.Boolean()
    producer = fields.Nested(LineProducerSchema)


class CheckoutOutSchema(OutputSchema):
    token = fields.String()
    status = fields.String(metadata={"description": "open or completed"})
    contact = fields.Nested(ContactSchema)
    shipping_address = fields.Nested(AddressOutSchema, allow_none=True)
    note = fields.String(allow_none=True)
    delivery = fields.Nested(DeliverySchema)
    payment_gateway = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(CheckoutLineOutSchema))
    subtotal = fields.Integer()
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
    quantity = fields.Integer()
    line_total = fields.Integer()
    is_service = fields.Boolean()
    producer = fields.Nested(LineProducerSchema)
    location_id = fields.Integer(allow_none=True)
    fulfilled_quantity = fields.Integer()


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


# --- routes -------------------------------------------------------------------------------
@blp.route("/checkouts")
class Checkouts(MethodView):
    @blp.arguments(CheckoutInSchema)
    @blp.response(201, CheckoutOutSchema)
    def post(self, data):
        """Start a checkout (optionally with lines, contact, address and delivery method).

        Keep the returned ``token``: it is the only key to the checkout.
        """
        return checkout.create(data)


@blp.route("/checkouts/<token>")
class CheckoutItem(MethodView):
    @blp.response(200, CheckoutOutSchema)
    def get(self, token):
        """The checkout with current prices and totals (VND)."""
        return checkout.view(*checkout.load(token))

    @blp.arguments(CheckoutPatchSchema)
    @blp.response(200, CheckoutOutSchema)
    def patch(self, data, token):
        """Set contact, shipping address (validated against the administrative units), delivery method,
        payment gateway or note."""
        return checkout.update(token, data)


@blp.route("/checkouts/<token>/lines")
class CheckoutLines(MethodView):
    @blp.arguments(LineInSchema)
    @blp.response(201, CheckoutOutSchema)
    def post(self, data, token):
        """Add a listed product variant (by ``variant_id`` or ``sku``); an existing line's quantity grows."""
        return checkout.add_line(token, data)


@blp.route("/checkouts/<token>/lines/<int:line_id>")
class CheckoutLineItem(MethodView):
    @blp.arguments(QuantitySchema)
    @blp.response(200, CheckoutOutSchema)
    def patch(self, data, token, line_id):
        """Change a line's quantity (1…99)."""
        return checkout.update_line(token, line_id, data)

    @blp.response(200, CheckoutOutSchema)
    def delete(self, token, line_id):
        """Remove a line."""
        return checkout.remove_line(token, line_id)


@blp.route("/checkouts/<token>/delivery-methods")
class DeliveryMethods(MethodView):
    @blp.response(200, DeliveryOptionsSchema)
    def get(self, token):
        """Home-delivery quotes for the shipping address (from the ``shipping_methods`` hook) and pickup
        locations holding every line."""
        return checkout.delivery_options(*checkout.load(token))


@blp.route("/checkouts/<token>/complete")
class CompleteCheckout(MethodView):
    @blp.response(201, OrderOutSchema)
    @blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "required": False,
                          "schema": {"type": "string", "maxLength": 200},
                          "description": "repeat-safe completion: the same key returns the first order (200)"}])
    def post(self, token):
        """Place the order and allocate its stock in one transaction (201).

        With an ``Idempotency-Key`` header a repeat returns the first order with
        200. When the checkout names a payment gateway, the payment is started
        right after the order is placed (``payments`` in the answer).
        """
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY_RE.match(key):
            raise invalid("Idempotency-Key", "khoá không hợp lệ (1–200 ký tự ASCII in được)",
                          "invalid key (1–200 printable ASCII characters)")
        result, created = checkout.complete(token, key)
        if created and result.get("payment_gateway"):
            result = _start_first_payment(result)
        return result, (201 if created else 200)


def _start_first_payment(result: dict) -> dict:
    from core.errors import DomainError
    order = orders.get_by_token(result["token"])
    try:
        payments.start_payment(order, order.payment_gateway)
    except DomainError as exc:
        result["payment_error"] = exc.envelope()["error"]
        return result
    return orders.shopper_view(orders.get_by_token(result["token"]))


@blp.route("/orders/<token>")
class OrderByToken(MethodView):
    @blp.response(200, OrderOutSchema)
    def get(self, token):
        """Follow an order with its unguessable token: status, lines, payments, shipments."""
        return orders.shopper_view(orders.get_by_token(token))


@blp.route("/orders/<token>/payments")
class OrderPayments(MethodView):
    @blp.arguments(PaymentInSchema)
    @blp.response(201, PaymentStartOutSchema)
    def post(self, data, token):
        """Start paying what is due with a gateway; ``payment.client_data`` is what the storefront needs
        (Stripe client secret, bank transfer reference and account, COD amount)."""
        order = orders.get_by_token(token)
        payment = payments.start_payment(order, data["gateway"])
        payment_id = payment.id
        order = orders.get_by_token(token)
        payment = next(p for p in order.payments if p.id == payment_id)
        return {"payment": orders.payment_view(payment), "order": orders.shopper_view(order)}


@blp.route("/payment-gateways")
class Gateways(MethodView):
    @blp.response(200, PaymentGatewaySchema(many=True))
    def get(self):
        """Enabled payment gateways."""
        return payments.describe_gateways()
