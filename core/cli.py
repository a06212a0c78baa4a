"""The ``ocop`` command line. Every command honours the DESIGN §2 environment variables."""
from __future__ import annotations

import json
import os
import sys

import click
from flask import current_app
from sqlalchemy import select

from core.config import load_settings
from core.app import create_app, create_worker_app
from core.checks import check_config
from core.commands import APP_FACTORY, command_app, with_app
from core.plugins import LazyModule, build_plugin_manager
from core.search import cli as search_cli
from core.catalogue import cli as catalogue_cli
from core import migrate
from core.accounts.authentication import create_user
from core.accounts.models import User
from core.certification.certifications import run_daily_maintenance
from core.db import db, refresh_statistics, savepoint
from core.demo import demo_data, demo_present, seed_demo as run
from core.errors import DomainError
from core.http_guards import EnvelopeRequestHandler
from core.geo import units as geo_service
from core.imports import formats as import_formats, catalogue_import as imports
from core.imports.access import can_import

# tqdm (~1 MB) loads when a command first draws a progress bar, not with every app
tqdm = LazyModule("tqdm")


@click.group()
@click.pass_context
def cli(ctx):
    """ocop-commerce: OCOP catalogue, orders and trade promotion."""
    obj = ctx.obj or {}
    ctx.meta["pm"] = obj.get("pm") or build_plugin_manager(load_settings().plugins_disabled)
    ctx.meta[APP_FACTORY] = create_worker_app  # commands use the database and services, not the HTTP faces
    if obj.get("app") is not None:  # an existing app (tests, embedding)
        ctx.meta["app"] = obj["app"]


@cli.group("db")
def db_group():
    """Database schema (Alembic migrations for the core and every enabled plugin)."""


@db_group.command("upgrade")
@with_app
def db_upgrade():
    """Apply all migrations (core first, then plugins)."""
    done = migrate.upgrade()
    click.echo(f"Upgraded: {', '.join(done)}")


@db_group.command("analyze")
@with_app
def db_analyze():
    """Refresh the query planner's statistics (run after large manual changes; beat runs it daily)."""
    refresh_statistics()
    click.echo("Statistics refreshed.")


@db_group.command("revision")
@click.option("--component", default="core", show_default=True)
@click.option("-m", "--message", required=True)
@with_app
def db_revision(component, message):
    """Autogenerate a migration for a component (developers)."""
    migrate.revision(component, message)


@cli.group()
def seed():
    """Load data."""


#: a file in the instance folder that marks it as a demo (``dev.py serve`` writes it); ``OCOP_DEMO=1`` too
DEMO_MARKER = "DEMO"


def is_demo_instance(app, environ=os.environ) -> bool:
    """True only for an instance explicitly marked as a demo: the demo users share a published password."""
    return (environ.get("OCOP_DEMO", "").strip().lower() in ("1", "true", "yes")
            or (app.config["OCOP"].instance_path / DEMO_MARKER).is_file())


@seed.command("demo")
@with_app
def seed_demo():
    """Load the demo OCOP catalogue and demo users (idempotent; only in an instance marked as a demo)."""
    if not is_demo_instance(current_app):
        raise click.ClickException(
            "Bản cài đặt này không được đánh dấu là bản demo: tài khoản demo (admin / ocop-demo-2026) chỉ được tạo "
            f"khi OCOP_DEMO=1 hoặc có tệp {DEMO_MARKER} trong thư mục instance. / This instance is not marked as a "
            f"demo: the demo users (admin / ocop-demo-2026) are created only with OCOP_DEMO=1 or a file named "
            f"{DEMO_MARKER} in the instance folder ({current_app.config['OCOP'].instance_path}).")
    if demo_present():
        click.echo("Demo data already present; nothing loaded.")
    else:
        total = len(demo_data()["products"])
        with tqdm.tqdm(total=total, desc="demo products", unit="product", file=sys.stderr) as bar:
            result = run(progress=lambda: bar.update(1))
        click.echo(f"Loaded {result['products']} products from {result['producers']} producers.")
    for name, summary in seed_plugin_demos(current_app.extensions["ocop_plugins"]):
        click.echo(f"{name}: {json.dumps(summary, ensure_ascii=False, default=str)}")
    refresh_statistics()


def seed_plugin_demos(pm) -> list[tuple[str, dict]]:
    """Each plugin's ``seed_demo_data`` in a SAVEPOINT of its own: a refusal skips that plugin's demo only."""
    done = []
    for impl in pm.hook.seed_demo_data.get_hookimpls():
        try:
            with savepoint():
                summary = impl.function()
        except DomainError as exc:
            summary = {"skipped": True, "reason": exc.message_en}
        done.append((impl.plugin_name, summary))
    return done


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host, port):
    """Development server (production: gunicorn 'core.wsgi:app')."""
    app = command_app(create_app)
    click.echo(f"ocop-commerce serving on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    app.run(host=host, port=port, debug=False, use_reloader=False, request_handler=EnvelopeRequestHandler)


@cli.group()
def plugins():
    """Plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="print the plugins as a JSON list")
def plugins_list(as_json):
    """Show plugins found through ``ocop.plugins`` entry points, with their hooks (web hooks included)."""
    pm = click.get_current_context().find_root().meta["pm"]
    pm.load_web_entry_points()  # their HTTP hooks too (ocop.plugins.web; other commands never load them)
    rows = pm.describe()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "enabled" if row["enabled"] else "disabled"
        click.echo(f"{row['name']:<20} {row['version'] or '-':<10} {state:<9} {', '.join(row['hooks'])}")


@cli.group()
def certifications():
    """OCOP certifications."""


@certifications.command("expire")
@with_app
def certifications_expire():
    """Expire due certifications, delist their products, warn producers 60 days ahead."""
    result = run_daily_maintenance()
    click.echo(f"Expired {result['expired']}, warned {result['warned']}.")


@cli.group()
def users():
    """User accounts."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "organiser", "certifier", "producer", "operator"]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--province", "province_code", default=None, help="province code for organiser/certifier")
@click.option("--producer-id", type=int, default=None)
@click.option("--full-name", default=None)
@with_app
def users_create(username, role, password, province_code, producer_id, full_name):
    """Create a user."""
    try:
        user = create_user(username, password, role, province_code=province_code, producer_id=producer_id,
                           full_name=full_name)
    except DomainError as exc:
        raise click.ClickException(f"{exc.message} / {exc.message_en}")
    click.echo(f"Created user {user.username} ({user.role}).")


@cli.group()
def geo():
    """Administrative units (2025 structure: 34 provinces, 3,321 communes; retired pre-2025 units)."""


@geo.command("load")
@click.option("--if-empty", is_flag=True,
              help="do nothing when the 34 provinces are already loaded (`dev.py serve` on its later runs)")
@click.option("--no-legacy", is_flag=True, help="skip the 10,794 retired pre-2025 units")
@with_app
def geo_load(if_empty, no_legacy):
    """Load the official 2025 units (34 provinces, 3,321 communes), the retired pre-2025 units (63 provinces,
    696 districts, 10,035 communes) and the retired demo units, each pointing to its successor."""
    if if_empty and geo_service.current_province_count() >= 34:
        click.echo("Administrative units already loaded (34 provinces); nothing to do.")
        return
    rows = geo_service.official_units()
    legacy = [] if no_legacy else geo_service.legacy_units()
    total = len(rows) + len(legacy) + len(geo_service.retired_units())
    with tqdm.tqdm(total=total, desc="administrative units", unit="unit", file=sys.stderr) as bar:
        result = geo_service.load_official_structure(progress=bar.update, rows=rows, legacy=legacy)
    click.echo(f"Loaded {result['provinces']} provinces, {result['communes']} communes, "
               f"{result['legacy']} pre-2025 units and {result['retired']} retired demo units.")


@geo.command("convert")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="print the codes and names as a JSON object")
@with_app
def geo_convert(address, as_json):
    """Convert a pre-2025 address ("Xã Bình Hòa, Huyện Vĩnh Cửu, Tỉnh Đồng Nai") to the current unit."""
    found = geo_service.convert_old_address(address)
    if not found:
        raise click.ClickException("Không nhận ra địa chỉ / address not recognised")
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
    else:
        click.echo(f"{found['commune_code']} {found['commune']}, {found['province_code']} {found['province']}")


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="validate every row and rehearse the writes; write nothing")
@click.option("--user", "username", default=None,
              help="act as this admin/organiser (default: the platform, all provinces)")
@click.option("--json", "as_json", is_flag=True, help="print the result or the row errors as JSON")
@with_app
def import_file(file, dry_run, username, as_json):
    """Bulk-import producers, products, variants and certifications from FILE (CSV or XLSX; all-or-nothing)."""
    if username:
        actor = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if not can_import(actor):
            raise click.ClickException(f"Không có quản trị viên/Sở Công Thương tên {username} / "
                                       f"no admin or organiser named {username}")
    else:
        actor = imports.system_actor()
    bars = {}

    def progress(phase, n):
        if phase not in bars:
            for bar in bars.values():
                bar.close()
            bars[phase] = tqdm.tqdm(total=len(table), desc={"validate": "validating", "write": "writing"}.get(phase, phase),
                               unit="row", file=sys.stderr)
        bars[phase].update(n)

    try:
        table = import_formats.read_path(file)
        result = imports.run_import(actor, table, dry_run=dry_run, source=click.format_filename(file, shorten=True),
                                    progress=progress)
    except DomainError as exc:
        for bar in bars.values():
            bar.close()
        rows = exc.details.get("rows", []) if isinstance(exc.details, dict) else []
        if as_json:
            click.echo(json.dumps(exc.envelope(), ensure_ascii=False, indent=2))
        else:
            click.echo(f"{exc.message} / {exc.message_en}", err=True)
            for row in rows:
                click.echo(f"  dòng/row {row['row']}, {row['column'] or '-'}: {row['message']} / "
                           f"{row['message_en']} [{row['code']}]", err=True)
        raise SystemExit(1)
    for bar in bars.values():
        bar.close()
    if not dry_run:
        refresh_statistics()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    created = result["created"]
    verb = "Would create" if dry_run else "Created"
    click.echo(f"{verb} {created['producers']} producers, {created['products']} products, "
               f"{created['variants']} variants, {created['certifications']} certifications "
               f"from {result['rows']} rows{' (dry run: nothing written)' if dry_run else ''}.")


cli.add_command(search_cli.search)
cli.add_command(catalogue_cli.images_group)

cli.add_command(check_config)


def build_cli(pm=None) -> tuple[click.Group, object]:
    """The root group with plugin commands added through ``register_cli``."""
    pm = pm or build_plugin_manager(load_settings().plugins_disabled)
    if not getattr(cli, "_ocop_plugins_registered", False):
        pm.hook.register_cli(cli=cli)
        cli._ocop_plugins_registered = True
    return cli, pm


def main(argv=None):
    """Console-script entry point."""
    root, pm = build_cli()
    root(args=argv, prog_name="ocop", obj={"pm": pm})
