"""gunicorn settings for ocop-commerce: ``gunicorn -c python:core.gunicorn_conf 'core.wsgi:app'``.

Command-line options still override these. With ``OCOP_METRICS_DIR`` (or ``PROMETHEUS_MULTIPROC_DIR``) set,
each worker writes its metrics there and a worker that exits is marked dead (its live gauges dropped).
"""
from __future__ import annotations

import os

bind = os.environ.get("OCOP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("OCOP_WEB_WORKERS", "2"))
timeout = 60
graceful_timeout = 30
forwarded_allow_ips = os.environ.get("OCOP_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None  # the app writes one access line per request (core.logs, logger ocop.access)
# gunicorn answers over-long request lines and headers itself, in HTML: let them reach the app, whose limits
# (core.http_guards: URL 4096, header 8192 characters) answer with the error envelope; 8190 is gunicorn's maximum
limit_request_line = 8190
limit_request_field_size = 16384


def _metrics_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("OCOP_METRICS_DIR") or None


def on_starting(server):
    """Create the metrics folder before any worker imports prometheus_client."""
    path = _metrics_dir()
    if path:
        os.makedirs(path, exist_ok=True)
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", path)


def child_exit(server, worker):
    """A worker exited: drop its live gauges from the shared metrics folder (counters are kept)."""
    if _metrics_dir():
        from prometheus_client import multiprocess  # imported here: only after PROMETHEUS_MULTIPROC_DIR is set
        multiprocess.mark_process_dead(worker.pid)
