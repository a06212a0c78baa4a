"""The livestream pages of the web console, for producers (their sessions) and organisers (their province's):
sessions (list, schedule), one session (go live, end, showcase with session prices), the live view of the
orders parsed from comments (htmx polling), and the session's results.

Mounted through the ``register_console_pages`` hook; every view calls the plugin's services (the same as
its admin API, :mod:`plugins.livestream.routes`) inside a SAVEPOINT, so a refusal writes nothing.
"""
from __future__ import annotations

import re
from pathlib import Path

from flask import current_app, redirect, request, url_for
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from core.accounts.security import current_user
from core.catalogue import producers, products
from core.db import savepoint
from core.errors import DomainError, ValidationFailed
from plugins.livestream import comments, draft_orders, metrics, sessions, showcases
from plugins.livestream import schemas as s
from plugins.livestream.models import PLATFORMS

TEMPLATES = str(Path(__file__).parent / "templates")
ROLES = ("admin", "organiser", "producer")
PAGE_SIZE = 50
LIVE_COMMENTS = 30
POLL_SECONDS = 3
GROUPED = re.compile(r"^\d{1,3}(\.\d{3})+$")
STATUS_NAMES = {"scheduled": ("Đã lên lịch", "Scheduled"), "live": ("Đang phát", "Live"),
                "ended": ("Đã kết thúc", "Ended")}


def register(console) -> None:
    """The pages (endpoints ``console_livestream.…``); GET pages name their session with ``?id=``."""
    options = {"blueprint": "livestream", "template_folder": TEMPLATES, "roles": ROLES}
    add = console.add_page
    add("/livestream", session_list, endpoint="sessions", methods=("GET", "POST"), menu=("Livestream", "Livestream"),
        order=35, **options)
    add("/livestream/session", session_page, endpoint="session", **options)
    add("/livestream/live", live_view, endpoint="live", **options)
    add("/livestream/live/feed", live_feed, endpoint="live_feed", **options)
    add("/livestream/results", results, endpoint="results", **options)
    add("/livestream/<int:session_id>/start", start, endpoint="start", methods=("POST",), **options)
    add("/livestream/<int:session_id>/end", end, endpoint="end", methods=("POST",), **options)
    add("/livestream/<int:session_id>/showcase", pin_product, endpoint="pin", methods=("POST",), **options)
    add("/livestream/<int:session_id>/showcase/<int:item_id>/prices", set_prices, endpoint="prices",
        methods=("POST",), **options)


# --- shared ---------------------------------------------------------------------------------------------
def _console():
    return current_app.extensions["ocop_console"]


def _render(template: str, status: int = 200, **context):
    return _console().render(f"livestream/{template}", status, status_names=STATUS_NAMES, platforms=PLATFORMS,
                             **context)


def _load(schema, data: dict) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages) from exc


def _errors(exc) -> list[str]:
    return _console().field_errors(exc)[:20]


def _refusal(exc: DomainError) -> dict:
    return {"error": _console().error_text(exc), "errors": _errors(exc)}


def _number(value):
    """A form's whole number (``"55.000"`` with thousands dots too); anything else goes to the schema as typed."""
    raw = (value or "").strip().replace(" ", "")
    if GROUPED.match(raw):
        raw = raw.replace(".", "")
    return int(raw) if raw.isdigit() and len(raw) <= 12 else (raw or None)


def _session_from_query():
    """The session named by ``?id=`` when the caller may manage it; None when no id was given."""
    raw = request.args.get("id", "")
    if not raw.isdigit() or len(raw) > 12:
        return None
    return sessions.session_for(current_user(), int(raw))


def _to_list():
    return redirect(url_for("console_livestream.sessions"))


# --- sessions -------------------------------------------------------------------------------------------
def _session_form(form, user) -> dict:
    data = {"platform": form.get("platform") or "", "title": (form.get("title") or "").strip(),
            "scheduled_at": (form.get("scheduled_at") or "").strip()}
    if (form.get("stream_url") or "").strip():
        data["stream_url"] = form["stream_url"].strip()
    if (form.get("voucher_code") or "").strip():
        data["voucher_code"] = form["voucher_code"].strip()
    chosen = [_number(v) for v in form.getlist("producer_ids") if (v or "").strip()]
    if chosen or user.role != "producer":
        data["producer_ids"] = chosen
    return data


def session_list():
    """The caller's sessions, newest schedule first, and the form to schedule one."""
    user = current_user()
    status, refusal, created = 200, {}, None
    if request.method == "POST":
        try:
            with savepoint():
                created = sessions.create_session(user, _load(s.SessionInSchema(), _session_form(request.form, user)))
        except DomainError as exc:
            status, refusal = exc.status, _refusal(exc)
        else:
            return redirect(url_for("console_livestream.session", id=created.id, created=1))
    wanted = request.args.get("status")
    args = {"page": 1, "limit": PAGE_SIZE, **({"status": wanted} if wanted in STATUS_NAMES else {})}
    page = sessions.list_sessions(user, args)
    hosts = [] if user.role == "producer" else \
        producers.list_producers(user, {"status": "verified", "page": 1, "limit": 200})["results"]
    return _render("sessions.html", status, sessions=page["results"], total=page["total"], hosts=hosts,
                   form=request.form if status >= 400 else MultiDict(), **refusal)


def session_page(status: int = 200, session=None, **context):
    """One session: its state, the showcase with session prices, and what the caller can do next."""
    session = session or _session_from_query()
    if session is None:
        return _to_list()
    user = current_user()
    pinned = {item.product_id for item in session.items}
    candidates = [p for host in session.hosts for p in products.list_products_for(
        user, {"producer_id": host.producer_id, "page": 1, "limit": 200})["results"] if p.id not in pinned]
    prices = {o.id: showcases.session_price(o) for item in session.items for o in item.variants}
    return _render("session.html", status, session=session, candidates=candidates, prices=prices,
                   created=request.args.get("created"), **context)


def start(session_id: int):
    """scheduled → live (holds the showcase's stock)."""
    session = sessions.session_for(current_user(), session_id)
    try:
        with savepoint():
            sessions.go_live(current_user(), session)
    except DomainError as exc:
        return session_page(exc.status, session, **_refusal(exc))
    return redirect(url_for("console_livestream.live", id=session.id))


def end(session_id: int):
    """live → ended (releases held stock); then its results."""
    session = sessions.session_for(current_user(), session_id)
    try:
        with savepoint():
            sessions.end(current_user(), session)
    except DomainError as exc:
        return session_page(exc.status, session, **_refusal(exc))
    return redirect(url_for("console_livestream.results", id=session.id))


# --- showcase and session prices --------------------------------------------------------------------------
def pin_product(session_id: int):
    """Add a host's product to the showcase under a short code (all its active variants)."""
    session = sessions.session_for(current_user(), session_id)
    data = {"code": (request.form.get("code") or "").strip(), "product_id": _number(request.form.get("product_id"))}
    try:
        with savepoint():
            showcases.pin_product(current_user(), session, _load(s.ItemInSchema(), data))
    except DomainError as exc:
        return session_page(exc.status, session, **_refusal(exc))
    return redirect(url_for("console_livestream.session", id=session.id))


def _prices_form(item, form) -> dict:
    variants = []
    for offered in item.variants:
        key = str(offered.variant_id)
        price = (form.get(f"price_{key}") or "").strip()
        variants.append({"variant_id": offered.variant_id,
                         "words": (form.get(f"words_{key}") or offered.words).strip() or offered.words,
                         "session_price": _number(price) if price else None,
                         "hold_quantity": _number(form.get(f"hold_{key}") or str(offered.hold_quantity))})
    return {"variants": variants}


def set_prices(session_id: int, item_id: int):
    """Set the session prices (blank: the catalogue price), the viewers' words and the stock held per variant."""
    session = sessions.session_for(current_user(), session_id)
    item = showcases.get_item(session, item_id)
    try:
        with savepoint():
            showcases.update_item(current_user(), session, item, _load(s.ItemPatchSchema(), _prices_form(item, request.form)))
    except DomainError as exc:
        return session_page(exc.status, session, failed_item=item.id, **_refusal(exc))
    return redirect(url_for("console_livestream.session", id=session.id, saved=item.code))


# --- live view and results ------------------------------------------------------------------------------
def _live_context(session) -> dict:
    total = comments.list_comments(session, {"page": 1, "limit": 1})["total"]
    last_page = max(1, -(-total // LIVE_COMMENTS))
    latest = comments.list_comments(session, {"page": last_page, "limit": LIVE_COMMENTS})["results"]
    drafts = [draft_orders.priced(session, d) for d in draft_orders.list_drafts(session, {"status": "open"})]
    return {"session": session, "comments": list(reversed(latest)), "comment_total": total, "drafts": drafts,
            "poll_seconds": POLL_SECONDS}


def live_view():
    """The live screen: comments as they arrive with what the parser read, and the draft orders per viewer."""
    session = _session_from_query()
    if session is None:
        return _to_list()
    return _render("live.html", **_live_context(session))


def live_feed():
    """htmx: the live screen's comments and drafts, polled every few seconds while the session is live."""
    session = _session_from_query()
    if session is None:
        return _to_list()
    return _render("_live_feed.html", **_live_context(session))


def results():
    """The session's results: GMV, orders (from comments, from its link), conversion, products, pins."""
    session = _session_from_query()
    if session is None:
        return _to_list()
    return _render("results.html", session=session, summary=metrics.summary(session))
