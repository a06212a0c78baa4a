"""Prices for a whole feed or export: one unit of each of many variants on a channel, from rows already read.

The same rules as :func:`core.pricing.resolver.prices_for` — this is the resolver's own ``_Pricing``
(live promotions, candidate index, reach and scope, best combination, allowances, plugin adjustments),
fed with the caller's :class:`~core.pricing.rules.VariantFacts` instead of loading them again, and with a
short path for the many variants no live promotion may cover. No vouchers, no customer.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from core.catalogue.models import Producer, Product, Variant
from core.pricing.resolver import LinePrice, _CandidateIndex, _Line, _Pricing
from core.pricing.rules import VariantFacts, add_origin_provinces, applies_to, needs_origin

#: the columns of :class:`VariantFacts` in field order (``origin_province`` aside): select them first, with any
#: others after, from ``Variant`` joined to its ``Product`` and ``Producer``, then :func:`facts_of` each row
FACT_COLUMNS = (Variant.id, Variant.sku, Variant.name, Variant.price, Product.id, Product.name, Product.slug,
                Product.producer_id, Producer.name, Producer.province_code, Product.group_code,
                Product.product_set_code, Product.listed_stars, Product.origin_commune_code)
_FACT_COUNT = len(FACT_COLUMNS)


def facts_of(row) -> VariantFacts:
    """The facts at the head of a row selecting :data:`FACT_COLUMNS` first."""
    return VariantFacts(*row[:_FACT_COUNT])

# The resolver's computation class is private to the pricing package; this module is part of that package
# and extends it (one place for the price rule) rather than copying its steps.


class _BulkPricing(_Pricing):
    """One resolution over caller-provided facts: each line priced on its own (``independent``)."""

    def __init__(self, channel, at):
        super().__init__(channel, at, None, independent=True)

    def price(self, facts: list[VariantFacts]) -> dict[int, LinePrice]:
        promotions = self._live_promotions(facts)
        if needs_origin(promotions):
            add_origin_provinces(facts)
        index = self._index(promotions, facts)
        lines = []
        for f in facts:
            line = _Line(f, 1, f.base_price)
            if index is not None:
                candidates = [p for p in index.for_variant(f) if applies_to(p, f)]
                if candidates:
                    self._apply_promotions(line, candidates, {p.id: self._allowance(p) for p in candidates})
            lines.append(line)
        self._apply_adjustments(lines)
        discounted = [line for line in lines if line.discounts]
        answered = {p.variant_id: p for p in self._answer(discounted, ()).lines} if discounted else {}
        return {line.facts.variant_id: answered.get(line.facts.variant_id) or _undiscounted(line.facts)
                for line in lines}

    def _index(self, promotions, facts):
        if not promotions:
            return None  # nothing live on this channel: every line keeps its base price (plugins aside)
        return _CandidateIndex(promotions, self._opted_in(facts), facts)


def _undiscounted(f: VariantFacts) -> LinePrice:
    """What the resolver answers for one unit with no discount (built directly: most lines of a feed)."""
    return LinePrice(f.variant_id, f.product_id, f.producer_id, 1, f.base_price, f.base_price, (), 0, f.base_price,
                     None)


def prices_for_rows(facts: Iterable[VariantFacts], channel="online_store",
                    at: dt.datetime | None = None) -> dict[int, LinePrice]:
    """``{variant_id: LinePrice}`` for one unit of each variant of ``facts`` (distinct variants), exactly what
    :func:`~core.pricing.resolver.prices_for` answers for them, without reading the variants again.

    Queries: the live-set key check (and origin provinces when a live promotion is scoped by province).
    """
    facts = list(facts)
    if not facts:
        return {}
    return _BulkPricing(channel, at).price(facts)
