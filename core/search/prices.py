"""The prices search filters, counts and sorts by: each listed product's lowest online-store price *now*.

Documents carry the base lowest price (``price_min``). Which products are on sale, and at what price, comes
from the price resolver for the pricing state at the moment of the query — :func:`core.pricing.version.cache_key`,
which changes with every promotion change and whenever a window opens or closes — so a sale moves products
between price buckets and sort positions on time, with no job and no re-index. Read once per pricing state
per process (the products live promotions may cover, priced in batches); every search in that state reuses it.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select

from core import clock
from core.catalogue.listing import listed_clause
from core.catalogue.models import Producer, Product
from core.db import db
from core.search import sql
from core.pricing import live as live_promotions
from core.pricing import resolver
from core.pricing import version as pricing_version

#: the channel whose prices search shows (the storefront's)
PRICE_CHANNEL = "online_store"
BATCH = 1000
_MAX_ENTRIES = 8
_lock = threading.Lock()
_entries: OrderedDict = OrderedDict()


@dataclass(frozen=True)
class SalePrices:
    """``{product_id: lowest sale price now}`` of the products on sale (VND), the pricing state it is for, and
    each one's offer as the resolver gave it (``sale_price_min``, ``sale_ends_at``, ``promotions`` badges)."""

    key: tuple
    prices: dict
    offers: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.prices)

    def offer(self, product_id: int) -> dict:
        """The product's sale now (empty when it is not on sale)."""
        return self.offers.get(product_id) or {}


NONE = SalePrices((), {})


@dataclass(frozen=True)
class _Ref:
    id: int


#: the statement of :func:`core.pricing.version.key_columns`, on the connection (no ORM execution: ~0.1 ms less)
_STATE = ("SELECT (SELECT version FROM pricing_version WHERE id = 1), "
          "(SELECT max(starts_at) FROM promotion WHERE status = 'published' AND starts_at <= :at), "
          "(SELECT max(ends_at) FROM promotion WHERE status = 'published' AND ends_at <= :at)")


def pricing_state(at: dt.datetime, extra: tuple[str, ...] = (), received: Callable[[tuple], None] | None = None
                  ) -> tuple:
    """:func:`core.pricing.version.cache_key` at ``at``, read with one plain statement on the session's
    connection and handed to pricing's per-transaction memo (the resolver's ``live_at`` reads it from there).

    ``extra``: SQL expressions the caller wants read in the same round trip; their values go to ``received``
    (not called when this transaction changed promotions: the key is then pricing's own uncommitted read).
    """
    if pricing_version.changed_in_this_transaction():
        return pricing_version.cache_key(at)
    utc = at.astimezone(dt.timezone.utc).replace(tzinfo=None) if at.tzinfo else at
    # stored as naive UTC; SQLite compares the text form the column type writes
    bound = utc.strftime("%Y-%m-%d %H:%M:%S.%f") if db.engine.dialect.name == "sqlite" else utc
    row = sql.rows(_STATE + "".join(f", {column}" for column in extra), {"at": bound})[0]
    pricing_version.remember_key(at, row[:3])
    if received is not None:
        received(row[3:])
    return pricing_version.cache_key(at)


def sale_prices(at: dt.datetime, state: tuple | None = None) -> SalePrices:
    """The sale prices at ``at``: cached per database and pricing state, and tied to the resolver's own cached
    set of live promotions for that state (uncached inside a transaction that changed promotions, which reads
    its own uncommitted state). ``state``: :func:`pricing_state` at ``at`` when the caller already read it."""
    if pricing_version.changed_in_this_transaction():
        return SalePrices(("uncommitted",), *_compute(at, live_promotions.live_at(at)))
    key = (str(db.engine.url), *(state if state is not None else pricing_state(at)))
    live = live_promotions.live_at(at)
    with _lock:
        entry = _entries.get(key)
        if entry is not None and entry[0] is live:
            _entries.move_to_end(key)
            return entry[1]
    found = SalePrices(key, *_compute(at, live))
    with _lock:
        _entries[key] = (live, found)
        while len(_entries) > _MAX_ENTRIES:
            _entries.popitem(last=False)
    return found


def clear() -> None:
    """Forget every cached state (tests that swap databases)."""
    with _lock:
        _entries.clear()


def _candidates(live) -> list[int] | None:
    """Listed products some live promotion may cover: None for all of them, [] when nothing is live."""
    if not (live.national or live.by_province or live.by_producer):
        return []
    if any(not p.requires_opt_in for p in live.national):
        return None
    producers = set(live.by_producer) | {producer for promotion, producer in live.joined}
    conditions = [Product.producer_id.in_(sorted(producers))] if producers else []
    if live.by_province:
        conditions.append(Product.producer_id.in_(
            select(Producer.id).where(Producer.province_code.in_(sorted(live.by_province)))))
    if not conditions:
        return []
    stmt = select(Product.id).where(listed_clause(clock.today()), conditions[0] if len(conditions) == 1
                                    else conditions[0] | conditions[1]).order_by(Product.id)
    return list(db.session.execute(stmt).scalars())


def _compute(at: dt.datetime, live) -> tuple[dict[int, int], dict[int, dict]]:
    ids = _candidates(live)
    if ids is None:
        ids = list(db.session.execute(select(Product.id).where(listed_clause(clock.today())).order_by(Product.id))
                   .scalars())
    prices: dict[int, int] = {}
    on_sale: dict[int, dict] = {}
    for start in range(0, len(ids), BATCH):
        offers = resolver.product_prices([_Ref(i) for i in ids[start:start + BATCH]], PRICE_CHANNEL, at)
        for product_id, offer in offers.items():
            if offer.get("sale_price_min") is not None:
                prices[product_id] = offer["sale_price_min"]
                on_sale[product_id] = {"sale_price_min": offer["sale_price_min"],
                                       "sale_ends_at": offer["sale_ends_at"], "promotions": offer["promotions"]}
    return prices, on_sale
