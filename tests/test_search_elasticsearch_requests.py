"""The Elasticsearch backend's exact requests, sent by the real ``elasticsearch`` client to a local listener.

No Elasticsearch server can be installed here, and no fake search engine is
used: ``support.es_listener`` records the HTTP requests and answers canned
ES-shaped JSON. Against a live node, run ``tests/test_search_relevance.py``
with ``OCOP_ELASTICSEARCH_URL`` set.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from core.db import db
from core.search.backend import SearchQuery, SearchUnavailable, load_documents
from core.search.elasticsearch import ElasticsearchBackend, index_template
from support.es_listener import Listener

TODAY = dt.date(2026, 11, 23)
INDEX_RE = re.compile(r"^/ocop-products-\d{8}t\d{12}$")


@pytest.fixture
def listener():
    listener = Listener().start()
    yield listener
    listener.stop()


@pytest.fixture
def es(listener):
    return ElasticsearchBackend([listener.url], prefix="ocop", request_timeout=5)


@pytest.fixture
def on_es(app, es):
    """The app answering storefront searches from the Elasticsearch backend (restored afterwards)."""
    from core.catalogue import version as catalogue_cache
    original = app.extensions["ocop_search"], app.extensions["ocop_search_ping"]
    app.extensions["ocop_search"], app.extensions["ocop_search_ping"] = es, es.ping
    catalogue_cache.clear()  # answers cached from the database backend
    yield es
    app.extensions["ocop_search"], app.extensions["ocop_search_ping"] = original
    catalogue_cache.clear()


def _doc(slug):
    from core.catalogue.models import Product
    pid = db.session.execute(select(Product.id).where(Product.slug == slug)).scalar_one()
    return load_documents([pid])[pid]


FOLDED_TEXT = {"type": "text", "analyzer": "vi_text", "fields": {"folded": {"type": "text", "analyzer": "vi_folding"}}}


def test_index_template_and_first_index(listener, es):
    es.ensure_index()
    assert listener.lines()[:2] == ["PUT /_index_template/ocop-products", "GET /_alias/ocop-products"]
    template = listener.requests[0].body
    assert template["index_patterns"] == ["ocop-products-*"] and template["priority"] == 200
    assert template["_meta"] == {"managed_by": "ocop-commerce", "version": 1}
    settings, mappings = template["template"]["settings"], template["template"]["mappings"]
    assert settings == {"number_of_shards": 1, "analysis": {
        "analyzer": {
            "vi_text": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]},
            "vi_folding": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "vi_ascii_folding"]},
        },
        "filter": {"vi_ascii_folding": {"type": "asciifolding", "preserve_original": False}},
        "normalizer": {"vi_keyword": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
    }}
    props = mappings["properties"]
    assert props["name"] == {"type": "text", "analyzer": "vi_text", "fields": {
        "folded": {"type": "text", "analyzer": "vi_folding"},
        "sayt": {"type": "search_as_you_type", "analyzer": "vi_folding"},
        "keyword": {"type": "keyword", "normalizer": "vi_keyword", "ignore_above": 256}}}
    for text_field in ("description", "story", "places", "group_name", "product_set_name", "extra_text"):
        assert props[text_field] == FOLDED_TEXT
    assert props["producer"] == {"properties": {"id": {"type": "long"}, "slug": {"type": "keyword"},
                                                "name": FOLDED_TEXT, "legal_form": {"type": "keyword"}}}
    assert props["province"] == {"properties": {"code": {"type": "keyword"}, "name": FOLDED_TEXT}}
    for keyword in ("slug", "group", "legal_form", "province_code", "product_set", "level", "criteria_set"):
        assert props[keyword] == {"type": "keyword"}
    assert props["stars"] == {"type": "integer"} and props["in_stock"] == {"type": "boolean"}
    assert props["price_min"] == props["price_max"] == {"type": "long"}
    for date_field in ("listed_until", "created_at", "updated_at", "certified_on", "certification_expires_on"):
        assert props[date_field] == {"type": "date"}
    assert set(props) == {"id", "slug", "name", "description", "story", "producer", "legal_form", "group",
                          "group_name", "group_name_en", "product_set", "product_set_name", "product_set_name_en",
                          "stars", "level", "criteria_set", "certified_on", "certification_expires_on", "price_min",
                          "price_max", "in_stock", "province", "province_code", "commune", "places", "image",
                          "created_at", "updated_at", "listed_until", "extra_text"}
    assert mappings["dynamic_templates"] == [{"plugin_strings": {"match_mapping_type": "string", "mapping": {
        "type": "text", "analyzer": "vi_text", "fields": {"folded": {"type": "text", "analyzer": "vi_folding"},
                                                          "keyword": {"type": "keyword", "ignore_above": 256}}}}}]
    assert template == {**index_template("ocop"), "template": template["template"]}
    # no alias yet: the first physical index is created as the alias' write index
    create = listener.requests[2]
    assert create.method == "PUT" and INDEX_RE.match(create.path)
    assert create.body == {"aliases": {"ocop-products": {"is_write_index": True}}}
    es.ensure_index()  # once per backend instance
    assert len(listener.requests) == 3


def test_bulk_bodies_from_the_database(listener, es, demo):
    listener.aliases["ocop-products"] = ["ocop-products-1"]
    buoi = _doc("buoi-da-xanh-binh-loi")
    assert es.bulk([("index", buoi["id"], buoi), ("delete", 999, None)]) == 2  # a missing delete is fine
    bulk = listener.requests[-1]
    assert bulk.line == "PUT /_bulk" or bulk.line == "POST /_bulk"
    assert bulk.query == {"refresh": "wait_for"}
    assert bulk.body == [{"index": {"_index": "ocop-products", "_id": str(buoi["id"])}}, buoi,
                         {"delete": {"_index": "ocop-products", "_id": "999"}}]
    source = bulk.body[1]
    assert source["name"] == "Bưởi da xanh Bình Lợi" and source["group"] == "food" and source["stars"] == 3
    assert source["province"] == {"code": "75", "name": "Đồng Nai"} and source["legal_form"] == "cooperative"
    assert {"Bình Lợi", "Vĩnh Cửu", "Đồng Nai", "Phường Tân Triều"} <= set(source["places"])
    assert source["price_min"] == 65000 and source["price_max"] == 150000 and source["in_stock"] is True
    assert source["listed_until"] == "2027-09-20" and source["level"] == "district"
    # a refused document raises (the drainer keeps its outbox rows)
    listener.bulk_fail_ids.add(str(buoi["id"]))
    with pytest.raises(SearchUnavailable, match="refused 1 actions"):
        es.bulk([("index", buoi["id"], buoi)])


EXPECTED_TEXT_QUERY = {"bool": {
    "must": [{"bool": {"should": [
        {"multi_match": {"query": "bưởi da", "type": "best_fields", "operator": "and", "fuzziness": "AUTO",
                         "prefix_length": 1, "fields": ["name.folded^4", "producer.name.folded^2", "places.folded^1.5",
                                                        "group_name.folded", "product_set_name.folded",
                                                        "description.folded", "story.folded^0.5",
                                                        "extra_text.folded"]}},
        {"multi_match": {"query": "bưởi da", "type": "cross_fields", "operator": "and",
                         "fields": ["name.folded^4", "producer.name.folded^2", "places.folded^1.5",
                                    "group_name.folded", "product_set_name.folded", "description.folded",
                                    "story.folded^0.5", "extra_text.folded"]}},
        {"multi_match": {"query": "bưởi da", "type": "bool_prefix", "operator": "and",
                         "fields": ["name.sayt", "name.sayt._2gram", "name.sayt._3gram"]}},
    ], "minimum_should_match": 1}}],
    "should": [
        {"match_phrase": {"name.folded": {"query": "bưởi da", "boost": 3}}},
        {"match_phrase_prefix": {"name.folded": {"query": "bưởi da", "boost": 2}}},
        {"multi_match": {"query": "bưởi da", "type": "best_fields", "boost": 2,
                         "fields": ["name^4", "producer.name^2", "places^1.5", "description"]}},
    ],
}}
EXPECTED_AGGS = {
    "group": {"terms": {"field": "group", "size": 50}},
    "stars": {"terms": {"field": "stars", "size": 10}},
    "province": {"terms": {"field": "province_code", "size": 100}},
    "legal_form": {"terms": {"field": "legal_form", "size": 10}},
    "price": {"range": {"field": "price_min", "ranges": [
        {"key": "0-100000", "to": 100000}, {"key": "100000-200000", "from": 100000, "to": 200000},
        {"key": "200000-500000", "from": 200000, "to": 500000}, {"key": "500000-1000000", "from": 500000, "to": 1000000},
        {"key": "1000000-", "from": 1000000}]}},
    "in_stock": {"terms": {"field": "in_stock", "size": 2}},
}
EXPECTED_HIGHLIGHT = {"pre_tags": ["<mark>"], "post_tags": ["</mark>"], "encoder": "html", "fields": {
    "name.folded": {"number_of_fragments": 0},
    "description.folded": {"fragment_size": 160, "number_of_fragments": 1},
    "story.folded": {"fragment_size": 160, "number_of_fragments": 1}}}


def _answer(buoi, tinh_dau, total=3):
    return {"took": 2, "timed_out": False, "hits": {"total": {"value": total, "relation": "eq"}, "max_score": 12.5,
                                                      "hits": [
        {"_index": "ocop-products-1", "_id": str(buoi["id"]), "_score": 12.5, "_source": buoi, "sort": [12.5, buoi["id"]],
         "highlight": {"name.folded": ["<mark>Bưởi</mark> <mark>da</mark> xanh Bình Lợi"],
                       "description.folded": ["<mark>Bưởi</mark> <mark>da</mark> xanh trồng trên đất phù sa"]}},
        {"_index": "ocop-products-1", "_id": str(tinh_dau["id"]), "_score": 8.25, "_source": tinh_dau,
         "sort": [8.25, tinh_dau["id"]], "highlight": {"name.folded": ["Tinh <mark>dầu</mark> <mark>bưởi</mark> Bình Lợi"]}},
    ]}, "aggregations": {
        "group": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                  "buckets": [{"key": "food", "doc_count": 2}, {"key": "medicinal_herbs", "doc_count": 1}]},
        "stars": {"buckets": [{"key": 3, "doc_count": 2}, {"key": 4, "doc_count": 1}]},
        "province": {"buckets": [{"key": "75", "doc_count": 3}]},
        "legal_form": {"buckets": [{"key": "cooperative", "doc_count": 3}]},
        "price": {"buckets": [{"key": "0-100000", "to": 100000.0, "doc_count": 2},
                              {"key": "100000-200000", "from": 100000.0, "to": 200000.0, "doc_count": 1},
                              {"key": "200000-500000", "from": 200000.0, "to": 500000.0, "doc_count": 0},
                              {"key": "500000-1000000", "from": 500000.0, "to": 1000000.0, "doc_count": 0},
                              {"key": "1000000-", "from": 1000000.0, "doc_count": 0}]},
        "in_stock": {"buckets": [{"key": 1, "key_as_string": "true", "doc_count": 3}]},
    }}


def test_search_query_aggregations_and_search_after(listener, es, demo):
    buoi, tinh_dau = _doc("buoi-da-xanh-binh-loi"), _doc("tinh-dau-buoi-binh-loi")
    listener.search_answer = _answer(buoi, tinh_dau)
    query = SearchQuery(q="Bưởi da", group="food", stars=3, province="75", legal_form="cooperative",
                        min_price=50000, max_price=200000, in_stock=True, limit=2, today=TODAY)
    result = es.search(query)
    request = listener.requests[-1]
    assert request.line == "POST /ocop-products/_search"
    assert request.body == {
        "query": {"bool": {"must": [EXPECTED_TEXT_QUERY], "filter": [
            {"range": {"listed_until": {"gt": "2026-11-23"}}},
            {"term": {"group": "food"}}, {"term": {"stars": 3}}, {"term": {"province_code": "75"}},
            {"term": {"legal_form": "cooperative"}}, {"term": {"in_stock": True}},
            {"range": {"price_min": {"gte": 50000, "lte": 200000}}}]}},
        "sort": [{"_score": "desc"}, {"id": "asc"}],
        "size": 2, "from": 0, "track_total_hits": True,
        "aggs": EXPECTED_AGGS, "highlight": EXPECTED_HIGHLIGHT,
    }
    assert result.total == 3 and [h.document["name"] for h in result.hits] == [buoi["name"], tinh_dau["name"]]
    assert result.hits[0].highlight == {"name": "<mark>Bưởi</mark> <mark>da</mark> xanh Bình Lợi",
                                        "snippet": "<mark>Bưởi</mark> <mark>da</mark> xanh trồng trên đất phù sa"}
    assert result.facets == {"group": {"food": 2, "medicinal_herbs": 1}, "stars": {3: 2, 4: 1}, "province": {"75": 3},
                             "legal_form": {"cooperative": 3}, "price": {0: 2, 1: 1}, "in_stock": {True: 3}}
    assert result.next_cursor == {"s": "relevance", "a": [8.25, tinh_dau["id"]], "o": 2}
    # the next page continues after the last hit's sort values
    es.search(SearchQuery(q="Bưởi da", limit=2, cursor=result.next_cursor, today=TODAY))
    body = listener.requests[-1].body
    assert body["search_after"] == [8.25, tinh_dau["id"]] and "from" not in body
    # browsing without words: filters only, best stars then newest
    es.search(SearchQuery(sort="relevance", limit=20, today=TODAY, facets=False))
    assert listener.requests[-1].body == {
        "query": {"bool": {"filter": [{"range": {"listed_until": {"gt": "2026-11-23"}}}]}},
        "sort": [{"stars": "desc"}, {"created_at": "desc"}, {"id": "desc"}], "size": 20, "from": 0,
        "track_total_hits": True}
    es.search(SearchQuery(q="mat ong", sort="price_desc", page=3, limit=10, today=TODAY))
    body = listener.requests[-1].body
    assert body["sort"] == [{"price_min": "desc"}, {"id": "desc"}] and body["from"] == 20


def test_storefront_endpoints_on_elasticsearch(client, demo, listener, on_es):
    buoi, tinh_dau = _doc("buoi-da-xanh-binh-loi"), _doc("tinh-dau-buoi-binh-loi")
    listener.search_answer = _answer(buoi, tinh_dau)
    response = client.get("/storefront/v1/search?q=bưởi da&limit=2")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [h["name"] for h in body["results"]] == [buoi["name"], tinh_dau["name"]] and body["total"] == 3
    assert body["results"][1]["highlight"] == {"name": "Tinh <mark>dầu</mark> <mark>bưởi</mark> Bình Lợi",
                                               "snippet": None}
    assert {"value": "food", "label": "Thực phẩm", "label_en": "Food", "count": 2} in body["facets"]["group"]
    assert body["facets"]["province"] == [{"value": "75", "label": "Đồng Nai", "count": 3}]
    assert body["facets"]["price"][0] == {"value": "0-100000", "min_price": 0, "max_price": 99999, "count": 2}
    assert "cursor=" in body["next"] and "page=" not in body["next"]
    listener.clear()
    assert client.get(body["next"]).status_code == 200
    assert listener.requests[-1].body["search_after"] == [8.25, tinh_dau["id"]]
    # autocomplete
    listener.clear()
    response = client.get("/storefront/v1/search/suggest?q=ruou nh&limit=5")
    assert response.status_code == 200
    assert listener.requests[-1].line == "POST /ocop-products/_search"
    assert listener.requests[-1].body == {
        "size": 5,
        "query": {"bool": {
            "must": [{"bool": {"should": [
                {"multi_match": {"query": "ruou nh", "type": "bool_prefix", "operator": "and",
                                 "fields": ["name.sayt", "name.sayt._2gram", "name.sayt._3gram"]}},
                {"match": {"name.folded": {"query": "ruou nh", "operator": "and", "fuzziness": "AUTO",
                                           "prefix_length": 1}}}], "minimum_should_match": 1}}],
            "should": [{"match_phrase_prefix": {"name.folded": {"query": "ruou nh", "boost": 3}}},
                       {"match": {"name": {"query": "ruou nh", "boost": 2}}}],
            "filter": [{"range": {"listed_until": {"gt": "2026-11-23"}}}]}},
        "sort": [{"_score": "desc"}, {"id": "asc"}],
        "highlight": {"pre_tags": ["<mark>"], "post_tags": ["</mark>"], "encoder": "html",
                      "fields": {"name.folded": {"number_of_fragments": 0}}},
    }
    assert client.get("/readyz").get_json()["checks"]["search"] == "ok"


def test_reindex_builds_a_new_index_and_swaps_the_alias(listener, es, demo):
    from core.search import service
    listener.aliases["ocop-products"] = ["ocop-products-20250101t000000000000"]
    result = service.reindex(backend=es)
    assert result["backend"] == "elasticsearch" and result["indexed"] == 7
    lines = listener.lines()
    new = next(r.path for r in listener.requests if r.method == "PUT" and INDEX_RE.match(r.path))
    assert lines[:8] == [
        "PUT /_index_template/ocop-products",
        f"PUT {new}",
        "PUT /_bulk",
        f"PUT {new}/_settings",
        f"POST {new}/_refresh",
        "GET /_alias/ocop-products",
        "POST /_aliases",
        "DELETE /ocop-products-20250101t000000000000",
    ]
    create, bulk, settings, swap = (listener.requests[i] for i in (1, 2, 3, 6))
    assert create.body == {"settings": {"index": {"refresh_interval": "-1"}}}
    assert bulk.query == {} and len(bulk.body) == 14
    assert {line["index"]["_index"] for line in bulk.body[::2]} == {new.lstrip("/")}
    assert sorted(d["name"] for d in bulk.body[1::2])[:2] == ["Bưởi da xanh Bình Lợi", "Cam Vũ Quang"]
    assert "Rượu nhung nai Hiếu Liêm" not in [d["name"] for d in bulk.body[1::2]]
    assert settings.body == {"index": {"refresh_interval": "1s"}}
    assert swap.body == {"actions": [
        {"remove": {"index": "ocop-products-20250101t000000000000", "alias": "ocop-products"}},
        {"add": {"index": new.lstrip("/"), "alias": "ocop-products", "is_write_index": True}}]}
    assert listener.aliases["ocop-products"] == [new.lstrip("/")]
    # changes recorded by the demo load are replayed against the new index (through the alias)
    assert result["replayed"] > 0 and result["drained"] == result["replayed"]
    replay = [r for r in listener.requests[8:] if r.path == "/_bulk"]
    assert replay and replay[0].query == {"refresh": "wait_for"}
    assert {line["index"]["_index"] for line in replay[0].body[::2]} == {"ocop-products"}


def test_elasticsearch_down_keeps_outbox_rows_and_answers_503(client, demo, app, login):
    from core.catalogue.models import Product
    from core.search.models import SearchOutbox
    from core.search import outbox
    down = ElasticsearchBackend(["http://127.0.0.1:1"], request_timeout=1)
    assert down.ping() is False
    original = app.extensions["ocop_search"], app.extensions["ocop_search_ping"]
    app.extensions["ocop_search"], app.extensions["ocop_search_ping"] = down, down.ping
    from core.catalogue import version as catalogue_cache
    catalogue_cache.clear()
    try:
        cert = db.session.execute(select(Product).where(Product.slug == "cam-vu-quang")).scalar_one() \
            .current_certification()
        response = client.post(f"/admin/v1/certifications/{cert.id}/withdraw", json={"reason": "Kiểm tra định kỳ"},
                               headers=login("admin"))
        assert response.status_code == 200  # the change commits; index work waits
        rows = db.session.execute(select(SearchOutbox).where(SearchOutbox.processed_at.is_(None))).scalars().all()
        assert len(rows) == 1 and rows[0].attempts == 1 and "ConnectionError" in rows[0].last_error
        with pytest.raises(SearchUnavailable):
            outbox.drain()
        response = client.get("/storefront/v1/search?q=cam")
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "search.unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["checks"]["search"] == "error"
    finally:
        app.extensions["ocop_search"], app.extensions["ocop_search_ping"] = original
    assert outbox.drain()["processed"] == 1  # back on a reachable backend: nothing was lost
    assert "Cam Vũ Quang" not in [h["name"] for h in client.get("/storefront/v1/search?q=cam").get_json()["results"]]
