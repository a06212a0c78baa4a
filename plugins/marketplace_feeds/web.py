"""HTTP hook implementations of the ``marketplace_feeds`` plugin (entry point ``marketplace_feeds`` in group
``ocop.plugins.web``; loaded by the web app only, its domain hooks are in
:mod:`plugins.marketplace_feeds.plugin`)."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.marketplace_feeds import console as feeds_console
from plugins.marketplace_feeds import routes


@hookimpl
def register_blueprints(app, api):
    """Admin routes under ``/admin/v1/marketplaces``; feeds and the order webhook under ``/storefront/v1``."""
    return [routes.blp, routes.storefront_blp]


@hookimpl
def register_console_pages(console):
    """Console pages: a producer's marketplaces and refused items; presence and order import for organisers."""
    feeds_console.register(console)
