"""The site page that sends a shopper to Stripe's hosted payment page (``/thanh-toan/stripe/<order token>``).

No card field and no Stripe.js on our pages: Stripe Checkout collects the card, then sends the shopper back
to the order status page (``?payment=returned`` or ``?payment=cancelled``); the signed webhook pays the order.
"""
from __future__ import annotations

import logging

from flask import current_app, g, redirect, url_for

from core.errors import DomainError
from plugins.stripe_payments import services

log = logging.getLogger(__name__)


def _order_page(token: str, outcome: str | None = None, external: bool = False) -> str:
    path = url_for("site.order_status", token=token, **({"payment": outcome} if outcome else {}))
    return current_app.config["OCOP"].public_base_url.rstrip("/") + path if external else path


def pay_on_stripe(token: str):
    """303 to the Stripe Checkout page of the order's pending Stripe payment; back to the order otherwise.

    When Stripe does not answer with a page the shopper lands on the order page with a message
    (``?payment=unavailable``); the order stays pending and can be paid later or cancelled.
    """
    if len(token) > 100:
        return redirect(url_for("site.home"), 303)
    locale = "en" if getattr(g, "site_lang", "vi") == "en" else "vi"
    try:
        url = services.hosted_checkout_url(token, _order_page(token, "returned", external=True),
                                           _order_page(token, "cancelled", external=True), locale)
    except DomainError as exc:
        if exc.status == 404 and exc.code != "payment.gateway_unavailable":
            raise
        log.warning("Stripe hosted checkout for an order not opened: %s", exc.code)
        return redirect(_order_page(token, "unavailable"), 303)
    return redirect(url or _order_page(token), 303)
