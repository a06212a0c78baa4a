"""Hook implementations of the built-in ``cod`` plugin."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.cod.gateway import CashOnDeliveryGateway


@hookimpl
def payment_gateways(settings):
    """Cash on delivery is always available while the plugin is enabled."""
    return [CashOnDeliveryGateway()]
