"""``ocop images …``: thumbnails of product images uploaded before they were made on upload."""
from __future__ import annotations

import sys

import click
from tqdm import tqdm

from core.catalogue import images
from core.commands import with_app


@click.group("images")
def images_group():
    """Product images (uploads under ``<instance>/media``)."""


@images_group.command("thumbnails")
@with_app
def thumbnails():
    """Make the missing thumbnails (160, 480, 960 px wide, WebP) of uploaded images, with a progress bar."""
    total = images.missing_count()
    with tqdm(total=total, desc="thumbnails", unit="image", file=sys.stderr) as bar:
        result = images.backfill(progress=bar.update)
    click.echo(f"Thumbnails made for {result['made']} images; {result['failed']} kept as uploaded "
               f"(unreadable file, or retried next time); {images.missing_count()} still without.")
