"""The search interface shared by every backend, the search document and Vietnamese text analysis.

Size: the interface, the document builder and the query parser are the contract both backends implement;
splitting them would spread one contract over three modules.

A backend (``database`` or ``elasticsearch``) implements :class:`SearchBackend`.
The database is the source of truth: documents are built from it by
:func:`build_document` / :func:`load_documents`, only for *listed* products,
and pushed to the backend by the outbox drainer or a full rebuild.

Text analysis: everything searchable is folded (NFD, marks stripped,
đ→d, lower case — :func:`core.text.fold`) so "buoi da xanh" finds "Bưởi da
xanh"; the original lower-cased words are kept too so that a query typed
with the exact diacritics ranks those documents above folded-only matches.
"""
from __future__ import annotations

import abc
import base64
import datetime as dt
import html
import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable, Iterator

from core.text import fold, nfc
from sqlalchemy import func, select
from core.db import db
from core.catalogue.models import Variant
from core.inventory.models import Stock, StockLocation
from core import clock
from core.catalogue import groups
from core.catalogue.models import Product
from core.catalogue.listing import is_listed, listed_clause
from core.geo.resolver import UnitResolver

log = logging.getLogger(__name__)

# --- constants ------------------------------------------------------------------
SORTS = ("relevance", "price_asc", "price_desc", "stars", "newest")
#: Price facet buckets on ``price_min`` (VND): (key, from inclusive, to exclusive).
PRICE_BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("0-100000", None, 100_000),
    ("100000-200000", 100_000, 200_000),
    ("200000-500000", 200_000, 500_000),
    ("500000-1000000", 500_000, 1_000_000),
    ("1000000-", 1_000_000, None),
)
FACETS = ("group", "stars", "province", "legal_form", "price", "in_stock")
MAX_QUERY_TOKENS = 12
#: ``page * limit`` may not go beyond this window (use the cursor to page further).
MAX_WINDOW = 10_000


def price_bucket(price: int | None) -> int:
    """Index into :data:`PRICE_BUCKETS` for a product's lowest price."""
    if price is None:
        return 0
    for index, (_, low, high) in enumerate(PRICE_BUCKETS):
        if (low is None or price >= low) and (high is None or price < high):
            return index
    return len(PRICE_BUCKETS) - 1


# --- errors -----------------------------------------------------------------------
class SearchUnavailable(RuntimeError):
    """The search backend cannot be reached or refused the work; pending work stays in the outbox."""


# --- text analysis ----------------------------------------------------------------
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str | None) -> list[str]:
    """Lower-cased NFC words of ``text`` (diacritics kept)."""
    return _WORD.findall(nfc(text or "").lower()) if text else []


def folded_words(text: str | None) -> list[str]:
    """Folded words of ``text``: "Bưởi Đặc-sản" → ["buoi", "dac", "san"]."""
    return _WORD.findall(fold(text)) if text else []


def folded_text(*parts) -> str:
    """Space-joined folded words of every non-empty part (lists are flattened)."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, (list, tuple)):
            out.extend(folded_words(" ".join(str(p) for p in part if p)))
        elif part:
            out.extend(folded_words(str(part)))
    return " ".join(out)


def exact_text(*parts) -> str:
    """Space-joined lower-cased words (diacritics kept) of every non-empty part."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, (list, tuple)):
            out.extend(words(" ".join(str(p) for p in part if p)))
        elif part:
            out.extend(words(str(part)))
    return " ".join(out)


@dataclass(frozen=True)
class ParsedQuery:
    """A shopper's query split into folded tokens (for matching) and exact tokens (for the diacritic boost)."""

    raw: str
    tokens: tuple[str, ...]
    exact: tuple[str, ...]

    @property
    def folded(self) -> str:
        """The folded words joined by spaces."""
        return " ".join(self.tokens)

    @property
    def has_diacritics(self) -> bool:
        """True when the shopper typed marks (or đ): then exact spellings earn a boost."""
        return any(e != t for e, t in zip(self.exact, self.tokens))

    def __bool__(self) -> bool:
        return bool(self.tokens)


def parse_query(q: str | None) -> ParsedQuery:
    """Tokenise a query; at most :data:`MAX_QUERY_TOKENS` words are used."""
    raw = nfc((q or "").strip())
    exact = tuple(words(raw))[:MAX_QUERY_TOKENS]
    tokens = tuple(fold(w) for w in exact)
    return ParsedQuery(raw, tokens, exact)


class _CharFolding(dict):
    """``str.translate`` table folding one character to one character (memoised), so offsets stay aligned."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = fold(char)
        value = folded if len(folded) == 1 else (char.lower() if len(char.lower()) == 1 else char)
        self[code] = value
        return value


_CHAR_FOLDING = _CharFolding()


@lru_cache(maxsize=512)
def _marker(tokens: tuple[str, ...], prefix_last: bool) -> re.Pattern:
    """The words to mark: a token, or a word starting with the last token or with any token of 3+ letters."""
    prefixes = sorted({t for t in tokens if len(t) >= 3} | ({tokens[-1]} if prefix_last else set()), key=len,
                      reverse=True)
    exact = sorted(set(tokens) - set(prefixes), key=len, reverse=True)
    alternatives = []
    if prefixes:
        alternatives.append(f"(?:{'|'.join(map(re.escape, prefixes))})[^\\W_]*")
    if exact:
        alternatives.append(f"(?:{'|'.join(map(re.escape, exact))})(?![^\\W_])")
    return re.compile(f"(?<![^\\W_])(?:{'|'.join(alternatives)})", re.UNICODE)


def highlight(text: str | None, tokens: Iterable[str], prefix_last: bool = True,
              snippet: int | None = None) -> str | None:
    """HTML-escaped ``text`` with ``<mark>`` around words matching the folded query ``tokens``.

    A word matches when its folded form equals a token, or starts with the last
    token (the shopper may still be typing). With ``snippet`` (characters), only
    a window around the first match is returned, or None when nothing matches.
    """
    if not text:
        return None
    tokens = [t for t in tokens if t]
    if not tokens:
        return html.escape(text[:snippet]) if snippet else html.escape(text)
    folded_chars = text.translate(_CHAR_FOLDING)  # same length as text
    marker = _marker(tuple(tokens), prefix_last)
    if snippet:
        first = marker.search(folded_chars)
        if first is None:
            return None
        start = max(0, first.start() - snippet // 3)
        end = min(len(text), start + snippet)
        if start > 0:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < first.start() else start
        prefix, suffix = ("…" if start > 0 else ""), ("…" if end < len(text) else "")
    else:
        start, end, prefix, suffix = 0, len(text), "", ""
    # only the window is scanned: a match never begins inside a word, so scanning from ``start`` finds the
    # same words as scanning the whole text; the first one running past ``end`` ends the window
    out, pos = [prefix], start
    for m in marker.finditer(folded_chars, start):
        a, b = m.span()
        if b > end:
            break
        out.append(html.escape(text[pos:a]))
        out.append("<mark>" + html.escape(text[a:b]) + "</mark>")
        pos = b
    out.append(html.escape(text[pos:end]))
    out.append(suffix)
    return "".join(out)


# --- query and result ---------------------------------------------------------------
@dataclass
class SearchQuery:
    """What the storefront asks: text, filters, sort and paging (already validated)."""

    q: str = ""
    group: str | None = None
    stars: int | None = None
    province: str | None = None
    legal_form: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool | None = None
    sort: str = "relevance"
    page: int = 1
    limit: int = 20
    cursor: dict | None = None
    today: dt.date | None = None
    facets: bool = True
    #: the sale prices now (:class:`core.search.prices.SalePrices`): price filters, facet and sorts use them
    sale: object = None

    @property
    def parsed(self) -> ParsedQuery:
        """``q`` tokenised (folded and exact words)."""
        return parse_query(self.q)

    @property
    def offset(self) -> int:
        """Rows to skip: from the cursor when there is one, else from page and limit."""
        if self.cursor and "o" in self.cursor:
            return int(self.cursor["o"])
        return (self.page - 1) * self.limit


@dataclass
class SearchHit:
    """One result: the stored document, its score and highlighted snippets."""

    document: dict
    score: float | None = None
    highlight: dict = field(default_factory=dict)
    sort: list | None = None


@dataclass
class SearchResult:
    """A page of hits, the total number of matches, raw facet counts and the next cursor (if any)."""

    hits: list[SearchHit]
    total: int
    facets: dict[str, dict] = field(default_factory=dict)
    next_cursor: dict | None = None
    corrected: str | None = None
    #: facet value labels the backend already knows, e.g. {"province": {"75": "Đồng Nai"}} (others are looked up)
    labels: dict[str, dict] = field(default_factory=dict)


def encode_cursor(cursor: dict) -> str:
    """Opaque URL-safe token for a cursor dict."""
    raw = json.dumps(cursor, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> dict:
    """Inverse of :func:`encode_cursor`; raises ValueError on garbage."""
    padded = token + "=" * (-len(token) % 4)
    try:
        value = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except Exception as exc:  # binascii.Error, UnicodeDecodeError, JSONDecodeError
        raise ValueError("invalid cursor") from exc
    if not isinstance(value, dict):
        raise ValueError("invalid cursor")
    return value


# --- the interface -------------------------------------------------------------------
Action = tuple[str, int, "dict | None"]  # ("index", product_id, document) | ("delete", product_id, None)


class SearchBackend(abc.ABC):
    """What every search backend provides. Documents come from :func:`build_document`."""

    name: str = "abstract"

    def index(self, document: dict) -> None:
        """Add or replace one document (visible to searches when this returns)."""
        self.bulk([("index", document["id"], document)])

    def delete(self, product_id: int) -> None:
        """Remove one product (missing is fine)."""
        self.bulk([("delete", product_id, None)])

    @abc.abstractmethod
    def bulk(self, actions: Iterable[Action]) -> int:
        """Apply index/delete actions; return how many were applied. Raises :class:`SearchUnavailable`."""

    @abc.abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Full-text search with filters, sort, paging, highlights and facet counts."""

    @abc.abstractmethod
    def suggest(self, q: str, limit: int = 8, today: dt.date | None = None) -> list[SearchHit]:
        """Autocomplete: listed products whose name starts like ``q`` (folded), best first."""

    @abc.abstractmethod
    def rebuild(self, documents: Iterable[dict], total: int | None = None,
                progress: Callable[[int], None] | None = None) -> int:
        """Replace the whole index with ``documents`` without downtime; return the number indexed."""

    @abc.abstractmethod
    def count(self) -> int:
        """Number of documents in the index."""

    @abc.abstractmethod
    def ping(self) -> bool:
        """True when the backend answers (used by ``/readyz``)."""

    def commits_with_database(self) -> bool:
        """True when writes happen inside the database transaction (the database backend)."""
        return False

    def request_columns(self) -> tuple[tuple[str, ...], Callable[[tuple], None] | None]:
        """SQL expressions this backend reads at the start of a search, in the request's first statement
        (one round trip), and the callable receiving their values; none by default."""
        return (), None


# --- the document ---------------------------------------------------------------------
LEGAL_FORM_LABELS = {
    "enterprise": ("Doanh nghiệp", "Enterprise"),
    "cooperative": ("Hợp tác xã", "Cooperative"),
    "cooperative_group": ("Tổ hợp tác", "Cooperative group"),
    "household_business": ("Hộ kinh doanh", "Household business"),
}


def _product_set_label(group_code: str, set_code: str | None) -> tuple[str | None, str | None]:
    if not set_code:
        return None, None
    g = groups.group(group_code)
    for s in (g or {}).get("sets", []):
        if s["code"] == set_code:
            return s["vi"], s["en"]
    return None, None


def _image_url(product) -> str | None:
    if not product.images:
        return None
    image = product.images[0]
    if image.url:
        return image.url
    return f"/media/{image.storage_key}" if image.storage_key else None


def stock_levels(product_ids: Iterable[int]) -> dict[int, int]:
    """Free quantity (on hand − allocated) of non-service active variants per product, at active locations."""
    ids = list(product_ids)
    if not ids:
        return {}
    stmt = (select(Variant.product_id, func.sum(Stock.on_hand - Stock.allocated))
            .join(Stock, Stock.variant_id == Variant.id)
            .join(StockLocation, StockLocation.id == Stock.location_id)
            .where(Variant.product_id.in_(ids), Variant.is_service.is_(False), Variant.active.is_(True),
                   StockLocation.active.is_(True))
            .group_by(Variant.product_id))
    return {pid: int(qty or 0) for pid, qty in db.session.execute(stmt)}


def in_stock(product, levels: dict[int, int] | None) -> bool:
    """Services are always in stock; goods when free quantity > 0 (True when no stock model exists)."""
    active = [v for v in product.variants if v.active]
    if any(v.is_service for v in active):
        return True
    if levels is None:
        return True
    return levels.get(product.id, 0) > 0


def is_indexable(product, today: dt.date | None = None) -> bool:
    """Only listed products are indexed (listed flag set and the certification not past its date)."""
    return is_listed(product, today)


def build_document(product, *, units: UnitResolver | None = None, stock: dict[int, int] | None | bool = False,
                   today: dt.date | None = None, plugin_hook=None) -> dict | None:
    """The search document of ``product``, or None when it is not listed.

    Fields: name, description, story, producer (name, slug, legal form),
    group and product set (codes and names), stars, certification level and
    dates, price min/max (VND), in-stock flag, province (current), commune
    and every place name current and former, dates, the first image; plugins
    add fields through the ``search_document`` hook (core fields win). ``stock``
    is the result of :func:`stock_levels` (computed when omitted).
    """
    if not is_indexable(product, today):
        return None
    units = units or UnitResolver()
    if stock is False:
        stock = stock_levels([product.id])
    producer = product.producer
    cert = product.current_certification()
    commune = units.get(product.origin_commune_code) or units.get(producer.commune_code)
    producer_commune = units.get(producer.commune_code)
    current, former = units.places(commune)
    p_current, p_former = units.places(producer_commune) if producer_commune is not commune else ([], [])
    province = units.get(producer.province_code) or units.province(commune)
    place_names: list[str] = []
    for unit in [*current, *former, *p_current, *p_former]:
        if unit.name not in place_names:
            place_names.append(unit.name)
    group = groups.label(product.group_code)
    set_vi, set_en = _product_set_label(product.group_code, product.product_set_code)
    current_commune = current[0] if current else None
    doc = {
        "id": product.id,
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "story": product.story,
        "producer": {"id": producer.id, "slug": producer.slug, "name": producer.name,
                     "legal_form": producer.legal_form},
        "legal_form": producer.legal_form,
        "group": product.group_code,
        "group_name": group["name"],
        "group_name_en": group["name_en"],
        "product_set": product.product_set_code,
        "product_set_name": set_vi,
        "product_set_name_en": set_en,
        "stars": product.listed_stars,
        "level": cert.level if cert else None,
        "criteria_set": cert.criteria_set if cert else None,
        "certified_on": cert.issued_on.isoformat() if cert else None,
        "certification_expires_on": cert.expires_on.isoformat() if cert else None,
        "price_min": product.price_min,
        "price_max": product.price_max,
        "in_stock": in_stock(product, stock),
        "province": {"code": province.code, "name": province.name} if province else None,
        "province_code": province.code if province else None,
        "commune": {"code": current_commune.code, "name": current_commune.name} if current_commune else None,
        "places": place_names,
        "image": _image_url(product),
        "created_at": product.created_at.isoformat() if product.created_at else None,
        "updated_at": product.updated_at.isoformat() if product.updated_at else None,
        "listed_until": product.listed_until.isoformat(),
        "extra_text": "",
    }
    _merge_plugin_fields(product, doc, plugin_hook)
    return doc


def _merge_plugin_fields(product, doc: dict, plugin_hook=None) -> None:
    if plugin_hook is None:
        from flask import current_app, has_app_context
        if not has_app_context() or "ocop_plugins" not in current_app.extensions:
            return
        plugin_hook = current_app.extensions["ocop_plugins"].hook.search_document
    extra_text: list[str] = []
    for extra in plugin_hook(product=product, document=dict(doc)) or []:
        if not isinstance(extra, dict):
            continue
        for key, value in extra.items():
            if key in doc:
                log.warning("search_document: plugin field %r ignored (core field)", key)
                continue
            doc[key] = value
            if isinstance(value, str):
                extra_text.append(value)
            elif isinstance(value, (list, tuple)):
                extra_text.extend(v for v in value if isinstance(v, str))
    doc["extra_text"] = " ".join(extra_text)


def document_text(doc: dict) -> dict[str, str]:
    """The folded/exact text columns of a document (database backend)."""
    name = doc["name"]
    producer = doc["producer"]["name"]
    places = doc.get("places") or []
    meta = (producer, places, doc.get("group_name"), doc.get("group_name_en"), doc.get("product_set_name"))
    return {
        "name_folded": folded_text(name),
        "meta_folded": folded_text(*meta),
        "body_folded": folded_text(*meta, doc.get("description"), doc.get("story"), doc.get("extra_text")),
        "exact_text": exact_text(name, producer, places),
    }


def load_documents(product_ids: Iterable[int], today: dt.date | None = None,
                   units: UnitResolver | None = None) -> dict[int, dict | None]:
    """Documents for ``product_ids`` (None for products that are missing or not listed), loaded in bulk."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload
    ids = sorted(set(product_ids))
    result: dict[int, dict | None] = {pid: None for pid in ids}
    if not ids:
        return result
    units = units or UnitResolver()
    products = db.session.execute(
        select(Product).where(Product.id.in_(ids)).options(
            selectinload(Product.producer), selectinload(Product.variants),
            selectinload(Product.certifications), selectinload(Product.images))).scalars().all()
    listed = [p for p in products if is_indexable(p, today)]
    stock = stock_levels([p.id for p in listed])
    for product in listed:
        result[product.id] = build_document(product, units=units, stock=stock, today=today)
    return result


def iter_documents(batch_size: int = 500, today: dt.date | None = None) -> Iterator[dict]:
    """Every listed product's document, in id order, loaded in batches (for rebuilds)."""
    from sqlalchemy import select
    today = today or clock.today()
    ids = db.session.execute(select(Product.id).where(listed_clause(today)).order_by(Product.id)).scalars().all()
    units = UnitResolver(preload=True)
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        docs = load_documents(chunk, today=today, units=units)
        for pid in chunk:
            if docs.get(pid):
                yield docs[pid]
        db.session.expunge_all()  # keep memory flat on big catalogues (units stay cached in the resolver)


def count_listed(today: dt.date | None = None) -> int:
    """How many products are listed today (the size of a full rebuild)."""
    from sqlalchemy import func, select
    today = today or clock.today()
    return db.session.execute(select(func.count()).select_from(Product).where(listed_clause(today))).scalar_one()

