"""Request rate limits (Flask-Limiter) on the endpoints an anonymous caller can make expensive.

Login and public registration each cost a scrypt hash; checkout creation writes a row; order-status
lookups probe references. Counted per client address in ``rate_limit_storage_url``: Redis in
production (every worker shares it), process memory on the embedded default.
"""
from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

LOGIN = "10 per minute;100 per hour"
REGISTRATION = "5 per minute;20 per hour"
CHECKOUT_CREATION = "30 per minute"
ORDER_LOOKUP = "60 per minute"

limiter = Limiter(key_func=get_remote_address, headers_enabled=True, default_limits=[])


def init_app(app: Flask) -> None:
    """Bind the limiter to ``app`` with the storage and on/off switch of its settings."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["OCOP"].rate_limit_storage_url)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)


@limiter.request_filter
def _limits_switched_off() -> bool:
    """Per app, at request time: one process may hold apps with and without limits (tests)."""
    return not current_app.config["OCOP"].rate_limits_enabled


def limit(rate: str, methods: list[str] | None = None):
    """Decorate a view (function or MethodView method) with ``rate`` per client address."""
    return limiter.limit(rate, methods=methods)
