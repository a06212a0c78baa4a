"""HTTP hook implementations of the built-in ``bank_transfer`` plugin (entry point ``bank_transfer`` in group
``ocop.plugins.web``; loaded by the web app only, its domain hooks are in :mod:`plugins.bank_transfer.plugin`)."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.bank_transfer import routes, storefront


@hookimpl
def register_blueprints(app, api):
    """Admin routes under ``/admin/v1/payments/bank-transfer``, QR images and the webhook under
    ``/storefront/v1/payments/bank-transfer``."""
    return [routes.blp, storefront.blp]
