"""Hook implementations of the built-in ``stripe_payments`` plugin."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.stripe_payments.gateway import StripeGateway
from plugins.stripe_payments.routes import blp


@hookimpl
def payment_gateways(settings):
    """The Stripe gateway when ``OCOP_STRIPE_SECRET_KEY`` is set, otherwise nothing."""
    gateway = StripeGateway.from_settings(settings)
    return [gateway] if gateway else []


@hookimpl
def register_blueprints(app, api):
    """The signed webhook receiver under ``/storefront/v1/payments/stripe``."""
    return [blp]
