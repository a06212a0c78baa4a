"""Relevance suite: fixed queries with expected top results, on every search backend available.

Catalogues: the demo catalogue, and the demo catalogue plus a generated one
(``core.search.sample``, fixed seed, 3,000 products across all provinces).
Backends: ``database`` on the test database (SQLite, or PostgreSQL when
OCOP_TEST_DATABASE_URL is set), and ``elasticsearch`` when
OCOP_ELASTICSEARCH_URL points at a live node (indices use a throwaway prefix
and are deleted afterwards). Every query goes through the storefront
endpoint; every answer is also checked for invariants (only listed products,
facet counts adding up to the total).
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import pytest
from sqlalchemy import delete, select

from core.text import fold
from support.services import need_service

ES_URL = os.environ.get("OCOP_ELASTICSEARCH_URL")
BACKENDS = ["database"] + (["elasticsearch"] if ES_URL else [])
LARGE_SIZE = 3000

BUOI = "Bưởi da xanh Bình Lợi"
TINH_DAU = "Tinh dầu bưởi Bình Lợi"
HUONG_SON = "Rượu Nhung Hươu Hương Sơn"
HIEU_LIEM = "Rượu nhung nai Hiếu Liêm"
CAM = "Cam Vũ Quang"
DEN = "Đèn gỗ trang trí nội thất Trị An"
VI_KHE = "Trải nghiệm làng cây cảnh Vị Khê"
QUYT = "Quýt hữu cơ Phú Lý"


@dataclass
class Case:
    """One query and what must hold for its answer."""

    q: str
    params: dict = field(default_factory=dict)
    first: str | None = None                 # exact name of the first hit
    top: tuple = ()                          # names that must all be in the top ``k``
    k: int = 3
    exactly: tuple | None = None             # the complete set of hits
    all_contain: str | None = None           # every hit of the first page contains these (folded) words
    first_contains: str | None = None        # the first hit's name contains this word exactly (diacritics kept)
    province: str | None = None              # every hit of the first page is in this current province
    absent: tuple = (HIEU_LIEM,)             # names that must never appear

    def __str__(self):
        return self.q + (f" {self.params}" if self.params else "")


DEMO_CASES = [
    Case("buoi", first=BUOI, exactly=(BUOI, TINH_DAU)),
    Case("bưởi", first=BUOI, exactly=(BUOI, TINH_DAU)),
    Case("ruou nhung", first=HUONG_SON, exactly=(HUONG_SON,)),
    Case("Rượu nhung nai", absent=(HIEU_LIEM,)),
    Case("cam vu quang", first=CAM),
    Case("buoii", first=BUOI),
    Case("buoi da xnah", first=BUOI),
    Case("nhan tuan nhan", first=DEN),
    Case("son an huong son", first=HUONG_SON),
    Case("htx binh loi", top=(BUOI, TINH_DAU), k=2),
    Case("ha tinh", exactly=(CAM,)),
    Case("dong nai", exactly=(HUONG_SON, BUOI, TINH_DAU, DEN, QUYT), province="75"),
    Case("vinh cuu", exactly=(HUONG_SON, BUOI, TINH_DAU, DEN, QUYT)),
    Case("nam dinh", exactly=(VI_KHE,), province="37"),
    Case("quyt huu co", first=QUYT),
    Case("đèn", first=DEN),
    Case("tinh dau", first=TINH_DAU),
    Case("lang cay canh", first=VI_KHE),
    Case("tram chau", exactly=()),
    Case("ruou", params={"stars": 4}, exactly=(HUONG_SON,)),
    Case("", params={"group": "food", "sort": "price_asc"}, exactly=(BUOI, QUYT, CAM)),
]

LARGE_CASES = [
    Case("buoi da xanh binh loi", first=BUOI),
    Case("ruou nhung huong son", first=HUONG_SON),
    Case("ruou nhung", first=HUONG_SON),
    Case("cam vu quang", top=(CAM,), k=3),
    Case("buoii", all_contain="buoi"),
    Case("buoi da xnah", all_contain="buoi da xanh"),
    Case("mat ogn", all_contain="mat ong"),
    Case("nuoc mam", all_contain="nuoc mam"),
    Case("lua to tam", all_contain="lua to tam"),
    Case("mật ong rừng", all_contain="mat ong rung"),
    Case("ha tinh", province="42"),
    Case("nam dinh", province="37"),
    Case("htx binh loi", top=(BUOI, TINH_DAU), k=2),
    Case("đen", first_contains="đen"),
    Case("đèn", first_contains="đèn"),
    Case("mè", first_contains="mè"),
    Case("tieu den", all_contain="tieu den"),
    Case("ruou", params={"group": "beverages", "stars": 4, "sort": "price_asc"}, all_contain="ruou"),
    Case("", params={"province": "75", "legal_form": "cooperative", "in_stock": "true"}),
    Case("gao st25", params={"min_price": 40000, "max_price": 50000}, all_contain="gao st25"),
]


def _price_now(hit) -> int:
    """What price filters and sorts use: the sale price while a promotion runs, else the base lowest price."""
    sale = hit.get("sale_price_min")
    return hit["price_min"] if sale is None else min(sale, hit["price_min"])


def _clean(app):
    from core.db import db
    from core.catalogue import version as catalogue_cache
    catalogue_cache.clear()
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if conn.dialect.has_table(conn, table.name):
                    conn.execute(delete(table))


@pytest.fixture(scope="module")
def catalogue(request, _migrated_app):
    """``demo`` or ``large``: loaded once per module and kind, removed afterwards."""
    from core.db import commit, db
    from core.demo import seed_demo
    from core.search import service
    from core.search.sample import generate_catalogue
    app = _migrated_app
    with app.app_context():
        seed_demo()
        commit()
        if request.param == "large":
            generate_catalogue(LARGE_SIZE)
            service.reindex()
        db.session.remove()
    yield request.param
    _clean(app)


@pytest.fixture(scope="module")
def engine(request, catalogue, _migrated_app):
    """The search backend under test, installed as the app's backend while the module's queries run."""
    app = _migrated_app
    original = app.extensions["ocop_search"]
    if request.param == "database":
        yield app.test_client()
        return
    from core.search import service
    from core.search.elasticsearch import ElasticsearchBackend
    backend = ElasticsearchBackend([u.strip() for u in ES_URL.split(",")], prefix=f"ocop-test-{uuid.uuid4().hex[:8]}")
    with app.app_context():
        service.reindex(backend=backend)
    from core.catalogue import version as catalogue_cache
    app.extensions["ocop_search"] = backend
    catalogue_cache.clear()  # answers cached from the other backend
    try:
        yield app.test_client()
    finally:
        app.extensions["ocop_search"] = original
        catalogue_cache.clear()
        backend.drop()


def _listed_slugs(app) -> set[str]:
    from core import clock
    from core.db import db
    from core.catalogue.models import Product
    with app.app_context():
        return set(db.session.execute(select(Product.slug).where(Product.is_listed.is_(True),
                                                                 Product.listed_until > clock.today())).scalars())


def _check(client, app, case: Case):
    params = {"limit": 20, **case.params}
    if case.q:
        params["q"] = case.q
    response = client.get("/storefront/v1/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    hits = body["results"]
    names = [h["name"] for h in hits]
    # invariants ------------------------------------------------------------------------
    assert {h["slug"] for h in hits} <= _listed_slugs(app), "an unlisted product was returned"
    assert sum(f["count"] for f in body["facets"]["group"]) == body["total"]
    assert sum(f["count"] for f in body["facets"]["stars"]) == body["total"]
    assert len(hits) == min(20, body["total"])
    for name in case.absent:
        assert name not in names
    for key, value in case.params.items():
        for hit in hits:
            if key == "group":
                assert hit["group"]["code"] == value
            elif key == "stars":
                assert hit["stars"] == value
            elif key == "province":
                assert hit["producer"]["province"]["code"] == value
            elif key == "legal_form":
                assert hit["producer"]["legal_form"] == value
            elif key == "in_stock":
                assert hit["in_stock"] is (value == "true")
            elif key == "min_price":
                assert _price_now(hit) >= value
            elif key == "max_price":
                assert _price_now(hit) <= value
    if case.params.get("sort") == "price_asc":
        prices = [_price_now(h) for h in hits]
        assert prices == sorted(prices)
    # expectations --------------------------------------------------------------------------
    if case.first is not None:
        assert names and names[0] == case.first, names[:5]
    if case.top:
        assert set(case.top) <= set(names[:case.k]), names[:case.k]
    if case.exactly is not None:
        assert sorted(names) == sorted(case.exactly) and body["total"] == len(case.exactly), names
    if case.all_contain:
        assert hits, "no results"
        for name in names:
            assert f" {case.all_contain} " in f" {' '.join(fold(name).split())} ", (name, names)
    if case.first_contains:
        assert hits and case.first_contains in names[0].lower().split(), names[:5]
    if case.province:
        assert hits and all(h["producer"]["province"]["code"] == case.province for h in hits), \
            [(h["name"], h["producer"]["province"]) for h in hits if h["producer"]["province"]["code"] != case.province]
    return body


@pytest.mark.parametrize("engine", BACKENDS, indirect=True)
@pytest.mark.parametrize("catalogue,case", [("demo", c) for c in DEMO_CASES] + [("large", c) for c in LARGE_CASES],
                         indirect=["catalogue"], ids=str)
def test_relevance(engine, catalogue, case, _migrated_app):
    _check(engine, _migrated_app, case)


@pytest.mark.parametrize("engine", BACKENDS, indirect=True)
@pytest.mark.parametrize("catalogue", ["large"], indirect=True)
def test_large_catalogue_paging_and_only_listed(engine, catalogue, _migrated_app):
    """Walk every page of a common word: no duplicates, nothing unlisted, total as announced."""
    listed = _listed_slugs(_migrated_app)
    body = engine.get("/storefront/v1/search", query_string={"q": "ruou", "limit": 100}).get_json()
    total, seen = body["total"], []
    assert total > 100
    while True:
        seen += [h["slug"] for h in body["results"]]
        if not body["next"]:
            break
        body = engine.get(body["next"]).get_json()
    assert len(seen) == total == len(set(seen))
    assert set(seen) <= listed
    everything = engine.get("/storefront/v1/search", query_string={"limit": 1}).get_json()
    assert everything["total"] == len(listed)


def test_live_elasticsearch_node():
    """Reminder in the report: the suite also runs on Elasticsearch when OCOP_ELASTICSEARCH_URL is set."""
    need_service("elasticsearch", bool(ES_URL), "set OCOP_ELASTICSEARCH_URL=http://host:9200 to run the suite "
                 "against a live node", required_here=False)
