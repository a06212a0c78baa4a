"""Domain hook implementations of the ``vnpay`` plugin (entry point ``vnpay = plugins.vnpay.plugin``).

Its HTTP hooks (routes) are in :mod:`plugins.vnpay.web` (group ``ocop.plugins.web``, web app only).
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from core.hookspecs import hookimpl
from plugins.vnpay import models  # noqa: F401  (registers the plugin's tables)
from plugins.vnpay.models import COMPONENT
from core.commands import command_app
from plugins.vnpay import config
from plugins.vnpay import services
from plugins.vnpay import tasks
from plugins.vnpay.gateway import VnpayGateway


@hookimpl
def payment_gateways(settings):
    """The VNPay gateway when ``OCOP_VNPAY_TMN_CODE``, ``_HASH_SECRET`` and ``_URL`` are set, otherwise nothing."""
    found = config.load(public_base_url=settings.public_base_url)
    return [VnpayGateway(found)] if found else []



@hookimpl
def register_migrations():
    """The plugin's own Alembic revisions (``vp001``…), version table ``alembic_version_vnpay``."""
    return (COMPONENT, str(Path(__file__).parent / "migrations" / "versions"))


@hookimpl
def register_tasks(celery):
    """Import the plugin's tasks; beat runs ``querydr`` of stale pending payments every 5 minutes."""
    return {"vnpay-query-pending": {"task": "vnpay.query_pending", "schedule": 300.0}}


@hookimpl
def register_cli(cli):
    """``ocop vnpay query-pending`` runs the querydr sweep by hand."""
    @cli.group("vnpay")
    def group():
        """VNPay payments."""

    @group.command("query-pending")
    def query_pending():
        """Ask VNPay about payments still pending after their window (what the 5-minute task does)."""
        with command_app().app_context():
            click.echo(json.dumps(services.query_pending()))
