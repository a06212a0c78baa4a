"""Storefront checkout, order status by token and payment start."""
from __future__ import annotations

import re

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from core.api import CHECKOUT_CREATION_RATE, ORDER_LOOKUP_RATE, rate_limit
from core.errors import invalid
from core.payments import gateways
from core.sales import checkout, order_payments, orders, placement
from core.sales.schemas import (CheckoutInSchema, CheckoutOutSchema, CheckoutPatchSchema, DeliveryOptionsSchema,
                                LineInSchema, OrderOutSchema, PaymentGatewaySchema, PaymentInSchema,
                                PaymentStartOutSchema, QuantitySchema)

blp = Blueprint("storefront_checkout", __name__, url_prefix="/storefront/v1",
                description="Checkout (cart, contact, Vietnamese address, delivery), orders and payments")

IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")


# --- routes -------------------------------------------------------------------------------
@blp.route("/checkouts")
class Checkouts(MethodView):
    @rate_limit(CHECKOUT_CREATION_RATE)
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
        order, created = placement.place_from_checkout(token, key)
        return order, (201 if created else 200)


@blp.route("/orders/<token>")
class OrderByToken(MethodView):
    @rate_limit(ORDER_LOOKUP_RATE)
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
        payment = order_payments.start_payment(orders.get_by_token(token), data["gateway"])
        return {"payment": orders.payment_view(payment), "order": orders.shopper_view(payment.order)}


@blp.route("/payment-gateways")
class Gateways(MethodView):
    @blp.response(200, PaymentGatewaySchema(many=True))
    def get(self):
        """Enabled payment gateways."""
        return gateways.describe_gateways()
