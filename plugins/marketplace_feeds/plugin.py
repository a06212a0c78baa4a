"""Domain hook implementations of the ``marketplace_feeds`` plugin (entry point
``marketplace_feeds = plugins.marketplace_feeds.plugin``).

Its HTTP hooks (routes, console pages) are in :mod:`plugins.marketplace_feeds.web`
(group ``ocop.plugins.web``, web app only).
"""
from __future__ import annotations

from pathlib import Path

from core.hookspecs import hookimpl
from plugins.marketplace_feeds import attribution
from plugins.marketplace_feeds import cli as feeds_cli
from plugins.marketplace_feeds import models  # noqa: F401  (registers the plugin's tables)
from plugins.marketplace_feeds import reports as feeds_reports
from plugins.marketplace_feeds import tasks  # noqa: F401  (registers the plugin's Celery tasks)
from plugins.marketplace_feeds.models import COMPONENT, MARKETPLACE_KIND
from plugins.marketplace_feeds import demo as demo_data



@hookimpl
def register_migrations():
    """The plugin's own Alembic revisions (``mf001``…), version table ``alembic_version_marketplace_feeds``."""
    return (COMPONENT, str(Path(__file__).parent / "migrations" / "versions"))


@hookimpl
def register_sales_channel_kinds(registry):
    """Every registered marketplace is a sales channel of kind ``marketplace``."""
    registry.add(MARKETPLACE_KIND, "Sàn thương mại điện tử", "Marketplace")


@hookimpl
def register_cli(cli):
    """``ocop feeds build`` and ``ocop feeds seed-demo``."""
    feeds_cli.register(cli)


@hookimpl
def register_tasks(celery):
    """Beat regenerates changed feeds every 15 minutes."""
    return {"marketplace-feeds-refresh": {"task": "marketplace_feeds.refresh", "schedule": 15 * 60}}


@hookimpl
def order_attribution(order):
    """Orders on a marketplace's channel are credited to the marketplace."""
    return attribution.attribute(order)


@hookimpl
def reports(user):
    """Producers present per marketplace and province; items published vs refused; campaign results."""
    return feeds_reports.available_reports(user)


@hookimpl
def seed_demo_data():
    """Demo marketplaces with producer opt-ins and a marketplace campaign."""
    return demo_data.seed_demo_marketplaces()
