"""The promotions live at a moment and the producers that joined them, read once per pricing state per process.

Entries are keyed by :func:`core.pricing.version.cache_key` — the pricing
version (bumped in the same transaction as every promotion change and opt-in)
and the last window start and end already passed — so an entry is never used
after a change commits or a window opens or closes. Usage counters change with
orders and bump nothing (unless a promotion runs out): carts re-read them with
:func:`fresh_counters`; a storefront page may show them a moment stale.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import select

from core.db import db
from core.pricing import version
from core.pricing.models import Promotion, PromotionParticipant
from core.pricing.rules import TERM_FIELDS, PromotionTerms, promotion_terms

_MAX_ENTRIES = 16
_lock = threading.Lock()
_entries: OrderedDict = OrderedDict()


@dataclass(frozen=True)
class LiveSet:
    """Live promotions by owner, and the (promotion id, producer id) pairs of accepted opt-ins."""

    national: tuple[PromotionTerms, ...]
    by_province: dict = field(default_factory=dict)  # organiser's province → promotions
    by_producer: dict = field(default_factory=dict)  # owning producer → promotions
    joined: frozenset = frozenset()

    def for_page(self, producers, provinces) -> list[PromotionTerms]:
        """The promotions that may cover products of ``producers`` (in ``provinces``), by id."""
        found = list(self.national)
        for province in provinces:
            found.extend(self.by_province.get(province, ()))
        for producer in producers:
            found.extend(self.by_producer.get(producer, ()))
        return sorted(found, key=lambda p: p.id)


def live_at(at: dt.datetime) -> LiveSet:
    """The live set at ``at`` (cached; one small query per call to check the key).

    A transaction that changed promotions reads its own uncommitted state and
    does not cache it (it may still roll back and its version number be reused).
    """
    if version.changed_in_this_transaction():
        return _load(at)
    key = version.cache_key(at)
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]
    live = _load(at)
    with _lock:
        _entries[key] = live
        while len(_entries) > _MAX_ENTRIES:
            _entries.popitem(last=False)
    return live


def _load(at: dt.datetime) -> LiveSet:
    rows = db.session.execute(select(*(getattr(Promotion, name) for name in TERM_FIELDS)).where(
        Promotion.status == "published", Promotion.starts_at <= at, Promotion.ends_at > at).order_by(Promotion.id))
    national, by_province, by_producer = [], {}, {}
    for terms in map(promotion_terms, rows):
        if terms.owner_kind == "organiser":
            by_province.setdefault(terms.province_code, []).append(terms)
        elif terms.owner_kind == "producer":
            by_producer.setdefault(terms.producer_id, []).append(terms)
        else:
            national.append(terms)
    opt_in = [p.id for group in (national, *by_province.values()) for p in group if p.requires_opt_in]
    joined = frozenset(tuple(row) for row in db.session.execute(
        select(PromotionParticipant.promotion_id, PromotionParticipant.producer_id).where(
            PromotionParticipant.promotion_id.in_(opt_in), PromotionParticipant.status == "accepted"))) \
        if opt_in else frozenset()
    return LiveSet(tuple(national), {k: tuple(v) for k, v in by_province.items()},
                   {k: tuple(v) for k, v in by_producer.items()}, joined)


def fresh_counters(promotions: list[PromotionTerms]) -> list[PromotionTerms]:
    """The same promotions with their units and budget used as committed now (one query, only if any is limited)."""
    limited = [p.id for p in promotions if p.max_total_units is not None or p.budget is not None]
    if not limited:
        return promotions
    counters = {row[0]: row[1:] for row in db.session.execute(
        select(Promotion.id, Promotion.units_used, Promotion.discount_used).where(Promotion.id.in_(limited)))}
    return [dataclasses.replace(p, units_used=counters[p.id][0], discount_used=counters[p.id][1])
            if p.id in counters else p for p in promotions]


def clear() -> None:
    with _lock:
        _entries.clear()
