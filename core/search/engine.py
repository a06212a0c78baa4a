"""The configured search backend of the app: built from settings at start-up, read by the outbox and the service."""
from __future__ import annotations

import os

from flask import current_app

from core.search.backend import SearchBackend
from core.search.database import DatabaseBackend
from core.search.elasticsearch import ElasticsearchBackend

BACKENDS = ("database", "elasticsearch")


def make_backend(settings) -> SearchBackend:
    """Build the backend named by ``settings.search_backend``."""
    name = settings.search_backend
    if name == "database":
        return DatabaseBackend()
    if name == "elasticsearch":
        if not settings.elasticsearch_urls:
            raise ValueError("OCOP_SEARCH_BACKEND=elasticsearch needs OCOP_ELASTICSEARCH_URL")
        return ElasticsearchBackend(settings.elasticsearch_urls, prefix=settings.elasticsearch_index_prefix)
    raise ValueError(f"unknown OCOP_SEARCH_BACKEND {name!r} (expected one of {', '.join(BACKENDS)})")


def init_app(app) -> None:
    """Wire search into the app: backend, outbox listeners, Celery tasks and beat entry, ``/readyz`` ping."""
    from celery.schedules import crontab
    backend = make_backend(app.config["OCOP"])
    app.extensions["ocop_search"] = backend
    app.extensions["ocop_search_ping"] = backend.ping
    app.extensions["ocop_search_cache"] = os.environ.get("OCOP_SEARCH_CACHE", "1").strip().lower() not in (
        "0", "false", "no", "off")
    celery = app.extensions.get("celery")
    if celery is not None:
        schedule = dict(celery.conf.beat_schedule or {})
        schedule["search-outbox-sync"] = {"task": "ocop.search.sync", "schedule": crontab(minute="*")}
        celery.conf.beat_schedule = schedule


def get_backend() -> SearchBackend:
    """The current app's search backend."""
    return current_app.extensions["ocop_search"]
