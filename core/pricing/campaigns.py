"""Public read of the promotions running now on a channel: what the storefront's home page announces.

Read from the live set the resolver prices with (:mod:`core.pricing.live`), so a campaign is announced
exactly while it can lower a price on that channel: published, inside its window, on the channel, and —
when it needs producers' opt-in — joined by at least one producer.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core import clock
from core.catalogue.models import Producer
from core.db import db
from core.pricing.live import live_at
from core.pricing.rules import PromotionTerms, channel_ref, on_channel

#: scope keys a storefront listing can filter by, with the argument it takes (a single value only)
LISTING_FILTERS = {"groups": "group", "stars": "stars", "provinces": "province"}
MAX_PARTICIPANTS = 8


def running_promotions(channel="online_store", at: dt.datetime | None = None, limit: int = 6) -> list[dict]:
    """Promotions live at ``at`` (now) on ``channel``, ending soonest first, at most ``limit``.

    Each: ``id``, ``name``, ``name_en``, ``kind``, ``value``, ``starts_at``, ``ends_at``, ``owner_kind``,
    ``listing`` (catalogue filters that list the products it may cover: ``group``, ``stars``, ``province``,
    ``producer`` slug; ``{}`` when no filter narrows it down, ``None`` when no listing shows just those) and
    ``producers`` (the producers that joined an opt-in campaign, ``[{slug, name}]``, at most
    :data:`MAX_PARTICIPANTS`; ``[]`` otherwise).
    """
    at = at or clock.now()
    ref = channel_ref(channel)
    live = live_at(at)
    candidates = [*live.national, *(p for group in live.by_province.values() for p in group),
                  *(p for group in live.by_producer.values() for p in group)]
    joined: dict[int, list[int]] = {}
    for promotion_id, producer_id in live.joined:
        joined.setdefault(promotion_id, []).append(producer_id)
    shown = sorted((p for p in candidates if on_channel(p, ref) and (not p.requires_opt_in or joined.get(p.id))),
                   key=lambda p: (p.ends_at, p.id))[:limit]
    wanted = {pid for p in shown for pid in joined.get(p.id, ())[:MAX_PARTICIPANTS * 4]}
    wanted |= {p.producer_id for p in shown if p.owner_kind == "producer"}
    wanted |= {pid for p in shown if len(p.scope.get("producers", ())) == 1 for pid in p.scope["producers"]}
    producers = {row.id: row for row in db.session.execute(
        select(Producer.id, Producer.slug, Producer.name).where(Producer.id.in_(wanted),
                                                                  Producer.status == "verified"))} if wanted else {}
    return [_public(p, producers, sorted(joined.get(p.id, ()))) for p in shown]


def _public(p: PromotionTerms, producers: dict, joined: list[int]) -> dict:
    return {"id": p.id, "name": p.name, "name_en": p.name_en, "kind": p.kind, "value": p.value,
            "starts_at": p.starts_at, "ends_at": p.ends_at, "owner_kind": p.owner_kind,
            "listing": _listing(p, producers, joined),
            "producers": sorted(({"slug": producers[i].slug, "name": producers[i].name} for i in joined
                                 if i in producers), key=lambda r: r["name"])[:MAX_PARTICIPANTS]}


def _listing(p: PromotionTerms, producers: dict, joined: list[int]) -> dict | None:
    """The storefront filters that list what the promotion may cover (its owner's reach, its scope, and the
    one producer that joined an opt-in campaign)."""
    scope = p.scope
    if scope.get("variants") or scope.get("products") or scope.get("product_sets"):
        return None
    found: dict = {}
    if p.owner_kind == "organiser" and p.province_code:
        found["province"] = p.province_code
    if p.owner_kind == "producer":
        if p.producer_id not in producers:
            return None
        found["producer"] = producers[p.producer_id].slug
    if scope.get("producers"):
        ids = sorted(scope["producers"])
        if len(ids) != 1 or ids[0] not in producers:
            return None
        found["producer"] = producers[ids[0]].slug
    if p.requires_opt_in and len(joined) == 1 and joined[0] in producers:
        if found.get("producer", producers[joined[0]].slug) != producers[joined[0]].slug:
            return None
        found["producer"] = producers[joined[0]].slug
    for key, arg in LISTING_FILTERS.items():
        values = sorted(scope.get(key, ()), key=str)
        if len(values) > 1 or (arg in found and values and str(values[0]) != str(found[arg])):
            return None  # several values (or a province outside the owner's) cannot be one listing
        if values:
            found[arg] = values[0]
    return found
