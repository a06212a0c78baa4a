"""``ocop feeds build MARKETPLACE --format rss --output PATH`` (progress bar) and ``ocop feeds seed-demo``."""
from __future__ import annotations

import gzip
import json

import click

from core.commands import with_app
from plugins.marketplace_feeds import builds, demo, items, registry


def register(cli: click.Group) -> None:
    cli.add_command(feeds)


@click.group("feeds")
def feeds():
    """Marketplace feeds (plugin): build a feed to a file, load the demo marketplaces."""


@feeds.command("build")
@click.argument("marketplace")
@click.option("--format", "fmt", type=click.Choice(list(builds.FORMATS)), default="rss", show_default=True)
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="file to write (gzip when it ends in .gz)")
@with_app
def build(marketplace, fmt, output):
    """Write MARKETPLACE's feed (its code) to PATH and print the validation summary as JSON."""
    found = registry.by_code(marketplace)
    opener = gzip.open if output.endswith(".gz") else open
    with click.progressbar(length=items.count_items(found), label=f"{found.code} {fmt}", file=None) as bar, \
            opener(output, "wb") as sink:
        report, sha, size = builds.write_feed(found, fmt, sink, progress=bar.update)
    click.echo(json.dumps({"marketplace": found.code, "format": fmt, "output": output, "items": report.items,
                           "refused": report.refused, "by_rule": report.by_rule, "bytes": size,
                           "sha256": sha}, ensure_ascii=False))


@feeds.command("seed-demo")
@with_app
def seed_demo():
    """Register the demo marketplaces over the core demo catalogue (run ``ocop demo`` first; idempotent)."""
    click.echo(json.dumps(demo.seed_demo_marketplaces(), ensure_ascii=False))
