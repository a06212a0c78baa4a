"""The ``database`` search backend: SQLite FTS5 or PostgreSQL full text over diacritic-folded text.

Size: one backend class for both engines; its passes (exact, prefix, typo, facets) share the statement
builders of :mod:`core.search.sql` and the candidate scoring, so they stay in one module.

Documents live in ``search_document`` (one row per listed product: filter and
facet columns, folded text, the JSON document). Matching:

* SQLite: the FTS5 table ``search_fts`` (name, body), kept in sync by
  triggers; ranked with ``bm25`` (name weighs 10× the rest). FTS5's
  ``remove_diacritics`` does not turn đ into d, hence the folded columns.
  Typos: unknown query words are corrected against the index vocabulary
  (``search_fts_vocab``) by Damerau–Levenshtein distance (1 for words of 3–5
  letters, 2 from 6), most frequent term first.
* PostgreSQL: the generated ``tsv`` column (GIN); ranked with ``ts_rank``.
  Typos: the same correction against the vocabulary (``ts_stat``), then
  ``pg_trgm`` ``word_similarity`` over the folded name (GIN trigram index).

On both, every word must match (the last one as a prefix: shoppers type);
bonuses lift names containing the query as a phrase or starting with it, and
names/producers/places spelt with exactly the diacritics the shopper typed.
When nothing matches, all words but one (any word of two) are tried last.
The engine answers the matching ids, then (relevance and stars sorts) the
scored page; filters, totals, facet counts and the stored sorts come from the
per-process facet columns (:mod:`core.search.facets`).
"""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from bisect import bisect_left
from typing import Callable, Iterable

from sqlalchemy import delete, func, insert, select, text

from core import clock
from core.db import db, utcnow
from core.search.models import SearchDocument, SearchDocumentSource, SearchIndexChange
from core.search import facets, sql
from core.search.backend import (FACETS, Action, ParsedQuery, SearchBackend, SearchHit, SearchQuery, SearchResult,
                                 SearchUnavailable, document_text, highlight, parse_query, price_bucket)

NAME_WEIGHT, BODY_WEIGHT = 10.0, 1.0
PHRASE_BONUS, START_BONUS, NAME_TOKEN_BONUS, EXACT_BONUS, BODY_PHRASE_BONUS, PREFIX_BONUS = 6.0, 4.0, 2.0, 12.0, 5.0, 2.0
BATCH = 500
#: a relevance query matching more documents than this ranks only the best candidates by bonus (see _common_page)
COMMON_MATCHES, COMMON_CANDIDATES = 600, 400
#: rows of ``search_index_change`` kept (a process further behind reloads its facet columns)
CHANGES_KEPT = 1000
_TUNED = "ocop_search_tuned"  # session info: the transaction whose random_page_cost is set


NARROW = ("product_id", "producer_id", "group_code", "stars", "province_code", "legal_form", "price_min", "price_max",
          "price_bucket", "in_stock", "listed_until", "created_at", "name_folded", "meta_folded", "exact_text",
          "indexed_at")
_PG_INSERT = text(
    f"INSERT INTO search_document ({', '.join(NARROW)}, tsv) VALUES ({', '.join(':' + c for c in NARROW)}, "
    "setweight(to_tsvector('simple'::regconfig, :name_folded), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, :body_folded), 'B'))")


def _rows(doc: dict) -> tuple[dict, dict]:
    """(search_document row, search_document_source row) of a document."""
    texts = document_text(doc)
    narrow = {
        "product_id": doc["id"], "producer_id": doc["producer"]["id"], "group_code": doc["group"],
        "stars": doc["stars"], "province_code": doc.get("province_code"), "legal_form": doc["legal_form"],
        "price_min": doc.get("price_min"), "price_max": doc.get("price_max"),
        "price_bucket": price_bucket(doc.get("price_min")), "in_stock": bool(doc.get("in_stock", True)),
        "listed_until": dt.date.fromisoformat(doc["listed_until"]),
        "created_at": dt.datetime.fromisoformat(doc["created_at"]) if doc.get("created_at") else utcnow(),
        "name_folded": texts["name_folded"], "meta_folded": texts["meta_folded"], "exact_text": texts["exact_text"],
        "indexed_at": utcnow(),
    }
    source = {"product_id": doc["id"], "name_folded": texts["name_folded"], "body_folded": texts["body_folded"],
              "document": json.dumps(doc, ensure_ascii=False, separators=(",", ":"))}
    return narrow, source


# --- typo correction (SQLite) -----------------------------------------------------------
def _max_distance(word: str) -> int:
    n = len(word)
    return 0 if n < 3 else (1 if n <= 5 else 2)


def _deletes(word: str, distance: int) -> set[str]:
    out, frontier = set(), {word}
    for _ in range(distance):
        nxt = set()
        for w in frontier:
            for i in range(len(w)):
                nxt.add(w[:i] + w[i + 1:])
        out |= nxt
        frontier = nxt
    return out


def damerau(a: str, b: str) -> int:
    """Optimal-string-alignment edit distance (a transposition counts as one edit)."""
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


class Vocabulary:
    """Index terms with document counts; corrects a misspelt word (symmetric-delete lookup)."""

    def __init__(self, terms: dict[str, int]) -> None:
        self.terms = terms
        self.sorted = sorted(terms)
        self.deletes: dict[str, list[str]] = {}
        for term in terms:
            distance = _max_distance(term)
            if distance == 0 or len(term) > 24:
                continue
            for variant in _deletes(term, distance):
                self.deletes.setdefault(variant, []).append(term)

    def known(self, word: str, prefix: bool = False) -> bool:
        """True when ``word`` is an index term (or, with ``prefix``, starts one)."""
        if word in self.terms:
            return True
        if prefix:
            i = bisect_left(self.sorted, word)
            return i < len(self.sorted) and self.sorted[i].startswith(word)
        return False

    def correct(self, word: str) -> str | None:
        """The closest known term (fewest edits, then most documents), or None."""
        distance = _max_distance(word)
        if distance == 0:
            return None
        candidates = set(self.deletes.get(word, ()))
        for variant in _deletes(word, distance):
            if variant in self.terms:
                candidates.add(variant)
            candidates.update(self.deletes.get(variant, ()))
        best = None
        for term in candidates:
            d = damerau(word, term)
            if d <= distance:
                key = (d, -self.terms[term], term)
                if best is None or key < best[0]:
                    best = (key, term)
        return best[1] if best else None


_vocab_lock = threading.Lock()
_vocab: dict = {"key": None, "value": None, "loaded": 0.0}
VOCAB_MAX_AGE = 30.0


def invalidate_vocabulary() -> None:
    """Forget the cached vocabulary (called after this process writes to the index)."""
    with _vocab_lock:
        _vocab["key"] = None


def _vocabulary(columns: facets.FacetColumns) -> Vocabulary:
    """The index vocabulary, cached per index state (the facet columns' change-log position) and at most
    :data:`VOCAB_MAX_AGE` seconds behind it."""
    key = (str(db.engine.url), columns.seq, columns.token)
    with _vocab_lock:
        fresh = _vocab["value"] is not None and (
            _vocab["key"] == key or (time.monotonic() - _vocab["loaded"] < VOCAB_MAX_AGE and _vocab["key"] is not None
                                     and _vocab["key"][0] == key[0]))
        if fresh:
            return _vocab["value"]
    if db.engine.dialect.name == "postgresql":
        rows = sql.rows("SELECT word, ndoc FROM ts_stat('SELECT tsv FROM search_document')")
    else:
        rows = sql.rows("SELECT term, doc FROM search_fts_vocab")
    vocabulary = Vocabulary({term: doc for term, doc in rows})
    with _vocab_lock:
        _vocab.update(key=key, value=vocabulary, loaded=time.monotonic())
    return vocabulary


# --- the backend --------------------------------------------------------------------------
class DatabaseBackend(SearchBackend):
    """Search inside the application database (the embedded default)."""

    name = "database"

    def commits_with_database(self) -> bool:
        """Index writes are part of the database transaction."""
        return True

    def request_columns(self) -> tuple[tuple[str, ...], Callable[[tuple], None]]:
        """The index head (:func:`core.search.facets.current` then reads nothing) and, on PostgreSQL, the
        planner setting of :meth:`_tune`, in the request's first statement."""
        if self.dialect == "postgresql":
            return (*facets.HEAD_COLUMNS, "set_config('random_page_cost', '1.1', true)"), self._received
        return facets.HEAD_COLUMNS, self._received

    @staticmethod
    def _received(values: tuple) -> None:
        facets.remember_head(values[:2])
        if len(values) > 2:
            db.session.info[_TUNED] = db.session().get_transaction()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return db.engine.dialect.name

    # writes (in the caller's transaction; the caller commits) -------------------------
    def _delete(self, ids: list[int] | None) -> None:
        for model in (SearchDocument, SearchDocumentSource):
            if ids is None:
                db.session.execute(delete(model))
                continue
            for start in range(0, len(ids), BATCH):
                db.session.execute(delete(model).where(model.product_id.in_(ids[start:start + BATCH])))

    def _insert(self, docs: list[dict]) -> None:
        if not docs:
            return
        rows = [_rows(doc) for doc in docs]
        if self.dialect == "postgresql":
            db.session.execute(_PG_INSERT, [{**narrow, "body_folded": source["body_folded"]} for narrow, source in rows])
        else:
            db.session.execute(insert(SearchDocument), [narrow for narrow, _ in rows])
        db.session.execute(insert(SearchDocumentSource), [source for _, source in rows])

    def _log_change(self, product_ids: list[int] | None) -> None:
        """Record this write in ``search_index_change`` (``None``: a rebuild) and trim the log."""
        seq = db.session.execute(insert(SearchIndexChange).values(
            token=uuid.uuid4().hex, rebuild=product_ids is None,
            product_ids=",".join(map(str, product_ids or ())), created_at=utcnow())
            .returning(SearchIndexChange.seq)).scalar_one()
        if seq % 100 == 0:
            db.session.execute(delete(SearchIndexChange).where(SearchIndexChange.seq <= seq - CHANGES_KEPT))

    def bulk(self, actions: Iterable[Action]) -> int:
        """Apply actions inside the current transaction (the drainer commits them with the outbox rows)."""
        actions = list(actions)
        if not actions:
            return 0
        docs: dict[int, dict | None] = {}
        for op, pid, doc in actions:  # the last action per product wins
            docs[pid] = doc if op == "index" else None
        try:
            self._delete(sorted(docs))
            values = [d for d in docs.values() if d is not None]
            for start in range(0, len(values), BATCH):
                self._insert(values[start:start + BATCH])
            self._log_change(sorted(docs))
        except Exception as exc:
            raise SearchUnavailable(f"database search index write failed: {exc}") from exc
        invalidate_vocabulary()
        return len(actions)

    def rebuild(self, documents: Iterable[dict], total: int | None = None,
                progress: Callable[[int], None] | None = None) -> int:
        """Replace every row in one transaction (readers see the old index until the caller commits)."""
        self._delete(None)
        count, batch = 0, []
        for doc in documents:
            batch.append(doc)
            if len(batch) >= BATCH:
                self._insert(batch)
                count += len(batch)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            self._insert(batch)
            count += len(batch)
            if progress:
                progress(len(batch))
        db.session.execute(delete(SearchIndexChange))
        self._log_change(None)
        if self.dialect == "sqlite":
            db.session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
        elif self.dialect == "postgresql":
            db.session.execute(text("ANALYZE search_document"))
        invalidate_vocabulary()
        return count

    def count(self) -> int:
        """Documents in ``search_document``."""
        return db.session.execute(select(func.count()).select_from(SearchDocument)).scalar_one()

    def ping(self) -> bool:
        """The index table answers."""
        db.session.execute(select(SearchDocument.product_id).limit(1)).first()
        return True

    # reads ------------------------------------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchResult:
        """Whole words, then last word as prefix, then typo correction/trigrams, then any word.

        Each pass is one statement: the matching ids (and, for relevance, the
        scored page). Filters, total and facet counts come from the facet columns
        (:mod:`core.search.facets`), so a pass that finds nothing costs little and
        the typo passes run only when the exact and prefix passes found nothing.
        """
        parsed = query.parsed
        columns = facets.current().priced(query.sale)
        wanted = _facet_filters(query)
        if not parsed:
            chosen = columns.select(wanted)
            return self._page(query, columns, chosen, None, "browse" if query.sort == "relevance" else query.sort)
        self._tune()
        # whole words first (a submitted query), then the last word as a prefix (still typing), then typos
        for mode in ("and", "prefix"):
            result = self._run(query, columns, wanted, parsed, mode)
            if result is not None:
                return result
        # typos: words unknown to the index corrected against its vocabulary (in memory), then on
        # PostgreSQL trigram similarity of the name
        result, corrected = None, self._correct(parsed, columns)
        if corrected is not None:
            result = self._run(query, columns, wanted, corrected, mode="prefix")
            if result is not None:
                result.corrected = corrected.folded
        if result is None and self.dialect == "postgresql":
            result = self._run(query, columns, wanted, parsed, mode="trigram")
        if result is None and len(parsed.tokens) >= 2:
            result = self._run(query, columns, wanted, parsed, mode="or")
        return result or SearchResult(hits=[], total=0, facets={f: {} for f in FACETS} if query.facets else {})

    def _tune(self) -> None:
        """PostgreSQL: cost index pages as cached ones for this transaction, so common words use the GIN
        index (bitmap scan, ~6 ms for 3,000 of 18,000 documents) rather than a sequential scan (~12 ms)."""
        if self.dialect == "postgresql":
            if db.session.info.get(_TUNED) is not db.session().get_transaction():
                db.session.execute(text("SET LOCAL random_page_cost = 1.1"))

    def _correct(self, parsed: ParsedQuery, columns: facets.FacetColumns) -> ParsedQuery | None:
        vocabulary = _vocabulary(columns)
        tokens, changed = [], False
        for i, token in enumerate(parsed.tokens):
            last = i == len(parsed.tokens) - 1
            if vocabulary.known(token, prefix=last):
                tokens.append(token)
                continue
            fixed = vocabulary.correct(token)
            if fixed is None:
                tokens.append(token)
                continue
            tokens.append(fixed)
            changed = True
        if not changed:
            return None
        return ParsedQuery(parsed.raw, tuple(tokens), tuple(tokens))

    # SQL building ---------------------------------------------------------------------------------
    def _filters(self, query: SearchQuery, params: dict, discounted: dict | None = None) -> list[str]:
        """SQL conditions of the query's filters; a price range is on the price now (``discounted``: the
        products whose sale price moves them in or out of the range, from the priced facet columns)."""
        params["today"] = query.today or clock.today()
        where = ["d.listed_until > :today"]
        for column, key in (("group_code", "group"), ("stars", "stars"), ("province_code", "province"),
                            ("legal_form", "legal_form")):
            value = getattr(query, key)
            if value is not None:
                params[f"f_{key}"] = value
                where.append(f"d.{column} = :f_{key}")
        price = []
        if query.min_price is not None:
            params["f_min_price"] = query.min_price
            price.append("d.price_min >= :f_min_price")
        if query.max_price is not None:
            params["f_max_price"] = query.max_price
            price.append("d.price_min <= :f_max_price")
        if price:
            where.append(_price_condition(query, " AND ".join(price), discounted, params))
        if query.in_stock is not None:
            params["f_in_stock"] = bool(query.in_stock)
            where.append("d.in_stock = :f_in_stock")
        return where

    def _bonus(self, parsed: ParsedQuery, params: dict, prefix: bool) -> str:
        """Score bonuses: whole-query phrase in the name, name starting with it, whole query words in the
        name, the phrase in producer/places, and (when the shopper typed diacritics) words spelt exactly so
        in name/producer/places. Only the terms that can differ for this query are computed (cheaper)."""
        find = "instr" if self.dialect == "sqlite" else "strpos"
        single = len(parsed.tokens) == 1
        params["b_phrase"] = f" {parsed.folded} "
        params["b_start"] = f"{parsed.folded} "
        phrase = PHRASE_BONUS + (NAME_TOKEN_BONUS if single else 0)
        parts = [f"(CASE WHEN {find}(' ' || d.name_folded || ' ', :b_phrase) > 0 THEN {phrase} ELSE 0 END)",
                 f"(CASE WHEN substr(d.name_folded || ' ', 1, {len(parsed.folded) + 1}) = :b_start "
                 f"THEN {START_BONUS} ELSE 0 END)"]
        if not single:
            parts.append(f"(CASE WHEN {find}(' ' || d.meta_folded || ' ', :b_phrase) > 0 "
                         f"THEN {BODY_PHRASE_BONUS} ELSE 0 END)")
            for i, token in enumerate(dict.fromkeys(parsed.tokens)):
                params[f"b_t{i}"] = f" {token} "
                parts.append(f"(CASE WHEN {find}(' ' || d.name_folded || ' ', :b_t{i}) > 0 "
                             f"THEN {NAME_TOKEN_BONUS} ELSE 0 END)")
        if prefix:  # as-you-type: the name starts with / contains the query with its last word unfinished
            params["b_prefix"] = parsed.folded
            params["b_phrase_prefix"] = f" {parsed.folded}"
            parts += [f"(CASE WHEN substr(d.name_folded, 1, {len(parsed.folded)}) = :b_prefix "
                      f"THEN {PREFIX_BONUS} ELSE 0 END)",
                      f"(CASE WHEN {find}(' ' || d.name_folded, :b_phrase_prefix) > 0 THEN {PREFIX_BONUS / 2} ELSE 0 END)"]
        if parsed.has_diacritics:
            for i, (word, token) in enumerate(zip(parsed.exact, parsed.tokens)):
                if word != token:
                    params[f"b_e{i}"] = f" {word} "
                    parts.append(f"(CASE WHEN {find}(' ' || d.exact_text || ' ', :b_e{i}) > 0 "
                                 f"THEN {EXACT_BONUS} ELSE 0 END)")
        parts.append("d.stars * 0.05")
        return " + ".join(parts)

    def _match(self, parsed: ParsedQuery, mode: str, params: dict, name_only: bool = False) -> tuple[str, str, str]:
        """(FROM clause, WHERE condition, score expression) for a match mode."""
        source, condition, rank, bonus = self._terms(parsed, mode, params, name_only)
        return source, condition, f"({rank} + {bonus})"

    def _terms(self, parsed: ParsedQuery, mode: str, params: dict,
               name_only: bool = False) -> tuple[str, str, str, str]:
        """(FROM clause, WHERE condition, engine rank, bonus): the score is rank + bonus."""
        bonus = self._bonus(parsed, params, prefix=mode != "and")
        tokens = list(parsed.tokens)
        if self.dialect == "sqlite":
            quoted = [f'"{t}"' for t in tokens]
            if mode != "and":
                quoted[-1] += "*"
            expression = " OR ".join(f"({' '.join(words)})" for words in _all_but_one(quoted)) if mode == "or" \
                else " ".join(quoted)
            params["match"] = f"{{name}} : ({expression})" if name_only else expression
            # CROSS JOIN pins the join order: the full-text match drives, filters are checked per match
            return ("search_fts CROSS JOIN search_document d ON d.product_id = search_fts.rowid",
                    "search_fts MATCH :match", f"-bm25(search_fts, {NAME_WEIGHT}, {BODY_WEIGHT})", bonus)
        if mode == "trigram":
            params["trgm"] = parsed.folded
            params["trgm_first"] = parsed.tokens[0]
            # names whose first word resembles the first query word (usually the kind of product) come first
            return ("search_document d", ":trgm <% d.name_folded",
                    "(word_similarity(:trgm, d.name_folded) * 10 "
                    "+ similarity(:trgm_first, split_part(d.name_folded, ' ', 1)) * 3)", bonus)
        weight = ":A" if name_only else ""
        last = f"{tokens[-1]}:*{'A' if name_only else ''}" if mode != "and" else f"{tokens[-1]}{weight}"
        parts = [f"{t}{weight}" for t in tokens[:-1]] + [last]
        params["tsq"] = " | ".join(f"({' & '.join(words)})" for words in _all_but_one(parts)) if mode == "or" \
            else " & ".join(parts)
        return ("search_document d", "d.tsv @@ to_tsquery('simple', :tsq)",
                "(ts_rank('{0.05, 0.1, 0.1, 1.0}', d.tsv, to_tsquery('simple', :tsq)) * 10)", bonus)

    _ORDER = {
        "relevance": "score DESC, product_id ASC",
        "stars": "stars DESC, score DESC, product_id ASC",
    }

    def _run(self, query: SearchQuery, columns: facets.FacetColumns, wanted: facets.Filters,
             parsed: ParsedQuery, mode: str) -> SearchResult | None:
        """One matching pass: None when it finds nothing listed that passes the filters.

        First the matching ids alone (cheap even for a quarter of the catalogue);
        then, for relevance and stars sorts, the scored page.
        """
        params: dict = {}
        filters = self._filters(query, params, columns.discounted)
        source, condition, rank, bonus = self._terms(parsed, mode, params)
        if self.dialect == "sqlite":  # the full-text index answers without touching the documents
            statement = "SELECT group_concat(rowid) FROM search_fts WHERE search_fts MATCH :match"
        else:
            statement = f"SELECT string_agg(CAST(d.product_id AS TEXT), ',') FROM {source} WHERE {condition}"
        matched = sql.rows(statement, params)[0][0]
        if not matched:
            return None
        found = columns.ids_bitmap(list(map(int, matched.split(","))))
        if not columns.knows(found):
            columns = facets.current().priced(query.sale)  # a write committed after this request read the log
        chosen = columns.select(wanted, found)
        if not chosen:
            return None
        if query.sort not in self._ORDER:
            return self._page(query, columns, chosen, parsed, query.sort)
        params["limit"], params["offset"] = query.limit, query.offset
        where = " AND ".join([condition, *filters])
        total = chosen.bit_count()
        if query.sort == "relevance" and total > COMMON_MATCHES:
            filtered = bool(wanted.equal or wanted.min_price is not None or wanted.max_price is not None)
            rows = self._common_page(query, params, source, condition, rank, bonus, where, filters, filtered, total)
        else:
            order = self._ORDER[query.sort]
            rows = sql.rows(
                f"SELECT c.product_id, c.score, c.rn, s.document FROM "
                f"(SELECT product_id, score, row_number() OVER (ORDER BY {order}) AS rn FROM "
                f"(SELECT d.product_id AS product_id, d.stars AS stars, ({rank} + {bonus}) AS score FROM {source} "
                f"WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset) top) c "
                f"JOIN search_document_source s ON s.product_id = c.product_id", params)
        rows.sort(key=lambda r: r[2])
        return self._result(query, columns, chosen, parsed, [(pid, float(s), json.loads(doc))
                                                             for pid, s, _, doc in rows])

    def _common_page(self, query: SearchQuery, params: dict, source: str, condition: str, rank: str, bonus: str,
                     where: str, filters: list[str], filtered: bool, total: int) -> list[tuple]:
        """A relevance page of a very common query ("ruou" matches a sixth of the catalogue, "san pham" two
        thirds): only the :data:`COMMON_CANDIDATES` best by the engine's rank get the bonuses and compete
        for the first pages; the matches after them follow in rank order. Bounded: bonuses are computed
        for a fixed number of rows, whatever the number of matches."""
        params["cap"] = COMMON_CANDIDATES
        if self.dialect == "sqlite" and not filtered:  # rank in the full-text index alone, documents joined after
            candidates = (f"SELECT search_fts.rowid AS product_id, {rank} AS r FROM search_fts "
                          f"WHERE {condition} ORDER BY r DESC, search_fts.rowid ASC")
        else:
            candidates = f"SELECT d.product_id AS product_id, {rank} AS r FROM {source} WHERE {where} " \
                         f"ORDER BY r DESC, d.product_id ASC"
        rows = []
        if query.offset < COMMON_CANDIDATES:
            rows = sql.rows(
                f"WITH c AS MATERIALIZED ({candidates} LIMIT :cap) "
                f"SELECT p.product_id, p.score, p.rn, s.document FROM "
                f"(SELECT product_id, score, row_number() OVER (ORDER BY score DESC, product_id ASC) AS rn FROM "
                f"(SELECT d.product_id AS product_id, (c.r + {bonus}) AS score FROM c "
                f"JOIN search_document d ON d.product_id = c.product_id WHERE {' AND '.join(filters)} "
                f"ORDER BY score DESC, d.product_id ASC LIMIT :limit OFFSET :offset) top) p "
                f"JOIN search_document_source s ON s.product_id = p.product_id", params)
        missing = query.limit - len(rows)
        if missing > 0 and query.offset + len(rows) < total:
            params["rest_offset"] = max(COMMON_CANDIDATES, query.offset)
            params["rest_limit"] = missing
            rest = sql.rows(
                f"SELECT c.product_id, c.r, {COMMON_CANDIDATES} + row_number() OVER (ORDER BY c.r DESC, "
                f"c.product_id ASC), s.document FROM ({candidates} LIMIT :rest_limit OFFSET :rest_offset) c "
                f"JOIN search_document_source s ON s.product_id = c.product_id", params)
            rows += [(pid, r, len(rows) + n, doc) for pid, r, n, doc in rest]
        return rows

    def _page(self, query: SearchQuery, columns: facets.FacetColumns, chosen: int, parsed: ParsedQuery | None,
              sort: str) -> SearchResult:
        """A page in a stored order (browse, price, newest, stars): ids from the facet columns, then documents."""
        ids = columns.page(chosen, chosen.bit_count(), sort, query.offset, query.limit)
        return self._result(query, columns, chosen, parsed, [(pid, None, doc) for pid, doc in _documents(ids)])

    def _result(self, query: SearchQuery, columns: facets.FacetColumns, chosen: int, parsed: ParsedQuery | None,
                hits: list[tuple]) -> SearchResult:
        tokens = parsed.tokens if parsed else ()
        counts = columns.counts(chosen) if query.facets else {}
        return SearchResult(
            hits=[SearchHit(document=doc, score=score, highlight=_highlights(doc, tokens)) for _, score, doc in hits],
            total=chosen.bit_count(), facets=counts, labels={"province": columns.province_names} if counts else {})

    def suggest(self, q: str, limit: int = 8, today: dt.date | None = None) -> list[SearchHit]:
        """Names matching ``q`` as typed so far (last word a prefix), typo-tolerant as a fallback."""
        parsed = parse_query(q)
        if not parsed:
            return []
        self._tune()
        hits = self._suggest(parsed, limit, today, "prefix")
        if not hits:
            if self.dialect == "postgresql":
                hits = self._suggest(parsed, limit, today, "trigram")
            else:
                corrected = self._correct(parsed, facets.current())
                if corrected is not None:
                    hits = self._suggest(corrected, limit, today, "prefix")
        return hits

    def _suggest(self, parsed: ParsedQuery, limit: int, today, mode: str) -> list[SearchHit]:
        params: dict = {"today": today or clock.today(), "limit": limit}
        source, condition, score = self._match(parsed, mode, params, name_only=True)
        statement = (f"SELECT s.document, c.score FROM (SELECT d.product_id, {score} AS score FROM {source} "
               f"WHERE {condition} AND d.listed_until > :today ORDER BY score DESC, d.product_id ASC LIMIT :limit) c "
               f"JOIN search_document_source s ON s.product_id = c.product_id ORDER BY c.score DESC, c.product_id ASC")
        out = []
        for doc, s in db.session.execute(text(statement), params):
            document = json.loads(doc)
            out.append(SearchHit(document=document, score=float(s),
                                 highlight={"name": highlight(document["name"], parsed.tokens)}))
        return out


def _all_but_one(words: list[str]) -> list[list[str]]:
    """The last-resort match: any one of two words, or all words but one of three and more (bounded:
    one very common word — "xa" is in every commune name — cannot pull in the whole catalogue alone)."""
    if len(words) < 3:
        return [[w] for w in words]
    return [words[:i] + words[i + 1:] for i in range(len(words))]


def _facet_filters(query: SearchQuery) -> facets.Filters:
    """The query's filters in facet terms (the same conditions as :meth:`DatabaseBackend._filters`)."""
    equal = {key: value for key, value in (("group", query.group), ("stars", query.stars),
                                           ("province", query.province), ("legal_form", query.legal_form))
             if value is not None}
    if query.in_stock is not None:
        equal["in_stock"] = bool(query.in_stock)
    return facets.Filters(equal=equal, min_price=query.min_price, max_price=query.max_price,
                          today=query.today or clock.today())


def _price_condition(query: SearchQuery, indexed: str, discounted: dict | None, params: dict) -> str:
    """The price range on the price now: the indexed price's condition, except for the products a sale moved
    into the range (added by id) or out of it (left out by id)."""
    if not discounted:
        return indexed
    low, high = query.min_price, query.max_price

    def inside(price: int) -> bool:
        return price >= 0 and (low is None or price >= low) and (high is None or price <= high)

    moved_in = [p for p, (base, now) in discounted.items() if inside(now) and not inside(base)]
    moved_out = [p for p, (base, now) in discounted.items() if inside(base) and not inside(now)]
    condition = f"({indexed})"
    if moved_out:
        condition = f"({condition} AND d.product_id NOT IN {sql.in_list('f_out', moved_out, params)})"
    if moved_in:
        condition = f"({condition} OR d.product_id IN {sql.in_list('f_in', moved_in, params)})"
    return condition


def _documents(ids: list[int]) -> list[tuple[int, dict]]:
    """(id, document) of ``ids`` in that order, read in one statement (ids deleted meanwhile are left out)."""
    if not ids:
        return []
    if db.engine.dialect.name == "postgresql":  # one statement text whatever the page size (prepared by psycopg)
        found = dict(sql.rows("SELECT product_id, document FROM search_document_source WHERE product_id = ANY(:ids)",
                              {"ids": list(ids)}))
    else:
        params: dict = {}
        found = dict(sql.rows(f"SELECT product_id, document FROM search_document_source WHERE product_id IN "
                              f"{sql.in_list('p', ids, params)}", params))
    return [(pid, json.loads(found[pid])) for pid in ids if pid in found]


def _highlights(document: dict, tokens) -> dict:
    if not tokens:
        return {"name": highlight(document["name"], ()), "snippet": None}
    snippet = None
    for field in ("description", "story"):
        snippet = highlight(document.get(field), tokens, snippet=160)
        if snippet:
            break
    return {"name": highlight(document["name"], tokens), "snippet": snippet}
