"""``ocop search …``: drain the outbox, rebuild the index, show the state."""
from __future__ import annotations

import json
import sys

import click

from core.commands import with_app
from core.db import refresh_statistics
from core.plugins import LazyModule
from core.search import outbox
from core.search import service
from core.search.backend import SearchUnavailable, count_listed

# tqdm (~1 MB) loads when a command first draws a progress bar, not with every app
tqdm = LazyModule("tqdm")


@click.group("search")
def search():
    """Catalogue search index (database or Elasticsearch backend)."""


@search.command("sync")
@click.option("--batch-size", default=200, show_default=True, type=int)
@with_app
def sync(batch_size):
    """Drain pending index work from the outbox (e.g. recorded while the broker or Elasticsearch was down)."""
    pending = outbox.pending_count()
    with tqdm.tqdm(total=pending, desc="search sync", unit="row", file=sys.stderr) as bar:
        try:
            result = outbox.drain(batch_size=batch_size, progress=_advance(bar))
        except SearchUnavailable as exc:
            raise click.ClickException(f"Không kết nối được máy tìm kiếm / search backend unavailable: {exc}")
    click.echo(f"Synced {result['processed']} outbox rows; {outbox.pending_count()} pending.")


def _advance(bar: tqdm.tqdm):
    """``progress(n)`` for ``bar`` that leaves the last step's drawing to ``close()``: tqdm would otherwise draw
    the 100 % line twice (once on the last update, once more on close)."""
    def progress(n: int) -> None:
        if bar.total and bar.n + n >= bar.total:
            bar.n += n
        else:
            bar.update(n)
    return progress


@search.command("reindex")
@with_app
def reindex():
    """Rebuild the search index from the database (no downtime), with a progress bar."""
    total = count_listed()
    with tqdm.tqdm(total=total, desc="search reindex", unit="product", file=sys.stderr) as bar:
        try:
            result = service.reindex(progress=_advance(bar))
        except SearchUnavailable as exc:
            raise click.ClickException(f"Không kết nối được máy tìm kiếm / search backend unavailable: {exc}")
    refresh_statistics()
    click.echo(f"Indexed {result['indexed']} listed products on the {result['backend']} backend "
               f"(replayed {result['replayed']}, drained {result['drained']}).")


@search.command("status")
@click.option("--json", "as_json", is_flag=True, help="print the state as a JSON object")
@with_app
def status(as_json):
    """Backend, indexed documents, listed products and pending outbox rows."""
    state = service.status()
    if as_json:
        click.echo(json.dumps(state))
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in state.items()))
