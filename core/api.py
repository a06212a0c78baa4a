"""flask-smorest Api configured for the OCOP error envelope and strict arguments."""
from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api
from flask_smorest.arguments import ArgumentsMixin
from marshmallow import RAISE, Schema
from werkzeug.exceptions import HTTPException

from core.errors import DomainError, bilingual_details, error_response
from core.db import db

HTTP_CODES = {
    400: ("request.bad", "Yêu cầu không hợp lệ.", "Bad request."),
    401: ("auth.required", "Cần đăng nhập.", "Authentication required."),
    403: ("auth.forbidden", "Không có quyền.", "Forbidden."),
    404: ("route.not_found", "Không tìm thấy.", "Not found."),
    405: ("method.not_allowed", "Phương thức không được hỗ trợ.", "Method not allowed."),
    409: ("conflict", "Xung đột dữ liệu.", "Conflict."),
    413: ("request.too_large", "Dữ liệu gửi lên quá lớn.", "Request too large."),
    415: ("request.unsupported_media_type", "Kiểu dữ liệu không được hỗ trợ.", "Unsupported media type."),
    422: ("validation.invalid", "Dữ liệu không hợp lệ.", "Invalid input."),
    428: ("request.precondition_required", "Thiếu điều kiện tiên quyết.", "Precondition required."),
    429: ("request.too_many", "Quá nhiều yêu cầu.", "Too many requests."),
}


def _rollback() -> None:
    """Discard whatever the failed operation left in the session (nothing half-written, no hooks)."""
    try:
        db.session.rollback()
    except Exception:  # pragma: no cover - the error answer matters more than a broken connection
        pass


class OcopApi(Api):
    """Api whose every HTTP error answers with the DESIGN §3 envelope."""

    def handle_http_exception(self, error: HTTPException):
        _rollback()
        status = error.code or 500
        code, message, message_en = HTTP_CODES.get(status, ("http.error", "Lỗi.", error.name))
        details = {}
        data = getattr(error, "data", None) or {}
        if "messages" in data:  # webargs validation failure
            details = data["messages"]
            # flatten {"json": {...}} / {"query": {...}} into field → messages
            if isinstance(details, dict) and len(details) == 1 and next(iter(details)) in (
                    "json", "query", "form", "files", "headers", "view_args", "json_or_form"):
                details = next(iter(details.values()))
            details = bilingual_details(details)  # every message {"message": vi, "message_en": en}
            fields = ", ".join(sorted(map(str, details))) if isinstance(details, dict) else ""
            if fields:
                message = f"Dữ liệu không hợp lệ ở: {fields}."
                message_en = f"Invalid input in: {fields}."
        return error_response(status, code, message, message_en, details)


def configure_parser() -> None:
    """Reject unknown query-string and form fields too (webargs excludes them by default); build each
    argument schema once (webargs instantiates a schema class on every request)."""
    parser = ArgumentsMixin.ARGUMENTS_PARSER
    parser.DEFAULT_UNKNOWN_BY_LOCATION = {**parser.DEFAULT_UNKNOWN_BY_LOCATION,
                                          "query": RAISE, "querystring": RAISE}
    if not isinstance(parser._get_schema, _SchemaOnce):
        parser._get_schema = _SchemaOnce(parser._get_schema)


class _SchemaOnce:
    """webargs' ``_get_schema`` with one instance per schema class (loading keeps no state on the instance)."""

    def __init__(self, get_schema) -> None:
        self.get_schema = get_schema
        self.instances: dict[type, Schema] = {}

    def __call__(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            schema = self.instances.get(argmap)
            if schema is None:
                schema = self.instances[argmap] = argmap()
            return schema
        return self.get_schema(argmap, req)


def handle_domain_error(error: DomainError):
    _rollback()
    response = error_response(error.status, error.code, error.message, error.message_en, error.details)
    retry_after = (error.details or {}).get("retry_after") if isinstance(error.details, dict) else None
    if error.status in (429, 503) and isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    return response


# --- request rate limits (Flask-Limiter) ---------------------------------------------------------------
# On the endpoints an anonymous caller can make expensive: login and public registration each cost a
# scrypt hash, checkout creation writes a row, order-status lookups probe tokens. Counted per client
# address in ``rate_limit_storage_url``: Redis in production (every worker shares it), memory by default.
LOGIN_RATE = "10 per minute;100 per hour"
REGISTRATION_RATE = "5 per minute;20 per hour"
CHECKOUT_CREATION_RATE = "30 per minute"
ORDER_LOOKUP_RATE = "60 per minute"

limiter = Limiter(key_func=get_remote_address, headers_enabled=True, default_limits=[])


def init_limits(app: Flask) -> None:
    """Bind the limiter to ``app`` with the storage and on/off switch of its settings."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["OCOP"].rate_limit_storage_url)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # the shop keeps answering when Redis is unreachable: limits fall back to process memory meanwhile
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    _check_decorated_limits_only(app)


def _check_decorated_limits_only(app: Flask) -> None:
    """Flask-Limiter checks, before every request, the default, application and blueprint limits; we set
    none (each limited view checks its own limit when called), so that check runs only if some appear."""
    funcs = app.before_request_funcs.get(None, [])
    check = limiter._check_request_limit
    if check not in funcs:
        return

    def _middleware_limits():
        manager = limiter.limit_manager
        if manager._default_limits or manager._application_limits or manager._blueprint_limits \
                or limiter._meta_limits:
            return check()
        return None

    funcs[funcs.index(check)] = _middleware_limits


@limiter.request_filter
def _limits_switched_off() -> bool:
    """Per app, at request time: one process may hold apps with and without limits (tests)."""
    return not current_app.config["OCOP"].rate_limits_enabled


def rate_limit(rate: str, methods: list[str] | None = None):
    """Decorate a view (function or MethodView method) with ``rate`` per client address."""
    return limiter.limit(rate, methods=methods)
