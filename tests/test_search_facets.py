"""The database backend's facet columns and bounded ranking (``core.search.facets``, ``core.search.database``).

Every answer is checked against plain SQL over ``search_document`` on the
same real database (SQLite, or PostgreSQL with OCOP_TEST_DATABASE_URL): totals,
facet counts and stored orders; the columns must follow index writes through
``search_index_change`` (caught up, or reloaded when the log cannot say).
"""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text

from core import clock
from core.db import db
from core.search import database, facets, service
from core.search.backend import PRICE_BUCKETS

BUOI = "Bưởi da xanh Bình Lợi"
ORDERS = {"relevance": "d.stars DESC, d.created_at DESC, d.product_id DESC",
          "price_asc": "d.price_min ASC, d.product_id ASC", "price_desc": "d.price_min DESC, d.product_id DESC",
          "newest": "d.created_at DESC, d.product_id DESC", "stars": "d.stars DESC, d.product_id ASC"}
FACET_COLUMNS = {"group": "group_code", "stars": "stars", "province": "province_code", "legal_form": "legal_form",
                 "price": "price_bucket", "in_stock": "in_stock"}


@pytest.fixture
def catalogue(app, demo):
    from core.search.sample import generate_catalogue
    generate_catalogue(400)
    service.reindex()
    return app


def search(client, **params):
    response = client.get("/storefront/v1/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def expected_browse(params: dict) -> dict:
    """Total, facet counts and the page's slugs of a browse request, straight from SQL."""
    where, values = ["d.listed_until > :today"], {"today": clock.today()}
    for key, column in (("group", "group_code"), ("stars", "stars"), ("province", "province_code"),
                        ("legal_form", "legal_form")):
        if key in params:
            where.append(f"d.{column} = :{key}")
            values[key] = params[key]
    if "in_stock" in params:
        where.append("d.in_stock = :in_stock")
        values["in_stock"] = params["in_stock"] == "true"
    if "min_price" in params:
        where.append("d.price_min >= :min_price")
        values["min_price"] = params["min_price"]
    if "max_price" in params:
        where.append("d.price_min <= :max_price")
        values["max_price"] = params["max_price"]
    condition = " AND ".join(where)
    total = db.session.execute(text(f"SELECT count(*) FROM search_document d WHERE {condition}"), values).scalar()
    counts = {}
    for facet, column in FACET_COLUMNS.items():
        rows = db.session.execute(text(f"SELECT d.{column}, count(*) FROM search_document d WHERE {condition} "
                                       f"AND d.{column} IS NOT NULL GROUP BY d.{column}"), values).all()
        if facet == "price":
            counts[facet] = {PRICE_BUCKETS[int(v)][0]: n for v, n in rows}
        elif facet == "in_stock":
            counts[facet] = {bool(v): n for v, n in rows}
        else:
            counts[facet] = {v: n for v, n in rows}
    limit, page = params.get("limit", 20), params.get("page", 1)
    slugs = db.session.execute(text(
        f"SELECT p.slug FROM search_document d JOIN product p ON p.id = d.product_id WHERE {condition} "
        f"ORDER BY {ORDERS[params.get('sort', 'relevance')]} LIMIT {limit} OFFSET {(page - 1) * limit}"),
        values).scalars().all()
    return {"total": total, "facets": counts, "slugs": slugs}


def answered(body: dict) -> dict:
    return {"total": body["total"], "slugs": [h["slug"] for h in body["results"]],
            "facets": {name: {f["value"]: f["count"] for f in values} for name, values in body["facets"].items()}}


@pytest.mark.parametrize("params", [
    {}, {"sort": "price_asc"}, {"sort": "price_desc", "page": 3}, {"sort": "newest", "limit": 7, "page": 5},
    {"sort": "stars", "page": 2}, {"group": "food"}, {"stars": 3, "in_stock": "true", "sort": "price_asc"},
    {"province": "75", "sort": "newest"}, {"legal_form": "cooperative", "stars": 4},
    {"min_price": 100000, "max_price": 200000}, {"min_price": 150000, "sort": "price_asc", "page": 2},
    {"max_price": 100000, "group": "food"}, {"min_price": 99000, "max_price": 500000, "in_stock": "false"},
    {"group": "tourism", "stars": 5, "province": "01"},
])
def test_browse_answers_equal_sql(client, catalogue, params):
    body, want = search(client, **params), expected_browse(params)
    assert answered(body) == want


def test_text_query_facets_count_every_match(client, catalogue):
    """Facets of a word query equal counts over all its pages (the ids came from the engine, counts from memory)."""
    for params in ({"q": "ruou"}, {"q": "mat ong", "in_stock": "true"}, {"q": "dong nai", "sort": "price_asc"}):
        body, hits, page = search(client, limit=100, **params), [], 1
        total, facet_counts = body["total"], answered(body)["facets"]
        while body["results"]:
            hits += body["results"]
            page += 1
            body = search(client, limit=100, page=page, **params)
        assert total == len(hits) == len({h["slug"] for h in hits}) > 0, params
        want = {"group": {}, "stars": {}, "province": {}, "legal_form": {}, "price": {}, "in_stock": {}}
        for h in hits:
            for name, value in (("group", h["group"]["code"]), ("stars", h["stars"]),
                                ("province", h["producer"]["province"]["code"]),
                                ("legal_form", h["producer"]["legal_form"]), ("in_stock", h["in_stock"]),
                                ("price", next(key for key, low, high in PRICE_BUCKETS
                                               if (low is None or h["price_min"] >= low)
                                               and (high is None or h["price_min"] < high)))):
                want[name][value] = want[name].get(value, 0) + 1
        assert facet_counts == want, params


def _head():
    return db.session.execute(text("SELECT seq, token FROM search_index_change ORDER BY seq DESC LIMIT 1")).one()


def _set_price(client, login, slug, price):
    from core.catalogue.models import Product
    product = db.session.execute(select(Product).where(Product.slug == slug)).scalar_one()
    pid, variant_ids = product.id, [v.id for v in product.variants]
    for variant_id in variant_ids:  # every variant: the lowest price is the product's
        response = client.patch(f"/admin/v1/variants/{variant_id}", json={"price": price}, headers=login("admin"))
        assert response.status_code == 200, response.get_json()
    db.session.remove()
    return pid


def test_columns_catch_up_with_index_writes_and_reload_when_the_log_cannot_say(client, catalogue, login):
    params = {"min_price": 1_000_000, "max_price": 2_000_000, "sort": "price_asc"}
    search(client)
    before = facets.current()
    pid = _set_price(client, login, "buoi-da-xanh-binh-loi", 1_234_000)
    caught_up = before.caught_up(*_head())
    indexed = db.session.execute(text("SELECT price_min FROM search_document WHERE product_id = :p"), {"p": pid})
    assert caught_up is not None and caught_up.price[pid] == indexed.scalar() == 1_234_000
    assert before.price[pid] == 65000  # the published copy is never changed in place
    assert answered(search(client, **params)) == expected_browse(params)
    assert BUOI in [h["name"] for h in search(client, **params)["results"]]
    # the log wiped (its rows gone, then new writes): nothing to catch up from, the columns are reloaded
    latest = facets.current()
    db.session.execute(delete(database.SearchIndexChange))
    db.session.commit()
    _set_price(client, login, "cam-vu-quang", 1_500_000)
    assert latest.caught_up(*_head()) is None
    assert answered(search(client, **params)) == expected_browse(params)
    assert "Cam Vũ Quang" in [h["name"] for h in search(client, **params)["results"]]


def test_very_common_queries_rank_a_bounded_candidate_set_and_page_consistently(client, catalogue, monkeypatch):
    """With tiny thresholds every query is "very common": pages still cover each match exactly once."""
    monkeypatch.setattr(database, "COMMON_MATCHES", 10)
    monkeypatch.setattr(database, "COMMON_CANDIDATES", 7)
    for params in ({"q": "ruou"}, {"q": "ruou", "stars": 3}, {"q": "buoi"}):
        first = search(client, limit=3, **params)
        total, seen, page = first["total"], [], 1
        assert total > 10, params
        body = first
        while body["results"]:
            seen += [h["slug"] for h in body["results"]]
            page += 1
            body = search(client, limit=3, page=page, **params)
        assert len(seen) == total == len(set(seen)), params
        full = search(client, limit=100, **params)
        assert [h["slug"] for h in full["results"]] == seen[:100], params


def test_last_resort_needs_all_words_but_one(client, demo):
    names = [h["name"] for h in search(client, q="buoi binh loi zq")["results"]]
    assert BUOI in names and "Tinh dầu bưởi Bình Lợi" in names
