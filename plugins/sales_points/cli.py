"""``ocop sales-points …`` commands."""
from __future__ import annotations

import click
from core.commands import with_app
from plugins.sales_points.operations import run_alerts


def register(cli: click.Group) -> None:
    """Add the ``sales-points`` group to the root ``ocop`` command."""

    @cli.group("sales-points")
    def sales_points():
        """OCOP sales points (plugin)."""

    @sales_points.command("alerts")
    @with_app
    def alerts():
        """Raise today's low-stock and near-expiry alerts now (the daily Celery task does the same)."""
        result = run_alerts()
        click.echo(f"Raised {result['raised']}, resolved {result['resolved']}.")
