"""The web console under ``/console/``: server-rendered pages (Jinja + htmx) for producers, sales-point
operators, organisers and admins, Vietnamese first with English switchable.

Same accounts, roles and services as the admin API; every asset is shipped in ``static/`` (no CDN).
Plugins add their pages and menu entries through the ``register_console_pages`` hook.
"""
from __future__ import annotations

from flask import Blueprint, Flask, request

from admin.console import (catalogue_views, dashboard_views, organiser_views, producer_views, promotion_views,
                           session_views)
from admin.console.shell import (PREFIX, ConsolePages, after_console_request, before_console_request,
                                 domain_error_page, http_error_page, template_globals)
from core.errors import DomainError
from werkzeug.exceptions import HTTPException

VIEW_MODULES = (session_views, producer_views, catalogue_views, organiser_views, promotion_views, dashboard_views)


def register(app: Flask) -> ConsolePages:
    """Mount the console on ``app``: its pages, the plugins' pages, the session plumbing."""
    pages = ConsolePages()
    console = Blueprint("console", __name__, url_prefix=PREFIX, template_folder="templates",
                        static_folder="static", static_url_path="/static")
    console.register_error_handler(DomainError, domain_error_page)
    console.register_error_handler(HTTPException, http_error_page)
    pages.blueprints["console"] = console
    for module in VIEW_MODULES:
        module.add_pages(pages)
    app.extensions["ocop_plugins"].hook.register_console_pages(console=pages)
    for blueprint in pages.blueprints.values():
        app.register_blueprint(blueprint)
    app.extensions["ocop_console"] = pages

    app.before_request(before_console_request)
    app.after_request(after_console_request)
    globals_ = template_globals(pages)

    @app.context_processor
    def _console_context():
        if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
            return globals_
        return {}

    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    return pages
