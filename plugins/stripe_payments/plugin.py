"""Domain hook implementations of the built-in ``stripe_payments`` plugin.

Its HTTP hooks (routes, site page) are in :mod:`plugins.stripe_payments.web` (group ``ocop.plugins.web``, web app only).
"""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.stripe_payments.gateway import StripeGateway


@hookimpl
def payment_gateways(settings):
    """The Stripe gateway when ``OCOP_STRIPE_SECRET_KEY`` is set, otherwise nothing."""
    gateway = StripeGateway.from_settings(settings)
    return [gateway] if gateway else []

