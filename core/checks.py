"""``ocop check-config``: every missing or unsafe production setting, and a non-zero exit when there is one.

Errors make the command exit 1 (``--strict``: warnings too). Checks read the environment (the same
``OCOP_*`` variables the processes read) and, when the database answers, the demo accounts.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import click
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from core.config import Settings, load_settings
from core.accounts.models import User

DEMO_PASSWORD = "ocop-demo-2026"  # core.demo's password; kept here so a check never imports the demo loader
DEMO_USERNAMES = ("admin", "sct.dongnai", "hoidong.dongnai")
TRUE = ("1", "true", "yes", "on")


@dataclass
class Problem:
    code: str
    severity: str  # "error" | "warning"
    message: str  # Vietnamese
    message_en: str


def _error(code, vi, en) -> Problem:
    return Problem(code, "error", vi, en)


def _warning(code, vi, en) -> Problem:
    return Problem(code, "warning", vi, en)


def settings_problems(settings: Settings, environ=os.environ) -> list[Problem]:
    """Problems visible from the settings alone (no database access)."""
    found = []
    if not environ.get("OCOP_SECRET_KEY"):
        found.append(_error("secret_key.missing", "Chưa đặt OCOP_SECRET_KEY (đang dùng khóa tự sinh trong thư mục instance).",
                            "OCOP_SECRET_KEY is not set (a key generated into the instance folder is used)."))
    elif len(environ["OCOP_SECRET_KEY"]) < 32:
        found.append(_error("secret_key.weak", "OCOP_SECRET_KEY quá ngắn (cần ít nhất 32 ký tự).",
                            "OCOP_SECRET_KEY is too short (at least 32 characters)."))
    if settings.database_url.startswith("sqlite"):
        found.append(_error("database.sqlite", "Cơ sở dữ liệu là SQLite; môi trường sản xuất cần PostgreSQL (OCOP_DATABASE_URL).",
                            "The database is SQLite; production needs PostgreSQL (OCOP_DATABASE_URL)."))
    if not settings.broker_url:
        found.append(_error("broker.missing", "Chưa đặt OCOP_BROKER_URL: tác vụ chạy ngay trong tiến trình web, không có beat.",
                            "OCOP_BROKER_URL is not set: tasks run inside the web process and nothing runs beat."))
    if (environ.get("FLASK_DEBUG") or "").lower() in TRUE or (environ.get("OCOP_DEBUG") or "").lower() in TRUE:
        found.append(_error("debug.enabled", "Chế độ gỡ lỗi đang bật (FLASK_DEBUG/OCOP_DEBUG).",
                            "Debug mode is on (FLASK_DEBUG/OCOP_DEBUG)."))
    if environ.get("OCOP_TODAY"):
        found.append(_error("today.pinned", "OCOP_TODAY cố định ngày hiện tại (chỉ dùng cho demo và kiểm thử).",
                            "OCOP_TODAY pins today's date (demos and tests only)."))
    base = settings.public_base_url
    if "127.0.0.1" in base or "localhost" in base:
        found.append(_error("public_base_url.local", "OCOP_PUBLIC_BASE_URL trỏ về máy cục bộ; liên kết trong thư và feed sẽ sai.",
                            "OCOP_PUBLIC_BASE_URL points at this machine; links in e-mails and feeds would be wrong."))
    elif not base.startswith("https://"):
        found.append(_warning("public_base_url.http", "OCOP_PUBLIC_BASE_URL không dùng https.",
                              "OCOP_PUBLIC_BASE_URL does not use https."))
    if settings.stripe_secret_key and not settings.stripe_webhook_secret:
        found.append(_error("stripe.webhook_secret_missing", "Đã bật Stripe nhưng thiếu OCOP_STRIPE_WEBHOOK_SECRET.",
                            "Stripe is on but OCOP_STRIPE_WEBHOOK_SECRET is missing."))
    if settings.stripe_api_base:
        found.append(_error("stripe.api_base_overridden", "OCOP_STRIPE_API_BASE chỉ dùng để kiểm thử (localstripe).",
                            "OCOP_STRIPE_API_BASE is for testing only (localstripe)."))
    if settings.search_backend == "elasticsearch" and not settings.elasticsearch_urls:
        found.append(_error("search.elasticsearch_url_missing", "OCOP_SEARCH_BACKEND=elasticsearch cần OCOP_ELASTICSEARCH_URL.",
                            "OCOP_SEARCH_BACKEND=elasticsearch needs OCOP_ELASTICSEARCH_URL."))
    if not settings.smtp_url:
        found.append(_warning("smtp.missing", "Chưa đặt OCOP_SMTP_URL: thông báo chỉ được lưu, không gửi thư.",
                              "OCOP_SMTP_URL is not set: notifications are stored, not e-mailed."))
    if not (environ.get("OCOP_METRICS_DIR") or environ.get("PROMETHEUS_MULTIPROC_DIR")):
        found.append(_warning("metrics.single_process", "Chưa đặt OCOP_METRICS_DIR: /metrics dưới gunicorn chỉ có số liệu của một worker.",
                              "OCOP_METRICS_DIR is not set: under gunicorn /metrics shows one worker's figures only."))
    if not environ.get("OCOP_METRICS_TOKEN"):
        found.append(_warning("metrics.open", "/metrics không cần mã truy cập: chặn ở reverse proxy hoặc đặt OCOP_METRICS_TOKEN.",
                              "/metrics needs no token: block it at the reverse proxy or set OCOP_METRICS_TOKEN."))
    if (environ.get("OCOP_LOG_FORMAT") or "").lower() != "json":
        found.append(_warning("logs.text", "Nhật ký không ở dạng JSON (OCOP_LOG_FORMAT=json).",
                              "Logs are not JSON (OCOP_LOG_FORMAT=json)."))
    return found


def database_problems(settings: Settings) -> list[Problem]:
    """Problems found in the database: unreachable, not migrated, demo accounts still on the demo password.

    Uses its own short-lived engine: checking builds no app (and so reconfigures no Celery).
    """
    engine = create_engine(settings.database_url, connect_args=settings.flask_config()["SQLALCHEMY_ENGINE_OPTIONS"]
                           .get("connect_args", {}))
    try:
        with Session(engine) as session:
            try:
                session.execute(text("SELECT 1"))
            except Exception as exc:
                return [_error("database.unreachable", f"Không kết nối được cơ sở dữ liệu ({type(exc).__name__}).",
                               f"The database cannot be reached ({type(exc).__name__}).")]
            try:
                users = session.execute(select(User.username, User.password_hash).where(
                    User.active.is_(True),
                    (User.username.in_(DEMO_USERNAMES)) | (User.username.like("cs.%")))).all()
            except Exception as exc:  # schema not migrated yet
                return [_error("database.not_migrated", f"Chưa chạy `ocop db upgrade` ({type(exc).__name__}).",
                               f"`ocop db upgrade` has not been run ({type(exc).__name__}).")]
    finally:
        engine.dispose()
    demo = sorted(name for name, hashed in users if check_password_hash(hashed, DEMO_PASSWORD))
    if demo:
        return [_error("demo.accounts", f"Tài khoản demo còn dùng mật khẩu demo: {', '.join(demo[:10])}.",
                       f"Demo accounts still use the demo password: {', '.join(demo[:10])}.")]
    return []


def check(environ=os.environ) -> list[Problem]:
    """Every problem of the configuration in ``environ`` (settings, then the database)."""
    try:
        settings = load_settings(environ)
    except Exception as exc:  # a value the settings loader refuses
        return [_error("settings.refused", f"Cấu hình không đọc được: {exc}", f"The settings cannot be read: {exc}")]
    return settings_problems(settings, environ) + database_problems(settings)


@click.command("check-config")
@click.option("--json", "as_json", is_flag=True, help="print the problems as JSON")
@click.option("--strict", is_flag=True, help="warnings also make the exit status non-zero")
def check_config(as_json, strict):
    """Report missing or unsafe production settings; exit 1 when an error (or, with --strict, a warning) is found."""
    problems = check()
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        click.echo(json.dumps({"ok": not errors, "problems": [asdict(p) for p in problems]},
                              ensure_ascii=False, indent=2))
    else:
        for p in problems:
            click.echo(f"{p.severity.upper():<8} {p.code}: {p.message} / {p.message_en}")
        click.echo(f"{len(errors)} errors, {len(problems) - len(errors)} warnings.")
    if errors or (strict and problems):
        raise SystemExit(1)
