"""Domain errors and the single JSON error envelope (DESIGN §3), bilingual throughout.

Services raise :class:`DomainError` (or a subclass) with a stable dotted
``code``, a Vietnamese message and its English translation; the app turns
it into ``{"error": {"code", "message", "message_en", "details"}}``.

Validation details are bilingual too: every message about a field is
``{"message": "…tiếng Việt…", "message_en": "…"}``, e.g.
``{"price": [{"message": "Phải lớn hơn hoặc bằng 0.", "message_en": "Must be greater than or equal to 0."}]}``
(nested schemas nest the same way). marshmallow's own English messages are
translated by :func:`vietnamese`; a project message that marshmallow has no
translation for is written as ``Message("…tiếng Việt…", "… English …")``.
"""
from __future__ import annotations

import re
from typing import Any

from flask import jsonify


class Message(str):
    """A validation message in both languages: the ``str`` itself is English (what marshmallow and webargs
    carry around), ``.vi`` is the Vietnamese. Use it in ``ValidationError(...)``, ``validate.*(error=...)``
    and :class:`ValidationFailed` details."""

    vi: str

    def __new__(cls, vi: str, en: str):
        obj = super().__new__(cls, en)
        obj.vi = vi
        return obj

    def __reduce__(self):
        return (Message, (self.vi, str(self)))


# marshmallow's (and webargs') English messages → Vietnamese
_VI: list[tuple[str, Any]] = [
    (r"Missing data for required field\.", "Thiếu dữ liệu bắt buộc."),
    (r"Field may not be null\.", "Không được để trống."),
    (r"Unknown field\.", "Trường không được hỗ trợ."),
    (r"Invalid input type\.", "Kiểu dữ liệu không hợp lệ."),
    (r"Invalid type\.", "Kiểu dữ liệu không hợp lệ."),
    (r"Invalid value\.", "Giá trị không hợp lệ."),
    (r"Invalid input\.", "Giá trị không hợp lệ."),
    (r"Not a valid integer\.", "Không phải số nguyên hợp lệ."),
    (r"Not a valid number\.", "Không phải số hợp lệ."),
    (r"Number too large\.", "Số quá lớn."),
    (r"Special numeric values \(nan or infinity\) are not permitted\.", "Không chấp nhận NaN hoặc vô cực."),
    (r"Not a valid string\.", "Không phải chuỗi ký tự hợp lệ."),
    (r"Not a valid utf-8 string\.", "Không phải chuỗi UTF-8 hợp lệ."),
    (r"Not a valid list\.", "Không phải danh sách hợp lệ."),
    (r"Not a valid tuple\.", "Không phải bộ giá trị hợp lệ."),
    (r"Not a valid mapping type\.", "Không phải đối tượng (JSON object) hợp lệ."),
    (r"Not a valid boolean\.", "Giá trị có/không không hợp lệ."),
    (r"Not a valid email address\.", "Địa chỉ email không hợp lệ."),
    (r"Not a valid URL\.", "Đường dẫn không hợp lệ."),
    (r"Not a valid UUID\.", "Mã UUID không hợp lệ."),
    (r"Not a valid IP(v4|v6)? address\.", "Địa chỉ IP không hợp lệ."),
    (r"Not a valid IP(v4|v6)? interface\.", "Giao diện mạng IP không hợp lệ."),
    (r"Not a valid date\.", "Ngày không hợp lệ."),
    (r"Not a valid datetime\.", "Thời điểm không hợp lệ (ISO 8601)."),
    (r"Not a valid (aware|naive) datetime\.", "Thời điểm không hợp lệ (cần hoặc không được có múi giờ)."),
    (r"Not a valid time\.", "Giờ không hợp lệ."),
    (r"Not a valid date or date-time\.", "Ngày hoặc thời điểm không hợp lệ."),
    (r"Not a valid date-time\.", "Thời điểm không hợp lệ."),
    (r"Not a valid date-time \(ISO 8601, years 2000–2100\)\.", "Thời điểm không hợp lệ (ISO 8601, năm 2000–2100)."),
    (r"Not a valid period of time\.", "Khoảng thời gian không hợp lệ."),
    (r"String does not match expected pattern\.", "Sai định dạng."),
    (r"Length must be between (\d+) and (\d+)\.", lambda m: f"Độ dài phải từ {m[1]} đến {m[2]}."),
    (r"Length must be (\d+)\.", lambda m: f"Độ dài phải bằng {m[1]}."),
    (r"Shorter than minimum length (\d+)\.", lambda m: f"Ngắn hơn độ dài tối thiểu {m[1]}."),
    (r"Longer than maximum length (\d+)\.", lambda m: f"Dài quá độ dài tối đa {m[1]}."),
    (r"Must be (greater than|greater than or equal to) (\S+) and (less than|less than or equal to) (\S+)\.",
     lambda m: f"Phải {_OP[m[1]]} {m[2]} và {_OP[m[3]]} {m[4]}."),
    (r"Must be (greater than|greater than or equal to|less than|less than or equal to) (\S+)\.",
     lambda m: f"Phải {_OP[m[1]]} {m[2]}."),
    (r"Must be one of: (.*)\.", lambda m: f"Phải là một trong: {m[1]}."),
    (r"Must be equal to (.*)\.", lambda m: f"Phải bằng {m[1]}."),
    (r"One or more of the choices you made was not in: (.*)\.", lambda m: f"Có lựa chọn không thuộc: {m[1]}."),
    (r"One or more of the choices you made was in: (.*)\.", lambda m: f"Có lựa chọn không được phép: {m[1]}."),
    (r'"(.*)" cannot be formatted as a (.*)\.', "Không định dạng được giá trị."),
    (r"'(.*)' cannot be formatted as a timedelta\.", "Không định dạng được khoảng thời gian."),
]
_OP = {"greater than": "lớn hơn", "greater than or equal to": "lớn hơn hoặc bằng",
       "less than": "nhỏ hơn", "less than or equal to": "nhỏ hơn hoặc bằng"}
_COMPILED = [(re.compile(pattern), build) for pattern, build in _VI]

#: the Vietnamese for an English message nobody translated (kept generic rather than mixing languages)
UNTRANSLATED_VI = "Giá trị không hợp lệ."


def translation(message_en: str) -> str | None:
    """The Vietnamese for one of marshmallow's English messages (or a :class:`Message`), None if unknown."""
    if isinstance(message_en, Message):
        return message_en.vi
    for pattern, build in _COMPILED:
        match = pattern.fullmatch(str(message_en))
        if match:
            return build(match) if callable(build) else build
    return None


def vietnamese(message_en: str) -> str:
    """:func:`translation`, or a generic Vietnamese message for an untranslated one."""
    return translation(message_en) or UNTRANSLATED_VI


def bilingual(message) -> dict:
    """``{"message": vi, "message_en": en}`` for a message (an English str, a :class:`Message` or such a dict)."""
    if isinstance(message, dict) and set(message) == {"message", "message_en"}:
        return message
    return {"message": vietnamese(str(message)), "message_en": str(message)}


def bilingual_details(details):
    """Validation details with every message made ``{"message", "message_en"}``; keys and nesting kept."""
    if isinstance(details, dict):
        if set(details) == {"message", "message_en"}:
            return details
        return {key: bilingual_details(value) for key, value in details.items()}
    if isinstance(details, (list, tuple)):
        return [bilingual_details(item) for item in details]
    if isinstance(details, str):
        return bilingual(details)
    return details


def error_response(status: int, code: str, message: str, message_en: str, details=None):
    """The envelope as a Flask response with ``status``."""
    response = jsonify({"error": {"code": code, "message": message, "message_en": message_en,
                                  "details": details or {}}})
    response.status_code = status
    return response


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
    """422 with field → messages details; every message is made bilingual (:func:`bilingual_details`)."""

    status = 422

    def __init__(self, details: dict, code: str = "validation.invalid",
                 message: str = "Dữ liệu không hợp lệ.", message_en: str = "Invalid input."):
        super().__init__(code, message, message_en, bilingual_details(details))


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str, vi_what: str, details=None):
        super().__init__(f"{what}.not_found", f"Không tìm thấy {vi_what}.",
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
    return ValidationFailed({field: [Message(message_vi, message_en)]}, code=code,
                            message=f"{field}: {message_vi}", message_en=f"{field}: {message_en}")
