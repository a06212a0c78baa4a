"""Hook implementations of the ``webhooks`` plugin (entry point ``webhooks = plugins.webhooks.plugin``).

The core's after-commit hooks become webhook events; ``plugin_event`` carries the events other
plugins declared with ``register_webhook_events``. The admin routes and the deliveries gauge of
``/metrics`` are in :mod:`plugins.webhooks.web` (web app only).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.hookspecs import hookimpl
from plugins.webhooks import events, models  # noqa: F401  (registers the plugin's tables)
from plugins.webhooks import services
from plugins.webhooks.models import COMPONENT
from plugins.webhooks import cli as webhooks_cli
from plugins.webhooks import tasks


@hookimpl
def register_webhook_events(registry):
    """The core's event types (product, certification, stock and order changes)."""
    for code, (vi, en) in events.CORE_EVENTS.items():
        registry.add(code, vi, en)


@hookimpl
def register_migrations():
    """The plugin's own Alembic revisions (``wh001``…), version table ``alembic_version_webhooks``."""
    return (COMPONENT, str(Path(__file__).parent / "migrations" / "versions"))


@hookimpl
def register_tasks(celery):
    """Import the delivery tasks; beat sweeps due retries every 30 seconds."""
    return {"webhooks-retry-due": {"task": "webhooks.retry_due", "schedule": dt.timedelta(seconds=30)}}


@hookimpl
def register_cli(cli):
    """``ocop webhooks retry-due`` and ``ocop webhooks event-types``."""
    webhooks_cli.register(cli)


# --- events -------------------------------------------------------------------------------------
@hookimpl
def product_listed(product):
    """``product.listed``."""
    services.record_event("product.listed", {"product": events.product_data(product)})


@hookimpl
def product_delisted(product, reason):
    """``product.delisted`` with the reason."""
    services.record_event("product.delisted", {"product": events.product_data(product), "reason": reason})


@hookimpl
def certification_changed(certification, previous_status):
    """``certification.changed``."""
    services.record_event("certification.changed",
                          {"certification": events.certification_data(certification, previous_status)})


@hookimpl
def certification_expiring(certification, days_left):
    """``certification.expiring`` with the days left."""
    services.record_event("certification.expiring",
                          {"certification": events.certification_data(certification), "days_left": days_left})


@hookimpl
def stock_changed(stock, movement):
    """``stock.changed`` with the ledger row."""
    services.record_event("stock.changed", {"stock": events.stock_data(stock, movement)})


@hookimpl
def order_created(order):
    """``order.created``."""
    services.record_event("order.created", {"order": events.order_data(order)})


@hookimpl
def order_paid(order, payment):
    """``order.paid`` with the payment."""
    services.record_event("order.paid", {"order": events.order_data(order), "payment": events.payment_data(payment)})


@hookimpl
def order_cancelled(order):
    """``order.cancelled``."""
    services.record_event("order.cancelled", {"order": events.order_data(order)})


@hookimpl
def order_fulfilled(order, fulfilment):
    """``order.fulfilled`` with the shipment."""
    services.record_event("order.fulfilled", {"order": events.order_data(order),
                                              "fulfilment": events.fulfilment_data(fulfilment)})


@hookimpl
def plugin_event(name, payload):
    """An event another plugin emitted after its commit (delivered only if it declared the type)."""
    services.record_event(name, payload)
