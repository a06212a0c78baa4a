"""Logs: one JSON object per line (``OCOP_LOG_FORMAT=json``) and a request id carried into Celery tasks.

Every request gets an id (the caller's ``X-Request-ID`` when it is sane, else a new one), answered in the
``X-Request-ID`` header, attached to every log record, written into the headers of every Celery task
published while the request runs, and restored while the worker runs that task.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import re
import time
import uuid

from celery import signals
from celery._state import get_current_task
from flask import Flask, g, request

REQUEST_ID_HEADER = "X-Request-ID"
#: the Celery message header carrying the request id
TASK_HEADER = "ocop_request_id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("ocop_request_id", default=None)
access_log = logging.getLogger("ocop.access")


def current_request_id() -> str | None:
    """The request id of the running request or task, or None."""
    return _request_id.get()


def bind_request_id(value: str | None):
    """Make ``value`` the current request id; returns a token for :func:`reset_request_id`."""
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)


def incoming_request_id(header: str | None) -> str:
    """The caller's id if it is short and plain (letters, digits, ``._:@-``), else a new random one."""
    if header and _SANE_ID.match(header):
        return header
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (and the Celery task's id and name, if any) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        task = get_current_task()
        record.task_id = getattr(task.request, "id", None) if task else None
        record.task_name = getattr(task, "name", None) if task else None
        return True


_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "task_id", "task_name"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, request_id, task, extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
            "pid": record.process,
        }
        if getattr(record, "task_id", None):
            data["task_id"] = record.task_id
            data["task"] = record.task_name
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                data[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def log_format(environ=os.environ) -> str:
    """``json`` or ``text`` (``OCOP_LOG_FORMAT``, default text)."""
    return "json" if (environ.get("OCOP_LOG_FORMAT") or "").strip().lower() == "json" else "text"


def _formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


def configure_logging(environ=os.environ) -> None:
    """Install one stderr handler on the root logger (format and ``OCOP_LOG_LEVEL``); idempotent.

    Only when ``OCOP_LOG_FORMAT`` or ``OCOP_LOG_LEVEL`` is set, so embedding apps and tests keep their own
    logging configuration.
    """
    if not (environ.get("OCOP_LOG_FORMAT") or environ.get("OCOP_LOG_LEVEL")):
        return
    root = logging.getLogger()
    level = (environ.get("OCOP_LOG_LEVEL") or "INFO").upper()
    root.setLevel(level)
    for handler in root.handlers:
        if getattr(handler, "_ocop", False):
            handler.setFormatter(_formatter(log_format(environ)))
            return
    handler = logging.StreamHandler()
    handler._ocop = True
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(_formatter(log_format(environ)))
    root.addHandler(handler)


def _use_our_format(logger=None, **_kwargs) -> None:
    """Celery worker/beat: give Celery's own handlers our filter and, with JSON logs, our formatter."""
    for handler in (logger.handlers if logger is not None else []):
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if log_format() == "json":
            handler.setFormatter(JsonFormatter())


signals.after_setup_logger.connect(_use_our_format, weak=False)
signals.after_setup_task_logger.connect(_use_our_format, weak=False)


@signals.before_task_publish.connect(weak=False)
def _publish_request_id(headers=None, **_kwargs) -> None:
    request_id = _request_id.get()
    if request_id and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


@signals.task_prerun.connect(weak=False)
def _restore_request_id(task=None, **_kwargs) -> None:
    if task is None:
        return
    incoming = getattr(task.request, TASK_HEADER, None)
    if incoming is None and isinstance(task.request.headers, dict):
        incoming = task.request.headers.get(TASK_HEADER)
    if incoming is None and task.request.is_eager:
        return  # an in-process task keeps the caller's id
    task.request._ocop_request_token = _request_id.set(incoming)


@signals.task_postrun.connect(weak=False)
def _forget_request_id(task=None, **_kwargs) -> None:
    token = getattr(task.request, "_ocop_request_token", None) if task is not None else None
    if token is not None:
        try:
            _request_id.reset(token)
        except ValueError:  # set in another context (thread): just clear
            _request_id.set(None)
        task.request._ocop_request_token = None


def init_app(app: Flask) -> None:
    """Request ids in and out (``X-Request-ID``), an access log line per request, logging from the environment."""
    configure_logging()

    @app.before_request
    def _bind_request_id():
        g.ocop_request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))
        g.ocop_request_token = _request_id.set(g.ocop_request_id)
        g.ocop_request_started = time.perf_counter()

    @app.after_request
    def _answer_request_id(response):
        request_id = g.get("ocop_request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
            started = g.get("ocop_request_started")
            if access_log.isEnabledFor(logging.INFO) and started is not None:
                access_log.info("%s %s %s", request.method, request.path, response.status_code,
                                extra={"method": request.method, "path": request.path,
                                       "status": response.status_code,
                                       "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
        return response

    @app.teardown_request
    def _unbind_request_id(exc):
        token = g.pop("ocop_request_token", None)
        if token is not None:
            try:
                _request_id.reset(token)
            except ValueError:
                _request_id.set(None)
