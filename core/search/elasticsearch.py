"""The ``elasticsearch`` search backend (official ``elasticsearch`` client).

Index layout
    An index template ``<prefix>-products`` applies to every physical index
    ``<prefix>-products-<timestamp>``; the alias ``<prefix>-products`` points at
    the live one (and is its write index). ``rebuild`` creates a new physical
    index, bulk-loads it with refresh switched off, then swaps the alias in
    one ``_aliases`` call and deletes the old index: searches never see a
    half-built index.

Vietnamese analysis
    Text fields keep the original words (``vi_text``: standard tokenizer +
    lowercase) with a ``.folded`` sub-field (``vi_folding``: + ``asciifolding``,
    which also maps đ→d). Queries must match the folded fields (fuzzy, AUTO
    edits, so "buoii" and "xnah" still match) and get a boost when they match
    the original fields too, so the exact diacritic spelling ranks first.
    ``name.sayt`` (``search_as_you_type`` with the folding analyzer) serves
    prefix matching and autocomplete.

Queries
    Facets are aggregations over the filtered matches (terms on group,
    stars, province, legal form and in-stock; a range aggregation on the lowest
    price); paging beyond the first page uses ``search_after`` with the sort
    values of the last hit (the cursor); highlights come from the folded
    sub-fields, whose offsets point into the original text.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable, Iterable

from core import clock
from core.search.backend import (PRICE_BUCKETS, Action, SearchBackend, SearchHit, SearchQuery, SearchResult,
                                 SearchUnavailable, highlight, parse_query)

log = logging.getLogger(__name__)

HIGHLIGHT_TAGS = {"pre_tags": ["<mark>"], "post_tags": ["</mark>"], "encoder": "html"}
FOLDED_FIELDS = ["name.folded^4", "producer.name.folded^2", "places.folded^1.5", "group_name.folded",
                 "product_set_name.folded", "description.folded", "story.folded^0.5", "extra_text.folded"]
EXACT_FIELDS = ["name^4", "producer.name^2", "places^1.5", "description"]
SAYT_FIELDS = ["name.sayt", "name.sayt._2gram", "name.sayt._3gram"]


def _text(analyzer_fields: dict | None = None) -> dict:
    mapping = {"type": "text", "analyzer": "vi_text", "fields": {"folded": {"type": "text", "analyzer": "vi_folding"}}}
    if analyzer_fields:
        mapping["fields"].update(analyzer_fields)
    return mapping


def index_template(prefix: str = "ocop", shards: int = 1, replicas: int | None = None) -> dict:
    """The body of ``PUT _index_template/<prefix>-products`` (settings, Vietnamese analyzers, mappings)."""
    settings = {
        "number_of_shards": shards,
        "analysis": {
            "analyzer": {
                "vi_text": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]},
                "vi_folding": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "vi_ascii_folding"]},
            },
            "filter": {"vi_ascii_folding": {"type": "asciifolding", "preserve_original": False}},
            "normalizer": {"vi_keyword": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
        },
    }
    if replicas is not None:
        settings["number_of_replicas"] = replicas
    unit = {"properties": {"code": {"type": "keyword"}, "name": _text()}}
    mappings = {
        "dynamic": True,
        "dynamic_templates": [
            {"plugin_strings": {"match_mapping_type": "string", "mapping": {
                "type": "text", "analyzer": "vi_text",
                "fields": {"folded": {"type": "text", "analyzer": "vi_folding"},
                           "keyword": {"type": "keyword", "ignore_above": 256}}}}},
        ],
        "properties": {
            "id": {"type": "long"},
            "slug": {"type": "keyword"},
            "name": _text({"sayt": {"type": "search_as_you_type", "analyzer": "vi_folding"},
                           "keyword": {"type": "keyword", "normalizer": "vi_keyword", "ignore_above": 256}}),
            "description": _text(),
            "story": _text(),
            "producer": {"properties": {"id": {"type": "long"}, "slug": {"type": "keyword"}, "name": _text(),
                                        "legal_form": {"type": "keyword"}}},
            "legal_form": {"type": "keyword"},
            "group": {"type": "keyword"},
            "group_name": _text(),
            "group_name_en": {"type": "text"},
            "product_set": {"type": "keyword"},
            "product_set_name": _text(),
            "product_set_name_en": {"type": "text"},
            "stars": {"type": "integer"},
            "level": {"type": "keyword"},
            "criteria_set": {"type": "keyword"},
            "certified_on": {"type": "date"},
            "certification_expires_on": {"type": "date"},
            "price_min": {"type": "long"},
            "price_max": {"type": "long"},
            "in_stock": {"type": "boolean"},
            "province": unit,
            "province_code": {"type": "keyword"},
            "commune": unit,
            "places": _text(),
            "image": {"type": "keyword", "index": False},
            "created_at": {"type": "date"},
            "updated_at": {"type": "date"},
            "listed_until": {"type": "date"},
            "extra_text": _text(),
        },
    }
    return {"index_patterns": [f"{prefix}-products-*"], "priority": 200,
            "template": {"settings": settings, "mappings": mappings},
            "_meta": {"managed_by": "ocop-commerce", "version": 1}}


#: the lowest price now: the sale price of an on-sale product (request parameter), else the indexed lowest price
PRICE_NOW = "price_now"
PRICE_NOW_SCRIPT = ("def id = String.valueOf(doc['id'].value); def base = doc['price_min'].size() > 0 ? "
                    "doc['price_min'].value : null; def sale = params.sale.get(id); "
                    "if (sale != null && (base == null || sale < base)) { emit(sale); } "
                    "else if (base != null) { emit(base); }")


def _price_field(query: SearchQuery) -> str:
    """``price_min`` (indexed), or the runtime field :data:`PRICE_NOW` when some product is on sale now."""
    return PRICE_NOW if query.sale else "price_min"


def runtime_mappings(query: SearchQuery) -> dict:
    """The request's runtime field of the price now (the sale prices of :mod:`core.search.prices` as a
    parameter), so filters, the price facet and price sorts follow a sale from its start to its end."""
    sale = {str(product_id): price for product_id, price in sorted(query.sale.prices.items())}
    return {PRICE_NOW: {"type": "long", "script": {"source": PRICE_NOW_SCRIPT, "params": {"sale": sale}}}}


def _filters(query: SearchQuery, today: dt.date) -> list[dict]:
    filters: list[dict] = [{"range": {"listed_until": {"gt": today.isoformat()}}}]
    for field, value in (("group", query.group), ("stars", query.stars), ("province_code", query.province),
                         ("legal_form", query.legal_form), ("in_stock", query.in_stock)):
        if value is not None:
            filters.append({"term": {field: value}})
    price = {}
    if query.min_price is not None:
        price["gte"] = query.min_price
    if query.max_price is not None:
        price["lte"] = query.max_price
    if price:
        filters.append({"range": {_price_field(query): price}})
    return filters


def text_query(q: str) -> dict:
    """Must match the folded fields (all words, fuzzy; or across fields; or as-you-type prefix); exact spelling boosts."""
    return {"bool": {
        "must": [{"bool": {"should": [
            {"multi_match": {"query": q, "type": "best_fields", "fields": FOLDED_FIELDS, "operator": "and",
                             "fuzziness": "AUTO", "prefix_length": 1}},
            {"multi_match": {"query": q, "type": "cross_fields", "fields": FOLDED_FIELDS, "operator": "and"}},
            {"multi_match": {"query": q, "type": "bool_prefix", "fields": SAYT_FIELDS, "operator": "and"}},
        ], "minimum_should_match": 1}}],
        "should": [
            {"match_phrase": {"name.folded": {"query": q, "boost": 3}}},
            {"match_phrase_prefix": {"name.folded": {"query": q, "boost": 2}}},
            {"multi_match": {"query": q, "type": "best_fields", "fields": EXACT_FIELDS, "boost": 2}},
        ],
    }}


SORTS = {
    "relevance": [{"_score": "desc"}, {"id": "asc"}],
    "browse": [{"stars": "desc"}, {"created_at": "desc"}, {"id": "desc"}],
    "price_asc": [{"price_min": "asc"}, {"id": "asc"}],
    "price_desc": [{"price_min": "desc"}, {"id": "desc"}],
    "stars": [{"stars": "desc"}, {"_score": "desc"}, {"id": "asc"}],
    "newest": [{"created_at": "desc"}, {"id": "desc"}],
}


def aggregations(price_field: str = "price_min") -> dict:
    """Facet aggregations (computed over the filtered matches; the price facet on ``price_field``)."""
    ranges = []
    for key, low, high in PRICE_BUCKETS:
        r = {"key": key}
        if low is not None:
            r["from"] = low
        if high is not None:
            r["to"] = high
        ranges.append(r)
    return {
        "group": {"terms": {"field": "group", "size": 50}},
        "stars": {"terms": {"field": "stars", "size": 10}},
        "province": {"terms": {"field": "province_code", "size": 100}},
        "legal_form": {"terms": {"field": "legal_form", "size": 10}},
        "price": {"range": {"field": price_field, "ranges": ranges}},
        "in_stock": {"terms": {"field": "in_stock", "size": 2}},
    }


def search_body(query: SearchQuery) -> dict:
    """The ``_search`` request body for a storefront query."""
    today = query.today or clock.today()
    parsed = query.parsed
    filters = _filters(query, today)
    if parsed:
        q = " ".join(parsed.exact)
        es_query = {"bool": {"must": [text_query(q)], "filter": filters}}
    else:
        es_query = {"bool": {"filter": filters}}
    sort_name = query.sort if (query.sort != "relevance" or parsed) else "browse"
    sort = SORTS[sort_name]
    if query.sale:
        sort = [{PRICE_NOW: order["price_min"]} if "price_min" in order else order for order in sort]
    body: dict = {
        "query": es_query,
        "sort": sort,
        "size": query.limit,
        "track_total_hits": True,
    }
    if query.cursor and "a" in query.cursor:
        body["search_after"] = query.cursor["a"]
    else:
        body["from"] = query.offset
    if query.sale:
        body["runtime_mappings"] = runtime_mappings(query)
    if query.facets:
        body["aggs"] = aggregations(_price_field(query))
    if parsed:
        body["highlight"] = {**HIGHLIGHT_TAGS, "fields": {
            "name.folded": {"number_of_fragments": 0},
            "description.folded": {"fragment_size": 160, "number_of_fragments": 1},
            "story.folded": {"fragment_size": 160, "number_of_fragments": 1},
        }}
    return body


def suggest_body(q: str, limit: int, today: dt.date) -> dict:
    """The ``_search`` body for autocomplete: as-you-type prefix on the folded name, fuzzy as a fallback."""
    text = " ".join(parse_query(q).exact)
    return {
        "size": limit,
        "query": {"bool": {
            "must": [{"bool": {"should": [
                {"multi_match": {"query": text, "type": "bool_prefix", "fields": SAYT_FIELDS, "operator": "and"}},
                {"match": {"name.folded": {"query": text, "operator": "and", "fuzziness": "AUTO", "prefix_length": 1}}},
            ], "minimum_should_match": 1}}],
            "should": [{"match_phrase_prefix": {"name.folded": {"query": text, "boost": 3}}},
                       {"match": {"name": {"query": text, "boost": 2}}}],
            "filter": [{"range": {"listed_until": {"gt": today.isoformat()}}}],
        }},
        "sort": [{"_score": "desc"}, {"id": "asc"}],
        "highlight": {**HIGHLIGHT_TAGS, "fields": {"name.folded": {"number_of_fragments": 0}}},
    }


def _facets(aggs: dict) -> dict:
    out: dict = {}
    for name in ("group", "stars", "province", "legal_form"):
        out[name] = {(int(b["key"]) if name == "stars" else b["key"]): b["doc_count"]
                     for b in aggs.get(name, {}).get("buckets", [])}
    price = {}
    buckets = aggs.get("price", {}).get("buckets", [])
    keyed = {b.get("key"): b for b in buckets} if isinstance(buckets, list) else buckets
    for index, (key, _, _) in enumerate(PRICE_BUCKETS):
        bucket = keyed.get(key)
        if bucket and bucket.get("doc_count"):
            price[index] = bucket["doc_count"]
    out["price"] = price
    out["in_stock"] = {(b.get("key_as_string", str(b["key"])) in ("true", "1")): b["doc_count"]
                       for b in aggs.get("in_stock", {}).get("buckets", [])}
    return out


class ElasticsearchBackend(SearchBackend):
    """Search on an Elasticsearch cluster through an alias (zero-downtime rebuilds)."""

    name = "elasticsearch"

    def __init__(self, urls: list[str] | None = None, prefix: str = "ocop", client=None,
                 request_timeout: float = 10.0, replicas: int | None = None) -> None:
        if client is None:
            from elasticsearch import Elasticsearch
            if not urls:
                raise ValueError("OCOP_ELASTICSEARCH_URL is required for the elasticsearch search backend")
            client = Elasticsearch(urls, request_timeout=request_timeout, max_retries=2, retry_on_timeout=True)
        self.client = client
        self.prefix = prefix
        self.alias = f"{prefix}-products"
        self.template_name = f"{prefix}-products"
        self.replicas = replicas
        self._ready = False

    # helpers -------------------------------------------------------------------------------------
    def _call(self, what: str, fn, *args, **kwargs):
        from elasticsearch import ApiError, TransportError
        try:
            return fn(*args, **kwargs)
        except (TransportError, ApiError) as exc:
            raise SearchUnavailable(f"elasticsearch {what} failed: {exc}") from exc

    def new_index_name(self) -> str:
        """A fresh physical index name, e.g. ``ocop-products-20261123t101500123456``."""
        return f"{self.alias}-{dt.datetime.now(dt.timezone.utc):%Y%m%dt%H%M%S%f}"

    def put_template(self) -> None:
        """Create or update the index template (idempotent)."""
        body = index_template(self.prefix, replicas=self.replicas)
        self._call("put_index_template", self.client.indices.put_index_template, name=self.template_name,
                   index_patterns=body["index_patterns"], priority=body["priority"], template=body["template"],
                   meta=body["_meta"])

    def alias_targets(self) -> list[str]:
        """Physical indices the alias points at (empty when it does not exist yet)."""
        from elasticsearch import NotFoundError
        try:
            response = self.client.indices.get_alias(name=self.alias)
        except NotFoundError:
            return []
        except Exception as exc:
            raise SearchUnavailable(f"elasticsearch get_alias failed: {exc}") from exc
        return sorted(response.body.keys())

    def ensure_index(self) -> None:
        """Make sure the template, a physical index and the alias exist (first use)."""
        if self._ready:
            return
        self.put_template()
        if not self.alias_targets():
            index = self.new_index_name()
            self._call("create index", self.client.indices.create, index=index,
                       aliases={self.alias: {"is_write_index": True}})
        self._ready = True

    # writes ---------------------------------------------------------------------------------------
    def _actions(self, actions: Iterable[Action], index: str, op_index: str = "index"):
        for op, pid, doc in actions:
            if op == "index":
                yield {"_op_type": op_index, "_index": index, "_id": str(pid), "_source": doc}
            else:
                yield {"_op_type": "delete", "_index": index, "_id": str(pid)}

    def _bulk(self, actions, refresh, progress=None) -> int:
        from elasticsearch import helpers
        applied, errors = 0, []
        options = {"refresh": refresh} if refresh is not None else {}
        try:
            for ok, item in helpers.streaming_bulk(self.client, actions, chunk_size=500, raise_on_error=False,
                                                   max_retries=2, initial_backoff=1, **options):
                op, info = next(iter(item.items()))
                if ok or (op == "delete" and info.get("status") == 404):
                    applied += 1
                else:
                    errors.append(info)
                if progress:
                    progress(1)
        except SearchUnavailable:
            raise
        except Exception as exc:
            raise SearchUnavailable(f"elasticsearch bulk failed: {exc}") from exc
        if errors:
            raise SearchUnavailable(f"elasticsearch refused {len(errors)} actions, first: {errors[0]}")
        return applied

    def bulk(self, actions: Iterable[Action]) -> int:
        """Index/delete through the alias; returns when the changes are searchable (``refresh=wait_for``)."""
        actions = list(actions)
        if not actions:
            return 0
        self.ensure_index()
        return self._bulk(self._actions(actions, self.alias), refresh="wait_for")

    def rebuild(self, documents: Iterable[dict], total: int | None = None,
                progress: Callable[[int], None] | None = None) -> int:
        """Build a new physical index, then swap the alias to it atomically and drop the old one(s)."""
        self.put_template()
        index = self.new_index_name()
        self._call("create index", self.client.indices.create, index=index,
                   settings={"index": {"refresh_interval": "-1"}})
        count = self._bulk(self._actions((("index", d["id"], d) for d in documents), index), refresh=None,
                           progress=progress)
        self._call("put_settings", self.client.indices.put_settings, index=index,
                   settings={"index": {"refresh_interval": "1s"}})
        self._call("refresh", self.client.indices.refresh, index=index)
        old = self.alias_targets()
        actions = [{"remove": {"index": name, "alias": self.alias}} for name in old]
        actions.append({"add": {"index": index, "alias": self.alias, "is_write_index": True}})
        self._call("update_aliases", self.client.indices.update_aliases, actions=actions)
        for name in old:
            self._call("delete index", self.client.indices.delete, index=name)
        self._ready = True
        return count

    def drop(self) -> None:
        """Delete every physical index behind the alias and the template (tests, decommissioning)."""
        for name in self.alias_targets():
            self._call("delete index", self.client.indices.delete, index=name)
        from elasticsearch import NotFoundError
        try:
            self.client.indices.delete_index_template(name=self.template_name)
        except NotFoundError:
            pass
        self._ready = False

    def count(self) -> int:
        """Documents behind the alias."""
        self.ensure_index()
        return int(self._call("count", self.client.count, index=self.alias)["count"])

    def ping(self) -> bool:
        """The cluster answers ``HEAD /``."""
        try:
            return bool(self.client.ping())
        except Exception:
            return False

    # reads --------------------------------------------------------------------------------------------
    def _search(self, body: dict) -> dict:
        from elasticsearch import NotFoundError
        try:
            return self.client.search(index=self.alias, **body).body
        except NotFoundError:
            return {"hits": {"total": {"value": 0}, "hits": []}, "aggregations": {}}
        except Exception as exc:
            raise SearchUnavailable(f"elasticsearch search failed: {exc}") from exc

    def search(self, query: SearchQuery) -> SearchResult:
        """One ``_search`` request: query, filters, sort, aggregations, highlights; cursor = ``search_after``."""
        body = search_body(query)
        response = self._search(body)
        tokens = query.parsed.tokens
        hits = []
        for raw in response["hits"]["hits"]:
            doc = raw["_source"]
            hl = raw.get("highlight") or {}
            snippet = (hl.get("description.folded") or hl.get("story.folded") or [None])[0]
            name = (hl.get("name.folded") or [None])[0] or highlight(doc["name"], tokens)
            hits.append(SearchHit(document=doc, score=raw.get("_score"), highlight={"name": name, "snippet": snippet},
                                  sort=raw.get("sort")))
        total = response["hits"]["total"]
        total = total["value"] if isinstance(total, dict) else int(total)
        next_cursor = None
        if hits and hits[-1].sort is not None and query.offset + len(hits) < total:
            next_cursor = {"s": query.sort, "a": hits[-1].sort, "o": query.offset + len(hits)}
        facets = _facets(response.get("aggregations") or {}) if query.facets else {}
        return SearchResult(hits=hits, total=total, facets=facets, next_cursor=next_cursor)

    def suggest(self, q: str, limit: int = 8, today: dt.date | None = None) -> list[SearchHit]:
        """As-you-type ``_search`` on the folded name."""
        if not parse_query(q):
            return []
        response = self._search(suggest_body(q, limit, today or clock.today()))
        tokens = parse_query(q).tokens
        out = []
        for raw in response["hits"]["hits"]:
            doc = raw["_source"]
            hl = (raw.get("highlight") or {}).get("name.folded")
            out.append(SearchHit(document=doc, score=raw.get("_score"),
                                 highlight={"name": hl[0] if hl else highlight(doc["name"], tokens)}))
        return out
