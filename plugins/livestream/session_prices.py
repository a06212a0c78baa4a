"""Session prices through the core price resolver: the showcase's prices are a price rule of the session's channel.

A session is the sales channel ``livestream:<id>``. Prices on it are what
``core.pricing.resolver`` answers for that channel, so everything the core
offers applies: a producer's (or the platform's) promotion whose channels name
``livestream:<id>`` (a livestream-only promotion, made through
``/admin/v1/promotions``), or the kind ``livestream`` for every session, and
the showcase's own session prices, which this module adds through the
``price_adjustments`` hook: on the session's channel only, a variant offered at
``session_price`` gets ``price so far − session_price`` off each unit (never a
price rise; a promotion that already goes lower wins). The online store,
sales points and other sessions never see it.

Bounded: one query per resolution on a livestream channel (the showcase
variants of the lines), none on other channels.
"""
from __future__ import annotations

import weakref

from sqlalchemy import select

from core.db import db
from core.pricing import resolver, version
from core.pricing.resolver import PriceAdjustment
from plugins.livestream.models import ShowcaseItem, ShowcaseVariant
from plugins.livestream.sessions import LIVESTREAM_KIND, channel_code

REFERENCE = "livestream-session-price"


def session_id_of(channel) -> int | None:
    """The session behind a pricing channel ``livestream:<id>`` (None for any other channel)."""
    if channel.kind != LIVESTREAM_KIND or ":" not in channel.code:
        return None
    tail = channel.code.split(":", 1)[1]
    return int(tail) if tail.isdigit() else None


def adjustments(channel, lines) -> list[PriceAdjustment] | None:
    """The ``price_adjustments`` answer: session prices of the showcase on the session's own channel."""
    session_id = session_id_of(channel)
    if session_id is None or not lines:
        return None
    prices = dict(db.session.execute(
        select(ShowcaseVariant.variant_id, ShowcaseVariant.session_price)
        .join(ShowcaseItem, ShowcaseItem.id == ShowcaseVariant.item_id)
        .where(ShowcaseItem.session_id == session_id, ShowcaseVariant.session_price.is_not(None),
               ShowcaseVariant.variant_id.in_([line.variant_id for line in lines]))).all())
    out = []
    for line in lines:
        price = prices.get(line.variant_id)
        if price is not None and line.unit_price > price:
            out.append(PriceAdjustment(line.variant_id, REFERENCE, "Giá livestream", "Livestream price",
                                       line.unit_price - price))
    return out


# --- prices shown in the studio and on drafts -------------------------------------------------
#: the showcase's resolved prices per loaded session object (one resolution for the whole showcase)
_MEMO: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def forget(session) -> None:
    """The showcase changed: price it again when next asked (and drop cached prices, as the hook asks)."""
    _MEMO.pop(session, None)
    version.bump()


def showcase_prices(session) -> dict:
    """``{variant_id: LinePrice}`` of one unit of every showcase variant on the session's channel, now."""
    known = _MEMO.get(session)
    if known is None:
        ids = [o.variant_id for item in session.items for o in item.variants]
        known = resolver.prices_for(ids, channel_code(session.id)) if ids else {}
        _MEMO[session] = known
    return known


def unit_price(session, variant_id: int) -> int:
    """What one unit of ``variant_id`` costs in the session now (VND, the resolver's answer)."""
    found = showcase_prices(session).get(variant_id)
    return found.unit_price if found is not None else resolver.price_for(variant_id, channel_code(session.id)).unit_price


def price_lines(session, lines):
    """A draft's lines ``[(variant_id, quantity)]`` priced on the session's channel (limits shared by the lines)."""
    return resolver.price_lines(lines, channel_code(session.id))
