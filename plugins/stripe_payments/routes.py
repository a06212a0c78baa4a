"""Stripe webhook endpoint: ``POST /storefront/v1/payments/stripe/webhook``."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from core.schemas import OutputSchema
from plugins.stripe_payments import services

blp = Blueprint("stripe_payments", __name__, url_prefix="/storefront/v1/payments/stripe",
                description="Stripe payments: signed webhook receiver")


class StripeWebhookAckSchema(OutputSchema):
    received = fields.Boolean()
    event_id = fields.String()
    type = fields.String()
    handled = fields.Boolean(metadata={"description": "false for replays and event types that change nothing"})


@blp.route("/webhook")
class StripeWebhook(MethodView):
    @blp.response(200, StripeWebhookAckSchema)
    @blp.alt_response(400, description="`payment.bad_signature`: missing, wrong, stale or tampered signature "
                                       "(error envelope; nothing changed)")
    @blp.alt_response(404, description="`payment.gateway_unavailable`: OCOP_STRIPE_SECRET_KEY is not set")
    @blp.alt_response(503, description="`payment.webhook_not_configured`: OCOP_STRIPE_WEBHOOK_SECRET is not set")
    @blp.doc(parameters=[{"in": "header", "name": "Stripe-Signature", "required": True,
                          "schema": {"type": "string"},
                          "description": "`t=<unix time>,v1=<HMAC-SHA256 hex>` as sent by Stripe"}],
             requestBody={"required": True, "description": "the Stripe event, verified byte for byte",
                          "content": {"application/json": {"schema": {"type": "object"}}}})
    def post(self):
        """Receive a Stripe event (called by Stripe, not by shoppers).

        The raw body is verified against the ``Stripe-Signature`` header with
        ``OCOP_STRIPE_WEBHOOK_SECRET`` before anything is parsed, so there is
        no argument schema: a bad or missing signature answers 400
        ``payment.bad_signature`` and changes nothing; a replayed event
        answers 200 and changes nothing.
        """
        return services.handle_webhook(request.get_data(cache=False),
                                       request.headers.get("Stripe-Signature"))
