"""``ocop webhooks …`` commands."""
from __future__ import annotations

import json

import click

from core.commands import with_app
from plugins.webhooks import services


def register(cli: click.Group) -> None:
    """Add the ``webhooks`` group to the root ``ocop`` command."""

    @cli.group("webhooks")
    def webhooks():
        """Outbound webhooks (plugin)."""

    @webhooks.command("retry-due")
    @with_app
    def retry_due():
        """Send every delivery whose next attempt is due (beat does this every 30 s)."""
        click.echo(json.dumps(services.retry_due()))

    @webhooks.command("event-types")
    @with_app
    def event_types():
        """List the event types subscriptions may name."""
        for row in services.event_types():
            click.echo(f"{row['code']:<28} {row['name_en']}")
