"""Feed prices: ``core.pricing.bulk.prices_for_rows`` over rows the feed reads itself answers exactly what
``resolver.price_for`` answers, variant by variant, on every kind of channel — with exclusive, stackable,
opt-in, producer-owned, province-scoped, capped and fixed-price promotions live and a plugin adjustment."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.catalogue.models import Producer, Product, Variant
from core.db import db
from core.hookspecs import hookimpl
from core.plugins import plugin_manager
from core.pricing import resolver
from core.pricing.bulk import FACT_COLUMNS, facts_of, prices_for_rows
from core.pricing.rules import load_facts
from plugins.marketplace_feeds import items as feed_items
from plugins.marketplace_feeds.models import Marketplace
from support.marketplace import seed_marketplaces
from support.pricing import make_promotion, variant

POMELO, WINE, LAMP = "BL-BDX-1", "SAHS-RNH-500", "NTN-DEN-S"


class MarketplaceBonus:
    """A plugin giving 2,000 ₫ off wine on marketplace channels (the ``price_adjustments`` hook)."""

    @hookimpl
    def price_adjustments(self, channel, at, customer, lines):
        if channel.kind != "marketplace":
            return None
        wine = variant(WINE).id
        return [{"variant_id": l.variant_id, "reference": "mp-bonus", "name": "Thưởng sàn",
                 "name_en": "Marketplace bonus", "unit_amount": 2_000} for l in lines if l.variant_id == wine]


@pytest.fixture
def bonus(app):
    pm = plugin_manager()
    instance = MarketplaceBonus()
    pm.register(instance, name="test-marketplace-bonus")
    yield instance
    pm.unregister(instance)
    pm.infos.pop("test-marketplace-bonus", None)


@pytest.fixture
def promotions(app, demo):
    """The demo campaigns (core and marketplace) and one of each other kind, all live."""
    seed_marketplaces()
    province = db.session.execute(select(Producer.province_code).where(Producer.status == "verified")
                                  .limit(1)).scalar_one()
    make_promotion(kind="percentage", value=12, scope={"stars": [4, 5]}, channels=["marketplace"],
                   name="Sao cao trên sàn", name_en="High stars on marketplaces")
    make_promotion(kind="amount", value=3_000, stackable=True, scope={"provinces": [province]},
                   channels=["online_store"], name="Cộng dồn theo tỉnh", name_en="Stackable by province")
    make_promotion(kind="fixed_price", value=50_000, scope={"variants": [variant(POMELO).id]},
                   name="Giá cố định", name_en="Fixed price")
    make_promotion(kind="amount", value=40_000, budget=30_000, scope={"variants": [variant(WINE).id]},
                   name="Ngân sách nhỏ", name_en="Small budget")
    make_promotion("cs.htx-binh-loi", kind="percentage", value=7, name="Khuyến mãi của HTX", name_en="Own promotion")


def _feed_facts():
    rows = db.session.execute(select(*FACT_COLUMNS, Variant.gtin).join(Product, Product.id == Variant.product_id)
                              .join(Producer, Producer.id == Product.producer_id).order_by(Variant.id)).all()
    return [facts_of(row) for row in rows]


def test_facts_of_a_feed_row_are_the_facts_the_resolver_loads(app, demo):
    facts = _feed_facts()
    assert len(facts) >= 10
    assert facts == list(load_facts([f.variant_id for f in facts]).values())


@pytest.mark.parametrize("channel", ["marketplace:google", "online_store", "livestream:ls-1", "sales_point:DN-01"])
def test_bulk_prices_equal_price_for_variant_by_variant(promotions, bonus, channel):
    facts = _feed_facts()
    bulk = prices_for_rows(facts, channel)
    assert list(bulk) == [f.variant_id for f in facts]
    for f in facts:
        assert bulk[f.variant_id] == resolver.price_for(f.variant_id, channel), (channel, f.sku)
    on_sale = [line for line in bulk.values() if line.on_sale]
    assert on_sale and len(on_sale) < len(bulk)  # some covered, some not
    sources = {d.reference.split(":")[0] for line in bulk.values() for d in line.discounts}
    assert sources >= {"promotion"} and (("plugin" in sources) == channel.startswith("marketplace"))


def test_the_feed_items_carry_the_bulk_prices(promotions, bonus):
    google = db.session.execute(select(Marketplace).where(Marketplace.code == "google")).scalar_one()
    items = list(feed_items.iter_items(google))
    assert items
    for item in items:
        price = resolver.price_for(item.variant_id, "marketplace:google")
        assert item.price == price.base_unit_price
        assert item.sale_price == (price.unit_price if price.on_sale else None), item.id
        assert (item.sale_starts_at, item.sale_ends_at) == feed_items.sale_window(price)
    assert {i.id for i in items if i.sale_price} >= {POMELO, WINE}


def test_no_rows_no_queries(app):
    assert prices_for_rows([]) == {}
