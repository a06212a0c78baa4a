"""HTTP hook implementations of the ``fairs`` plugin (entry point ``fairs`` in group ``ocop.plugins.web``;
loaded by the web app only, its domain hooks are in :mod:`plugins.fairs.plugin`)."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.fairs import console as fairs_console
from plugins.fairs import routes, storefront
from plugins.fairs import site as fairs_site


@hookimpl
def register_blueprints(app, api):
    """Admin routes under ``/admin/v1/fairs`` and public ones under ``/storefront/v1/fairs``."""
    return [routes.blp, storefront.blp]


@hookimpl
def register_console_pages(console):
    """The fairs in the web console (``/console/fairs…``): organisers' events, booth map editor, applications,
    allocation board, fees and settlement; producers' applications, booths and fees; booth staff's till."""
    fairs_console.register(console)


@hookimpl
def register_site_pages(pages):
    """The public site's fair pages: ``/hoi-cho-trien-lam`` (running and upcoming fairs, in the site header)
    and ``/hoi-cho-trien-lam/<slug>`` (dates, venue, booth map, exhibitors and the products they show)."""
    fairs_site.register(pages)


@hookimpl
def site_home_sections(lang):
    """The running and upcoming fairs on the site's home page (dates, venue), linking to their pages."""
    return fairs_site.home_section(lang)
