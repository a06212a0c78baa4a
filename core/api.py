"""flask-smorest Api configured for the OCOP error envelope and strict arguments."""
from __future__ import annotations

from flask import has_request_context, jsonify, request
from flask_smorest import Api
from flask_smorest.arguments import ArgumentsMixin
from marshmallow import RAISE
from werkzeug.exceptions import HTTPException

from core.errors import DomainError, bilingual_details
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


def error_response(status: int, code: str, message: str, message_en: str, details=None):
    response = jsonify({"error": {"code": code, "message": message, "message_en": message_en,
                                  "details": details or {}}})
    response.status_code = status
    return response


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
    """Reject unknown query-string and form fields too (webargs excludes them by default)."""
    parser = ArgumentsMixin.ARGUMENTS_PARSER
    parser.DEFAULT_UNKNOWN_BY_LOCATION = {**parser.DEFAULT_UNKNOWN_BY_LOCATION,
                                          "query": RAISE, "querystring": RAISE}


def handle_domain_error(error: DomainError):
    _rollback()
    return error_response(error.status, error.code, error.message, error.message_en, error.details)


#: ``request.environ`` key under which the accounts domain caches the request's authenticated user.
REQUEST_USER_KEY = "ocop.current_user"


def request_user():
    """The user the accounts domain authenticated for this request, or None (outside requests too)."""
    if not has_request_context():
        return None
    return request.environ.get(REQUEST_USER_KEY)
