"""Domain hook implementations of the ``fairs`` plugin (entry point ``fairs = plugins.fairs.plugin``).

Its HTTP hooks (routes, console and site pages, the site's home section) are in :mod:`plugins.fairs.web`
(group ``ocop.plugins.web``, web app only).
"""
from __future__ import annotations

from pathlib import Path

from core.hookspecs import hookimpl
from plugins.fairs import cli as fairs_cli
from plugins.fairs import models  # noqa: F401  (registers the plugin's tables)
from plugins.fairs import reports as fairs_reports
from plugins.fairs.events import FAIR_BOOTH_KIND, FAIR_TRANSIT_KIND
from plugins.fairs.models import COMPONENT
from plugins.fairs import demo as demo_data
from plugins.fairs import fees


@hookimpl
def register_migrations():
    """The plugin's own Alembic revisions (``fr001``…), version table ``alembic_version_fairs``."""
    return (COMPONENT, str(Path(__file__).parent / "migrations" / "versions"))


@hookimpl
def register_sales_channel_kinds(registry):
    """Every event sells at its booths on one channel of kind ``fair_booth`` (code ``fair_booth:<slug>``)."""
    registry.add(FAIR_BOOTH_KIND, "Gian hàng hội chợ, triển lãm", "Fair booth")


@hookimpl
def register_stock_location_kinds(registry):
    """Each exhibitor at a booth holds its goods in a ``fair_booth`` location; goods on the way to or from a
    booth wait in the event's ``fair_transit`` location (two-step transfers)."""
    registry.add(FAIR_BOOTH_KIND, "Gian hàng hội chợ, triển lãm", "Fair booth")
    registry.add(FAIR_TRANSIT_KIND, "Hàng đang chuyển đến/từ hội chợ", "Goods in transit to or from a fair")


@hookimpl
def register_cli(cli):
    """``ocop fairs list | open | allocate | settle | seed-demo``."""
    fairs_cli.register(cli)


@hookimpl
def reports(user):
    """Per event (booths, sales, visitors, deals) and per province and year against the plan."""
    return fairs_reports.available_reports(user)


@hookimpl
def seed_demo_data():
    """The demo fair (a running Đồng Nai fair, 13 booths in 3 zones, applications, allocation, sales)."""
    return demo_data.seed_demo_fair()


@hookimpl
def payable_paid(kind, payable_id, payment):
    """A booth fee paid without the organiser (a bank statement line matched its transfer): its fee line
    records the payment."""
    if kind == fees.PAYABLE_KIND:
        fees.payment_arrived(payable_id, payment.id)
