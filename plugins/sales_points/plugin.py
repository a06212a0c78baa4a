"""Domain hooks of the ``sales_points`` plugin (entry point ``sales_points = plugins.sales_points.plugin``).

Its HTTP hooks (routes, console pages) are in :mod:`plugins.sales_points.web`
(group ``ocop.plugins.web``, web app only).
"""
from __future__ import annotations

from pathlib import Path

from core.hookspecs import hookimpl
from plugins.sales_points import models  # noqa: F401  (registers the plugin's tables)
from plugins.sales_points.models import COMPONENT
from plugins.sales_points import access
from plugins.sales_points import cli as sp_cli
from plugins.sales_points import reports as sp_reports
from plugins.sales_points import tasks  # noqa: F401  (registers the plugin's Celery tasks)

SALES_POINT_KIND = "sales_point"
TRANSIT_KIND = "sales_point_transit"



@hookimpl
def register_migrations():
    """The plugin's own Alembic revisions (``sp001``…), version table ``alembic_version_sales_points``."""
    return (COMPONENT, str(Path(__file__).parent / "migrations" / "versions"))


@hookimpl
def register_sales_channel_kinds(registry):
    """Every sales point is a sales channel of kind ``sales_point``."""
    registry.add(SALES_POINT_KIND, "Điểm giới thiệu và bán sản phẩm OCOP", "OCOP sales point")


@hookimpl
def register_stock_location_kinds(registry):
    """Every sales point is a stock location of kind ``sales_point``, plus one ``sales_point_transit``
    location holding goods dispatched to it and not yet received (two-step transfers)."""
    registry.add(SALES_POINT_KIND, "Điểm giới thiệu và bán sản phẩm OCOP", "OCOP sales point",
                 posting_rule=access.require_stock_posting)
    registry.add(TRANSIT_KIND, "Hàng đang chuyển đến điểm bán OCOP", "Goods in transit to an OCOP sales point",
                 posting_rule=access.require_stock_posting, pickup=False)


@hookimpl
def register_tasks(celery):
    """Import the plugin's tasks; beat runs the stock alerts daily at 06:00 (Vietnam time)."""
    from celery.schedules import crontab
    return {"sales-points-stock-alerts-daily": {"task": "sales_points.stock_alerts",
                                                "schedule": crontab(hour=6, minute=0)}}


@hookimpl
def register_cli(cli):
    """``ocop sales-points alerts`` runs the daily stock alerts by hand."""
    sp_cli.register(cli)


@hookimpl
def reports(user):
    """Sales-point reports the user may open (operators: their points; organisers: their province; producers)."""
    return sp_reports.available_reports(user)
