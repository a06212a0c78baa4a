"""``ocop fairs``: list events, open one for applications, allocate from the rules, settle every exhibitor, demo."""
from __future__ import annotations

import json
import sys

import click
from sqlalchemy import select

from core.accounts.models import User
from core.commands import with_app
from core.db import db
from core.errors import DomainError
from core.plugins import LazyModule
from plugins.fairs import allocation, booth_stock, demo, events
from plugins.fairs.models import FairAssignment, FairEvent, FairSettlement

# tqdm (~1 MB) loads when a command first draws a progress bar, not with every app
tqdm = LazyModule("tqdm")


def register(cli: click.Group) -> None:
    """Add the ``fairs`` group to the root ``ocop`` command."""
    cli.add_command(fairs)


@click.group("fairs")
def fairs():
    """Fairs and event booths (plugin)."""


def _actor(username: str) -> User:
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


def _domain(func):
    """Run ``func`` turning a refused operation into a clean CLI error (exit code 1, nothing written)."""
    try:
        return func()
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message_en} / {exc.message}") from exc


@fairs.command("list")
@click.option("--status", default=None, help="only events in this status")
@with_app
def list_events(status):
    """One JSON line per event: slug, name, status, dates, booths."""
    stmt = select(FairEvent).order_by(FairEvent.starts_on, FairEvent.id)
    if status:
        stmt = stmt.where(FairEvent.status == status)
    for event in db.session.execute(stmt).scalars():
        click.echo(json.dumps({"slug": event.slug, "name": event.name, "status": event.status,
                               "province_code": event.province_code, "starts_on": event.starts_on.isoformat(),
                               "ends_on": event.ends_on.isoformat(), "booths": len(event.booths)},
                              ensure_ascii=False))


@fairs.command("open")
@click.argument("slug")
@click.option("--as", "username", default="admin", show_default=True, help="the acting organiser or admin")
@with_app
def open_event(slug, username):
    """Open a draft event for applications."""
    event = _domain(lambda: events.transition(_actor(username), events.event_by_slug(slug), "open"))
    click.echo(f"{event.slug}: {event.status}")


@fairs.command("allocate")
@click.argument("slug")
@click.option("--as", "username", default="admin", show_default=True)
@click.option("--dry-run", is_flag=True, help="print the proposal, assign nothing")
@with_app
def allocate(slug, username, dry_run):
    """Propose booths from the event's priority rules and assign them (all, or none on a refusal)."""
    user = _actor(username)
    event = _domain(lambda: events.event_by_slug(slug))
    proposal = _domain(lambda: allocation.propose(user, event))
    if dry_run:
        click.echo(json.dumps(proposal, ensure_ascii=False, default=str))
        return
    with tqdm.tqdm(total=len(proposal["items"]), desc="assigning", unit="booth", file=sys.stderr) as bar:
        for item in proposal["items"]:
            _domain(lambda item=item: allocation.assign(user, event, item["application_id"], item["booth_id"]))
            bar.update(1)
    click.echo(f"Assigned {len(proposal['items'])}, unplaced {len(proposal['unplaced'])}.")


@fairs.command("settle")
@click.argument("slug")
@click.option("--as", "username", default="admin", show_default=True)
@with_app
def settle(slug, username):
    """Settle every exhibitor not settled yet (the event must be closed); counts are taken as the ledger's."""
    user = _actor(username)
    event = _domain(lambda: events.event_by_slug(slug))
    settled = set(db.session.execute(select(FairSettlement.assignment_id)
                                     .where(FairSettlement.event_id == event.id)).scalars())
    todo = [a for a in db.session.execute(select(FairAssignment).where(FairAssignment.event_id == event.id)
                                          .order_by(FairAssignment.id)).scalars() if a.id not in settled]
    unbalanced = 0
    with tqdm.tqdm(total=len(todo), desc="settling", unit="exhibitor", file=sys.stderr) as bar:
        for assignment in todo:
            result = _domain(lambda a=assignment: booth_stock.settle(user, a.id, {}))
            unbalanced += 0 if result["balanced"] else 1
            bar.update(1)
    click.echo(f"Settled {len(todo)} exhibitors, {unbalanced} unbalanced.")


@fairs.command("seed-demo")
@with_app
def seed_demo():
    """Load the demo fair over the core demo catalogue (run ``ocop seed demo`` first; idempotent)."""
    click.echo(json.dumps(demo.seed_demo_fair(), ensure_ascii=False))
