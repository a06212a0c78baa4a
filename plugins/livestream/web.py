"""HTTP hook implementations of the ``livestream`` plugin (entry point ``livestream`` in group
``ocop.plugins.web``; loaded by the web app only, its domain hooks are in :mod:`plugins.livestream.plugin`)."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.livestream import console as livestream_console
from plugins.livestream import routes


@hookimpl
def register_blueprints(app, api):
    """Admin routes under ``/admin/v1/livestreams`` and the link tracker under ``/storefront/v1/livestreams``."""
    return [routes.blp, routes.storefront_blp]


@hookimpl
def register_console_pages(console):
    """Console pages for producers and organisers: sessions, session prices, live view, results."""
    livestream_console.register(console)
