"""What the ``register_site_pages`` hook hands to plugins: a way to add pages to the public site."""
from __future__ import annotations

from typing import Callable

from flask import Flask

from storefront_api.site.blueprint import SiteBlueprint, render_page


class SitePages:
    """Adds plugin pages to one app's site.

    A page's endpoint is ``site.<name>``: Flask reads the part before the dot as the blueprint, so the
    site's language, template helpers and error pages apply to it as to the site's own pages, while the
    rule belongs to this app only (the site's blueprint is shared by every app of the process).
    """

    def __init__(self, blueprint: SiteBlueprint, app: Flask):
        self.blueprint = blueprint
        self.app = app
        self.nav: list[dict] = []

    def add(self, path: str, view: Callable, *, name: str, title: str, title_en: str, nav: bool = False,
            methods=("GET",)) -> None:
        """Serve ``view`` at ``path`` (endpoint ``site.<name>``); ``nav=True`` links it in the site header."""
        self.app.add_url_rule(path, endpoint=f"site.{name}", view_func=view, methods=list(methods))
        if nav:
            self.nav.append({"endpoint": f"site.{name}", "title": title, "title_en": title_en})

    def add_template_folder(self, folder: str) -> None:
        """Let :meth:`render` find the plugin's templates (which may ``{% extends "site/layout.html" %}``)."""
        self.blueprint.add_template_folder(str(folder))

    @staticmethod
    def render(template: str, status: int = 200, **context):
        """Render a template with the site's helpers (``t``, ``vnd``, ``vn_date`` …); returns (body, status)."""
        return render_page(template, status, **context)
