"""HTTP-level guards run before any route parses input, and the security headers of every answer.

Bounded URL converters (ids within the INTEGER range, no NUL byte in a path segment: else 404), limits on the
URL and header sizes (414/431), JSON bodies checked for nesting depth and number length before anyone parses
them (400), and a non-JSON body sent to an operation whose schema reads JSON refused with 415 — all
answered with the error envelope. Every answer gets ``X-Content-Type-Options``, ``Referrer-Policy``, frame options,
a ``Content-Security-Policy`` (HTML pages and ``/media``) and HSTS when served over HTTPS.
"""
from __future__ import annotations

import json
import re

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter
from werkzeug.serving import WSGIRequestHandler

from core.errors import error_response

#: the largest id a path may name: ids are INTEGER columns (32-bit on PostgreSQL)
MAX_ID = 2_147_483_647
MAX_URL_CHARS = 4096
MAX_HEADER_CHARS = 8192
MAX_HEADERS_TOTAL_CHARS = 32 * 1024
MAX_JSON_DEPTH = 64
MAX_NUMBER_CHARS = 40
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_LONG_NUMBER = re.compile(rb"[-+.0-9eE]{%d,}" % (MAX_NUMBER_CHARS + 1))
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: HTML pages (the site, /docs, error pages): only the app's own scripts, styles, images and form targets
HTML_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " \
           "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
MEDIA_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"


class IdConverter(IntegerConverter):
    """``<int:…>``: a non-negative integer within the id range; a larger one matches no route (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """``<name>`` / ``<string:name>``: one path segment without a NUL byte."""


    def __init__(self, map, minlength=1, maxlength=None, length=None):
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", "[^/\x00]")  # werkzeug's length forms, NUL excluded


class NoNulPathConverter(PathConverter):
    """``<path:…>`` without a NUL byte."""

    regex = "[^/\x00](?:[^\x00]*[^/\x00])?"


def install_converters(app: Flask) -> None:
    """Bounded converters; must run before any route is registered (rules compile their converters)."""
    app.url_map.converters.update(int=IdConverter, default=TextConverter, string=TextConverter,
                                  path=NoNulPathConverter)


def json_problem(data: bytes) -> tuple[str, str, str] | None:
    """``(code, vi, en)`` if a JSON body nests deeper than :data:`MAX_JSON_DEPTH` or has an over-long number."""
    bare = _STRING.sub(b'""', data)  # what is inside strings neither nests nor counts as a number
    if _LONG_NUMBER.search(bare):
        return ("request.number_too_long", f"Số trong dữ liệu JSON dài quá {MAX_NUMBER_CHARS} ký tự.",
                f"A number in the JSON body is longer than {MAX_NUMBER_CHARS} characters.")
    depth = deepest = 0
    for bracket in bare.translate(None, _NOT_BRACKET):
        depth = depth + 1 if bracket in b"[{" else depth - 1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_JSON_DEPTH:
                return ("request.json_too_deep", f"Dữ liệu JSON lồng nhau quá {MAX_JSON_DEPTH} cấp.",
                        f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.")
    return None


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def _schema_json_body(app: Flask, endpoint: str, method: str) -> tuple[bool, bool]:
    """(the operation's body is parsed as JSON by its schema, the operation needs a token), cached per app.

    Such a body is read only when it says ``application/json``: any other type would be silently ignored
    (an empty checkout from a form post), so it is refused. Routes that read their body themselves
    (uploads, signed webhooks, statements) handle their own types.
    """
    cache = app.extensions.setdefault("ocop_json_body_operations", {})
    key = (endpoint, method)
    if key not in cache:
        view = app.view_functions.get(endpoint)
        handler = getattr(getattr(view, "view_class", None), method.lower(), None) or view
        doc = getattr(handler, "_apidoc", None) or {}
        parameters = doc.get("arguments", {}).get("parameters", [])
        json_body = any(p.get("in") == "json" and _is_json(p.get("content_type") or "application/json")
                        for p in parameters)
        cache[key] = (json_body, bool(doc.get("manual_doc", {}).get("security")))
    return cache[key]


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _refuse(status: int, code: str, vi: str, en: str, **details):
    return error_response(status, code, vi, en, details)


def check_request():
    """Before every route: size limits, media type and JSON shape; an answer here ends the request."""
    environ = request.environ
    url_chars = len(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "") or (
        len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) + 1)
    if url_chars > MAX_URL_CHARS:
        return _refuse(414, "request.uri_too_long", f"Địa chỉ (URL) dài quá {MAX_URL_CHARS} ký tự.",
                       f"The URL is longer than {MAX_URL_CHARS} characters.", max_chars=MAX_URL_CHARS)
    sizes = [len(name) + len(value) for name, value in request.headers.items()]
    if sizes and (max(sizes) > MAX_HEADER_CHARS or sum(sizes) > MAX_HEADERS_TOTAL_CHARS):
        return _refuse(431, "request.headers_too_large", "Phần đầu (header) của yêu cầu quá lớn.",
                       "The request headers are too large.", max_header_chars=MAX_HEADER_CHARS)
    if request.method not in BODY_METHODS or not _has_body():
        return None
    mimetype = request.mimetype or ""
    if request.endpoint and not _is_json(mimetype):
        json_body, secured = _schema_json_body(current_app, request.endpoint, request.method)
        anonymous_on_secured = secured and "Authorization" not in request.headers  # the route answers 401 first
        if json_body and not anonymous_on_secured:
            return _refuse(415, "request.unsupported_media_type",
                           f"Kiểu dữ liệu '{mimetype or 'không rõ'}' không được hỗ trợ; hãy gửi application/json.",
                           f"Unsupported media type '{mimetype or 'none'}'; send application/json.",
                           accepted=["application/json"])
    if _is_json(mimetype):
        problem = json_problem(request.get_data(cache=True))  # 413 above MAX_CONTENT_LENGTH
        if problem:
            return _refuse(400, *problem)
    return None


def add_security_headers(response):
    """Headers every answer carries; a route's own values win."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}  # one pass (``setdefault`` scans the list per header)
    headers.extend([(name, value) for name, value in SECURITY_HEADERS.items() if name.lower() not in present])
    if "content-security-policy" not in present:
        if request.path.startswith("/media/"):
            headers["Content-Security-Policy"] = MEDIA_CSP
        elif response.mimetype == "text/html":
            headers["Content-Security-Policy"] = HTML_CSP
        else:
            headers["Content-Security-Policy"] = API_CSP
    if request.is_secure and "strict-transport-security" not in present:
        headers["Strict-Transport-Security"] = HSTS
    return response


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per key rather than per request."""

    def __init__(self) -> None:
        self._serializers: dict = {}

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = self._serializers[key] = super().get_signing_serializer(app)
        return serializer


def init_app(app: Flask) -> None:
    """Install the converters, the before/after hooks and the session interface (call before registering routes)."""
    install_converters(app)
    app.before_request(check_request)
    app.after_request(add_security_headers)
    app.session_interface = CookieSessionInterface()


class EnvelopeRequestHandler(WSGIRequestHandler):
    """Development server: errors raised before the app runs (over-long request line or headers) as the envelope."""

    def send_error(self, code, message=None, explain=None):
        body = _plain_envelope(code, message)
        try:
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)
        except OSError:  # the client went away
            pass
        self.close_connection = True


_SERVER_ERRORS = {
    400: ("request.bad", "Yêu cầu không hợp lệ.", "Bad request."),
    414: ("request.uri_too_long", "Địa chỉ (URL) quá dài.", "The URL is too long."),
    431: ("request.headers_too_large", "Phần đầu (header) của yêu cầu quá lớn.", "The request headers are too large."),
}


def _plain_envelope(code: int, message: str | None) -> bytes:
    name, vi, en = _SERVER_ERRORS.get(code, ("http.error", "Lỗi yêu cầu.", message or "Request error."))
    return json.dumps({"error": {"code": name, "message": vi, "message_en": en, "details": {}}},
                      ensure_ascii=False).encode("utf-8")
