"""Storefront search endpoints, the search outbox and ``ocop search`` (database backend, real database).

Runs on SQLite, or on PostgreSQL with OCOP_TEST_DATABASE_URL. Nothing of ours
is mocked: the broker-down case points a real app at a closed port.
"""
from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.db import commit, db
from core.search.backend import PRICE_BUCKETS, price_bucket

BUOI = "Bưởi da xanh Bình Lợi"
HUONG_SON = "Rượu Nhung Hươu Hương Sơn"
HIEU_LIEM = "Rượu nhung nai Hiếu Liêm"


def search(client, **params):
    response = client.get("/storefront/v1/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def names(body):
    return [hit["name"] for hit in body["results"]]


def price_now(hit) -> int:
    """The lowest price a shopper pays now: the sale price while a promotion runs (what search filters,
    counts and sorts by), else the base lowest price."""
    sale = hit.get("sale_price_min")
    return hit["price_min"] if sale is None else min(sale, hit["price_min"])


def product(slug):
    from core.catalogue.models import Product
    return db.session.execute(select(Product).where(Product.slug == slug)).scalar_one()


def assert_error(response, status=422, code=None):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "message_en", "details"}
    if code:
        assert error["code"] == code
    return error


def assert_facets_match(body):
    """Facet counts equal counts over the (complete) result list."""
    hits = body["results"]
    assert body["total"] == len(hits)
    facets = body["facets"]
    expected = {
        "group": Counter(h["group"]["code"] for h in hits),
        "stars": Counter(h["stars"] for h in hits),
        "province": Counter(h["producer"]["province"]["code"] for h in hits),
        "legal_form": Counter(h["producer"]["legal_form"] for h in hits),
        "price": Counter(PRICE_BUCKETS[price_bucket(price_now(h))][0] for h in hits),
        "in_stock": Counter(h["in_stock"] for h in hits),
    }
    for name, counts in expected.items():
        got = {f["value"]: f["count"] for f in facets[name]}
        assert got == dict(counts), (name, got, dict(counts))


# --- the "done when" answers --------------------------------------------------------------------
def test_buoi_finds_binh_loi_pomelo_first(client, demo):
    body = search(client, q="buoi")
    assert names(body)[0] == BUOI
    assert set(names(body)) == {BUOI, "Tinh dầu bưởi Bình Lợi"}
    first = body["results"][0]
    assert first["highlight"]["name"] == "<mark>Bưởi</mark> da xanh Bình Lợi"
    assert "<mark>" in first["highlight"]["snippet"]
    assert {"slug", "name", "producer", "group", "stars", "price_min"} <= set(first)
    assert first["producer"]["province"] == {"code": "75", "name": "Đồng Nai"}
    assert first["price_min"] == 65000 and first["price_max"] == 150000
    assert body["next"] is None and body["query"] == {"q": "buoi", "corrected": None}
    assert_facets_match(body)


def test_ruou_nhung_finds_huong_son_and_never_the_expired_hieu_liem(client, demo):
    body = search(client, q="ruou nhung")
    assert names(body) == [HUONG_SON]
    for q in ("ruou nhung", "Rượu nhung nai", "hieu liem", "tram chau", "nai", "ruou"):
        assert HIEU_LIEM not in names(search(client, q=q, limit=100)), q
    assert HIEU_LIEM not in names(search(client, limit=100))
    suggestions = client.get("/storefront/v1/search/suggest", query_string={"q": "ruou nh"}).get_json()
    assert [s["name"] for s in suggestions["results"]] == [HUONG_SON]
    assert not any(s["name"] == "Bánh tét đặc sản Trần Gia" for s in search(client, q="banh tet")["results"])


@pytest.mark.parametrize("params", [
    {}, {"q": "dong nai"}, {"q": "binh loi"}, {"group": "food"}, {"q": "ruou"}, {"stars": 4},
    {"province": "75", "sort": "price_asc"}, {"in_stock": "true"}, {"min_price": 60000, "max_price": 300000},
])
def test_facet_counts_match_the_results(client, demo, params):
    body = search(client, limit=100, **params)
    assert body["total"] == len(body["results"]) > 0
    assert_facets_match(body)


def test_facets_have_labels(client, demo):
    facets = search(client)["facets"]
    assert {"value": "food", "label": "Thực phẩm", "label_en": "Food", "count": 3} in facets["group"]
    assert {"value": "75", "label": "Đồng Nai", "count": 5} in facets["province"]
    assert {"value": "cooperative", "label": "Hợp tác xã", "label_en": "Cooperative", "count": 4} in facets["legal_form"]
    assert facets["price"][0] == {"value": "0-100000", "min_price": 0, "max_price": 99999, "count": 4}
    assert facets["stars"] == [{"value": 4, "count": 4}, {"value": 3, "count": 3}]


# --- filters, sorts, paging ----------------------------------------------------------------------
def test_filters(client, demo):
    assert names(search(client, group="beverages")) == [HUONG_SON]
    assert set(names(search(client, q="binh loi", stars=4))) == {"Tinh dầu bưởi Bình Lợi"}
    assert set(names(search(client, province="42"))) == {"Cam Vũ Quang"}
    assert set(names(search(client, legal_form="cooperative_group"))) == {"Cam Vũ Quang"}
    assert set(names(search(client, q="buoi", max_price=60000))) == {"Tinh dầu bưởi Bình Lợi"}
    # the lamp (320,000 đ) sells at 272,000 đ in the demo's Đồng Nai campaign: below 300,000 now
    assert set(names(search(client, min_price=300000))) == {HUONG_SON}
    assert set(names(search(client, min_price=270000, max_price=280000))) == {"Đèn gỗ trang trí nội thất Trị An"}
    assert search(client, in_stock="false")["total"] == 0
    assert search(client, in_stock="true")["total"] == 7
    # former unit names still find products: Nam Định merged into Ninh Bình (37)
    body = search(client, q="nam dinh")
    assert names(body) == ["Trải nghiệm làng cây cảnh Vị Khê"]
    assert body["results"][0]["producer"]["province"]["code"] == "37"


def test_sorts(client, demo):
    prices = [price_now(h) for h in search(client, sort="price_asc")["results"]]
    assert prices == sorted(prices) and len(prices) == 7
    prices = [price_now(h) for h in search(client, sort="price_desc")["results"]]
    assert prices == sorted(prices, reverse=True)
    stars = [h["stars"] for h in search(client, sort="stars")["results"]]
    assert stars == sorted(stars, reverse=True)
    newest = names(search(client, sort="newest"))
    assert newest[0] == "Trải nghiệm làng cây cảnh Vị Khê"  # loaded last by the demo seed
    assert names(search(client, q="binh loi", sort="price_desc")) == [BUOI, "Tinh dầu bưởi Bình Lợi"]  # by lowest price


def test_paging_with_next_links(client, demo):
    seen = []
    body = search(client, limit=3, sort="price_asc")
    while True:
        seen += names(body)
        assert body["total"] == 7
        if not body["next"]:
            break
        assert "page=" in body["next"]
        response = client.get(body["next"])
        assert response.status_code == 200
        body = response.get_json()
    assert len(seen) == 7 == len(set(seen))
    # an explicit cursor continues by offset and links onwards with a cursor
    from core.search.backend import encode_cursor
    body = search(client, limit=3, sort="price_asc", cursor=encode_cursor({"s": "price_asc", "o": 3}))
    assert names(body) == seen[3:6] and "cursor=" in body["next"]


def test_typos_and_diacritics(client, demo):
    body = search(client, q="buoii")
    assert names(body)[0] == BUOI and body["query"]["corrected"] in ("buoi", None)
    assert names(search(client, q="buoi da xnah"))[0] == BUOI
    assert names(search(client, q="BƯỞI DA XANH"))[0] == BUOI
    assert names(search(client, q="đèn gỗ")) == ["Đèn gỗ trang trí nội thất Trị An"]
    assert names(search(client, q="den go")) == ["Đèn gỗ trang trí nội thất Trị An"]
    assert names(search(client, q="cam vu quang"))[0] == "Cam Vũ Quang"


def test_suggest(client, demo):
    response = client.get("/storefront/v1/search/suggest", query_string={"q": "bu"})
    assert response.status_code == 200
    body = response.get_json()
    assert [s["name"] for s in body["results"]][0] == BUOI
    assert body["results"][0]["highlight"] == "<mark>Bưởi</mark> da xanh Bình Lợi"
    assert body["total"] == len(body["results"]) and body["next"] is None
    assert [s["name"] for s in client.get("/storefront/v1/search/suggest?q=quy").get_json()["results"]] == [
        "Quýt hữu cơ Phú Lý"]


# --- bad input, access ---------------------------------------------------------------------------
@pytest.mark.parametrize("query", [
    "stars=7", "stars=abc", "sort=cheapest", "min_price=-1", "min_price=500&max_price=100", "limit=1000",
    "limit=0", "page=0", "group=weapons", "legal_form=ngo", "in_stock=maybe", "colour=red", "q=" + "x" * 201,
    "q=bad%00byte",
])
def test_bad_parameters_answer_422(client, demo, query):
    assert_error(client.get(f"/storefront/v1/search?{query}"))


def test_bad_cursor_and_window(client, demo):
    assert_error(client.get("/storefront/v1/search?cursor=not-a-cursor"), code="search.invalid_cursor")
    from core.search.backend import encode_cursor
    wrong_sort = encode_cursor({"s": "newest", "o": 3})
    assert_error(client.get(f"/storefront/v1/search?cursor={wrong_sort}&sort=price_asc"), code="search.invalid_cursor")
    assert_error(client.get("/storefront/v1/search?page=101&limit=100"), code="search.window_too_large")


@pytest.mark.parametrize("query", ["", "q=", "q=buoi&limit=21", "q=buoi&page=2", "q=" + "x" * 101])
def test_suggest_bad_parameters_answer_422(client, demo, query):
    assert_error(client.get(f"/storefront/v1/search/suggest?{query}"))


def test_search_is_public(client, demo):
    """Storefront search needs no token (no 401/403 case exists); a token is simply ignored."""
    assert client.get("/storefront/v1/search?q=buoi").status_code == 200
    assert client.get("/storefront/v1/search?q=buoi", headers={"Authorization": "Bearer nonsense"}).status_code == 200
    spec = client.get("/openapi.json").get_json()
    assert "/storefront/v1/search" in spec["paths"] and "/storefront/v1/search/suggest" in spec["paths"]


def test_readyz_reports_search(client, app):
    body = client.get("/readyz").get_json()
    assert body["checks"]["search"] == "ok"


# --- freshness: the outbox ---------------------------------------------------------------------------
def test_withdrawal_removes_the_product_at_once(client, demo, login):
    from core.search import outbox
    cert = product("buoi-da-xanh-binh-loi").current_certification()
    assert BUOI in names(search(client, q="buoi"))
    response = client.post(f"/admin/v1/certifications/{cert.id}/withdraw", json={"reason": "Vi phạm an toàn thực phẩm"},
                           headers=login("hoidong.dongnai"))
    assert response.status_code == 200, response.get_json()
    assert names(search(client, q="buoi")) == ["Tinh dầu bưởi Bình Lợi"]
    assert BUOI not in names(search(client, limit=100))
    suggestions = client.get("/storefront/v1/search/suggest?q=buoi da").get_json()["results"]
    assert BUOI not in [s["name"] for s in suggestions]
    assert outbox.pending_count() == 0


def test_product_variant_and_producer_changes_reach_the_index(client, demo, login):
    headers = login("admin")
    p = product("buoi-da-xanh-binh-loi")
    response = client.patch(f"/admin/v1/products/{p.id}", json={"description": "Bưởi đặc sản vùng phù sa Tân Triều"},
                            headers=headers)
    assert response.status_code == 200, response.get_json()
    assert names(search(client, q="phu sa tan trieu")) == [BUOI]
    variant = p.variants[0]
    response = client.patch(f"/admin/v1/variants/{variant.id}", json={"price": 62000}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert search(client, q="buoi da xanh")["results"][0]["price_min"] == 62000
    # a producer rename does not refresh listing state: the flush hook enqueues its listed products
    from core.catalogue.models import Producer
    producer = db.session.execute(select(Producer).where(Producer.name.like("HTX Dịch vụ - Nông nghiệp Bình Lợi"))).scalar_one()
    producer.name = "HTX Bưởi Tân Triều"
    commit()
    body = search(client, q="htx buoi tan trieu")
    assert set(names(body)) == {BUOI, "Tinh dầu bưởi Bình Lợi"}
    assert body["results"][0]["producer"]["name"] == "HTX Bưởi Tân Triều"


def test_enqueue_product_is_transactional(client, demo):
    """The API other services (stock) call: the row commits or rolls back with the caller's change."""
    from core.search import outbox
    from core.search.models import SearchOutbox
    p = product("cam-vu-quang")
    p.description = "Cam đường canh ngọt lịm"
    outbox.enqueue_product(p.id, "test")
    outbox.enqueue_product(p.id, "test")  # one row per product per transaction
    assert len([o for o in db.session.new if isinstance(o, SearchOutbox)]) == 1
    db.session.rollback()
    assert outbox.pending_count() == 0
    assert "Cam Vũ Quang" not in names(search(client, q="ngot lim"))
    p = product("cam-vu-quang")
    p.description = "Cam đường canh ngọt lịm"
    outbox.enqueue_product(p.id, "test")
    commit()  # drained right after commit (eager Celery)
    assert names(search(client, q="ngot lim"))[0] == "Cam Vũ Quang"
    assert outbox.pending_count() == 0
    unlisted = product("banh-tet-dac-san-tran-gia")
    outbox.enqueue_product(unlisted.id, "stock")
    assert not [o for o in db.session.new if isinstance(o, SearchOutbox)]


def test_plugin_fields_are_indexed_and_searchable(client, demo, app):
    from core.hookspecs import hookimpl
    from core.search import service
    from core.search.backend import load_documents

    class FairPlugin:
        @hookimpl
        def search_document(self, product, document):
            if product.slug == "cam-vu-quang":
                return {"fair_booth": "Gian hàng Hội chợ Xuân Bính Ngọ", "name": "ignored: core field"}

    pm = app.extensions["ocop_plugins"]
    pm.register(FairPlugin(), name="search-test-fair")
    try:
        service.reindex()
        doc = load_documents([product("cam-vu-quang").id])[product("cam-vu-quang").id]
        assert doc["fair_booth"] == "Gian hàng Hội chợ Xuân Bính Ngọ" and doc["name"] == "Cam Vũ Quang"
        if pm.has_plugin("hello"):
            assert doc["hello"] is True  # the installed test plugin's field
        assert names(search(client, q="hoi cho xuan binh ngo")) == ["Cam Vũ Quang"]
    finally:
        pm.unregister(name="search-test-fair")


def _cli(app, database_url, instance_path, *args):
    from core.cli import cli
    env = {"OCOP_DATABASE_URL": database_url, "OCOP_INSTANCE_PATH": str(instance_path), "OCOP_BROKER_URL": "",
           "OCOP_SEARCH_BACKEND": "database", "OCOP_ELASTICSEARCH_URL": ""}
    db.session.remove()  # release the test's connection (SQLite write lock)
    try:
        result = CliRunner().invoke(cli, list(args), env=env, obj={"pm": app.extensions["ocop_plugins"]},
                                    catch_exceptions=False)
    finally:
        from core.celery_app import init_celery
        init_celery(app)  # the CLI built its own app; bind tasks back to the test app
    assert result.exit_code == 0, result.output
    return result.output


def test_broker_down_keeps_work_until_ocop_search_sync(client, demo, app, settings, database_url, instance_path):
    """With the broker unreachable the commit succeeds, the outbox row waits, and `ocop search sync` drains it."""
    from core.app import create_app
    from core.celery_app import celery_app, init_celery
    from core.search.models import SearchOutbox
    from core.search import outbox
    down = create_app(dataclasses.replace(settings, broker_url="redis://127.0.0.1:1/0"))
    try:
        assert not celery_app.conf.task_always_eager
        down_client = down.test_client()
        token = down_client.post("/auth/token", json={"username": "hoidong.dongnai", "password": "ocop-demo-2026"})
        cert_id = product("buoi-da-xanh-binh-loi").current_certification().id
        db.session.remove()
        response = down_client.post(f"/admin/v1/certifications/{cert_id}/withdraw",
                                    json={"reason": "Kiểm tra phát hiện vi phạm"},
                                    headers={"Authorization": f"Bearer {token.get_json()['token']}"})
        assert response.status_code == 200, response.get_json()
    finally:
        init_celery(app)
        celery_app._after_fork()  # drop the connection pool made for the dead broker
    rows = db.session.execute(select(SearchOutbox).where(SearchOutbox.processed_at.is_(None))).scalars().all()
    assert [(r.product_id, r.reason) for r in rows] == [(product("buoi-da-xanh-binh-loi").id, "withdrawn")]
    assert not product("buoi-da-xanh-binh-loi").is_listed
    assert BUOI in names(search(client, q="buoi"))  # the index has not caught up yet: nothing was lost either
    output = _cli(app, database_url, instance_path, "search", "sync")
    assert "Synced 1 outbox rows; 0 pending." in output
    assert names(search(client, q="buoi")) == ["Tinh dầu bưởi Bình Lợi"]
    assert outbox.pending_count() == 0


def test_cli_reindex_and_status(client, demo, app, database_url, instance_path):
    from core.search.models import SearchDocument, SearchDocumentSource
    db.session.execute(SearchDocument.__table__.delete())
    db.session.execute(SearchDocumentSource.__table__.delete())
    from core.catalogue.version import bump
    bump()  # an index wiped behind the search service's back: invalidate cached answers too
    commit()
    assert search(client, q="buoi")["total"] == 0
    output = _cli(app, database_url, instance_path, "search", "reindex")
    assert "Indexed 7 listed products on the database backend" in output
    assert names(search(client, q="buoi"))[0] == BUOI
    output = _cli(app, database_url, instance_path, "search", "status")
    assert "backend=database reachable=True indexed=7 listed=7 pending=0" in output


def test_redis_broker_and_a_real_worker_drain_the_outbox(client, demo, app, settings, database_url, instance_path):
    """Production path: the commit publishes ``ocop.search.drain`` to Redis; a Celery worker process drains it."""
    import os
    import subprocess
    import sys
    import time
    from support.services import need_redis, redis_url
    need_redis()
    import redis
    from core.app import create_app
    from core.celery_app import celery_app, init_celery
    from core.search import outbox
    broker = redis_url(11)
    redis.Redis.from_url(broker).flushdb()
    env = {**os.environ, "OCOP_DATABASE_URL": database_url, "OCOP_INSTANCE_PATH": str(instance_path),
           "OCOP_BROKER_URL": broker, "OCOP_SEARCH_BACKEND": "database", "OCOP_ELASTICSEARCH_URL": ""}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "core.celery_worker", "worker", "--pool=solo",
                               "--loglevel=warning", "--without-heartbeat", "--without-mingle", "--without-gossip"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        broker_app = create_app(dataclasses.replace(settings, broker_url=broker))
        broker_client = broker_app.test_client()
        token = broker_client.post("/auth/token", json={"username": "hoidong.dongnai", "password": "ocop-demo-2026"})
        cert_id = product("buoi-da-xanh-binh-loi").current_certification().id
        db.session.remove()
        response = broker_client.post(f"/admin/v1/certifications/{cert_id}/withdraw", json={"reason": "Thu hồi"},
                                      headers={"Authorization": f"Bearer {token.get_json()['token']}"})
        assert response.status_code == 200, response.get_json()
        init_celery(app)
        celery_app._after_fork()
        deadline = time.monotonic() + 90  # a deadline for the worker to start and drain, not a timing assertion
        while time.monotonic() < deadline:
            db.session.remove()
            if outbox.pending_count() == 0:
                break
            time.sleep(0.3)
        assert outbox.pending_count() == 0, "the worker did not drain the outbox"
        assert names(search(client, q="buoi")) == ["Tinh dầu bưởi Bình Lợi"]
    finally:
        init_celery(app)
        celery_app._after_fork()
        worker.terminate()
        worker.wait(timeout=30)
