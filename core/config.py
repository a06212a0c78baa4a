"""Configuration from environment variables (DESIGN §2).

Every setting has an embedded default so that a fresh machine runs the app
with SQLite, database search and in-process tasks; production sets the same
variables to PostgreSQL, Elasticsearch and a Redis/RabbitMQ broker.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def instance_path_from_env(environ=os.environ) -> Path:
    """The writable instance folder (`OCOP_INSTANCE_PATH`, default ./instance)."""
    return Path(environ.get("OCOP_INSTANCE_PATH") or "instance").resolve()


def _secret_key(instance: Path, environ) -> str:
    configured = environ.get("OCOP_SECRET_KEY")
    if configured:
        return configured
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for bare ``postgresql://`` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


@dataclass
class Settings:
    """Resolved runtime settings; build with :func:`load_settings`."""

    instance_path: Path
    database_url: str
    search_backend: str = "database"
    elasticsearch_urls: list[str] = field(default_factory=list)
    broker_url: str | None = None
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    plugins_disabled: list[str] = field(default_factory=list)
    secret_key: str = ""
    token_ttl_seconds: int = 12 * 3600
    api_token_ttl_days: int = 90  # long-lived API tokens expire after this unless asked otherwise
    password_hash_method: str = "scrypt"
    login_max_failures: int = 5  # per account, before the delays start
    login_ip_max_failures: int = 20  # per client address, before the delays start
    login_delay_seconds: int = 30  # the first delay; it doubles with each further failure
    login_lock_seconds: int = 15 * 60  # the longest delay
    login_failure_window_seconds: int = 3600  # a counter without failures for this long starts again
    rate_limits_enabled: bool = True  # Flask-Limiter on login, registration, checkout creation, order lookups
    rate_limit_storage_url: str = "memory://"  # redis://… in production (shared by every worker)
    max_page_size: int = 100
    max_upload_bytes: int = 5 * 1024 * 1024
    smtp_url: str | None = None
    mail_from: str = "ocop@localhost"
    public_base_url: str = "http://127.0.0.1:5000"
    elasticsearch_index_prefix: str = "ocop"

    def flask_config(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(self.database_url),
            "MAX_CONTENT_LENGTH": self.max_upload_bytes * 4,
            "JSON_SORT_KEYS": False,
            "OCOP": self,
        }


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def _rate_limit_storage(environ) -> str:
    """``OCOP_RATE_LIMIT_STORAGE_URL``, else a Redis broker's URL (production), else process memory."""
    explicit = environ.get("OCOP_RATE_LIMIT_STORAGE_URL")
    if explicit:
        return explicit
    broker = environ.get("OCOP_BROKER_URL") or ""
    return broker if broker.startswith(("redis://", "rediss://")) else "memory://"


def load_settings(environ=os.environ, **overrides) -> Settings:
    """Read DESIGN §2 variables (and a few documented extras) into Settings."""
    instance = Path(overrides.pop("instance_path", None) or instance_path_from_env(environ))
    instance.mkdir(parents=True, exist_ok=True)
    database_url = environ.get("OCOP_DATABASE_URL") or f"sqlite:///{instance / 'ocop.sqlite3'}"
    settings = Settings(
        instance_path=instance,
        database_url=normalise_database_url(database_url),
        search_backend=(environ.get("OCOP_SEARCH_BACKEND") or "database").strip().lower(),
        elasticsearch_urls=_split(environ.get("OCOP_ELASTICSEARCH_URL")),
        broker_url=environ.get("OCOP_BROKER_URL") or None,
        stripe_secret_key=environ.get("OCOP_STRIPE_SECRET_KEY") or None,
        stripe_webhook_secret=environ.get("OCOP_STRIPE_WEBHOOK_SECRET") or None,
        stripe_api_base=environ.get("OCOP_STRIPE_API_BASE") or None,
        plugins_disabled=_split(environ.get("OCOP_PLUGINS_DISABLED")),
        secret_key=_secret_key(instance, environ),
        smtp_url=environ.get("OCOP_SMTP_URL") or None,
        mail_from=environ.get("OCOP_MAIL_FROM") or "ocop@localhost",
        public_base_url=environ.get("OCOP_PUBLIC_BASE_URL") or "http://127.0.0.1:5000",
        rate_limit_storage_url=_rate_limit_storage(environ),
        rate_limits_enabled=(environ.get("OCOP_RATE_LIMITS") or "on").strip().lower() not in ("off", "0", "false"),
    )
    for key, value in overrides.items():
        if not hasattr(settings, key):
            raise TypeError(f"unknown setting {key!r}")
        if key == "database_url":
            value = normalise_database_url(value)
        setattr(settings, key, value)
    return settings
