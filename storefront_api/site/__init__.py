"""The public storefront site: server-rendered pages at ``/`` for shoppers, search engines and marketplaces.

Jinja templates over the same core services the ``/storefront/v1`` routes call; every page works
without JavaScript (the vendored htmx only enhances); assets are package data, never a CDN.
"""
from __future__ import annotations

from flask import Flask

from storefront_api.site import cards, cart_pages, catalogue_pages, crawl  # noqa: F401  (routes and helpers on the blueprint)
from storefront_api.site.blueprint import bp
from storefront_api.site.pages import SitePages


def register_site(app: Flask) -> None:
    """Register the site's pages on ``app``, then the pages plugins add through ``register_site_pages``."""
    app.register_blueprint(bp)
    pages = SitePages(bp, app)
    app.extensions["ocop_plugins"].hook.register_site_pages(pages=pages)
    app.extensions["ocop_site_nav"] = pages.nav
