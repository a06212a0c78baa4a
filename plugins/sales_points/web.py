"""HTTP hook implementations of the ``sales_points`` plugin (entry point ``sales_points`` in group
``ocop.plugins.web``; loaded by the web app only, its domain hooks are in :mod:`plugins.sales_points.plugin`)."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.sales_points import console as sp_console
from plugins.sales_points import routes, storefront


@hookimpl
def register_blueprints(app, api):
    """Admin routes under ``/admin/v1/sales-points`` and public ones under ``/storefront/v1``."""
    return [routes.blp, storefront.blp]


@hookimpl
def register_console_pages(console):
    """The till in the web console (``/console/till``): scan, quantity, cash / card / QR, receipt."""
    sp_console.register(console)
