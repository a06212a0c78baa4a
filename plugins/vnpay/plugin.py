"""Hook implementations of the ``vnpay`` plugin (entry point ``vnpay = plugins.vnpay.plugin``)."""
from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def payment_gateways(settings):
    """The VNPay gateway when ``OCOP_VNPAY_*`` is configured, otherwise nothing."""
    return []
