"""Search filters, counts and sorts by the price a shopper pays now (issue 9): a promotion active now moves a
product into a lower price bucket and sort position, and back when it ends — no job, no re-index — on the
database backend and, by its exact request, on Elasticsearch."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core import clock
from core.db import db
from core.search import prices
from core.search.backend import SearchQuery
from core.search.elasticsearch import PRICE_NOW_SCRIPT, ElasticsearchBackend, aggregations
from support.es_listener import Listener
from support.pricing import make_promotion, window

CAM = "cam-vu-quang"  # 250,000 đ: bucket 200,000–500,000; not in the demo's Đồng Nai campaign
TODAY = dt.date(2026, 11, 23)


def product_id(slug: str) -> int:
    from core.catalogue.models import Product
    return db.session.execute(select(Product.id).where(Product.slug == slug)).scalar_one()


def search(client, **params):
    response = client.get("/storefront/v1/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bucket_counts(body) -> dict:
    return {f["value"]: f["count"] for f in body["facets"]["price"]}


def slugs(body) -> list[str]:
    return [h["slug"] for h in body["results"]]


def cam_at_50k(**when):
    from core.pricing.models import Promotion
    promotion = make_promotion(kind="fixed_price", value=50_000, scope={"products": [product_id(CAM)]},
                               name="Cam đồng giá", name_en="Oranges at one price", **when)
    return db.session.get(Promotion, promotion.id)


def move_to(monkeypatch, moment: dt.datetime) -> None:
    """The project's clock (``OCOP_TODAY``) on the Vietnam date of ``moment``."""
    monkeypatch.setenv("OCOP_TODAY", moment.astimezone(clock.VN_TZ).date().isoformat())


@pytest.mark.parametrize("cache", [False, True], ids=["uncached", "answer-cache"])
def test_a_sale_moves_a_product_to_the_lower_bucket_and_sort_position_then_back(app, client, demo, monkeypatch,
                                                                                 cache):
    monkeypatch.setitem(app.extensions, "ocop_search_cache", cache)
    before = search(client, sort="price_asc", limit=50)
    cam_at = slugs(before).index(CAM)
    assert bucket_counts(before)["200000-500000"] >= 1
    base_buckets = bucket_counts(before)
    in_200k = search(client, min_price=200_000, max_price=499_999, limit=50)
    assert CAM in slugs(in_200k)

    promotion = cam_at_50k(**window(days_before=1, days_after=3))
    during = search(client, sort="price_asc", limit=50)
    cam = next(h for h in during["results"] if h["slug"] == CAM)
    assert (cam["price_min"], cam["sale_price_min"]) == (250_000, 50_000)
    assert slugs(during)[0] == CAM and cam_at > 0  # the cheapest now
    prices_now = [min(h["price_min"], h["sale_price_min"] or h["price_min"]) for h in during["results"]]
    assert prices_now == sorted(prices_now)
    assert bucket_counts(during).get("200000-500000", 0) == base_buckets["200000-500000"] - 1
    assert bucket_counts(during)["0-100000"] == base_buckets["0-100000"] + 1
    assert CAM not in slugs(search(client, min_price=200_000, max_price=499_999, limit=50))
    assert CAM in slugs(search(client, min_price=40_000, max_price=99_999, limit=50))
    # a text query ranks in SQL: its price range must be on the price now too
    assert CAM in slugs(search(client, q="cam", max_price=60_000))
    assert CAM not in slugs(search(client, q="cam", min_price=200_000))
    assert slugs(search(client, q="cam vu quang", sort="price_desc"))[0] == CAM
    assert slugs(search(client, sort="price_desc", limit=50))[-1] == CAM

    move_to(monkeypatch, promotion.ends_at + dt.timedelta(days=1))  # the window is over: no job has run
    after = search(client, sort="price_asc", limit=50)
    assert slugs(after).index(CAM) == cam_at
    assert bucket_counts(after) == base_buckets
    assert CAM in slugs(search(client, min_price=200_000, max_price=499_999, limit=50))
    assert CAM in slugs(search(client, q="cam", min_price=200_000))


def test_a_scheduled_sale_starts_on_time(client, demo, monkeypatch):
    now = clock.now()
    promotion = cam_at_50k(starts_at=now + dt.timedelta(days=2), ends_at=now + dt.timedelta(days=5))
    assert CAM in slugs(search(client, min_price=200_000, max_price=499_999))
    move_to(monkeypatch, promotion.starts_at + dt.timedelta(days=1))
    assert CAM in slugs(search(client, max_price=99_999))
    assert CAM not in slugs(search(client, min_price=200_000, max_price=499_999))


def test_sale_prices_follow_the_pricing_state(app, demo, monkeypatch):
    cam = product_id(CAM)
    first = prices.sale_prices(clock.now())
    assert cam not in first.prices and first.prices  # the demo campaign's products are on sale
    promotion = cam_at_50k(**window(days_before=1, days_after=3))
    db.session.commit()
    now = prices.sale_prices(clock.now())
    assert now.key != first.key and now.prices[cam] == 50_000
    assert prices.sale_prices(clock.now()) is now  # one computation per pricing state
    move_to(monkeypatch, promotion.ends_at + dt.timedelta(days=1))
    assert cam not in prices.sale_prices(clock.now()).prices


@pytest.fixture
def listener():
    listener = Listener().start()
    yield listener
    listener.stop()


def test_elasticsearch_filters_counts_and_sorts_by_the_price_now(listener, demo):
    es = ElasticsearchBackend([listener.url], prefix="ocop", request_timeout=5)
    sale = prices.SalePrices(("state",), {12: 125_000, 3: 59_500})
    es.search(SearchQuery(min_price=100_000, max_price=199_999, sort="price_asc", limit=5, today=TODAY, sale=sale))
    script = {"source": PRICE_NOW_SCRIPT, "params": {"sale": {"3": 59_500, "12": 125_000}}}
    assert listener.requests[-1].body == {
        "query": {"bool": {"filter": [{"range": {"listed_until": {"gt": "2026-11-23"}}},
                                      {"range": {"price_now": {"gte": 100_000, "lte": 199_999}}}]}},
        "sort": [{"price_now": "asc"}, {"id": "asc"}], "size": 5, "from": 0, "track_total_hits": True,
        "runtime_mappings": {"price_now": {"type": "long", "script": script}},
        "aggs": {**aggregations(), "price": {"range": {"field": "price_now",
                                                       "ranges": aggregations()["price"]["range"]["ranges"]}}},
    }
    assert PRICE_NOW_SCRIPT == (
        "def id = String.valueOf(doc['id'].value); def base = doc['price_min'].size() > 0 ? "
        "doc['price_min'].value : null; def sale = params.sale.get(id); "
        "if (sale != null && (base == null || sale < base)) { emit(sale); } "
        "else if (base != null) { emit(base); }")
    # nothing on sale: the plain request on the indexed lowest price
    es.search(SearchQuery(sort="price_desc", limit=5, today=TODAY, facets=False, sale=prices.NONE))
    assert listener.requests[-1].body == {
        "query": {"bool": {"filter": [{"range": {"listed_until": {"gt": "2026-11-23"}}}]}},
        "sort": [{"price_min": "desc"}, {"id": "desc"}], "size": 5, "from": 0, "track_total_hits": True}


def test_a_sale_that_moves_no_products_lowest_price_keeps_price_filters_working(app, client, demo):
    """Only live promotion: 10 % off the 190,000 đ bottle of an oil whose 55,000 đ bottle stays its lowest
    price. The priced facet columns then equal the base ones; price filters must still answer (was a 500)."""
    from sqlalchemy import update
    from core.catalogue.models import Variant
    from core.db import commit
    from core.pricing import version
    from core.pricing.models import Promotion
    db.session.execute(update(Promotion).where(Promotion.status == "published").values(status="ended"))
    version.bump()
    commit()
    big = db.session.execute(select(Variant.id).where(Variant.sku == "BL-TDB-50")).scalar_one()
    make_promotion(kind="percentage", value=10, scope={"variants": [big]}, **window(days_before=1, days_after=3))
    assert prices.sale_prices(clock.now())  # a sale is live: the priced copy of the columns is used
    body = search(client, min_price=50_000, max_price=60_000, limit=50)
    assert "tinh-dau-buoi-binh-loi" in slugs(body)
    assert "tinh-dau-buoi-binh-loi" not in slugs(search(client, q="tinh dau", min_price=100_000))
