"""The site's blueprint: language (Vietnamese first, ``?lang=en``), template helpers, error pages, plugin pages."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import Blueprint, current_app, g, render_template, request, url_for
from jinja2 import ChoiceLoader, FileSystemLoader

from core.clock import VN_TZ
from core.errors import DomainError
from core.payments.money import format_vnd

LANGUAGES = ("vi", "en")
LANG_COOKIE = "ocop_lang"

#: order and payment states as a shopper reads them
ORDER_STATUS = {
    "unconfirmed": ("Chờ xác nhận", "Awaiting confirmation"), "confirmed": ("Đã xác nhận", "Confirmed"),
    "paid": ("Đã thanh toán", "Paid"), "fulfilled": ("Đã giao cho vận chuyển", "Shipped"),
    "completed": ("Hoàn tất", "Completed"), "cancelled": ("Đã huỷ", "Cancelled"), "refunded": ("Đã hoàn tiền", "Refunded"),
}
PAYMENT_STATUS = {
    "unpaid": ("Chưa thanh toán", "Unpaid"), "pending": ("Đang chờ thanh toán", "Payment pending"),
    "partially_paid": ("Đã trả một phần", "Partly paid"), "paid": ("Đã thanh toán", "Paid"),
    "refunded": ("Đã hoàn tiền", "Refunded"), "partially_refunded": ("Hoàn tiền một phần", "Partly refunded"),
}
LEVELS = {"district": ("cấp huyện", "district"), "province": ("cấp tỉnh", "provincial"), "central": ("cấp trung ương", "national")}


class SiteBlueprint(Blueprint):
    """A blueprint whose templates can be extended by plugins' folders (:meth:`add_template_folder`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra_template_folders: list[str] = []

    def add_template_folder(self, folder: str) -> None:
        if folder not in self.extra_template_folders:
            self.extra_template_folders.append(folder)

    @property
    def jinja_loader(self):
        own = FileSystemLoader(f"{self.root_path}/{self.template_folder}")
        return ChoiceLoader([own, *(FileSystemLoader(f) for f in self.extra_template_folders)])


bp = SiteBlueprint("site", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/assets/site")


@bp.before_request
def _language():
    asked = request.args.get("lang")
    g.site_lang = asked if asked in LANGUAGES else (request.cookies.get(LANG_COOKIE) if request.cookies.get(
        LANG_COOKIE) in LANGUAGES else "vi")


@bp.after_request
def _remember_language(response):
    if request.args.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, request.args["lang"], max_age=365 * 86400, samesite="Lax", httponly=True)
    response.headers.setdefault("Content-Language", lang())
    return response


def lang() -> str:
    return getattr(g, "site_lang", "vi")


def t(vi: str, en: str) -> str:
    """The Vietnamese text, or the English one when the shopper switched to English."""
    return en if lang() == "en" else vi


def pick(mapping: dict, key, default: str = "") -> str:
    """A (vi, en) pair from ``mapping`` in the shopper's language."""
    pair = mapping.get(key)
    return t(*pair) if pair else (key if key is not None else default)


def vn_date(value) -> str:
    """``dd/mm/yyyy``; an aware moment is shown in Vietnam time."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        value = value.astimezone(VN_TZ).date()
    return value.strftime("%d/%m/%Y")


def vn_datetime(value) -> str:
    """``HH:MM dd/mm/yyyy`` in Vietnam time."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def link(endpoint: str, filename: str | None = None) -> str:
    """``url_for(endpoint)`` of a page without arguments (or a static file), built once per app and mount point."""
    links = current_app.extensions.setdefault("ocop_site_links", {})
    key = (request.script_root, endpoint, filename)
    url = links.get(key)
    if url is None:
        url = links[key] = url_for(endpoint, **({"filename": filename} if filename else {}))
    return url


def public_url(endpoint: str, **values) -> str:
    """Absolute canonical URL on the configured public base (``OCOP_PUBLIC_BASE_URL``)."""
    base = current_app.config["OCOP"].public_base_url.rstrip("/")
    return base + url_for(endpoint, **values)


def absolute(url: str | None) -> str | None:
    """An image or link made absolute on the public base (external URLs are kept)."""
    if not url or url.startswith(("http://", "https://")):
        return url
    return current_app.config["OCOP"].public_base_url.rstrip("/") + url


def with_args(**changes) -> str:
    """This page's URL with query arguments changed (None removes one; paging restarts)."""
    args = request.args.to_dict()
    args.pop("cursor", None)
    args.pop("page", None)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return request.path + ("?" + urlencode(args) if args else "")


def other_language_url() -> str:
    args = request.args.to_dict()
    args["lang"] = "vi" if lang() == "en" else "en"
    return request.path + "?" + urlencode(args)


@bp.context_processor
def _helpers():
    """Template helpers for the site's pages only (the console's templates keep their own)."""
    return {"vnd": format_vnd, "vn_date": vn_date, "vn_datetime": vn_datetime, "absolute": absolute, "t": t, "lang": lang, "pick": pick, "with_args": with_args, "public_url": public_url,
            "other_language_url": other_language_url, "link": link, "ORDER_STATUS": ORDER_STATUS,
            "PAYMENT_STATUS": PAYMENT_STATUS, "LEVELS": LEVELS, "site_nav": site_nav}


def site_nav() -> list[dict]:
    """Pages plugins added with ``nav=True`` (see :func:`core.hookspecs.register_site_pages`)."""
    return current_app.extensions.get("ocop_site_nav", [])


def render_page(template: str, status: int = 200, **context):
    """Render a site template (``site/…``) with the shopper's language; returns (body, status)."""
    return render_template(template, **context), status


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    """Refusals on the site are pages, not JSON: the message in the shopper's language."""
    return render_page("site/error.html", exc.status, error=exc)
