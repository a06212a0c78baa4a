"""Celery settings from the environment, applied once every beat entry is known (end of the app factory).

``OCOP_CELERY_QUEUE`` (default ``celery``) names the queue, so several deployments can share one broker.
``OCOP_BROKER_TRANSPORT_OPTIONS`` is a JSON object handed to the transport (Redis: ``visibility_timeout``,
which must exceed the longest task; ``unacked_restore_interval``…). ``OCOP_BEAT_SCHEDULE`` is a JSON object
overriding the schedule of beat entries by name: seconds (a number) or a crontab ``"m h dom mon dow"``
in Vietnam time, e.g. ``{"expire-certifications-daily": "30 1 * * *"}``.
"""
from __future__ import annotations

import datetime as dt
import json
import os

from celery import Celery
from celery.schedules import crontab


def schedule_from(value):
    """A beat schedule from seconds or a five-field crontab string."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return dt.timedelta(seconds=value)
    if isinstance(value, str) and len(value.split()) == 5:
        minute, hour, day_of_month, month_of_year, day_of_week = value.split()
        return crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                       day_of_week=day_of_week)
    raise ValueError(f"OCOP_BEAT_SCHEDULE: {value!r} is neither seconds nor a 5-field crontab")


def _json_object(environ, name: str) -> dict:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object")
    return value


def apply_environment(celery: Celery, environ=os.environ) -> None:
    """Queue name, transport options and beat overrides from ``environ``; unknown beat names fail loudly."""
    queue = (environ.get("OCOP_CELERY_QUEUE") or "").strip()
    if queue:
        celery.conf.task_default_queue = queue
    options = _json_object(environ, "OCOP_BROKER_TRANSPORT_OPTIONS")
    if options:
        celery.conf.broker_transport_options = options
    overrides = _json_object(environ, "OCOP_BEAT_SCHEDULE")
    schedule = dict(celery.conf.beat_schedule or {})
    unknown = sorted(set(overrides) - set(schedule))
    if unknown:
        raise ValueError(f"OCOP_BEAT_SCHEDULE names unknown beat entries {unknown}; known: {sorted(schedule)}")
    for name, value in overrides.items():
        schedule[name] = {**schedule[name], "schedule": schedule_from(value)}
    celery.conf.beat_schedule = schedule
