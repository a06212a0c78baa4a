"""The Stripe gateway: PaymentIntents, refunds and webhook verification with the official SDK.

VND is a zero-decimal currency at Stripe: the integer amount in VND is sent
as is (``150000`` means 150,000 ₫), never multiplied by 100.
"""
from __future__ import annotations

import functools
import logging
from typing import Any

from flask import current_app, has_request_context, url_for

from core.errors import DomainError
from core.payments.gateways import GatewayEvent, PaymentGateway, PaymentStart
from core.plugins import LazyModule

# Stripe's SDK (with the aiohttp and requests it imports) costs ~12 MB at import: loaded on the first payment call
stripe = LazyModule("stripe")

log = logging.getLogger(__name__)

CODE = "stripe"
CURRENCY = "vnd"
#: Stripe event type → core GatewayEvent kind. Other events are acknowledged and ignored.
#: ``charge.refunded`` carries the charge's *cumulative* ``amount_refunded``: the core records
#: only what it has not recorded yet, so a refund the core started (and recorded) is not
#: counted twice, while one made in the Stripe dashboard is picked up.
EVENT_KINDS = {
    "checkout.session.completed": "succeeded",
    "checkout.session.async_payment_succeeded": "succeeded",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "failed",
    "charge.refunded": "refunded",
}
#: the site page (``register_site_pages``) that opens Stripe's hosted payment page for an order
PAY_ENDPOINT = "site.stripe_checkout"
NETWORK_RETRIES = 2
TIMEOUT_SECONDS = 30


@functools.lru_cache(maxsize=8)
def stripe_client(secret_key: str, api_base: str | None = None) -> stripe.StripeClient:
    """A cached ``StripeClient`` for ``secret_key``; ``api_base`` points it elsewhere (localstripe in tests)."""
    options: dict[str, Any] = {
        "max_network_retries": NETWORK_RETRIES,  # POST retries reuse an SDK-generated idempotency key
        "http_client": stripe.new_default_http_client(timeout=TIMEOUT_SECONDS),
    }
    if api_base:
        options["base_addresses"] = {"api": api_base.rstrip("/")}
    return stripe.StripeClient(secret_key, **options)


def _vnd(amount) -> int:
    """Check an amount is a positive whole number of dong (zero-decimal; no ×100)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise DomainError("payment.invalid_amount", "Số tiền thanh toán phải là số nguyên dương (VND).",
                          "The payment amount must be a positive whole number of VND.",
                          {"amount": amount})
    return amount


def _gateway_error(exc: stripe.StripeError, action: str) -> DomainError:
    """Translate an SDK error into the error envelope (never leak the raw Stripe message as a 500)."""
    details = {"gateway": CODE, "action": action, "stripe_code": getattr(exc, "code", None),
               "http_status": getattr(exc, "http_status", None)}
    if isinstance(exc, stripe.CardError):
        return DomainError("payment.declined", "Thẻ bị từ chối.", "The card was declined.", details, status=402)
    if isinstance(exc, stripe.InvalidRequestError):
        return DomainError("payment.gateway_rejected", "Cổng thanh toán Stripe từ chối yêu cầu.",
                           "Stripe rejected the request.", {**details, "reason": exc.user_message or str(exc)},
                           status=422)
    log.warning("Stripe %s failed: %s", action, exc)
    return DomainError("payment.gateway_unavailable", "Không kết nối được cổng thanh toán Stripe.",
                       "The Stripe gateway could not be reached.", details, status=502)


class StripeGateway(PaymentGateway):
    """Card payments through Stripe PaymentIntents (``code = "stripe"``)."""

    code = CODE
    name = "Thẻ ngân hàng quốc tế (Stripe)"
    name_en = "Card payment (Stripe)"

    def __init__(self, secret_key: str, webhook_secret: str | None = None, api_base: str | None = None):
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.api_base = api_base

    @classmethod
    def from_settings(cls, settings) -> "StripeGateway | None":
        """The gateway configured by ``OCOP_STRIPE_*`` settings, or None when no secret key is set."""
        if not getattr(settings, "stripe_secret_key", None):
            return None
        return cls(settings.stripe_secret_key, settings.stripe_webhook_secret, settings.stripe_api_base)

    @property
    def client(self) -> stripe.StripeClient:
        return stripe_client(self.secret_key, self.api_base)

    # --- PaymentGateway contract ---------------------------------------------------
    def start(self, order, payment) -> PaymentStart:
        """Create a PaymentIntent for ``payment.amount`` VND; the storefront confirms it with the client secret.

        The intent carries the order and payment ids in its metadata so that
        webhooks and the Stripe dashboard can be traced back to the order.
        """
        amount = _vnd(payment.amount)
        metadata = {"ocop_payment_id": str(payment.id), "ocop_order_id": str(order.id)}
        number = getattr(order, "number", None)
        if number:
            metadata["ocop_order_number"] = str(number)
        params = {"amount": amount, "currency": CURRENCY, "payment_method_types": ["card"],
                  "metadata": metadata}
        try:
            intent = self.client.v1.payment_intents.create(params=params)
        except stripe.StripeError as exc:
            raise _gateway_error(exc, "start") from exc
        client_data = {"client_secret": intent.client_secret, "payment_intent": intent.id,
                       "amount": intent.amount, "currency": intent.currency}
        page = payment_page(order)
        if page:
            client_data["payment_page"] = page
        return PaymentStart(status="pending", external_id=intent.id, client_data=client_data)

    def hosted_checkout(self, order, payment, success_url: str, cancel_url: str, locale: str = "vi") -> str:
        """A Stripe Checkout Session (Stripe's hosted payment page) for ``payment``; returns its URL.

        ``mode=payment``, one line of ``payment.amount`` VND (zero-decimal). The session's metadata names
        the payment's own PaymentIntent (``ocop_payment_intent``), so ``checkout.session.completed`` pays
        that payment (:meth:`to_gateway_event`); the session's PaymentIntent carries the same metadata.
        One session per payment and language (idempotency key), so a second click gets the same page.
        """
        amount = _vnd(payment.amount)
        metadata = {"ocop_payment_id": str(payment.id), "ocop_order_id": str(order.id),
                    "ocop_order_number": str(order.number), "ocop_payment_intent": str(payment.external_id)}
        params = {"mode": "payment", "success_url": success_url, "cancel_url": cancel_url, "locale": locale,
                  "client_reference_id": str(order.number), "metadata": metadata,
                  "payment_intent_data": {"metadata": metadata},
                  "line_items": [{"quantity": 1, "price_data": {
                      "currency": CURRENCY, "unit_amount": amount,
                      "product_data": {"name": f"Đơn hàng {order.number}" if locale == "vi" else f"Order {order.number}"}}}]}
        try:
            session = self.client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": f"ocop-checkout-{payment.id}-{locale}"})
        except stripe.StripeError as exc:
            raise _gateway_error(exc, "hosted_checkout") from exc
        return session.url

    def note_paid_through(self, event: stripe.Event) -> None:
        """After a Checkout Session paid a payment: write the session's PaymentIntent into the metadata of
        the payment's own intent (``ocop_paid_through``), where :meth:`refund` finds it."""
        obj = event.data.object
        paid_by = obj["payment_intent"] if "payment_intent" in obj else None
        if obj["object"] != "checkout.session" or not paid_by:
            return
        own = obj["metadata"]["ocop_payment_intent"]
        try:
            self.client.v1.payment_intents.update(own, params={"metadata": {"ocop_paid_through": str(paid_by)}})
        except stripe.StripeError as exc:  # the payment is recorded; a refund would then go through the dashboard
            log.warning("Stripe: could not note %s as paid through %s: %s", own, paid_by, exc)

    def _paid_intent(self, payment) -> str:
        """The PaymentIntent that took the money: the payment's own, or the Checkout Session's that paid it."""
        try:
            intent = self.client.v1.payment_intents.retrieve(payment.external_id)
        except stripe.StripeError as exc:
            raise _gateway_error(exc, "refund") from exc
        metadata = intent.metadata.to_dict() if intent.metadata else {}
        return metadata.get("ocop_paid_through") or payment.external_id

    def refund(self, payment, amount: int) -> str:
        """Refund ``amount`` VND of the PaymentIntent behind ``payment``; return the Stripe refund id (``re_…``).

        A payment made on the hosted page was taken by the session's PaymentIntent, which the webhook wrote
        into the payment's own intent's metadata (``ocop_paid_through``): that one is refunded.
        """
        amount = _vnd(amount)
        if not payment.external_id:
            raise DomainError("payment.not_refundable", "Khoản thanh toán chưa có mã Stripe.",
                              "The payment has no Stripe PaymentIntent.", {"payment_id": payment.id})
        params = {"payment_intent": self._paid_intent(payment), "amount": amount,
                  "metadata": {"ocop_payment_id": str(payment.id)}}
        try:
            refund = self.client.v1.refunds.create(params=params)
        except stripe.StripeError as exc:
            raise _gateway_error(exc, "refund") from exc
        if refund.status in ("failed", "canceled"):
            raise DomainError("payment.refund_failed", "Stripe không thực hiện được việc hoàn tiền.",
                              "Stripe could not refund the payment.",
                              {"refund_id": refund.id, "status": refund.status}, status=422)
        return refund.id

    def cancel(self, payment) -> None:
        """Cancel the PaymentIntent behind a payment cancelled here (gateway switched, order cancelled)."""
        if not payment.external_id:
            return
        try:
            self.client.v1.payment_intents.cancel(payment.external_id)
        except stripe.StripeError as exc:
            raise _gateway_error(exc, "cancel") from exc

    def describe(self) -> dict:
        return {**super().describe(), "currency": CURRENCY.upper()}

    # --- webhooks ------------------------------------------------------------------
    def verify_event(self, payload: bytes, signature: str | None) -> stripe.Event:
        """Check ``Stripe-Signature`` over the raw body and parse the event.

        Raises ``payment.bad_signature`` (400) for a missing or wrong
        signature, a timestamp outside Stripe's 5-minute tolerance, or a body
        that is not a Stripe event; raises ``payment.webhook_not_configured``
        (503) when ``OCOP_STRIPE_WEBHOOK_SECRET`` is unset.
        """
        if not self.webhook_secret:
            raise DomainError("payment.webhook_not_configured",
                              "Chưa cấu hình khóa bí mật webhook Stripe (OCOP_STRIPE_WEBHOOK_SECRET).",
                              "The Stripe webhook secret (OCOP_STRIPE_WEBHOOK_SECRET) is not configured.",
                              status=503)
        if not signature:
            raise _bad_signature("missing Stripe-Signature header")
        try:
            event = self.client.construct_event(payload, signature, self.webhook_secret)
        except stripe.SignatureVerificationError:
            raise _bad_signature("signature does not match") from None
        except (ValueError, KeyError, TypeError):
            raise _bad_signature("payload is not a Stripe event") from None
        if not getattr(event, "id", None) or not getattr(event, "type", None):
            raise _bad_signature("payload is not a Stripe event")
        return event

    @staticmethod
    def to_gateway_event(event: stripe.Event) -> GatewayEvent | None:
        """Convert a verified Stripe event into a core :class:`GatewayEvent`, or None if it does not concern us."""
        kind = EVENT_KINDS.get(event.type)
        if kind is None:
            return None
        obj = event.data.object
        if str(obj["currency"] if "currency" in obj else "").lower() != CURRENCY:
            return None
        if kind == "refunded":
            intent_id = obj["payment_intent"] if "payment_intent" in obj else None
            if obj["object"] != "charge" or not intent_id:
                return None
            if not isinstance(intent_id, str):  # expanded PaymentIntent
                intent_id = intent_id["id"]
            return GatewayEvent(event_id=event.id, external_id=intent_id, kind=kind,
                                amount=int(obj["amount_refunded"]))
        if obj["object"] == "checkout.session":
            metadata = obj["metadata"] if "metadata" in obj else None
            if obj["payment_status"] != "paid" or not metadata or "ocop_payment_intent" not in metadata:
                return None
            return GatewayEvent(event_id=event.id, external_id=metadata["ocop_payment_intent"], kind=kind,
                                amount=int(obj["amount_total"]))
        if obj["object"] != "payment_intent":
            return None
        amount = obj["amount"]
        if kind == "succeeded" and "amount_received" in obj and obj["amount_received"]:
            amount = obj["amount_received"]
        return GatewayEvent(event_id=event.id, external_id=obj["id"], kind=kind, amount=int(amount))


def payment_page(order) -> str | None:
    """The site's path that sends the shopper to Stripe's hosted page for ``order`` (when the site is served)."""
    token = getattr(order, "token", None)
    if not token or not has_request_context() or PAY_ENDPOINT not in current_app.view_functions:
        return None
    return url_for(PAY_ENDPOINT, token=token)


def _bad_signature(reason: str) -> DomainError:
    return DomainError("payment.bad_signature", "Chữ ký webhook Stripe không hợp lệ.",
                       "Invalid Stripe webhook signature.", {"reason": reason}, status=400)
