"""Stripe plugin services: the configured gateway and webhook handling.

The webhook is verified here and converted into a core
:class:`~core.services.payments.GatewayEvent`; what the event does to the
payment and order (and its idempotency by event id) is decided by the core
payments service.
"""
from __future__ import annotations

import logging

from flask import current_app

from core.errors import DomainError
from plugins.stripe_payments.gateway import CODE, StripeGateway
from core.sales import order_payments, orders

log = logging.getLogger(__name__)


def configured_gateway(settings=None) -> StripeGateway:
    """The Stripe gateway for the current app's settings; ``payment.gateway_unavailable`` (404) when disabled."""
    settings = settings or current_app.config["OCOP"]
    gateway = StripeGateway.from_settings(settings)
    if gateway is None:
        raise DomainError("payment.gateway_unavailable", "Cổng thanh toán Stripe chưa được bật.",
                          "The Stripe gateway is not enabled.", {"gateway": CODE}, status=404)
    return gateway


def handle_webhook(payload: bytes, signature: str | None) -> dict:
    """Verify a Stripe webhook and pass it to the core payments service.

    A bad or missing signature raises ``payment.bad_signature`` (400) and
    changes nothing. Events the core already saw (same Stripe event id) and
    event types we do not use are acknowledged without any change, so Stripe
    stops retrying them. Returns ``{"received", "event_id", "type", "handled"}``.
    """
    gateway = configured_gateway()
    event = gateway.verify_event(payload, signature)
    answer = {"received": True, "event_id": event.id, "type": event.type, "handled": False}
    gateway_event = gateway.to_gateway_event(event)
    if gateway_event is None:
        return answer
    try:
        result = order_payments.handle_gateway_event(CODE, gateway_event)
    except DomainError as exc:
        if exc.status != 404:
            raise
        # An intent this shop does not know (another integration on the same account): acknowledge it.
        log.info("Stripe event %s for unknown payment %s ignored", event.id, gateway_event.external_id)
        return answer
    answer["handled"] = bool(result)
    if result:
        gateway.note_paid_through(event)
    return answer


def hosted_checkout_url(order_token: str, success_url: str, cancel_url: str, locale: str) -> str | None:
    """Stripe's hosted payment page for the order's pending Stripe payment, or None when none is pending.

    Raises ``payment.gateway_unavailable`` (502) or ``payment.gateway_rejected`` (422) when Stripe does not
    answer with a page; the order and its payment stay as they were (pending, cancellable).
    """
    order = orders.get_by_token(order_token)
    pending = [p for p in order.payments if p.gateway == CODE and p.status == "pending" and p.external_id]
    if not pending or order.status in ("cancelled", "refunded"):
        return None
    return configured_gateway().hosted_checkout(order, pending[-1], success_url, cancel_url, locale)
