"""HTTP hook implementations of the ``vnpay`` plugin (entry point ``vnpay`` in group ``ocop.plugins.web``;
loaded by the web app only, its domain hooks are in :mod:`plugins.vnpay.plugin`)."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.vnpay.routes import blp


@hookimpl
def register_blueprints(app, api):
    """The IPN and return routes under ``/storefront/v1/payments/vnpay``."""
    return [blp]
