"""What every console page shares: the session's user, the language, CSRF, role checks, the menu, rendering.

A console session holds the same bearer token the API issues (``core.accounts.authentication.login``:
same accounts, throttling and expiry); each request under ``/console/`` resolves it to the request's
user, so the services' ``current_user()`` and scope checks work unchanged. Every POST must carry the
session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``).
"""
from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from core import clock
from core.request_user import REQUEST_USER_KEY
from core.accounts.authentication import user_for_token
from core.accounts.security import current_user
from core.errors import DomainError

PREFIX = "/console"
LANGUAGES = ("vi", "en")
ALL_ROLES = ("admin", "organiser", "certifier", "producer", "operator")
ROLE_NAMES = {"admin": ("Quản trị", "Admin"), "organiser": ("Sở Công Thương", "Organiser"),
              "certifier": ("Hội đồng OCOP", "Certifier"), "producer": ("Chủ thể OCOP", "Producer"),
              "operator": ("Nhân viên điểm bán", "Sales point operator")}


# --- language -------------------------------------------------------------------------------------
def lang() -> str:
    """The session's language: Vietnamese unless the user switched to English."""
    value = session.get("lang")
    return value if value in LANGUAGES else "vi"


def t(vi: str, en: str) -> str:
    """The text in the session's language (templates: ``t("Sản phẩm", "Products")``)."""
    return en if lang() == "en" else vi


def error_text(exc: DomainError) -> str:
    """A service's refusal in the session's language."""
    return exc.message_en if lang() == "en" else exc.message


def field_errors(exc: DomainError, *, plain_strings: bool = False) -> list[str]:
    """``field: message`` lines of a refusal's details (``lines.0.quantity: …``), in the session's language;
    ``plain_strings`` also lists detail values that are bare strings (a service's ``{"sku": "…"}``)."""
    lines: list[str] = []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict) and set(value) >= {"message", "message_en"}:
            lines.append(f"{prefix}: {value['message_en'] if lang() == 'en' else value['message']}")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(prefix, item)
        elif plain_strings and isinstance(value, str):
            lines.append(f"{prefix}: {value}")
    walk("", getattr(exc, "details", None) or {})
    return lines


# --- CSRF -----------------------------------------------------------------------------------------
def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_field() -> Markup:
    return Markup(f'<input type="hidden" name="csrf_token" value="{csrf_token()}">')


def _check_csrf() -> None:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="csrf")


# --- the request's user ---------------------------------------------------------------------------
def _is_console_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def before_console_request() -> None:
    """For ``/console/…``: the session token → the request's user (a bearer header is ignored); CSRF on POST."""
    if not _is_console_request() or request.path.startswith(PREFIX + "/static/"):
        return
    raw = session.get("token")
    request.environ[REQUEST_USER_KEY] = user_for_token(raw) if raw else None
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        _check_csrf()


def after_console_request(response):
    """Console pages are never framed nor cached, and load scripts only from the app itself."""
    if _is_console_request():
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cache-Control", "no-store" if not request.path.startswith(PREFIX + "/static/")
                                    else "public, max-age=86400")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
                                    "frame-ancestors 'none'; form-action 'self'")
    return response


# --- pages and the menu -----------------------------------------------------------------------------
@dataclass
class MenuEntry:
    endpoint: str
    label: str
    label_en: str
    roles: tuple[str, ...]
    order: int = 100


@dataclass
class ConsolePages:
    """The console's page registry, handed to plugins through the ``register_console_pages`` hook.

    ``add_page`` mounts a view under ``/console`` behind the login and role check (and CSRF on POST),
    optionally with a menu entry; ``render`` renders a template inside the console layout.
    """

    menu: list[MenuEntry] = field(default_factory=list)
    blueprints: dict[str, Blueprint] = field(default_factory=dict)

    def blueprint(self, name: str, import_name: str = __name__, template_folder: str | None = None) -> Blueprint:
        """The blueprint holding ``name``'s console pages (endpoints ``console_<name>.<endpoint>``)."""
        if name not in self.blueprints:
            self.blueprints[name] = Blueprint(f"console_{name}", import_name, url_prefix=PREFIX,
                                              template_folder=template_folder)
            self.blueprints[name].register_error_handler(DomainError, domain_error_page)
            self.blueprints[name].register_error_handler(HTTPException, http_error_page)
        return self.blueprints[name]

    def add_page(self, rule: str, view, *, endpoint: str, roles, methods=("GET",), menu: tuple[str, str] | None = None,
                 blueprint: str = "console", template_folder: str | None = None, order: int = 100) -> None:
        """Mount ``view`` at ``/console<rule>`` for users with one of ``roles``; ``menu`` = (label vi, label en)."""
        roles = tuple(roles)
        bp = self.blueprint(blueprint, template_folder=template_folder)
        bp.add_url_rule(rule, endpoint=endpoint, view_func=require_roles(*roles)(view), methods=list(methods))
        if menu:
            self.menu.append(MenuEntry(f"{bp.name}.{endpoint}", menu[0], menu[1], roles, order))

    def menu_for(self, user) -> list[MenuEntry]:
        if user is None:
            return []
        return sorted((m for m in self.menu if user.role in m.roles), key=lambda m: (m.order, m.label))

    @staticmethod
    def render(template: str, status: int = 200, **context):
        return render(template, status, **context)

    t = staticmethod(t)
    error_text = staticmethod(error_text)
    field_errors = staticmethod(field_errors)


def require_roles(*roles: str):
    """Anonymous → the login page (back here afterwards); another role → a 403 page."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            if user.role not in roles:
                return render("console/error.html", 403,
                              message=t("Trang này không dành cho vai trò của bạn.",
                                        "This page is not for your role."))
            return view(*args, **kwargs)
        wrapper.console_roles = roles
        return wrapper
    return decorator


def render(template: str, status: int = 200, **context):
    return render_template(template, **context), status


def domain_error_page(exc: DomainError):
    """A service's refusal on a console page: an HTML page with its status (the request rolls back)."""
    return render("console/error.html", exc.status, message=error_text(exc))


def http_error_page(exc: HTTPException):
    """400 (a missing or stale CSRF token), 404, 405 … on a console page, as an HTML page."""
    if exc.code == 400 and exc.description == "csrf":
        message = t("Phiên làm việc đã hết hạn, hãy tải lại trang và thử lại.",
                    "Your session expired; reload the page and try again.")
    else:
        message = f"{exc.code} – {exc.name}"
    return render("console/error.html", exc.code or 500, message=message)


def safe_next(value: str | None) -> str:
    """Where to go after logging in: only a console path of this site."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return url_for("console.home")


def money(value) -> str:
    """VND for display: ``125.000 ₫``."""
    if value is None:
        return "—"
    return f"{int(value):,}".replace(",", ".") + " ₫"


def local_time(value, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored UTC moment as Vietnam time for display."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(clock.VN_TZ).strftime(fmt)


def page_url(page: int) -> str:
    """This page's URL with another ``page`` number (filters kept)."""
    return request.path + "?" + urlencode({**request.args.to_dict(), "page": page})


def template_globals(pages: ConsolePages) -> dict:
    return {"t": t, "lang": lang, "csrf_field": csrf_field, "csrf_token": csrf_token, "money": money,
            "console_user": current_user, "console_menu": lambda: pages.menu_for(current_user()),
            "today": clock.today, "quote": quote, "role_names": ROLE_NAMES, "page_url": page_url, "local_time": local_time}
