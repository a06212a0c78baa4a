"""HTTP hook implementations of the ``webhooks`` plugin (entry point ``webhooks`` in group
``ocop.plugins.web``; loaded by the web app only, its domain hooks are in :mod:`plugins.webhooks.plugin`)."""
from __future__ import annotations

from core import metrics
from core.hookspecs import hookimpl
from plugins.webhooks import routes, services

metrics.register_database_gauge("ocop_webhook_deliveries", "Webhook deliveries not yet succeeded, by status.",
                                services.counts_by_status)


@hookimpl
def register_blueprints(app, api):
    """Admin routes under ``/admin/v1/webhooks``."""
    return [routes.blp]
