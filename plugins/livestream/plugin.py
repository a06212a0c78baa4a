"""Domain hook implementations of the ``livestream`` plugin (entry point ``livestream = plugins.livestream.plugin``).

Its HTTP hooks (routes, console pages) are in :mod:`plugins.livestream.web` (group ``ocop.plugins.web``, web app only).
"""
from __future__ import annotations

from pathlib import Path

from core.hookspecs import hookimpl
from plugins.livestream import attribution, session_prices
from plugins.livestream import cli as livestream_cli
from plugins.livestream import models  # noqa: F401  (registers the plugin's tables)
from plugins.livestream import reports as livestream_reports
from plugins.livestream.models import COMPONENT
from plugins.livestream.sessions import LIVESTREAM_KIND
from plugins.livestream import demo as demo_data



@hookimpl
def register_migrations():
    """The plugin's own Alembic revisions (``lv001``…), version table ``alembic_version_livestream``."""
    return (COMPONENT, str(Path(__file__).parent / "migrations" / "versions"))


@hookimpl
def register_sales_channel_kinds(registry):
    """Every livestream session is a sales channel of kind ``livestream``."""
    registry.add(LIVESTREAM_KIND, "Bán hàng qua livestream", "Livestream selling")


@hookimpl
def register_cli(cli):
    """``ocop livestream parse-comments`` (no database) and ``ocop livestream seed-demo``."""
    livestream_cli.register(cli)


@hookimpl
def order_attribution(order):
    """Orders on a session's channel, or from its link within its window, are credited to the session."""
    return attribution.attribute(order)


@hookimpl
def price_adjustments(channel, at, customer, lines):
    """Showcase session prices on the session's own channel ``livestream:<id>`` (one query; none elsewhere)."""
    return session_prices.adjustments(channel, lines)


@hookimpl
def reports(user):
    """Livestream sessions and GMV per producer and province; best products."""
    return livestream_reports.available_reports(user)


@hookimpl
def seed_demo_data():
    """The recorded demo session (showcase, 100+ comments, drafts and orders)."""
    return demo_data.seed_demo_session()
