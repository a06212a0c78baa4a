"""The price resolver: what a variant costs on a channel at a moment — the only place a price is computed.

``price_for`` (one line), ``prices_for`` (a page of variants, bounded queries)
and ``price_lines`` (a cart with vouchers) all answer integer VND: the base
price, every discount applied (promotion, plugin adjustment, voucher) and the
final unit and line price. See ``docs/pricing.md`` for how callers use it.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field

from sqlalchemy import func, select

from core import clock
from core.catalogue.models import Variant
from core.db import db
from core.errors import invalid
from core.plugins import hooks
from core.pricing import vouchers as voucher_rules
from core.pricing.live import fresh_counters, live_at
from core.pricing.models import Promotion, PromotionUsage, Voucher
from core.pricing.rules import (SCOPE_FACTS, ChannelRef, PromotionTerms, add_origin_provinces,
                                VariantFacts, applies_to, channel_ref, customer_key, load_facts, needs_origin,
                                on_channel, promotion_terms)

log = logging.getLogger(__name__)
UNLIMITED = float("inf")
#: stackable promotions apply in this order after the best exclusive one: set prices, then percentages, then amounts
_STACK_ORDER = {"fixed_price": 0, "percentage": 1, "amount": 2}


# --- answers ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AppliedDiscount:
    """One discount on one line: where it comes from, how much (VND, rounded down), on how many units."""

    source: str  # "promotion" | "plugin" | "voucher"
    id: int | None
    reference: str  # "promotion:12", "voucher:7", "plugin:<reference>"
    name: str
    name_en: str
    amount: int
    units: int
    unit_amount: int | None = None  # None for a voucher's share of an order-level amount
    code: str | None = None  # voucher code
    ends_at: dt.datetime | None = None
    starts_at: dt.datetime | None = None

    def as_dict(self) -> dict:
        """The JSON snapshot stored on an order line."""
        return {"source": self.source, "id": self.id, "reference": self.reference, "name": self.name,
                "name_en": self.name_en, "amount": self.amount, "units": self.units,
                "unit_amount": self.unit_amount, "code": self.code,
                "starts_at": self.starts_at.isoformat() if self.starts_at else None,
                "ends_at": self.ends_at.isoformat() if self.ends_at else None}


@dataclass(frozen=True)
class LinePrice:
    """A priced line. ``line_total`` is what is charged; ``unit_price`` is the sale price of one unit."""

    variant_id: int
    product_id: int
    producer_id: int
    quantity: int
    base_unit_price: int
    unit_price: int
    discounts: tuple[AppliedDiscount, ...]
    discount_amount: int
    line_total: int
    sale_ends_at: dt.datetime | None

    @property
    def on_sale(self) -> bool:
        return self.unit_price < self.base_unit_price

    @property
    def base_total(self) -> int:
        return self.base_unit_price * self.quantity

    def snapshot(self) -> list[dict]:
        """``OrderLine.discounts``: every discount that gave this line its price."""
        return [d.as_dict() for d in self.discounts]


@dataclass(frozen=True)
class CartPrice:
    """A priced cart: its lines, the vouchers that applied and the totals (VND)."""

    channel: ChannelRef
    at: dt.datetime
    customer_key: str | None
    lines: tuple[LinePrice, ...]
    vouchers: tuple[Voucher, ...]
    base_subtotal: int
    discount_amount: int
    subtotal: int

    def line(self, variant_id: int) -> LinePrice:
        return next(line for line in self.lines if line.variant_id == variant_id)


@dataclass(frozen=True)
class PricingLine:
    """What the ``price_adjustments`` hook sees of a line (after the core's promotions)."""

    variant_id: int
    product_id: int
    producer_id: int
    quantity: int
    base_unit_price: int
    unit_price: int


@dataclass(frozen=True)
class PriceAdjustment:
    """A plugin's discount: ``unit_amount`` VND off each unit of ``variant_id`` (rounded down, capped at the price)."""

    variant_id: int
    reference: str
    name: str
    name_en: str
    unit_amount: int


# --- the three entry points --------------------------------------------------------------
def price_for(variant, channel="online_store", at: dt.datetime | None = None, quantity: int = 1,
              customer: str | None = None, vouchers=()) -> LinePrice:
    """The price of ``quantity`` units of ``variant`` (object or id) on ``channel`` at ``at`` (default now)."""
    return price_lines([(variant, quantity)], channel, at, customer, vouchers).lines[0]


def prices_for(variants, channel="online_store", at: dt.datetime | None = None) -> dict[int, LinePrice]:
    """One unit of each variant, each priced on its own (a storefront page): ``{variant_id: LinePrice}``.

    A bounded number of queries whatever the number of variants: facts, live
    promotions, opt-ins (and origin provinces when a promotion is scoped by them).
    """
    ids = [_variant_id(v) for v in variants]
    if not ids:
        return {}
    priced = _Pricing(channel, at, None, independent=True).run([(i, 1) for i in dict.fromkeys(ids)], ())
    return {line.variant_id: line for line in priced.lines}


def price_lines(lines, channel="online_store", at: dt.datetime | None = None, customer: str | None = None,
                vouchers=(), facts: dict[int, VariantFacts] | None = None) -> CartPrice:
    """Price a cart: ``lines`` = [(variant or id, quantity)], in order; ``vouchers`` = codes or Voucher rows.

    Per-order unit limits and remaining totals/budgets are shared by the lines.
    A wrong, spent or inapplicable voucher raises a 4xx DomainError. ``facts``: the lines' facts if the
    caller has them (:func:`core.pricing.rules.facts_of`)."""
    pairs = []
    for variant, quantity in lines:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 1_000_000:
            raise invalid("quantity", "số lượng phải là số nguyên dương", "quantity must be a positive integer",
                          code="pricing.invalid_quantity")
        pairs.append((_variant_id(variant), quantity))
    return _Pricing(channel, at, customer).run(pairs, vouchers, facts)


def preview_prices(variant_ids, promotion: Promotion, channel="online_store",
                   at: dt.datetime | None = None) -> tuple[dict[int, LinePrice], dict[int, LinePrice]]:
    """One unit of each variant with ``promotion`` as if active and joined by every producer, and without it."""
    pairs = [(i, 1) for i in dict.fromkeys(variant_ids)]
    if not pairs:
        return {}, {}
    with_it = _Pricing(channel, at, None, independent=True, preview=promotion).run(pairs, ())
    without = _Pricing(channel, at, None, independent=True, without=promotion).run(pairs, ())
    return ({l.variant_id: l for l in with_it.lines}, {l.variant_id: l for l in without.lines})


def product_prices(products, channel="online_store", at: dt.datetime | None = None) -> dict[int, dict]:
    """Per product of a storefront page: lowest sale price, when it ends, promotions shown, each variant's sale price.

    ``{product_id: {"sale_price_min", "sale_ends_at", "promotions": [badge], "variant_prices": {variant_id:
    {"sale_price", "sale_ends_at"}}}}`` (sale fields None when not on sale), in the same bounded
    number of queries as :func:`prices_for`.
    """
    facts = load_facts(product_ids=[p.id for p in products])
    if not facts:
        return {}
    priced = _Pricing(channel, at, None, independent=True).run([(i, 1) for i in facts], (), facts)
    offers: dict[int, dict] = {}
    for line in priced.lines:
        variant_id, product_id = line.variant_id, line.product_id
        offer = offers.setdefault(product_id, {"sale_price_min": None, "sale_ends_at": None, "promotions": {},
                                               "variant_prices": {}})
        offer["variant_prices"][variant_id] = {"sale_price": line.unit_price if line.on_sale else None,
                                               "sale_ends_at": line.sale_ends_at if line.on_sale else None}
        if not line.on_sale:
            continue
        if offer["sale_price_min"] is None or line.unit_price < offer["sale_price_min"]:
            offer["sale_price_min"], offer["sale_ends_at"] = line.unit_price, line.sale_ends_at
        for d in line.discounts:
            offer["promotions"].setdefault(d.reference, promotion_badge(d))
    for offer in offers.values():
        offer["promotions"] = list(offer["promotions"].values())
    return offers


def quote(data: dict) -> CartPrice:
    """:func:`price_lines` for an API body: lines by ``variant_id`` or ``sku``, ``vouchers``, ``phone``, ``at``."""
    skus = [line["sku"] for line in data["lines"] if "sku" in line]
    by_sku = dict(db.session.execute(select(Variant.sku, Variant.id).where(Variant.sku.in_(skus))).all()) \
        if skus else {}
    unknown = [sku for sku in skus if sku not in by_sku]
    if unknown:
        raise invalid("sku", "không tìm thấy mã SKU", "unknown SKU", code="pricing.unknown_variant")
    lines = [(line["variant_id"] if "variant_id" in line else by_sku[line["sku"]], line["quantity"])
             for line in data["lines"]]
    return price_lines(lines, data.get("channel") or "online_store", data.get("at"),
                       customer_key(phone=data.get("phone")), data.get("vouchers") or ())


def promotion_badge(discount: AppliedDiscount) -> dict:
    """A discount as shown to shoppers next to a product."""
    return {"reference": discount.reference, "name": discount.name, "name_en": discount.name_en,
            "ends_at": discount.ends_at}


def _variant_id(variant) -> int:
    if isinstance(variant, int) and not isinstance(variant, bool):
        return variant
    return variant.id


# --- the computation ---------------------------------------------------------------------
@dataclass
class _Allowance:
    """What a promotion may still give in this resolution (units, VND)."""

    units: float = UNLIMITED
    budget: float = UNLIMITED


@dataclass
class _Line:
    facts: VariantFacts
    quantity: int
    unit_price: int
    discounts: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.facts.base_price * self.quantity - sum(d.amount for d in self.discounts)


class _CandidateIndex:
    """Live promotions bucketed by the narrowest thing they name, so a page does not test every one on every
    variant: opt-in campaigns by the producers that joined, others by their first scope key, or their owner."""

    KEYS = ("variants", "products", "producers", "groups", "product_sets", "stars")

    def __init__(self, promotions, opted_in, facts):
        self.general: list = []
        self.by: dict[str, dict] = {key: {} for key in (*self.KEYS, "owner")}
        producers = {f.producer_id for f in facts}
        for p in promotions:
            key = next((k for k in self.KEYS if p.scope.get(k)), None)
            if p.requires_opt_in:
                for producer_id in producers:
                    if (p.id, producer_id) in opted_in:
                        self.by["owner"].setdefault(producer_id, []).append(p)
            elif key is not None:
                for value in p.scope[key]:
                    self.by[key].setdefault(value, []).append(p)
            elif p.owner_kind == "producer":
                self.by["owner"].setdefault(p.producer_id, []).append(p)
            else:
                self.general.append(p)

    def for_variant(self, facts: VariantFacts) -> list:
        """Every promotion that may cover ``facts`` (each once); the caller still checks scope and reach."""
        found = list(self.general)
        for key in self.KEYS:
            found += self.by[key].get(SCOPE_FACTS[key](facts), ())
        return found + self.by["owner"].get(facts.producer_id, [])


class _Pricing:
    """One resolution: load what is needed once, then price every line in memory."""

    def __init__(self, channel, at, customer, independent: bool = False, preview: Promotion | None = None,
                 without: Promotion | None = None):
        self.channel = channel_ref(channel)
        self.at = at or clock.now()
        self.customer = customer
        self.independent = independent
        self.preview = preview
        self.without = without

    def run(self, pairs, vouchers, facts: dict[int, VariantFacts] | None = None) -> CartPrice:
        facts = facts if facts is not None else load_facts(variant_id for variant_id, _ in pairs)
        missing = [variant_id for variant_id, _ in pairs if variant_id not in facts]
        if missing:
            raise invalid("variant_id", "không tìm thấy phiên bản sản phẩm", "unknown variant",
                          code="pricing.unknown_variant")
        promotions = self._live_promotions(facts.values())
        chosen = voucher_rules.usable_vouchers(vouchers, self.channel, self.at, self.customer)
        if needs_origin(promotions) or needs_origin(chosen):
            add_origin_provinces(facts.values())
        index = _CandidateIndex(promotions, self._opted_in(facts.values()), facts.values())
        candidates_of = {variant_id: [p for p in index.for_variant(facts[variant_id]) if applies_to(p, facts[variant_id])]
                         for variant_id in dict.fromkeys(variant_id for variant_id, _ in pairs)}
        if not self.independent:
            candidates_of = self._cart_candidates(candidates_of)
        allowances = {p.id: self._allowance(p) for found in candidates_of.values() for p in found}
        lines = []
        for variant_id, quantity in pairs:
            line = _Line(facts[variant_id], quantity, facts[variant_id].base_price)
            candidates = candidates_of[variant_id]
            if self.independent:
                allowances = {p.id: self._allowance(p) for p in candidates}
            self._apply_promotions(line, candidates, allowances)
            lines.append(line)
        self._apply_adjustments(lines)
        for voucher in chosen:
            self._apply_voucher(voucher, lines)
        return self._answer(lines, chosen)

    # -- loading --
    def _live_promotions(self, facts) -> list[PromotionTerms]:
        self.live = live_at(self.at)
        found = self.live.for_page({f.producer_id for f in facts},
                                   {f.producer_province for f in facts if f.producer_province})
        # a page may show counters a moment stale; a cart re-reads them (:meth:`_cart_candidates`)
        found = [p for p in found if on_channel(p, self.channel) and (not self.independent or not _exhausted(p))]
        left_out = {p.id for p in (self.preview, self.without) if p is not None}
        found = [p for p in found if p.id not in left_out]
        if self.preview is not None and on_channel(self.preview, self.channel):
            found.append(promotion_terms(self.preview))
        return found if not self.independent else self._within_customer_limits(found)

    def _cart_candidates(self, candidates_of: dict[int, list]) -> dict[int, list]:
        """A cart: its lines' promotions with counters as committed now and the customer's uses (queried only then)."""
        candidates = {p.id: p for found in candidates_of.values() for p in found}
        fresh = {p.id: p for p in self._within_customer_limits(fresh_counters(list(candidates.values())))
                 if not _exhausted(p)}
        return {variant_id: [fresh[p.id] for p in found if p.id in fresh] for variant_id, found in candidates_of.items()}

    def _within_customer_limits(self, promotions) -> list[PromotionTerms]:
        limited = [p for p in promotions if p.max_uses_per_customer]
        if not self.customer or not limited:
            return promotions
        used = dict(db.session.execute(
            select(PromotionUsage.promotion_id, func.count(func.distinct(PromotionUsage.order_ref)))
            .where(PromotionUsage.promotion_id.in_([p.id for p in limited]),
                   PromotionUsage.customer_key == self.customer, PromotionUsage.released_at.is_(None))
            .group_by(PromotionUsage.promotion_id)).all())
        return [p for p in promotions if not p.max_uses_per_customer or used.get(p.id, 0) < p.max_uses_per_customer]

    def _opted_in(self, facts) -> frozenset | set:
        """Accepted opt-ins (and, for a preview, every producer of the page as if it had joined)."""
        if self.preview is None or not self.preview.requires_opt_in:
            return self.live.joined
        return self.live.joined | {(self.preview.id, f.producer_id) for f in facts}

    @staticmethod
    def _allowance(promotion: PromotionTerms) -> _Allowance:
        allowance = _Allowance()
        if promotion.max_units_per_order:
            allowance.units = promotion.max_units_per_order
        if promotion.max_total_units is not None:
            allowance.units = min(allowance.units, promotion.max_total_units - promotion.units_used)
        if promotion.budget is not None:
            allowance.budget = promotion.budget - promotion.discount_used
        return allowance

    # -- promotions --
    def _apply_promotions(self, line: _Line, candidates, allowances) -> None:
        for promotion, unit_amount in best_combination(line.facts.base_price, candidates):
            allowance = allowances[promotion.id]
            units = int(min(line.quantity, allowance.units))
            amount = int(min(unit_amount * units, allowance.budget))
            if units <= 0 or amount <= 0:
                continue
            allowance.units -= units
            allowance.budget -= amount
            line.unit_price -= unit_amount
            line.discounts.append(AppliedDiscount("promotion", promotion.id, f"promotion:{promotion.id}",
                                                  promotion.name, promotion.name_en, amount, units, unit_amount,
                                                  ends_at=promotion.ends_at, starts_at=promotion.starts_at))

    # -- plugins --
    def _apply_adjustments(self, lines: list[_Line]) -> None:
        seen = [PricingLine(l.facts.variant_id, l.facts.product_id, l.facts.producer_id, l.quantity,
                            l.facts.base_price, l.unit_price) for l in lines]
        by_variant = {l.facts.variant_id: l for l in lines}
        results = hooks().price_adjustments(channel=self.channel, at=self.at, customer=self.customer, lines=seen)
        for result in results:
            for adjustment in result or []:
                if isinstance(adjustment, dict):
                    try:
                        adjustment = PriceAdjustment(**adjustment)
                    except TypeError:
                        adjustment = None
                line = by_variant.get(getattr(adjustment, "variant_id", None))
                unit_amount = getattr(adjustment, "unit_amount", None)
                if line is None or not isinstance(unit_amount, (int, float)) or isinstance(unit_amount, bool) \
                        or not math.isfinite(unit_amount) or unit_amount <= 0:  # NaN, ∞, negative, wrong variant
                    log.warning("ignoring malformed price adjustment from a plugin: %r", adjustment)
                    continue
                unit_amount = min(int(unit_amount), line.unit_price)
                if unit_amount <= 0:
                    continue
                line.unit_price -= unit_amount
                line.discounts.append(AppliedDiscount(
                    "plugin", None, f"plugin:{adjustment.reference}", str(adjustment.name),
                    str(adjustment.name_en), unit_amount * line.quantity, line.quantity, unit_amount))

    # -- vouchers --
    def _apply_voucher(self, voucher: Voucher, lines: list[_Line]) -> None:
        eligible = [l for l in lines if applies_to(voucher, l.facts) and l.total > 0]
        if not eligible:
            raise voucher_rules.not_applicable(voucher)
        subtotal = sum(l.total for l in eligible)
        if subtotal < voucher.min_subtotal:
            raise voucher_rules.below_minimum(voucher, subtotal)
        if voucher.kind == "percentage":
            shares = [l.total * voucher.value // 100 for l in eligible]
        else:
            shares = split_amount(min(voucher.value, subtotal), [l.total for l in eligible])
        for line, share in zip(eligible, shares):
            if share > 0:
                line.discounts.append(AppliedDiscount("voucher", voucher.id, f"voucher:{voucher.id}", voucher.name,
                                                      voucher.name_en, share, line.quantity, None,
                                                      code=voucher.code, ends_at=voucher.ends_at,
                                                      starts_at=voucher.starts_at))

    def _answer(self, lines: list[_Line], chosen) -> CartPrice:
        priced = []
        for l in lines:
            discount = sum(d.amount for d in l.discounts)
            ends = [d.ends_at for d in l.discounts if d.source == "promotion"]
            priced.append(LinePrice(l.facts.variant_id, l.facts.product_id, l.facts.producer_id, l.quantity,
                                    l.facts.base_price, l.unit_price, tuple(l.discounts), discount,
                                    l.facts.base_price * l.quantity - discount, min(ends) if ends else None))
        base = sum(p.base_total for p in priced)
        discount = sum(p.discount_amount for p in priced)
        return CartPrice(self.channel, self.at, self.customer, tuple(priced), tuple(chosen), base, discount,
                         base - discount)


# --- pure rules (tested on their own) -------------------------------------------------------
def unit_discount(promotion, price: int) -> int:
    """VND off one unit priced ``price``: rounded down to the whole đồng, never more than the price."""
    if price <= 0:
        return 0
    if promotion.kind == "percentage":
        amount = price * promotion.value // 100
    elif promotion.kind == "amount":
        amount = promotion.value
    else:  # fixed_price
        amount = price - promotion.value
    return max(0, min(amount, price))


def best_combination(base_price: int, candidates) -> list[tuple[object, int]]:
    """The steps ``[(promotion, unit amount)]`` giving the lowest unit price.

    At most one non-stackable promotion applies (the best one), followed by
    every stackable one in a fixed order (fixed prices, percentages, amounts;
    then by id), each on the price left by the previous ones.
    """
    exclusive = sorted((p for p in candidates if not p.stackable), key=lambda p: p.id)
    stackable = sorted((p for p in candidates if p.stackable), key=lambda p: (_STACK_ORDER[p.kind], p.id))
    best, best_price = [], base_price + 1
    for choice in [None, *exclusive]:
        steps, price = [], base_price
        for promotion in ([choice] if choice is not None else []) + stackable:
            amount = unit_discount(promotion, price)
            if amount > 0:
                steps.append((promotion, amount))
                price -= amount
        if price < best_price:
            best, best_price = steps, price
    return best


def split_amount(amount: int, totals: list[int]) -> list[int]:
    """Share ``amount`` pro rata over ``totals`` in whole đồng, largest remainders first (capped at their sum)."""
    whole = sum(totals)
    amount = min(amount, whole)
    if whole <= 0 or amount <= 0:
        return [0] * len(totals)
    shares = [amount * t // whole for t in totals]
    order = sorted(range(len(totals)), key=lambda i: (-(amount * totals[i] % whole), i))
    for i in order[:amount - sum(shares)]:
        shares[i] += 1
    return shares


def _exhausted(promotion) -> bool:
    return ((promotion.max_total_units is not None and promotion.units_used >= promotion.max_total_units)
            or (promotion.budget is not None and promotion.discount_used >= promotion.budget))
