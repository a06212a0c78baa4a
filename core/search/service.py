"""Search services used by the storefront and the CLI: search, suggest, reindex, status."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import has_request_context, request

from core import clock
from core.db import db, utcnow
from core.errors import DomainError
from core.search import sql
from core.search.engine import get_backend
from core.search.backend import (LEGAL_FORM_LABELS, MAX_WINDOW, PRICE_BUCKETS, SearchHit, SearchQuery, SearchResult,
                                 SearchUnavailable, count_listed, decode_cursor, encode_cursor, iter_documents)
from core.catalogue import groups
from core.catalogue import version as catalogue_cache
from core.catalogue.version import bump
from core.geo.models import AdministrativeUnit
from core.search import outbox, prices

#: Rows created this long before a rebuild started are replayed after it (transactions still open then).
REPLAY_MARGIN = dt.timedelta(minutes=10)


def _unavailable(exc: Exception) -> DomainError:
    return DomainError("search.unavailable", "Tìm kiếm tạm thời không khả dụng, vui lòng thử lại sau.",
                       "Search is temporarily unavailable, please try again later.",
                       {"reason": str(exc)[:200]}, status=503)


def build_query(args: dict, sale=None) -> SearchQuery:
    """A :class:`SearchQuery` from validated storefront arguments (cursor decoded, paging window checked)."""
    cursor = None
    if args.get("cursor"):
        try:
            cursor = decode_cursor(args["cursor"])
        except ValueError:
            cursor = None
        if not cursor or cursor.get("s") != args.get("sort", "relevance") or not isinstance(cursor.get("o", 0), int):
            raise DomainError("search.invalid_cursor", "Con trỏ phân trang không hợp lệ hoặc không khớp cách sắp xếp.",
                              "The paging cursor is invalid or does not match the sort.", {"cursor": ["invalid"]},
                              status=422)
    page, limit = args.get("page", 1), args.get("limit", 20)
    if cursor is None and page * limit > MAX_WINDOW:
        raise DomainError("search.window_too_large",
                          f"Chỉ xem được {MAX_WINDOW} kết quả đầu bằng page/limit; hãy dùng liên kết next (cursor).",
                          f"page × limit may not exceed {MAX_WINDOW}; follow the next link (cursor) instead.",
                          {"page": [f"page × limit > {MAX_WINDOW}"]}, status=422)
    return SearchQuery(q=args.get("q") or "", group=args.get("group"), stars=args.get("stars"),
                       province=args.get("province"), legal_form=args.get("legal_form"),
                       min_price=args.get("min_price"), max_price=args.get("max_price"),
                       in_stock=args.get("in_stock"), sort=args.get("sort", "relevance"), page=page, limit=limit,
                       cursor=cursor, today=clock.today(), sale=sale)


def render_hit(hit: SearchHit) -> dict:
    """A search hit as the storefront shows it (DESIGN §3 product summary + highlights)."""
    d = hit.document
    producer = d["producer"]
    return {
        "slug": d["slug"], "name": d["name"],
        "producer": {"slug": producer["slug"], "name": producer["name"], "legal_form": producer["legal_form"],
                     "province": d.get("province")},
        "group": groups.label(d["group"]), "stars": d["stars"],
        "price_min": d.get("price_min"), "price_max": d.get("price_max"),
        "in_stock": d.get("in_stock", True), "image": d.get("image"),
        "highlight": {"name": hit.highlight.get("name"), "snippet": hit.highlight.get("snippet")},
    }


def render_facets(raw: dict, labels: dict | None = None) -> dict:
    """Facet counts with labels (from ``labels``, else the database), largest first."""

    def ordered(items):
        return sorted(items, key=lambda f: (-f["count"], str(f["value"])))

    out: dict = {}
    out["group"] = ordered([{"value": code, "label": groups.label(code)["name"],
                             "label_en": groups.label(code)["name_en"], "count": n}
                            for code, n in raw.get("group", {}).items()])
    out["stars"] = sorted([{"value": s, "count": n} for s, n in raw.get("stars", {}).items()],
                          key=lambda f: -f["value"])
    known = (labels or {}).get("province") or {}
    names = {code: known[code] for code in raw.get("province", {}) if code in known}
    codes, params = [code for code in raw.get("province", {}) if code not in names], {}
    if codes:
        names.update(sql.rows(f"SELECT code, name FROM administrative_unit WHERE code IN "
                              f"{sql.in_list('c', codes, params)}", params))
    out["province"] = ordered([{"value": code, "label": names.get(code, code), "count": n}
                               for code, n in raw.get("province", {}).items()])
    out["legal_form"] = ordered([{"value": form, "label": LEGAL_FORM_LABELS.get(form, (form, form))[0],
                                  "label_en": LEGAL_FORM_LABELS.get(form, (form, form))[1], "count": n}
                                 for form, n in raw.get("legal_form", {}).items()])
    prices = []
    for index, (key, low, high) in enumerate(PRICE_BUCKETS):
        n = raw.get("price", {}).get(index)
        if n:
            prices.append({"value": key, "min_price": low or 0, "max_price": high - 1 if high else None, "count": n})
    out["price"] = prices
    out["in_stock"] = [{"value": flag, "count": raw["in_stock"][flag]}
                       for flag in (True, False) if raw.get("in_stock", {}).get(flag)]
    return out


def _next_link(query: SearchQuery, result: SearchResult) -> str | None:
    if not has_request_context():
        return None
    shown = query.offset + len(result.hits)
    if shown >= result.total or not result.hits:
        return None
    args = request.args.to_dict()
    if result.next_cursor is not None or query.cursor is not None:
        cursor = result.next_cursor or {"s": query.sort, "o": shown}
        args.pop("page", None)
        args.update({"cursor": encode_cursor(cursor), "limit": query.limit})
    else:
        args.update({"page": query.page + 1, "limit": query.limit})
    return f"{request.path}?{urlencode(args)}"


def _cached(namespace: str, args: dict, build):
    """Answers are cached per process, keyed by the catalogue version (bumped by every index change) and the day.

    ``OCOP_SEARCH_CACHE=0`` switches the cache off (benchmarks of the uncached path).
    """
    from flask import current_app
    if not current_app.extensions.get("ocop_search_cache", True):
        return build()
    key = {k: (tuple(v) if isinstance(v, list) else v) for k, v in args.items()}
    if has_request_context():
        key["_path"] = request.path
    return catalogue_cache.cached(namespace, key, build)



def search(args: dict) -> dict:
    """Storefront search: ``{"results", "total", "next", "facets", "query"}`` (cached per catalogue version and
    pricing state, so a sale price starts and ends on time)."""
    now = clock.now()
    state = prices.pricing_state(now, *get_backend().request_columns())
    return _cached("search", {**args, "_pricing": state}, lambda: _search(args, now, state))


def _search(args: dict, now=None, state: tuple | None = None) -> dict:
    now = now or clock.now()
    query = build_query(args, sale=prices.sale_prices(now, state))
    try:
        result = get_backend().search(query)
    except SearchUnavailable as exc:
        raise _unavailable(exc)
    results = [render_hit(h) for h in result.hits]
    # the page's sale prices now: the resolver's offers for this pricing state (no resolution per page)
    for hit, rendered in zip(result.hits, results):
        offer = query.sale.offer(hit.document["id"])
        rendered.update(sale_price_min=offer.get("sale_price_min"), sale_ends_at=clock.local(offer.get("sale_ends_at")),
                        promotions=[{**p, "ends_at": clock.local(p["ends_at"])} for p in offer.get("promotions", [])])
    return {"results": results, "total": result.total,
            "next": _next_link(query, result), "facets": render_facets(result.facets, result.labels),
            "query": {"q": query.q, "corrected": result.corrected}}


def suggest(args: dict) -> dict:
    """Autocomplete: up to ``limit`` listed products whose name starts like ``q`` (cached per catalogue version)."""
    return _cached("suggest", args, lambda: _suggest(args))


def _suggest(args: dict) -> dict:
    try:
        hits = get_backend().suggest(args["q"], limit=args.get("limit", 8), today=clock.today())
    except SearchUnavailable as exc:
        raise _unavailable(exc)
    results = [{"slug": h.document["slug"], "name": h.document["name"],
                "producer": {"slug": h.document["producer"]["slug"], "name": h.document["producer"]["name"]},
                "highlight": h.highlight.get("name")} for h in hits]
    return {"results": results, "total": len(results), "next": None}


def reindex(progress=None, backend=None) -> dict:
    """Rebuild ``backend`` (default: the app's) from the database, then replay changes made meanwhile.

    Database backend: one transaction holding the drainer lock (searches keep
    seeing the old rows until it commits). Elasticsearch: a new index behind
    the alias; outbox rows created since shortly before the start are replayed
    against the new index after the swap, so nothing written during the build
    is lost.
    """
    backend = backend or get_backend()
    started = utcnow()
    total = count_listed()
    if backend.commits_with_database():
        try:
            outbox.lock_drainers()
            indexed = backend.rebuild(iter_documents(), total=total, progress=progress)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        replayed = 0
    else:
        db.session.commit()  # no transaction stays open while Elasticsearch builds
        indexed = backend.rebuild(iter_documents(), total=total, progress=progress)
        replayed = outbox.replay_since(started - REPLAY_MARGIN)
    drained = outbox.drain(backend)["processed"]
    bump()  # cached search answers must not outlive the rebuild
    db.session.commit()
    return {"backend": backend.name, "indexed": indexed, "listed": total, "replayed": replayed, "drained": drained}


def status() -> dict:
    """Backend name, documents indexed, listed products and pending outbox rows."""
    backend = get_backend()
    try:
        indexed = backend.count()
        reachable = True
    except SearchUnavailable:
        indexed, reachable = None, False
    return {"backend": backend.name, "reachable": reachable, "indexed": indexed, "listed": count_listed(),
            "pending": outbox.pending_count()}
