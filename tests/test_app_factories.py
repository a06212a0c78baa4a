"""The two app factories: the web app (both HTTP faces) and the worker app (Celery, ``ocop`` commands, feed
builds), and the heavy optional libraries that neither loads until a function uses them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flask import url_for

from core.app import create_worker_app
from core.plugins import LazyModule

ROOT = Path(__file__).resolve().parent.parent
#: loaded on first use only (core.plugins.LazyModule): Stripe's SDK, openpyxl, reportlab's drawing code
HEAVY = ("stripe", "aiohttp", "requests", "openpyxl", "reportlab.platypus", "reportlab.graphics.shapes", "alembic")


def _heavy_loaded_by(factory: str, settings) -> list[str]:
    """The :data:`HEAVY` modules loaded once ``factory()`` has built its app in a fresh interpreter."""
    script = (f"import json, sys\nfrom core.app import {factory}\n{factory}()\n"
              f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    env = {**os.environ, "OCOP_DATABASE_URL": settings.database_url, "OCOP_INSTANCE_PATH": str(settings.instance_path),
           "OCOP_BROKER_URL": "", "OCOP_SEARCH_BACKEND": "database"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_neither_app_loads_the_heavy_optional_libraries(settings):
    for factory in ("create_app", "create_worker_app"):
        assert _heavy_loaded_by(factory, settings) == [], factory


def test_the_worker_app_has_plugins_tasks_and_media_but_no_http_face(settings):
    app = create_worker_app(settings)
    assert "ocop_api" not in app.extensions
    assert app.extensions["ocop_plugins"].is_enabled("marketplace_feeds")
    celery = app.extensions["celery"]
    assert "marketplace_feeds.refresh" in celery.tasks
    assert "ocop_webhook_events" in app.extensions  # set up by the webhooks plugin's register_blueprints
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
