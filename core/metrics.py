"""Prometheus metrics at ``/metrics``: requests by route, Celery task outcomes, figures read from the database.

Multi-process safe: with ``OCOP_METRICS_DIR`` (or ``PROMETHEUS_MULTIPROC_DIR``) naming a folder shared by
the gunicorn workers and Celery workers of one host, every process writes its counters there and
``/metrics`` (answered by any worker) sums them all. gunicorn needs ``-c python:core.gunicorn_conf``.
Database figures (orders by status, search outbox depth, pending notifications, plugin gauges) are read
at scrape time by the answering process only.
"""
from __future__ import annotations

import hmac
import logging
import os
import time
from typing import Callable

# prometheus_client picks its value store (per-process files or memory) when it is imported
if os.environ.get("OCOP_METRICS_DIR") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["OCOP_METRICS_DIR"]
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from celery import signals  # noqa: E402
from flask import Flask, Response, g, request  # noqa: E402
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter,  # noqa: E402
                               Histogram, generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from core.db import db  # noqa: E402
from core.errors import Unauthorised  # noqa: E402

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter("ocop_http_requests_total", "HTTP requests answered, by route, method and status.",
                        ["route", "method", "status"])
HTTP_LATENCY = Histogram("ocop_http_request_duration_seconds", "Time to answer an HTTP request, by route.",
                         ["route", "method"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
TASKS = Counter("ocop_celery_tasks_total", "Celery task runs by task name and outcome "
                "(success, failure, retry, rejected, revoked).", ["task", "outcome"])
TASK_DURATION = Histogram("ocop_celery_task_duration_seconds", "Celery task run time, by task name.", ["task"],
                          buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0))

#: ``name → (documentation, read)``; ``read()`` returns a number or ``[(labels dict, number), …]``
_database_gauges: dict[str, tuple[str, Callable]] = {}


def multiprocess_dir() -> str | None:
    """The shared folder of per-process metric files, or None (figures of this process only)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def register_database_gauge(name: str, documentation: str, read: Callable) -> None:
    """Add a gauge computed at scrape time inside an app context (plugins add their queue depths)."""
    _database_gauges[name] = (documentation, read)


class DatabaseCollector:
    """Reads the registered database gauges; ``ocop_metrics_database_up`` says whether that worked."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        up = 1
        families = []
        with self.app.app_context():
            for name, (documentation, read) in sorted(_database_gauges.items()):
                try:
                    value = read()
                except Exception as exc:  # a scrape must answer even with the database down
                    log.warning("metrics: %s not read (%s: %s)", name, type(exc).__name__, exc)
                    db.session.rollback()
                    up = 0
                    continue
                if isinstance(value, (int, float)):
                    family = GaugeMetricFamily(name, documentation, value=value)
                else:
                    keys = sorted({k for labels, _ in value for k in labels})
                    family = GaugeMetricFamily(name, documentation, labels=keys)
                    for labels, number in value:
                        family.add_metric([str(labels.get(k, "")) for k in keys], number)
                families.append(family)
            db.session.remove()
        yield GaugeMetricFamily("ocop_metrics_database_up", "1 when the database figures could be read.", value=up)
        yield from families


def render(app: Flask) -> bytes:
    """The text exposition of every process's metrics (multi-process) or this one's, plus database figures."""
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(app))
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry) + generate_latest(database)
    return generate_latest(REGISTRY) + generate_latest(database)


# --- Celery task outcomes (any process: web workers running eager tasks, Celery workers) --------------
def _task_name(sender=None, task=None, request=None) -> str:
    obj = task or sender
    return getattr(obj, "name", None) or getattr(request, "task", None) or str(obj or "unknown")


@signals.task_prerun.connect(weak=False)
def _task_started(task=None, **_kwargs) -> None:
    if task is not None:
        task.request._ocop_started = time.perf_counter()


@signals.task_postrun.connect(weak=False)
def _task_finished(task=None, **_kwargs) -> None:
    started = getattr(task.request, "_ocop_started", None) if task is not None else None
    if started is not None:
        TASK_DURATION.labels(task.name).observe(time.perf_counter() - started)


@signals.task_success.connect(weak=False)
def _task_success(sender=None, **_kwargs) -> None:
    TASKS.labels(_task_name(sender), "success").inc()


@signals.task_failure.connect(weak=False)
def _task_failure(sender=None, **_kwargs) -> None:
    TASKS.labels(_task_name(sender), "failure").inc()


@signals.task_retry.connect(weak=False)
def _task_retry(sender=None, **_kwargs) -> None:
    TASKS.labels(_task_name(sender), "retry").inc()


@signals.task_rejected.connect(weak=False)
def _task_rejected(message=None, **_kwargs) -> None:
    name = (getattr(message, "headers", None) or {}).get("task", "unknown")
    TASKS.labels(name, "rejected").inc()


@signals.task_revoked.connect(weak=False)
def _task_revoked(request=None, sender=None, **_kwargs) -> None:
    TASKS.labels(_task_name(sender, request=request), "revoked").inc()


# --- the Flask side ----------------------------------------------------------------------------------
def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


#: ``(route, method, status) → (request counter, latency histogram)`` children, looked up once per label set
_children: dict[tuple, tuple] = {}


def _observe_request(route: str, method: str, status: int, seconds: float) -> None:
    key = (route, method, status)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (HTTP_REQUESTS.labels(route, method, str(status)),
                                     HTTP_LATENCY.labels(route, method))
    children[0].inc()
    children[1].observe(seconds)


def init_app(app: Flask) -> None:
    """Count and time every request by route; answer ``GET /metrics`` (bearer ``OCOP_METRICS_TOKEN`` if set)."""

    @app.before_request
    def _start_timer():
        g.ocop_metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("ocop_metrics_started", None)
        if started is not None:
            _observe_request(_route(), request.method, response.status_code, time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics():
        """Prometheus metrics of every web and Celery worker process of this host (text exposition format)."""
        token = os.environ.get("OCOP_METRICS_TOKEN")
        if token:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                raise Unauthorised("metrics.token_required", "Cần mã truy cập số liệu (OCOP_METRICS_TOKEN).",
                                   "A metrics token (OCOP_METRICS_TOKEN) is required.")
        return Response(render(app), content_type=CONTENT_TYPE_LATEST)
