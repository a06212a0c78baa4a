"""Catalogue search: one interface (:class:`~core.search.backend.SearchBackend`), two backends.

``OCOP_SEARCH_BACKEND=database`` (default): SQLite FTS5 / PostgreSQL full
text inside the application database. ``OCOP_SEARCH_BACKEND=elasticsearch``
with ``OCOP_ELASTICSEARCH_URL``: an Elasticsearch cluster. Index work goes
through the outbox (:mod:`core.search.outbox`); storefront reads through
:mod:`core.search.service`.
"""
from __future__ import annotations

import os

from flask import current_app

from core.search.backend import SearchBackend, SearchUnavailable  # noqa: F401

BACKENDS = ("database", "elasticsearch")


def make_backend(settings) -> SearchBackend:
    """Build the backend named by ``settings.search_backend``."""
    name = settings.search_backend
    if name == "database":
        from core.search.database import DatabaseBackend
        return DatabaseBackend()
    if name == "elasticsearch":
        from core.search.elasticsearch import ElasticsearchBackend
        if not settings.elasticsearch_urls:
            raise ValueError("OCOP_SEARCH_BACKEND=elasticsearch needs OCOP_ELASTICSEARCH_URL")
        return ElasticsearchBackend(settings.elasticsearch_urls, prefix=settings.elasticsearch_index_prefix)
    raise ValueError(f"unknown OCOP_SEARCH_BACKEND {name!r} (expected one of {', '.join(BACKENDS)})")


def init_app(app) -> None:
    """Wire search into the app: backend, outbox listeners, Celery tasks and beat entry, ``/readyz`` ping."""
    from celery.schedules import crontab
    from core.search import outbox
    backend = make_backend(app.config["OCOP"])
    app.extensions["ocop_search"] = backend
    app.extensions["ocop_search_ping"] = backend.ping
    app.extensions["ocop_search_cache"] = os.environ.get("OCOP_SEARCH_CACHE", "1").strip().lower() not in (
        "0", "false", "no", "off")
    outbox.install()
    celery = app.extensions.get("celery")
    if celery is not None:
        schedule = dict(celery.conf.beat_schedule or {})
        schedule["search-outbox-sync"] = {"task": "ocop.search.sync", "schedule": crontab(minute="*")}
        celery.conf.beat_schedule = schedule


def get_backend() -> SearchBackend:
    """The current app's search backend."""
    return current_app.extensions["ocop_search"]
