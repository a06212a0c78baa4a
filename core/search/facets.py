"""The database backend's facet columns, kept in memory by every process: filters, facet counts, totals, sort orders.

Each worker holds the narrow columns of ``search_document`` (group, stars,
province, legal form, price bucket, in stock, listed until, price, created
at) as one bitmap (a Python int) per facet value plus position lists sorted
for each sort. The engine is asked only for the ids matching the words;
filtering and counting a quarter of the catalogue is then a few dozen integer
ANDs. The columns follow ``search_index_change``, written by every index write:
one primary-key read per search compares tokens, and only the products a
write touched are re-read (a rebuild, a wiped log or a large gap reloads all).
"""
from __future__ import annotations

import datetime as dt
import threading
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field

from core.db import db
from core.search import sql
from core.search.backend import PRICE_BUCKETS, price_bucket

FACET_KEYS = ("group", "stars", "province", "legal_form", "price", "in_stock")
#: catch up from the change log when it names at most this many products; reload everything beyond
MAX_CATCH_UP = 2000
_COLUMNS = ("product_id, group_code, stars, province_code, legal_form, price_bucket, in_stock, listed_until, "
            "price_min, created_at")
_HEAD = "SELECT seq, token FROM search_index_change ORDER BY seq DESC LIMIT 1"
#: the head as two scalar subqueries, for a caller that reads it inside its own first statement
HEAD_COLUMNS = ("(SELECT seq FROM search_index_change ORDER BY seq DESC LIMIT 1)",
                "(SELECT token FROM search_index_change ORDER BY seq DESC LIMIT 1)")
_HEAD_KEY = "ocop_search_index_head"  # session info: (the transaction it was read in, (seq, token))


def _date_ordinal(value) -> int:
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.toordinal()


def _bitmap(positions, size: int) -> int:
    """The int whose set bits are ``positions``."""
    if isinstance(positions, list) and len(positions) > 1000:  # one byte per bit, read as a base-2 number
        digits = bytearray(b"0") * size
        for p in positions:
            digits[p] = 49  # "1"
        digits.reverse()
        return int(digits, 2)
    mask = bytearray((size >> 3) + 1)
    for p in positions:
        mask[p >> 3] |= 1 << (p & 7)
    return int.from_bytes(mask, "little")


def _positions(bitmap: int) -> list[int]:
    """The set bits of ``bitmap``, lowest first."""
    bits = bin(bitmap)[:1:-1]
    out, i = [], bits.find("1")
    while i >= 0:
        out.append(i)
        i = bits.find("1", i + 1)
    return out


@dataclass
class Filters:
    """Equality filters by facet, the lowest-price range and the day (listed until after it)."""

    equal: dict = field(default_factory=dict)  # facet key → value
    min_price: int | None = None
    max_price: int | None = None
    today: dt.date = field(default_factory=dt.date.today)


class FacetColumns:
    """One consistent copy of the facet columns (never mutated once published; catching up works on a copy)."""

    #: the presorted position lists (ascending; descending sorts walk them backwards)
    ORDERS = ("browse", "price", "created", "stars")

    def __init__(self, seq: int, token: str | None) -> None:
        self.seq, self.token = seq, token
        # every list is indexed by product id (bit n of a bitmap is product n); None where no document is
        self.values: list[tuple | None] = []   # (group, stars, province, legal_form, price bucket, in stock)
        self.price: list[int | None] = []
        self.created: list = []
        self.listed_until: list[int | None] = []
        self.bitmaps: dict[str, dict] = {key: {} for key in FACET_KEYS}
        self.alive = 0
        self.orders: dict[str, list[int]] = {}
        self.price_keys: list[int] = []
        self.expiry: list[tuple[int, int]] = []  # (listed until ordinal, position), sorted
        self.bucket_starts: list[int] = []  # index in the price order where each price bucket begins
        self.province_names: dict[str, str] = {}
        self._expired: dict[int, int] = {}
        #: product → (indexed lowest price, lowest price now) of the products whose price a sale lowered
        self.discounted: dict[int, tuple[int, int]] = {}
        self._priced: tuple | None = None  # (the sale prices, the priced copy)

    def _key(self, order: str):
        values, created, price = self.values, self.created, self.price
        if order == "browse":
            return lambda p: (values[p][1], created[p], p)
        if order == "price":
            return lambda p: (price[p], p)
        if order == "created":
            return lambda p: (created[p], p)
        return lambda p: (-values[p][1], p)

    @property
    def size(self) -> int:
        """Bits in a bitmap: the highest product id loaded, plus one."""
        return len(self.values)

    # building --------------------------------------------------------------------------------
    @classmethod
    def load(cls, seq: int, token: str | None) -> "FacetColumns":
        """Every row of ``search_document``."""
        columns = cls(seq, token)
        members: dict[str, dict] = {key: {} for key in FACET_KEYS}
        present = []
        for row in sql.rows(f"SELECT {_COLUMNS} FROM search_document ORDER BY product_id"):
            p = columns._set(row)
            present.append(p)
            for key, value in zip(FACET_KEYS, columns.values[p]):
                members[key].setdefault(value, []).append(p)
        size = columns.size
        for key in FACET_KEYS:
            columns.bitmaps[key] = {value: _bitmap(ps, size) for value, ps in members[key].items()}
        columns.alive = _bitmap(present, size)
        for order in cls.ORDERS:
            columns.orders[order] = sorted(present, key=columns._key(order))
        columns.expiry = sorted((columns.listed_until[p], p) for p in present)
        columns._price_index()
        columns._name_provinces()
        return columns

    def _price_index(self) -> None:
        self.price_keys = [self.price[p] for p in self.orders["price"]]
        self.bucket_starts = [bisect_left(self.price_keys, low or 0) for _, low, _ in PRICE_BUCKETS]

    def _name_provinces(self) -> None:
        """Names of the provinces in the facets (documents carry the province's name as of their indexing)."""
        codes = [code for code in self.bitmaps["province"] if code is not None and code not in self.province_names]
        for start in range(0, len(codes), 500):
            params: dict = {}
            self.province_names.update(sql.rows(
                f"SELECT code, name FROM administrative_unit WHERE code IN "
                f"{sql.in_list('c', codes[start:start + 500], params)}", params))

    def _set(self, row) -> int:
        p, group, stars, province, legal_form, bucket, in_stock, listed_until, price, created = row
        if p >= len(self.values):
            grow = p + 1 - len(self.values)
            for column in (self.values, self.price, self.created, self.listed_until):
                column.extend([None] * grow)
        self.values[p] = (group, int(stars), province, legal_form, int(bucket), bool(in_stock))
        self.price[p] = -1 if price is None else int(price)
        self.created[p] = created
        self.listed_until[p] = _date_ordinal(listed_until)
        return p

    def _copy(self, seq: int, token: str | None) -> "FacetColumns":
        other = FacetColumns(seq, token)
        other.values = list(self.values)
        other.price, other.created, other.listed_until = list(self.price), list(self.created), list(self.listed_until)
        other.bitmaps = {key: dict(values) for key, values in self.bitmaps.items()}
        other.alive = self.alive
        other.orders = {order: list(ps) for order, ps in self.orders.items()}
        # the price index too: a priced copy in which no sale moved any price keeps it as it is
        other.price_keys, other.bucket_starts = list(self.price_keys), list(self.bucket_starts)
        other.expiry = list(self.expiry)
        other.province_names = dict(self.province_names)
        return other

    def _remove(self, p: int) -> None:
        bit = 1 << p
        for key, value in zip(FACET_KEYS, self.values[p]):
            self.bitmaps[key][value] &= ~bit
        self.alive &= ~bit
        for order, ps in self.orders.items():
            ps.remove(p)
        self.expiry.remove((self.listed_until[p], p))
        self.values[p] = self.price[p] = self.created[p] = self.listed_until[p] = None

    def _add(self, row) -> None:
        p = self._set(row)
        bit = 1 << p
        for key, value in zip(FACET_KEYS, self.values[p]):
            self.bitmaps[key][value] = self.bitmaps[key].get(value, 0) | bit
        self.alive |= bit
        for order in self.ORDERS:
            insort(self.orders[order], p, key=self._key(order))
        insort(self.expiry, (self.listed_until[p], p))

    def caught_up(self, seq: int, token: str | None) -> "FacetColumns | None":
        """A copy brought to (seq, token) from the change log, or None when only a reload will do."""
        if self.token is None or token is None:
            return None
        mine = sql.rows("SELECT token FROM search_index_change WHERE seq = :seq", {"seq": self.seq})
        if not mine or mine[0][0] != self.token:
            return None  # the log was trimmed past us, or wiped
        changes = sql.rows("SELECT seq, token, rebuild, product_ids FROM search_index_change "
                           "WHERE seq > :seq AND seq <= :head ORDER BY seq", {"seq": self.seq, "head": seq})
        if not changes or (changes[-1][0], changes[-1][1]) != (seq, token) or any(c[2] for c in changes):
            return None
        ids = {int(i) for c in changes for i in (c[3] or "").split(",") if i}
        if len(ids) > MAX_CATCH_UP:
            return None
        other = self._copy(seq, token)
        for pid in ids:
            if pid < other.size and other.values[pid] is not None:
                other._remove(pid)
        for start in range(0, len(ids), 500):
            params: dict = {}
            chunk = sorted(ids)[start:start + 500]
            for row in sql.rows(f"SELECT {_COLUMNS} FROM search_document WHERE product_id IN "
                                f"{sql.in_list('p', chunk, params)}", params):
                other._add(row)
        other._price_index()
        other._name_provinces()
        return other

    def priced(self, sale) -> "FacetColumns":
        """These columns with each on-sale product's lowest price now (:class:`core.search.prices.SalePrices`):
        its price bucket, price filters and place in the price order. Built once per pricing state."""
        if not sale:
            return self
        known = self._priced
        if known is not None and known[0] is sale:
            return known[1]
        other = self._copy(self.seq, self.token)
        buckets = other.bitmaps["price"]
        for p, price in sale.prices.items():
            if p >= other.size or other.values[p] is None:
                continue
            base = other.price[p]
            if 0 <= base <= price:
                continue
            old, bucket, bit = other.values[p], price_bucket(price), 1 << p
            buckets[old[4]] &= ~bit
            buckets[bucket] = buckets.get(bucket, 0) | bit
            other.values[p] = (*old[:4], bucket, old[5])
            other.price[p] = price
            other.discounted[p] = (base, price)
        if other.discounted:
            other.orders["price"].sort(key=other._key("price"))
            other._price_index()
        self._priced = (sale, other)
        return other

    # reading -----------------------------------------------------------------------------------
    def ids_bitmap(self, product_ids) -> int:
        """The bitmap of ``product_ids`` (possibly with ids this copy does not know: see :meth:`knows`)."""
        return _bitmap(product_ids, max(self.size, max(product_ids, default=0) + 1))

    def knows(self, bitmap: int) -> bool:
        """True when every document in ``bitmap`` is in this copy."""
        return not bitmap & ~self.alive

    def select(self, filters: Filters, within: int | None = None) -> int:
        """Bitmap of the listed documents passing ``filters`` (within the bitmap ``within``, if given)."""
        chosen = self.alive if within is None else self.alive & within
        for key, value in filters.equal.items():
            chosen &= self.bitmaps[key].get(value, 0)
            if not chosen:
                return 0
        if filters.min_price is not None or filters.max_price is not None:
            chosen &= self._price_range(max(0, filters.min_price or 0), filters.max_price)
        return chosen & ~self._expired_on(filters.today)

    def _price_range(self, low: int, high: int | None) -> int:
        """Documents whose lowest price is in [low, high]: whole price buckets from their bitmaps, the
        partly covered ones from the price order."""
        start = bisect_left(self.price_keys, low)
        end = len(self.price_keys) if high is None else bisect_right(self.price_keys, high)
        bounds = self.bucket_starts + [len(self.price_keys)]
        chosen, edges = 0, []
        for bucket in range(len(PRICE_BUCKETS)):
            first, last = bounds[bucket], bounds[bucket + 1]
            if start <= first and last <= end:
                chosen |= self.bitmaps["price"].get(bucket, 0)
            elif first < end and start < last:
                edges.extend(self.orders["price"][max(first, start):min(last, end)])
        unpriced = self.orders["price"][:self.bucket_starts[0]]  # no price: in bucket 0, never in a range
        return (chosen | _bitmap(edges, self.size)) & ~_bitmap(unpriced, self.size)

    def _expired_on(self, today: dt.date) -> int:
        """Documents whose listing ended by ``today`` (the daily expiry normally removes them first)."""
        day = today.toordinal()
        if day not in self._expired:
            end = bisect_right(self.expiry, (day, self.size))
            self._expired = {day: _bitmap((p for _, p in self.expiry[:end]), self.size)}
        return self._expired[day]

    def counts(self, chosen: int) -> dict[str, dict]:
        """Facet value → number of chosen documents, for every facet (values counting zero left out)."""
        out: dict[str, dict] = {}
        for key in FACET_KEYS:
            counts = {}
            for value, bitmap in self.bitmaps[key].items():
                if value is not None:
                    n = (chosen & bitmap).bit_count()
                    if n:
                        counts[value] = n
            out[key] = counts
        return out

    def page(self, chosen: int, total: int, sort: str, offset: int, limit: int) -> list[int]:
        """Product ids of one page of the chosen documents in a non-relevance order.

        Orders: ``browse`` (stars, newest, id — all descending), ``price_asc``,
        ``price_desc``, ``newest``, ``stars`` (stars descending, id ascending).
        Dense selections walk the presorted list; sparse ones sort their members.
        """
        order, backwards = {"browse": ("browse", True), "price_asc": ("price", False),
                            "price_desc": ("price", True), "newest": ("created", True),
                            "stars": ("stars", False)}[sort]
        need = offset + limit
        if not total or offset >= total:
            return []
        size = self.size
        if need * size <= 2 * total * total:
            mask = chosen.to_bytes((size >> 3) + 1, "little")
            picked = []
            for p in (reversed(self.orders[order]) if backwards else self.orders[order]):
                if mask[p >> 3] >> (p & 7) & 1:
                    picked.append(p)
                    if len(picked) == need:
                        break
        else:
            picked = sorted(_positions(chosen), key=self._key(order), reverse=backwards)[:need]
        return picked[offset:]


_lock = threading.Lock()
_columns: dict[str, FacetColumns] = {}


def remember_head(values: tuple) -> None:
    """Keep the values of :data:`HEAD_COLUMNS` read in this transaction for the next :func:`current`."""
    db.session.info[_HEAD_KEY] = (db.session().get_transaction(), values)


def current() -> FacetColumns:
    """This process's facet columns, brought up to date with the index (one indexed read when nothing changed,
    none when :func:`remember_head` was given it in this transaction)."""
    known = db.session.info.pop(_HEAD_KEY, None)
    if known is not None and known[0] is db.session().get_transaction() and known[0] is not None:
        seq, token = known[1]
        seq = 0 if seq is None else int(seq)
    else:
        head = sql.rows(_HEAD)
        seq, token = head[0] if head else (0, None)
    key = str(db.engine.url)
    columns = _columns.get(key)
    if columns is not None and columns.seq == seq and columns.token == token:
        return columns
    with _lock:
        columns = _columns.get(key)
        if columns is None or columns.seq != seq or columns.token != token:
            columns = (columns.caught_up(seq, token) if columns is not None else None) or FacetColumns.load(seq, token)
            _columns[key] = columns
    return columns


def forget() -> None:
    """Drop every process-held copy (tests that swap databases)."""
    with _lock:
        _columns.clear()
