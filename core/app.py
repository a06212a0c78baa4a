"""Application factories (Flask's pattern): settings → db → plugins → API → Celery for the web app
(:func:`create_app`); the same without the HTTP faces for workers and commands (:func:`create_worker_app`)."""
from __future__ import annotations

import logging

from flask import Flask, abort, jsonify, send_file
from sqlalchemy import text

from core import http_guards, logs, metrics
from core.accounts import authentication
from core.celery_app import init_celery
from core.celery_settings import apply_environment
from core.config import Settings, load_settings
from core.db import AFTER_COMMIT_QUEUE, db, run_ready_callbacks
from core.errors import DomainError
from core.plugins import build_plugin_manager
from core.search.engine import init_app as init_search
from core.storage import storage

# The composition root: every domain's models (tables), tasks (Celery) and in-transaction subscribers.
import core.accounts.models  # noqa: F401,E402
import core.audit.models  # noqa: F401,E402
import core.catalogue.models  # noqa: F401,E402
import core.certification.models  # noqa: F401,E402
import core.geo.models  # noqa: F401,E402
import core.inventory.models  # noqa: F401,E402
import core.notifications.models  # noqa: F401,E402
import core.payments.models  # noqa: F401,E402
import core.pricing.models  # noqa: F401,E402
import core.sales.models  # noqa: F401,E402
import core.search.models  # noqa: F401,E402
import core.catalogue.changes  # noqa: F401,E402  (publishes catalogue.document_changed)
import core.catalogue.producers  # noqa: F401,E402  (follows geo.units_changed)
import core.certification.tasks  # noqa: F401,E402
import core.notifications.tasks  # noqa: F401,E402
import core.pricing.tasks  # noqa: F401,E402
import core.sales.tasks  # noqa: F401,E402
import core.search.outbox  # noqa: F401,E402  (search tasks; follows catalogue and stock changes)

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, plugin_manager=None) -> Flask:
    """Build the web app from ``settings`` (default: environment variables, DESIGN §2): the worker app's
    database, plugins, Celery and search, plus both HTTP faces (APIs and their OpenAPI spec, site, console),
    metrics, HTTP guards and rate limits."""
    settings = settings or load_settings()
    app = _new_app(settings)
    app.config.update(
        API_TITLE="ocop-commerce", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "OCOP catalogue, orders and trade promotion API. "
                                   "Errors use one envelope: {error: {code, message (vi), message_en, details}}."},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    logs.init_app(app)  # X-Request-ID in and out, JSON logs (OCOP_LOG_FORMAT)
    metrics.init_app(app)  # /metrics, request counts and latencies by route
    http_guards.init_app(app)  # bounded URL converters, size/media-type/JSON-shape limits, security headers
    db.init_app(app)
    pm = _init_plugins(app, settings, plugin_manager)
    pm.load_web_entry_points()  # the plugins' HTTP hooks (ocop.plugins.web): routes, console and site pages
    _register_faces(app, pm)
    _register_core_routes(app)
    _init_tasks_and_search(app)
    authentication.prepare_login_timing()  # an unknown username's first login as slow as a known one's
    return app


def create_worker_app(settings: Settings | None = None, plugin_manager=None) -> Flask:
    """The app of processes that serve no HTTP face: Celery workers and beat, ``ocop`` commands, benchmarks.

    The same settings, logging, database, plugins, Celery tasks and search backend as :func:`create_app`,
    and the core routes that URLs are built for (``/media``); no API, OpenAPI spec, site, console, metrics
    endpoint or rate limits, and no plugin web module (``ocop.plugins.web``: routes, console and site
    pages): 82 MB against 108 for the web app on SQLite (README, "Marketplace feeds").
    """
    settings = settings or load_settings()
    app = _new_app(settings)
    logs.init_app(app)
    db.init_app(app)
    _init_plugins(app, settings, plugin_manager)
    _register_core_routes(app)
    _init_tasks_and_search(app)
    return app


class OcopFlask(Flask):
    """Flask, remembering which handlers are coroutines: Flask asks ``inspect`` again for every hook and view
    of every request (16 times per request here, ~3 µs each)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_handlers: dict = {}

    def ensure_sync(self, func):
        try:
            return self._sync_handlers[func]
        except KeyError:
            pass
        except TypeError:  # an unhashable callable: ask Flask each time
            return super().ensure_sync(func)
        handler = super().ensure_sync(func)
        if len(self._sync_handlers) < 4096:  # views and hooks: a fixed set (bound methods would be new each time)
            self._sync_handlers[func] = handler
        return handler


def _new_app(settings: Settings) -> Flask:
    app = OcopFlask("ocop", instance_path=str(settings.instance_path), instance_relative_config=False)
    app.config.update(settings.flask_config())
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    return app


def _init_plugins(app: Flask, settings: Settings, plugin_manager):
    pm = plugin_manager or build_plugin_manager(settings.plugins_disabled)
    app.extensions["ocop_plugins"] = pm
    return pm


def _register_faces(app: Flask, pm) -> None:
    """Rate limits, the storefront and admin APIs (with the plugins' blueprints), the site, the console, the
    API docs."""
    # Imported here, not at the top: create_worker_app (this module) must not load the faces, flask-smorest
    # and Flask-Limiter (~7 MB of every Celery worker and ocop command; README, "Marketplace feeds").
    from admin import console, register as register_admin
    from core import api as rest, docs
    from storefront_api import register as register_storefront, site
    rest.init_limits(app)  # Flask-Limiter: login, registration, checkout creation, order lookups
    rest.configure_parser()
    api = rest.OcopApi(app)
    app.extensions["ocop_api"] = api
    app.register_error_handler(DomainError, rest.handle_domain_error)

    register_storefront(api)
    site.register_site(app)  # the public site at / (server-rendered pages)
    register_admin(api)
    console.register(app)
    for result in pm.hook.register_blueprints(app=app, api=api):
        for blueprint in (result if isinstance(result, (list, tuple)) else [result]):
            if blueprint is not None:
                api.register_blueprint(blueprint)

    docs.register_docs(app, api)


def _register_core_routes(app: Flask) -> None:
    _register_health(app)
    _register_media(app)
    _register_unit_of_work(app)


def _init_tasks_and_search(app: Flask) -> None:
    init_celery(app)
    init_search(app)  # backend, outbox listeners, search beat entry, /readyz ping
    apply_environment(app.extensions["celery"])  # OCOP_CELERY_QUEUE, broker options, OCOP_BEAT_SCHEDULE


def _register_unit_of_work(app: Flask) -> None:
    """The request owns the transaction: services flush, the request commits a successful answer.

    An error answer (4xx/5xx) rolls back whatever the operation wrote; the
    after-commit callbacks (plugin hooks) run once the commit is durable.
    """
    @app.after_request
    def _commit_successful_request(response):
        if not db.session.registry.has():
            return response  # the request never touched the database
        session = db.session()
        if not session.in_transaction() and not session.info.get(AFTER_COMMIT_QUEUE):
            return response  # nothing begun, nothing waiting for a commit
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
        return response

    @app.teardown_request
    def _after_commit_hooks(exc):
        if not db.session.registry.has():
            return
        if exc is None:
            run_ready_callbacks()
        else:
            db.session.rollback()


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        """Liveness: the process answers."""
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():
        """Readiness: database, broker and search backend reachable."""
        checks = {}
        try:
            db.session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # report, don't crash
            checks["database"] = f"error: {type(exc).__name__}"
        settings = app.config["OCOP"]
        if settings.broker_url:
            try:
                with app.extensions["celery"].connection_for_write() as conn:
                    conn.ensure_connection(max_retries=1, timeout=2)
                checks["broker"] = "ok"
            except Exception as exc:
                checks["broker"] = f"error: {type(exc).__name__}"
        else:
            checks["broker"] = "in-process"
        ping = app.extensions.get("ocop_search_ping")
        if ping is not None:
            try:
                checks["search"] = "ok" if ping() else "error"
            except Exception as exc:
                checks["search"] = f"error: {type(exc).__name__}"
        ok = all(v in ("ok", "in-process") for v in checks.values())
        return jsonify({"status": "ok" if ok else "unavailable", "checks": checks}), (200 if ok else 503)


def _register_media(app: Flask) -> None:
    @app.get("/media/<path:key>", endpoint="media")
    def media(key):
        """Uploaded files (product images)."""
        try:
            path = storage().path(key)
        except ValueError:
            abort(404)
        if not path.is_file():
            abort(404)
        return send_file(path, max_age=86400)
