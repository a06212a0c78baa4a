"""HTTP hook implementations of the built-in ``stripe_payments`` plugin (entry point ``stripe_payments`` in
group ``ocop.plugins.web``; loaded by the web app only, its domain hooks are in
:mod:`plugins.stripe_payments.plugin`)."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.stripe_payments.routes import blp
from plugins.stripe_payments.site_pages import pay_on_stripe


@hookimpl
def register_blueprints(app, api):
    """The signed webhook receiver under ``/storefront/v1/payments/stripe``."""
    return [blp]


@hookimpl
def register_site_pages(pages):
    """``/thanh-toan/stripe/<order token>``: on to Stripe's hosted payment page (only while Stripe is configured)."""
    pages.add("/thanh-toan/stripe/<token>", pay_on_stripe, name="stripe_checkout", title="Thanh toán qua Stripe",
              title_en="Pay with Stripe")
