"""Rules shared by promotions and vouchers: lifecycle, channels, owner reach, scope, and the facts they are checked on."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from operator import attrgetter

from sqlalchemy import select
from sqlalchemy.engine import Row

from core.catalogue.models import Producer, Product, Variant
from core.db import db
from core.geo.units import current_provinces


# --- channels ------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelRef:
    """A sales channel as pricing sees it: its kind (``sales_point``) and code (``sales_point:DN-01``)."""

    kind: str
    code: str


ONLINE_STORE = ChannelRef("online_store", "online_store")


def channel_ref(channel) -> ChannelRef:
    """``"online_store"``, ``"livestream:ls-42"`` (kind before the colon), a ``SalesChannel`` row or a ChannelRef."""
    if isinstance(channel, ChannelRef):
        return channel
    if channel is None:
        return ONLINE_STORE
    if isinstance(channel, str):
        return ChannelRef(channel.split(":", 1)[0], channel)
    return ChannelRef(channel.kind, channel.code)


def on_channel(offer, channel: ChannelRef) -> bool:
    """An offer with no channels applies everywhere; else the channel's kind or exact code must be listed."""
    return not offer.channels or channel.kind in offer.channels or channel.code in offer.channels


# --- lifecycle ------------------------------------------------------------------------
def lifecycle(offer, at: dt.datetime) -> str:
    """draft → scheduled → active → ended, from the stored status and the window (end excluded)."""
    if offer.status == "draft":
        return "draft"
    if offer.status == "stopped" or at >= offer.ends_at:
        return "ended"
    return "scheduled" if at < offer.starts_at else "active"


# --- customers ------------------------------------------------------------------------
_NOT_DIGITS = re.compile(r"\D")


def customer_key(phone: str | None = None, user_id: int | None = None) -> str | None:
    """The key per-customer limits count by: ``user:<id>`` for an account, else ``phone:0912345678``."""
    if user_id is not None:
        return f"user:{int(user_id)}"
    digits = _NOT_DIGITS.sub("", phone or "")
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return f"phone:{digits}" if len(digits) >= 8 else None


# --- promotion terms as the resolver reads them ---------------------------------------
@dataclass(frozen=True, slots=True)
class PromotionTerms:
    """A live promotion read as plain values (cheap to load and to match for a whole page)."""

    id: int
    name: str
    name_en: str
    kind: str
    value: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    channels: frozenset
    scope: dict  # key → frozenset
    stackable: bool
    owner_kind: str
    province_code: str | None
    producer_id: int | None
    requires_opt_in: bool
    max_units_per_order: int | None
    max_uses_per_customer: int | None
    max_total_units: int | None
    budget: int | None
    units_used: int
    discount_used: int


TERM_FIELDS = tuple(PromotionTerms.__dataclass_fields__)


_CHANNELS, _SCOPE = TERM_FIELDS.index("channels"), TERM_FIELDS.index("scope")


def promotion_terms(source) -> PromotionTerms:
    """Terms of a Promotion, or of a result row selecting :data:`TERM_FIELDS` in that order."""
    values = list(source) if isinstance(source, (tuple, Row)) else [getattr(source, name) for name in TERM_FIELDS]
    values[_CHANNELS] = frozenset(values[_CHANNELS] or ())
    values[_SCOPE] = {key: frozenset(v) for key, v in (values[_SCOPE] or {}).items() if v}
    return PromotionTerms(*values)


# --- facts and scope ------------------------------------------------------------------
@dataclass
class VariantFacts:
    """What offers are matched on, for one variant (loaded for a whole page in one query)."""

    variant_id: int
    sku: str
    variant_name: str
    base_price: int
    product_id: int
    product_name: str
    product_slug: str
    producer_id: int
    producer_name: str
    producer_province: str | None
    group_code: str
    product_set_code: str | None
    stars: int | None
    origin_commune: str | None
    origin_province: str | None = None


def facts_of(variant, product, producer) -> VariantFacts:
    """The facts of a variant whose product and producer the caller has already loaded (no query)."""
    return VariantFacts(variant.id, variant.sku, variant.name, variant.price, product.id, product.name, product.slug,
                        product.producer_id, producer.name, producer.province_code, product.group_code,
                        product.product_set_code, product.listed_stars, product.origin_commune_code)


def load_facts(variant_ids=(), with_origin: bool = False, product_ids=()) -> dict[int, VariantFacts]:
    """Facts of ``variant_ids`` (or of the active variants of ``product_ids``) in one query.

    Origin provinces, if asked: a few more queries, one per unit level.
    """
    ids, products = sorted(set(variant_ids)), sorted(set(product_ids))
    if not ids and not products:
        return {}
    stmt = (select(Variant.id, Variant.sku, Variant.name, Variant.price, Product.id, Product.name, Product.slug,
                   Product.producer_id, Producer.name, Producer.province_code, Product.group_code,
                   Product.product_set_code, Product.listed_stars, Product.origin_commune_code)
            .join(Product, Product.id == Variant.product_id).join(Producer, Producer.id == Product.producer_id))
    stmt = stmt.where(Variant.id.in_(ids)) if ids else \
        stmt.where(Variant.product_id.in_(products), Variant.active.is_(True))
    rows = db.session.execute(stmt.order_by(Variant.id)).all()
    facts = {row[0]: VariantFacts(*row) for row in rows}
    if with_origin:
        add_origin_provinces(facts.values())
    return facts


def add_origin_provinces(facts) -> None:
    """Fill ``origin_province``: the current province of the product's origin commune (else the producer's)."""
    missing = [f for f in facts if f.origin_province is None]
    provinces = current_provinces(f.origin_commune for f in missing if f.origin_commune)
    for f in missing:
        f.origin_province = provinces.get(f.origin_commune) or f.producer_province


def needs_origin(offers) -> bool:
    return any(offer.scope and offer.scope.get("provinces") for offer in offers)


def in_reach(offer, facts: VariantFacts) -> bool:
    """The owner's reach: admin everything, an organiser its province's producers, a producer its own products."""
    if offer.owner_kind == "admin":
        return True
    if offer.owner_kind == "organiser":
        return facts.producer_province == offer.province_code
    return facts.producer_id == offer.producer_id


#: the fact each scope key is matched on
SCOPE_FACTS = {"variants": attrgetter("variant_id"), "products": attrgetter("product_id"),
          "producers": attrgetter("producer_id"), "groups": attrgetter("group_code"),
          "product_sets": attrgetter("product_set_code"), "stars": attrgetter("stars"),
          "provinces": attrgetter("origin_province")}


def in_scope(scope: dict | None, facts: VariantFacts) -> bool:
    """Scope keys combine with AND, the values of one key with OR; an empty scope is everything."""
    for key, values in (scope or {}).items():
        if values and SCOPE_FACTS[key](facts) not in values:
            return False
    return True


def applies_to(offer, facts: VariantFacts) -> bool:
    """The offer covers this variant (owner reach and scope; lifecycle, channel and opt-in are checked apart)."""
    return in_reach(offer, facts) and in_scope(offer.scope, facts)

