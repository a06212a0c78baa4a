"""Hook implementations of the built-in ``bank_transfer`` plugin."""
from __future__ import annotations

import json
from pathlib import Path

import click

from core.hookspecs import hookimpl
from core.commands import command_app
from core.db import commit
from core.errors import DomainError
from plugins.bank_transfer import services
from plugins.bank_transfer.gateway import BankTransferGateway
from plugins.bank_transfer.routes import blp


@hookimpl
def payment_gateways(settings):
    """Bank transfer is always available while the plugin is enabled."""
    return [BankTransferGateway()]


@hookimpl
def register_blueprints(app, api):
    """``POST /admin/v1/payments/bank-transfer/statements``."""
    return [blp]


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
        """Mark bank transfers paid from a bank statement CSV (reference + exact amount)."""
        from tqdm import tqdm
        text = file.read_text(encoding="utf-8-sig")
        try:
            rows = len(services.read_statement(text))
            with command_app().app_context(), tqdm(total=rows, unit="line", desc="statement") as bar:
                report = services.import_statement(text, progress=bar.update)
                commit()  # the command owns the unit of work (services flush)
        except DomainError as exc:
            raise click.ClickException(f"{exc.message} / {exc.message_en}") from None
        if as_json:
            click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            click.echo(" ".join(f"{k}={report[k]}" for k in
                                ("paid", "already_processed", "amount_mismatch", "unmatched", "skipped")))
