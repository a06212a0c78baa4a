"""Metrics at /metrics, request ids (X-Request-ID in and out, carried into Celery tasks), JSON logs,
Celery settings from OCOP_* variables, the notification requeue, and ``ocop check-config``.
"""
from __future__ import annotations

import configparser
import datetime as dt
import importlib.util
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery
from click.testing import CliRunner
from sqlalchemy import select

from core import gunicorn_conf, logs
from core.celery_app import celery_app
from core.celery_settings import apply_environment, schedule_from
from core.checks import check, settings_problems
from core.config import load_settings
from core.db import commit, db, utcnow
from core.notifications.models import Notification
from core.notifications.delivery import MAX_REQUEUES, requeue_pending
from support.orders import place_order

ROOT = Path(__file__).resolve().parent.parent


def _sample(text: str, name: str, **labels) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, value = line.rpartition(" ")
        head, _, rest = metric.partition("{")
        if head != name:
            continue
        got = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if got == wanted:
            return float(value)
    return 0.0


def test_metrics_count_requests_by_route_and_read_the_database(client, demo):
    before = client.get("/metrics").get_data(as_text=True)
    route = "/storefront/v1/products/<slug>"
    base = _sample(before, "ocop_http_requests_total", route=route, method="GET", status="200")
    slug = client.get("/storefront/v1/products").get_json()["results"][0]["slug"]
    for _ in range(3):
        assert client.get(f"/storefront/v1/products/{slug}").status_code == 200
    assert client.get("/storefront/v1/products/khong-co-san-pham-nay").status_code == 404
    place_order(client)
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert _sample(text, "ocop_http_requests_total", route=route, method="GET", status="200") == base + 3
    assert _sample(text, "ocop_http_requests_total", route=route, method="GET", status="404") >= 1
    assert _sample(text, "ocop_http_request_duration_seconds_count", route=route, method="GET") >= base + 4
    assert _sample(text, "ocop_orders", status="unconfirmed") == 1
    assert _sample(text, "ocop_metrics_database_up") == 1
    assert "ocop_search_outbox_pending" in text and "ocop_notifications_pending" in text
    assert "ocop_webhook_deliveries" in text  # a plugin's gauge
    # eager tasks ran in this process: their outcomes are counted
    assert _sample(text, "ocop_celery_tasks_total", task="ocop.orders.notify", outcome="success") >= 1


def test_metrics_token(client, monkeypatch):
    monkeypatch.setenv("OCOP_METRICS_TOKEN", "bi-mat-so-lieu")
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "metrics.token_required"
    assert client.get("/metrics", headers={"Authorization": "Bearer sai"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer bi-mat-so-lieu"}).status_code == 200


def test_request_id_in_and_out(client):
    given = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})
    assert given.headers["X-Request-ID"] == "lb-1234.abc"
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32 and made != "lb-1234.abc"
    for bad in ("x" * 200, "a b", "<script>", "ưu-tiên"):
        answered = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert answered != bad and len(answered) == 32
    error = client.get("/khong-co", headers={"X-Request-ID": "req-404"})
    assert error.status_code == 404 and error.headers["X-Request-ID"] == "req-404"
    assert logs.current_request_id() is None  # nothing leaks out of the request


def test_request_id_travels_in_task_headers():
    """A task published inside a request carries its id; the worker side restores it while the task runs."""
    producer = Celery("ocop-test-headers", broker="memory://")
    seen = {}

    @producer.task(name="ocop.test.echo_request_id", bind=True)
    def echo(self):
        seen["id"] = logs.current_request_id()

    token = logs.bind_request_id("req-42")
    try:
        with producer.connection_for_write() as conn:
            echo.apply_async(connection=conn)
            with conn.SimpleQueue("celery") as queue:
                message = queue.get(timeout=5)
                headers = message.headers
                message.ack()
    finally:
        logs.reset_request_id(token)
    assert headers[logs.TASK_HEADER] == "req-42"
    # the worker side: the header becomes the current id for the task's run, then is dropped
    echo.apply(headers={logs.TASK_HEADER: "req-42"})
    assert seen["id"] == "req-42" and logs.current_request_id() is None


def test_json_log_lines_carry_the_request_id(client, capsys):
    formatter = logs.JsonFormatter()
    record = logging.LogRecord("ocop.test", logging.WARNING, __file__, 1, "Đơn %s lỗi", ("OCOP-1",), None)
    token = logs.bind_request_id("req-7")
    try:
        logs.RequestIdFilter().filter(record)
        line = json.loads(formatter.format(record))
    finally:
        logs.reset_request_id(token)
    assert line["message"] == "Đơn OCOP-1 lỗi" and line["request_id"] == "req-7" and line["level"] == "WARNING"
    assert line["time"].endswith("+00:00")
    # a whole process configured by OCOP_LOG_FORMAT=json logs one JSON object per line
    code = ("from core.app import create_app; app = create_app(); c = app.test_client(); "
            "c.get('/healthz', headers={'X-Request-ID': 'req-json'})")
    env = {**os.environ, "OCOP_LOG_FORMAT": "json", "OCOP_LOG_LEVEL": "INFO", "OCOP_INSTANCE_PATH": str(
        Path(os.environ.get("TMPDIR", "/tmp")) / f"ocop-logtest-{os.getpid()}"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "ocop.access"]
    assert access and access[0]["request_id"] == "req-json" and access[0]["status"] == 200
    assert access[0]["path"] == "/healthz" and "duration_ms" in access[0]


def test_celery_settings_from_the_environment():
    conf = celery_app.conf
    saved = (conf.task_default_queue, conf.broker_transport_options, dict(conf.beat_schedule))
    try:
        apply_environment(celery_app, {"OCOP_CELERY_QUEUE": "ocop-staging",
                                       "OCOP_BROKER_TRANSPORT_OPTIONS": '{"visibility_timeout": 7200}',
                                       "OCOP_BEAT_SCHEDULE": '{"expire-certifications-daily": "30 1 * * *", '
                                                             '"notifications-requeue": 15}'})
        assert conf.task_default_queue == "ocop-staging"
        assert conf.broker_transport_options == {"visibility_timeout": 7200}
        expiry = conf.beat_schedule["expire-certifications-daily"]["schedule"]
        assert expiry.hour == {1} and expiry.minute == {30}
        assert conf.beat_schedule["notifications-requeue"]["schedule"].total_seconds() == 15
        with pytest.raises(ValueError, match="unknown beat entries"):
            apply_environment(celery_app, {"OCOP_BEAT_SCHEDULE": '{"no-such-job": 5}'})
        for bad in ("every day", -1, True, "* * *"):
            with pytest.raises(ValueError):
                schedule_from(bad)
    finally:
        conf.task_default_queue, conf.broker_transport_options, conf.beat_schedule = saved


def test_pending_notifications_are_requeued(app):
    now = utcnow()

    def note(key, age_seconds, attempts=0):
        db.session.add(Notification(kind="test", dedupe_key=key, subject="Thử", body="Thử", status="pending",
                                    attempts=attempts, created_at=now - dt.timedelta(seconds=age_seconds)))
    note("old", 3600)
    note("fresh", 0)
    note("tried-3-times-100s", 100, attempts=3)   # next after 20 × 2³ = 160 s
    note("tried-3-times-200s", 200, attempts=3)
    note("given-up", 10_000_000, attempts=MAX_REQUEUES)
    commit()
    assert requeue_pending(older_than_seconds=20) == {"requeued": 2}
    commit()  # the caller (beat's task) owns the transaction; eager Celery delivers after the commit
    statuses = dict(db.session.execute(select(Notification.dedupe_key, Notification.status)).all())
    assert statuses == {"old": "stored", "fresh": "pending", "tried-3-times-100s": "pending",
                        "tried-3-times-200s": "stored", "given-up": "pending"}
    assert requeue_pending(older_than_seconds=0) == {"requeued": 2}
    commit()
    assert requeue_pending(older_than_seconds=0) == {"requeued": 0}
    commit()
    assert db.session.execute(select(Notification.status).where(Notification.dedupe_key == "given-up")).scalar_one() \
        == "pending"


# --- check-config ------------------------------------------------------------------------------------
def _codes(problems, severity=None):
    return {p.code for p in problems if severity is None or p.severity == severity}


def test_check_config_reports_an_unsafe_configuration(app, demo, database_url, instance_path):
    env = {"OCOP_DATABASE_URL": database_url, "OCOP_INSTANCE_PATH": str(instance_path), "OCOP_TODAY": "2026-11-23",
           "FLASK_DEBUG": "1"}
    problems = check(env)
    errors = _codes(problems, "error")
    assert {"secret_key.missing", "broker.missing", "debug.enabled", "today.pinned", "public_base_url.local",
            "demo.accounts"} <= errors
    assert ("database.sqlite" in errors) == database_url.startswith("sqlite")
    assert {"smtp.missing", "metrics.open"} <= _codes(problems, "warning")
    demo_problem = next(p for p in problems if p.code == "demo.accounts")
    assert "admin" in demo_problem.message_en and demo_problem.message != demo_problem.message_en


def test_check_config_passes_a_production_configuration(app, postgres_url, database_url, instance_path):
    env = {"OCOP_DATABASE_URL": database_url,  # this worker's migrated database (postgres_url: PostgreSQL runs only) "OCOP_INSTANCE_PATH": str(instance_path),
           "OCOP_SECRET_KEY": "k" * 48, "OCOP_BROKER_URL": "redis://127.0.0.1:6379/9",
           "OCOP_PUBLIC_BASE_URL": "https://ocop.example.vn", "OCOP_SMTP_URL": "smtp://mail.example.vn:587",
           "OCOP_METRICS_DIR": str(instance_path / "metrics"), "OCOP_METRICS_TOKEN": "t", "OCOP_LOG_FORMAT": "json"}
    assert check(env) == []
    assert _codes(settings_problems(load_settings(env), {**env, "OCOP_SECRET_KEY": "short"})) == {"secret_key.weak"}


def test_check_config_command_exits_non_zero(app, demo, database_url, instance_path, monkeypatch):
    from core.cli import cli
    for key in [k for k in os.environ if k.startswith("OCOP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OCOP_DATABASE_URL", database_url)
    monkeypatch.setenv("OCOP_INSTANCE_PATH", str(instance_path))
    result = CliRunner().invoke(cli, ["check-config"], obj={"app": app})
    assert result.exit_code == 1, result.output
    assert "ERROR    secret_key.missing" in result.output and "demo.accounts" in result.output
    as_json = CliRunner().invoke(cli, ["check-config", "--json"], obj={"app": app})
    assert as_json.exit_code == 1 and json.loads(as_json.output)["ok"] is False


# --- deployment files ----------------------------------------------------------------------------
def test_procfile_and_systemd_units_name_real_entry_points():
    procfile = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines()
                    if line and not line.startswith("#"))
    assert set(procfile) == {"release", "web", "worker", "beat"}
    assert "core.wsgi:app" in procfile["web"] and "python:core.gunicorn_conf" in procfile["web"]
    assert "ocop check-config" in procfile["release"]
    for name in ("core.wsgi", "core.gunicorn_conf", "core.celery_worker"):
        assert importlib.util.find_spec(name) is not None, name
    units = {}
    for path in sorted((ROOT / "deploy" / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.read_string(path.read_text())
        units[path.stem] = parser
        assert parser["Service"]["EnvironmentFile"] == "/etc/ocop/ocop.env"
    assert set(units) == {"ocop-web", "ocop-worker", "ocop-beat"}
    assert "core.wsgi:app" in units["ocop-web"]["Service"]["ExecStart"]
    assert "worker" in units["ocop-worker"]["Service"]["ExecStart"]
    assert "beat" in units["ocop-beat"]["Service"]["ExecStart"]
    example = dict(line.split("=", 1) for line in (ROOT / "deploy/systemd/ocop.env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert all(key.startswith("OCOP_") for key in example)
    assert callable(gunicorn_conf.child_exit) and gunicorn_conf.workers >= 1
