"""Domain errors and the single JSON error envelope (DESIGN §3).

Services raise :class:`DomainError` (or a subclass) with a stable dotted
``code``, a Vietnamese message and its English translation; the app turns
it into ``{"error": {"code", "message", "message_en", "details"}}``.
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business-rule failure the caller can fix; maps to a 4xx answer."""

    status = 422

    def __init__(self, code: str, message: str, message_en: str,
                 details: dict[str, Any] | None = None, status: int | None = None):
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en
        self.details = details or {}
        if status is not None:
            self.status = status

    def envelope(self) -> dict:
        return {"error": {"code": self.code, "message": self.message,
                          "message_en": self.message_en, "details": self.details}}


class ValidationFailed(DomainError):
    status = 422

    def __init__(self, details: dict, code: str = "validation.invalid",
                 message: str = "Dữ liệu không hợp lệ.", message_en: str = "Invalid input."):
        super().__init__(code, message, message_en, details)


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str, vi_what: str | None = None, details=None):
        super().__init__(f"{what}.not_found", f"Không tìm thấy {vi_what or what}.",
                         f"{what.replace('_', ' ').capitalize()} not found.", details)


class Conflict(DomainError):
    status = 409


class Unauthorised(DomainError):
    status = 401

    def __init__(self, code="auth.required", message="Cần đăng nhập.",
                 message_en="Authentication required.", details=None):
        super().__init__(code, message, message_en, details)


class Forbidden(DomainError):
    status = 403

    def __init__(self, code="auth.forbidden", message="Bạn không có quyền thực hiện thao tác này.",
                 message_en="You are not allowed to do this.", details=None):
        super().__init__(code, message, message_en, details)


class TooManyRequests(DomainError):
    status = 429


def invalid(field: str, message_vi: str, message_en: str, code: str = "validation.invalid") -> ValidationFailed:
    """Shortcut for a one-field validation failure."""
    return ValidationFailed({field: [message_en]}, code=code,
                            message=f"{field}: {message_vi}", message_en=f"{field}: {message_en}")
