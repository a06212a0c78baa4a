"""Domain hook implementations of the built-in ``bank_transfer`` plugin.

Its HTTP hooks (routes) are in :mod:`plugins.bank_transfer.web` (group ``ocop.plugins.web``, web app only).
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from core.hookspecs import hookimpl
from plugins.bank_transfer import models  # noqa: F401  (registers the plugin's tables)
from plugins.bank_transfer.config import platform_account
from plugins.bank_transfer.models import COMPONENT
from core.commands import command_app
from core.errors import DomainError
from core.plugins import LazyModule
from plugins.bank_transfer import services
from plugins.bank_transfer.gateway import BankTransferGateway

# tqdm (~1 MB) loads when a command first draws a progress bar, not with every app
tqdm = LazyModule("tqdm")


@hookimpl
def payment_gateways(settings):
    """Bank transfer (VietQR) while a platform receiving account is configured (``OCOP_BANK_*``)."""
    return [BankTransferGateway()] if platform_account() else []



@hookimpl
def register_migrations():
    """The plugin's own Alembic revisions (``bt001``…), version table ``alembic_version_bank_transfer``."""
    return (COMPONENT, str(Path(__file__).parent / "migrations" / "versions"))


@hookimpl
def register_cli(cli):
    """``ocop payments import-statement FILE``."""
    group = cli.commands.get("payments")
    if group is None:
        @cli.group("payments")
        def group():
            """Payments."""

    @group.command("import-statement")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="print the full report as JSON")
    def import_statement(file, as_json):
        """Apply a bank statement (CSV or XLSX export) to bank-transfer payments, each line once."""
        data = file.read_bytes()
        try:
            with command_app().app_context():
                rows = len(services.read_statement(data))
                with tqdm.tqdm(total=rows, unit="line", desc="statement") as bar:
                    report = services.import_statement(data, progress=bar.update)
        except DomainError as exc:
            raise click.ClickException(f"{exc.message} / {exc.message_en}") from None
        if as_json:
            click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        else:
            click.echo(" ".join(f"{k}={report[k]}" for k in services.REPORT_KEYS))
