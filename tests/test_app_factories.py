"""The two app factories: the web app (both HTTP faces) and the worker app (Celery, ``ocop`` commands, feed
builds), the plugins' web modules (``ocop.plugins.web``) only the former loads, and the heavy optional
libraries that neither loads until a function uses them."""
from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import url_for

from core.app import create_app, create_worker_app
from core.plugins import LazyModule, WEB_SUFFIX, build_plugin_manager
from plugins.webhooks import services as webhook_services

ROOT = Path(__file__).resolve().parent.parent
#: loaded on first use only (core.plugins.LazyModule): Stripe's SDK, openpyxl, reportlab's drawing code
#: phonenumbers (livestream comments), segno (VietQR images), tqdm (progress bars of commands), Pillow (uploads)
HEAVY = ("stripe", "aiohttp", "requests", "openpyxl", "reportlab.platypus", "reportlab.graphics.shapes", "alembic",
         "phonenumbers", "segno", "tqdm", "PIL")
#: what only the web app loads: the HTTP faces and the REST machinery (packages, or modules and their children)
WEB_ONLY = ("admin", "storefront_api", "flask_smorest", "apispec", "webargs", "flask_limiter", "core.api", "core.docs")
#: a plugin's web module and what only it imports: ``plugins.<name>.<module>`` (``.console*`` included)
WEB_ONLY_PLUGIN_MODULES = ("web", "routes", "schemas", "storefront", "console", "site", "site_pages")


def _loaded_by(factory: str, settings, disabled: str = "") -> list[str]:
    """Every module loaded once ``factory()`` has built its app in a fresh interpreter."""
    script = f"import json, sys\nfrom core.app import {factory}\n{factory}()\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "OCOP_DATABASE_URL": settings.database_url, "OCOP_INSTANCE_PATH": str(settings.instance_path),
           "OCOP_BROKER_URL": "", "OCOP_SEARCH_BACKEND": "database",
           "OCOP_PLUGINS_DISABLED": disabled}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _web_only(modules: list[str]) -> list[str]:
    def web_only(name: str) -> bool:
        if any(name == w or name.startswith(w + ".") for w in WEB_ONLY):
            return True
        parts = name.split(".")
        return len(parts) == 3 and parts[0] == "plugins" and (
            parts[2] in WEB_ONLY_PLUGIN_MODULES or parts[2].startswith("console_"))
    return [m for m in modules if web_only(m)]


def test_neither_app_loads_the_heavy_optional_libraries(settings):
    for factory in ("create_app", "create_worker_app"):
        loaded = set(_loaded_by(factory, settings))
        assert [m for m in HEAVY if m in loaded] == [], factory


def test_the_worker_app_imports_no_face_no_plugin_web_module_and_no_rest_machinery(settings):
    # the test suite's third-party plugin "hello" keeps its route in its one module (flask-smorest with it)
    worker = _loaded_by("create_worker_app", settings, disabled="hello")
    assert "plugins.marketplace_feeds.builds" in worker and "plugins.fairs.plugin" in worker  # domain code is there
    assert _web_only(worker) == []
    web = _web_only(_loaded_by("create_app", settings, disabled="hello"))  # the web app does: the check can fail
    assert {"admin.console", "storefront_api.site", "flask_smorest", "flask_limiter", "plugins.fairs.web",
            "plugins.fairs.routes", "plugins.fairs.site", "plugins.webhooks.web", "plugins.sales_points.console"
            } <= set(web)


def test_the_worker_app_has_plugins_tasks_and_media_but_no_http_face(settings):
    app = create_worker_app(settings)
    assert "ocop_api" not in app.extensions
    assert app.extensions["ocop_plugins"].is_enabled("marketplace_feeds")
    celery = app.extensions["celery"]
    assert "marketplace_feeds.refresh" in celery.tasks
    assert not app.extensions["ocop_plugins"].has_plugin("fairs" + WEB_SUFFIX)
    with app.app_context():  # the webhooks plugin's event registry, collected on first use (no HTTP needed)
        assert {"order.paid", "product.listed"} <= {t["code"] for t in webhook_services.event_types()}
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/media/<path:key>", "/healthz", "/readyz"} <= rules
    assert not any(rule.startswith(("/admin", "/storefront", "/openapi")) for rule in rules)
    with app.test_request_context():
        assert url_for("media", key="products/1.jpg") == "/media/products/1.jpg"


def test_a_lazy_module_loads_on_first_attribute():
    lazy = LazyModule("json")
    assert repr(lazy) == "<LazyModule 'json'>"
    assert lazy.dumps([1]) == "[1]"
    assert "(loaded)" in repr(lazy)


def test_the_web_app_loads_the_web_modules_of_enabled_plugins_only(settings):
    pm = build_plugin_manager(["fairs"])
    app = create_app(settings, plugin_manager=pm)
    assert pm.has_plugin("marketplace_feeds" + WEB_SUFFIX) and not pm.has_plugin("fairs" + WEB_SUFFIX)
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert any(r.startswith("/admin/v1/marketplaces") for r in rules)
    assert not any(r.startswith(("/admin/v1/fairs", "/storefront/v1/fairs", "/console/fairs", "/hoi-cho-trien-lam"))
                   for r in rules)
    assert "/hoi-cho-trien-lam" in {r.rule for r in create_app(settings).url_map.iter_rules()}  # enabled: it is there
    rows = {row["name"]: row for row in pm.describe()}  # one row per plugin, its web hooks included
    assert "marketplace_feeds" + WEB_SUFFIX not in rows
    assert {"register_blueprints", "register_console_pages", "register_tasks"} <= set(
        rows["marketplace_feeds"]["hooks"])
    assert rows["fairs"]["enabled"] is False and rows["fairs"]["hooks"] == []
    pm.unregister(name="marketplace_feeds")  # switched off at run time: its web module goes with it
    assert not pm.has_plugin("marketplace_feeds" + WEB_SUFFIX)
    pm.register(importlib.import_module("plugins.marketplace_feeds.plugin"), name="marketplace_feeds")
    assert pm.has_plugin("marketplace_feeds" + WEB_SUFFIX)


def test_the_app_remembers_which_handlers_are_plain_functions(app):
    """``ensure_sync`` answers from a table after the first ask (Flask inspects every handler per request); a
    coroutine is still handed to Flask's own conversion, and a request still runs its hooks and view."""
    from flask import Flask

    def view():
        return "ok"

    async def coroutine_view():
        return "ok"

    assert app.ensure_sync(view) is view and app.ensure_sync(view) is view
    assert app._sync_handlers[view] is view
    try:
        Flask.ensure_sync(app, coroutine_view)
    except RuntimeError as refused:  # Flask without its "async" extra refuses coroutines: so must the app
        with pytest.raises(RuntimeError, match=re.escape(str(refused))):
            app.ensure_sync(coroutine_view)
    else:
        assert app.ensure_sync(coroutine_view) is not coroutine_view
    assert app.test_client().get("/healthz").get_json() == {"status": "ok"}
