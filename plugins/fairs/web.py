"""HTTP hook implementations of the ``fairs`` plugin (entry point ``fairs`` in group ``ocop.plugins.web``;
loaded by the web app only, its domain hooks are in :mod:`plugins.fairs.plugin`)."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.fairs import console as fairs_console
from plugins.fairs import routes, storefront


@hookimpl
def register_blueprints(app, api):
    """Admin routes under ``/admin/v1/fairs`` and public ones under ``/storefront/v1/fairs``."""
    return [routes.blp, storefront.blp]


@hookimpl
def register_console_pages(console):
    """The fairs in the web console (``/console/fairs…``): organisers' events, booth map editor, applications,
    allocation board, fees and settlement; producers' applications, booths and fees; booth staff's till."""
    fairs_console.register(console)
