"""The marketplace pages of the web console: a producer's marketplaces (opt in or out of each, and the items
its latest feeds refused: field and rule), and for organisers who is present on which marketplace, and the
per-file order import with its per-row report.

Mounted through the ``register_console_pages`` hook; the views call the plugin's services (the same as its
admin API, :mod:`plugins.marketplace_feeds.routes`), a change inside a SAVEPOINT so a refusal writes nothing.
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app, redirect, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from core.accounts.security import current_user
from core.catalogue.models import Product, Variant
from core.db import db, savepoint
from core.errors import DomainError, ValidationFailed
from plugins.marketplace_feeds import builds, registry, reports, services
from plugins.marketplace_feeds.schemas import MarketplaceParticipationSchema

TEMPLATES = str(Path(__file__).parent / "templates")
PRODUCER_ROLES = ("producer",)
ORGANISER_ROLES = ("admin", "organiser")
ALL = {"page": 1, "limit": 100}


def register(console) -> None:
    """The pages (endpoints ``console_marketplace_feeds.mine``, ``presence``, ``import_orders`` …)."""
    options = {"blueprint": "marketplace_feeds", "template_folder": TEMPLATES}
    add = console.add_page
    add("/marketplaces/mine", my_marketplaces, endpoint="mine", roles=PRODUCER_ROLES,
        menu=("Sàn TMĐT của tôi", "My marketplaces"), order=36, **options)
    add("/marketplaces/<int:marketplace_id>/join", join, endpoint="join", roles=PRODUCER_ROLES, methods=("POST",),
        **options)
    add("/marketplaces/<int:marketplace_id>/withdraw", withdraw, endpoint="withdraw", roles=PRODUCER_ROLES,
        methods=("POST",), **options)
    add("/marketplaces/presence", presence, endpoint="presence", roles=ORGANISER_ROLES,
        menu=("Chủ thể trên sàn TMĐT", "Producers on marketplaces"), order=65, **options)
    add("/marketplaces/import", import_orders, endpoint="import_orders", roles=ORGANISER_ROLES,
        methods=("GET", "POST"), menu=("Nhập đơn từ sàn", "Marketplace order import"), order=66, **options)


def _console():
    return current_app.extensions["ocop_console"]


def _render(template: str, status: int = 200, **context):
    return _console().render(f"marketplace_feeds/{template}", status, **context)


def _marketplaces() -> list:
    return registry.list_marketplaces(ALL)["results"]


# --- producer ---------------------------------------------------------------------------------------------
def producer_skus(producer_id: int) -> set[str]:
    """The SKUs of a producer's variants: the ids its items carry in every feed (``FeedItem.id``)."""
    return set(db.session.execute(select(Variant.sku).join(Product, Product.id == Variant.product_id)
                                  .where(Product.producer_id == producer_id)).scalars())


def refused_items(marketplace, skus: set[str]) -> list[dict]:
    """Per format, the latest build's problems of the producer's items (errors: the item was left out)."""
    out = []
    for fmt in builds.FORMATS:
        build = builds.latest_build(marketplace, fmt)
        if build is None:
            continue
        report = build.problems or {}
        mine = [p for p in report.get("problems", []) if p.get("item_id") in skus]
        out.append({"format": fmt, "built_at": build.built_at, "problems": mine,
                    "refused": len({p["item_id"] for p in mine if p.get("severity") == "error"}),
                    "truncated": bool(report.get("truncated"))})
    return out


def my_marketplaces(status: int = 200, **context):
    """Each marketplace: whether I am on it (opt in / out) and what its latest feeds refused of my items."""
    user = current_user()
    skus = producer_skus(user.producer_id) if user.producer_id else set()
    rows = []
    for marketplace in _marketplaces():
        mine = registry.list_participants(user, marketplace, ALL)["results"]
        rows.append({"marketplace": marketplace, "participation": mine[0] if mine else None,
                     "feeds": refused_items(marketplace, skus)})
    return _render("mine.html", status, rows=rows, done=request.args.get("done"), **context)


def _participation(marketplace_id: int, status: str):
    marketplace = registry.get_marketplace(marketplace_id)
    shop_url = (request.form.get("shop_url") or "").strip()
    try:
        try:  # the API's schema: an http(s) shop URL of at most 500 characters
            data = MarketplaceParticipationSchema().load({"shop_url": shop_url} if shop_url else {})
        except ValidationError as exc:
            raise ValidationFailed(exc.messages) from exc
        with savepoint():
            registry.set_participation(current_user(), marketplace, data, status)
    except DomainError as exc:
        return my_marketplaces(exc.status, error=_console().error_text(exc), failed=marketplace.id)
    return redirect(url_for("console_marketplace_feeds.mine", done=f"{status}:{marketplace.code}"))


def join(marketplace_id: int):
    """Publish my listed products on the marketplace (a verified producer)."""
    return _participation(marketplace_id, "active")


def withdraw(marketplace_id: int):
    """My products leave the marketplace's feeds at the next fetch."""
    return _participation(marketplace_id, "withdrawn")


# --- organiser ----------------------------------------------------------------------------------------------
def presence():
    """Who is on which marketplace (organisers: producers of their province), with the counts per province."""
    user = current_user()
    rows = [{"marketplace": m, "participants": registry.list_participants(user, m, ALL)["results"]}
            for m in _marketplaces()]
    return _render("presence.html", rows=rows, counts=reports.presence(user)["results"])


def import_orders():
    """Upload a marketplace's order export (CSV/XLSX): all orders or none, with the report of every row."""
    marketplaces = _marketplaces()
    if request.method == "GET":
        return _render("import.html", marketplaces=marketplaces)
    raw = request.form.get("marketplace_id", "")
    chosen = raw if raw.isdigit() and len(raw) <= 12 else None
    upload = request.files.get("file")
    if upload is not None and not upload.filename:
        upload = None
    try:
        if chosen is None:
            raise DomainError("marketplace_import.no_marketplace", "Hãy chọn sàn.", "Choose a marketplace.", status=422)
        marketplace = registry.get_marketplace(int(chosen))
        with savepoint():
            batch = services.import_file(current_user(), marketplace, upload)
    except DomainError as exc:
        return _render("import.html", exc.status, marketplaces=marketplaces, chosen=chosen,
                       error=_console().error_text(exc), rows=(exc.details or {}).get("rows", []),
                       filename=upload.filename if upload is not None else None)
    return _render("import.html", marketplaces=marketplaces, chosen=chosen, batch=batch, rows=batch.rows,
                   filename=batch.filename)
