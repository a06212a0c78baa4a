"""Hook implementations of the built-in ``cod`` plugin."""
from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def payment_gateways(settings):
    """Cash on delivery is always available while the plugin is enabled."""
    from plugins.cod.gateway import CashOnDeliveryGateway
    return [CashOnDeliveryGateway()]
