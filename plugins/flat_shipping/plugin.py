"""Hook implementations of the built-in ``flat_shipping`` plugin."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.flat_shipping import services


@hookimpl
def shipping_methods(checkout, address):
    """Standard and express home delivery at flat weight-and-zone rates."""
    return services.quote(address)
