"""The price resolver over the real database: the demo campaign, channels, windows, stacking, limits, vouchers,
plugin adjustments (``price_adjustments``), bounded queries and the storefront's sale prices."""
from __future__ import annotations

import datetime as dt
import unicodedata
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from core import clock
from core.db import commit, db
from core.errors import DomainError
from core.hookspecs import hookimpl
from core.plugins import plugin_manager
from core.pricing import live, resolver, usage, version
from core.pricing.models import Promotion
from support.checks import error_of
from support.pricing import make_promotion, make_voucher, user, variant, window

QUYT, LAMP, WINE, POMELO, ORANGE = "BM-QHC-1KG", "NTN-DEN-S", "SAHS-RNH-500", "BL-BDX-1", "VQ-CAM-5KG"


class PricingTestPlugin:
    """Registers a livestream and a fair-booth channel kind; gives 1,000 ₫ off pomelos on livestreams."""

    @hookimpl
    def register_sales_channel_kinds(self, registry):
        registry.add("livestream", "Phiên livestream", "Livestream session")
        registry.add("fair_booth", "Gian hàng hội chợ", "Fair booth")

    @hookimpl
    def price_adjustments(self, channel, at, customer, lines):
        if channel.kind != "livestream":
            return None
        pomelo = variant(POMELO).id
        return [{"variant_id": l.variant_id, "reference": "ls-bonus", "name": "Thưởng livestream",
                 "name_en": "Livestream bonus", "unit_amount": 1_000.9} for l in lines if l.variant_id == pomelo] + [
            {"variant_id": pomelo, "reference": "bad", "name": "x", "name_en": "x", "unit_amount": -5},  # ignored
            {"variant_id": pomelo, "reference": "inf", "name": "x", "name_en": "x", "unit_amount": float("inf")},
            {"variant_id": pomelo, "reference": "nan", "name": "x", "name_en": "x", "unit_amount": float("nan")},
            {"nonsense": True}]  # ignored


@pytest.fixture
def plugin(app):
    pm = plugin_manager()
    instance = PricingTestPlugin()
    pm.register(instance, name="test-pricing")
    yield instance
    pm.unregister(instance)
    pm.infos.pop("test-pricing", None)


@contextmanager
def counted_queries():
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def campaign() -> Promotion:
    return db.session.execute(select(Promotion).where(Promotion.name == "Tuần lễ OCOP Đồng Nai")).scalar_one()


# --- the "done when" ---------------------------------------------------------------
def test_demo_campaign_prices_opted_in_producers_only_and_ends_by_itself(client, demo):
    promo = campaign()
    assert promo.owner_kind == "organiser" and promo.province_code == "75" and promo.requires_opt_in
    prices = resolver.prices_for([variant(s) for s in (QUYT, LAMP, WINE, POMELO, ORANGE)])
    by_sku = {s: prices[variant(s).id] for s in (QUYT, LAMP, WINE, POMELO, ORANGE)}
    assert (by_sku[QUYT].unit_price, by_sku[LAMP].unit_price) == (59_500, 272_000)  # 15% off, opted in
    assert by_sku[QUYT].sale_ends_at == promo.ends_at
    assert [d.reference for d in by_sku[QUYT].discounts] == [f"promotion:{promo.id}"]
    # Sơn An and Bình Lợi are Đồng Nai producers that did not opt in; Vũ Quang is in Hà Tĩnh
    assert [by_sku[s].unit_price for s in (WINE, POMELO, ORANGE)] == [450_000, 65_000, 250_000]
    assert not any(by_sku[s].discounts for s in (WINE, POMELO, ORANGE))

    # a sales-point till gets the campaign price too; a channel the campaign does not name does not
    till = resolver.price_for(variant(QUYT), "sales_point:DN-TRI-AN", quantity=2)
    assert (till.unit_price, till.line_total, till.discount_amount) == (59_500, 119_000, 21_000)
    assert resolver.price_for(variant(QUYT), "hello_kiosk:k1").unit_price == 70_000

    # at the window's end (end excluded) and before its start: the base price, without any job having run
    assert resolver.price_for(variant(QUYT), at=promo.ends_at).unit_price == 70_000
    assert resolver.price_for(variant(QUYT), at=promo.ends_at - dt.timedelta(seconds=1)).unit_price == 59_500
    assert resolver.price_for(variant(QUYT), at=promo.starts_at - dt.timedelta(seconds=1)).unit_price == 70_000


def test_storefront_shows_sale_price_end_date_and_promotions_then_base_price_after_the_end(client, demo,
                                                                                          monkeypatch):
    promo = campaign()
    items = {p["slug"]: p for p in client.get("/storefront/v1/products?limit=50").get_json()["results"]}
    quyt = items["quyt-huu-co-phu-ly"]
    assert quyt["price_min"] == 70_000 and quyt["sale_price_min"] == 59_500
    assert quyt["sale_ends_at"] == clock.local(promo.ends_at) and quyt["sale_ends_at"].endswith("+07:00")
    assert quyt["promotions"] == [{"reference": f"promotion:{promo.id}", "name": "Tuần lễ OCOP Đồng Nai",
                                   "name_en": "Đồng Nai OCOP week", "ends_at": clock.local(promo.ends_at)}]
    wine = items["ruou-nhung-huou-huong-son"]
    assert wine["sale_price_min"] is None and wine["promotions"] == []

    detail = client.get("/storefront/v1/products/quyt-huu-co-phu-ly").get_json()
    assert [(v["sku"], v["price"], v["sale_price"], v["sale_ends_at"]) for v in detail["variants"]] == [
        (QUYT, 70_000, 59_500, clock.local(promo.ends_at))]
    assert detail["promotions"][0]["name"] == "Tuần lễ OCOP Đồng Nai"
    plain = client.get("/storefront/v1/products/ruou-nhung-huou-huong-son").get_json()
    assert plain["variants"][0]["sale_price"] is None and plain["promotions"] == []

    # a week later the same (cached) list shows base prices again: no job, no cache to clear
    later = (promo.ends_at + dt.timedelta(days=1)).astimezone(clock.VN_TZ).date()
    monkeypatch.setenv("OCOP_TODAY", later.isoformat())
    items = {p["slug"]: p for p in client.get("/storefront/v1/products?limit=50").get_json()["results"]}
    assert items["quyt-huu-co-phu-ly"]["sale_price_min"] is None
    assert client.get("/storefront/v1/products/quyt-huu-co-phu-ly").get_json()["variants"][0]["sale_price"] is None


def test_a_promotion_change_is_seen_by_the_cached_list_at_once(client, login, demo):
    promo = campaign()
    first = client.get("/storefront/v1/products?limit=50").get_json()["results"]
    assert next(p for p in first if p["slug"] == "quyt-huu-co-phu-ly")["sale_price_min"] == 59_500
    response = client.post(f"/admin/v1/promotions/{promo.id}/end", headers=login("sct.dongnai"))
    assert response.status_code == 200, response.get_json()
    again = client.get("/storefront/v1/products?limit=50").get_json()["results"]
    assert next(p for p in again if p["slug"] == "quyt-huu-co-phu-ly")["sale_price_min"] is None


# --- channels, plugins -----------------------------------------------------------------------
def test_livestream_only_price_and_the_price_adjustments_hook(app, demo, plugin):
    make_promotion("cs.htx-binh-loi", kind="fixed_price", value=55_000, channels=["livestream:ls-2026-11-23"],
                   name="Giá livestream", name_en="Livestream price")
    assert resolver.price_for(variant(POMELO)).unit_price == 65_000  # online store: the base price
    assert resolver.price_for(variant(POMELO), "livestream:ls-other").unit_price == 64_000  # the plugin's 1,000 only
    live = resolver.price_for(variant(POMELO), "livestream:ls-2026-11-23", quantity=3)
    assert [(d.source, d.reference, d.unit_amount, d.amount) for d in live.discounts] == [
        ("promotion", live.discounts[0].reference, 10_000, 30_000), ("plugin", "plugin:ls-bonus", 1_000, 3_000)]
    assert (live.unit_price, live.line_total) == (54_000, 162_000)
    assert resolver.price_for(variant(ORANGE), "livestream:ls-2026-11-23").discounts == ()


# --- stacking, limits ------------------------------------------------------------------------
def test_best_exclusive_wins_and_stackable_ones_add_up(app, demo):
    make_promotion(kind="percentage", value=10, name="Mười phần trăm", name_en="Ten percent")
    make_promotion(kind="amount", value=8_000, name="Tám nghìn", name_en="Eight thousand")
    make_promotion(kind="percentage", value=5, stackable=True, name="Cộng dồn 5%", name_en="Stackable 5%")
    price = resolver.price_for(variant(POMELO))  # 65,000: 10% = 6,500 < 8,000
    assert [d.name for d in price.discounts] == ["Tám nghìn", "Cộng dồn 5%"]
    assert [d.amount for d in price.discounts] == [8_000, 2_850]  # 5% of 57,000
    assert price.unit_price == 54_150
    wine = resolver.price_for(variant(WINE))  # 450,000: 10% = 45,000 beats 8,000
    assert [d.amount for d in wine.discounts] == [45_000, 20_250] and wine.unit_price == 384_750
    # the opted-in lamp gets the demo campaign (15%) as its exclusive one, then the stackable 5%
    lamp = resolver.price_for(variant(LAMP))
    assert [d.amount for d in lamp.discounts] == [48_000, 13_600] and lamp.unit_price == 258_400


def test_units_per_order_total_units_and_budget_cap_the_discount(app, demo):
    capped = make_promotion(kind="amount", value=5_000, max_units_per_order=3, scope={"variants": [variant(POMELO).id]})
    line = resolver.price_for(variant(POMELO), quantity=5)
    assert (line.discounts[0].units, line.discount_amount, line.line_total) == (3, 15_000, 310_000)
    # the per-order allowance is shared by the lines of one cart, not by the variants of a storefront page
    other = make_promotion(kind="amount", value=1_000, max_units_per_order=2, stackable=True,
                           scope={"producers": [variant(POMELO).product.producer_id]})
    cart = resolver.price_lines([(variant(POMELO), 1), (variant("BL-TDB-10"), 2)])
    assert [sum(d.units for d in l.discounts if d.id == other.id) for l in cart.lines] == [1, 1]
    page = resolver.prices_for([variant(POMELO), variant("BL-TDB-10")])
    assert all(any(d.id == other.id for d in l.discounts) for l in page.values())

    budgeted = make_promotion(kind="amount", value=20_000, budget=50_000, max_total_units=10,
                              scope={"variants": [variant(WINE).id]})
    wine = resolver.price_for(variant(WINE), quantity=4)
    assert wine.discount_amount == 50_000 and wine.discounts[0].units == 4  # the budget left caps the line
    usage.record_promotion_usage(budgeted, "order:T-1", 2, 40_000, producer_id=variant(WINE).product.producer_id,
                                 gross_amount=860_000)
    commit()
    assert resolver.price_for(variant(WINE), quantity=4).discount_amount == 10_000
    before = version.cache_key(clock.now())
    usage.record_promotion_usage(budgeted, "order:T-2", 1, 10_000, producer_id=variant(WINE).product.producer_id)
    commit()
    assert version.cache_key(clock.now()) != before  # exhausted: cached prices dropped
    assert resolver.price_for(variant(WINE)).discounts == ()
    with pytest.raises(DomainError) as refused:
        usage.record_promotion_usage(budgeted, "order:T-3", 1, 1, producer_id=variant(WINE).product.producer_id)
    assert refused.value.code == "promotion.limit_reached" and refused.value.status == 409
    db.session.rollback()
    assert usage.release_usage("order:T-2") == 1
    commit()
    db.session.refresh(budgeted)
    assert (budgeted.units_used, budgeted.discount_used) == (2, 40_000)
    assert resolver.price_for(variant(WINE)).discount_amount == 10_000
    assert capped.units_used == 0  # an unlimited-total promotion keeps no counters


def test_uses_per_customer(app, demo):
    promo = make_promotion(kind="percentage", value=20, max_uses_per_customer=1,
                           scope={"variants": [variant(POMELO).id]})
    lan = "phone:0912345678"
    assert resolver.price_for(variant(POMELO), customer=lan).discount_amount == 13_000
    usage.record_promotion_usage(promo, "order:C-1", 1, 13_000, producer_id=variant(POMELO).product.producer_id,
                                 customer_key=lan)
    commit()
    assert resolver.price_for(variant(POMELO), customer=lan).discounts == ()
    assert resolver.price_for(variant(POMELO), customer="phone:0987654321").discount_amount == 13_000
    with pytest.raises(DomainError) as refused:
        usage.record_promotion_usage(promo, "order:C-2", 1, 13_000, producer_id=variant(POMELO).product.producer_id,
                                     customer_key=lan)
    assert refused.value.code == "promotion.customer_limit"
    db.session.rollback()
    # the same order again is not a second use (idempotent)
    again = usage.record_promotion_usage(promo, "order:C-1", 1, 13_000,
                                         producer_id=variant(POMELO).product.producer_id, customer_key=lan)
    assert again.order_ref == "order:C-1"


# --- vouchers ----------------------------------------------------------------------------------
def test_voucher_codes_match_any_case_and_nfc(app, demo):
    make_voucher(code="TẾT-2026", kind="amount", value=10_000)
    for typed in ("tết-2026", unicodedata.normalize("NFD", "Tết-2026"), " TẾT-2026 "):
        cart = resolver.price_lines([(variant(POMELO), 1)], vouchers=[typed])
        assert cart.discount_amount == 10_000 and cart.lines[0].discounts[0].code == "TẾT-2026"


def test_voucher_split_over_lines_is_exact_and_respects_its_scope(app, demo):
    make_voucher(owner="sct.dongnai", code="DN-20K", kind="amount", value=20_000, min_subtotal=100_000)
    cart = resolver.price_lines([(variant(POMELO), 3), (variant(WINE), 1), (variant(ORANGE), 1)], vouchers=["dn-20k"])
    shares = [sum(d.amount for d in l.discounts if d.source == "voucher") for l in cart.lines]
    assert sum(shares) == 20_000 and shares[2] == 0  # the Hà Tĩnh orange is outside the organiser's reach
    assert shares == [6_047, 13_953, 0]  # 195,000 : 450,000, remainder to the largest fraction
    assert cart.subtotal == cart.base_subtotal - 20_000 == 195_000 + 450_000 + 250_000 - 20_000

    make_voucher(code="PHAN-TRAM", kind="percentage", value=7, stackable=True)
    both = resolver.price_lines([(variant(POMELO), 1), (variant(WINE), 1)], vouchers=["DN-20K", "phan-tram"])
    first = [d.amount for l in both.lines for d in l.discounts if d.code == "DN-20K"]
    assert first == [2_524, 17_476]  # 20,000 × 65/515 = 2,524.27 and × 450/515 = 17,475.73: the đồng left to the wine
    percent = [d.amount for l in both.lines for d in l.discounts if d.code == "PHAN-TRAM"]
    # the stackable one after the exclusive one: 7% of what is left, per line, rounded down
    assert percent == [(65_000 - 2_524) * 7 // 100, (450_000 - 17_476) * 7 // 100] == [4_373, 30_276]


@pytest.mark.parametrize("code, lines, status, error", [
    ("KHONG-CO", [(POMELO, 1)], 422, "voucher.invalid"),
    ("SAP-TOI", [(POMELO, 1)], 422, "voucher.not_started"),
    ("DA-HET", [(POMELO, 1)], 422, "voucher.expired"),
    ("NHAP", [(POMELO, 1)], 422, "voucher.invalid"),  # a draft is not a code yet
    ("CHI-QUAY", [(POMELO, 1)], 422, "voucher.wrong_channel"),
    ("TOI-THIEU", [(POMELO, 1)], 422, "voucher.min_subtotal"),
    ("HET-LUOT", [(POMELO, 1)], 409, "voucher.used_up"),
    ("CAM-VQ", [(POMELO, 1)], 422, "voucher.not_applicable"),
])
def test_a_wrong_or_spent_voucher_is_a_clear_4xx(client, login, demo, code, lines, status, error):
    now = clock.now()
    make_voucher(code="SAP-TOI", starts_at=now + dt.timedelta(days=1), ends_at=now + dt.timedelta(days=2))
    make_voucher(code="DA-HET", **window(3, 1))
    from core.pricing import vouchers
    ended = vouchers.find_voucher("DA-HET")
    ended.ends_at = now - dt.timedelta(hours=1)  # ended since (the window is never edited into the past)
    make_voucher(code="NHAP", activate=False)
    make_voucher(code="CHI-QUAY", channels=["sales_point"])
    make_voucher(code="TOI-THIEU", min_subtotal=500_000)
    spent = make_voucher(code="HET-LUOT", max_uses=1)
    usage.reserve_voucher_use(spent, None, "order:X-1")
    make_voucher(owner="cs.tht-cam-vu-quang", code="CAM-VQ")
    commit()
    body = {"channel": "online_store", "lines": [{"sku": s, "quantity": q} for s, q in lines], "vouchers": [code]}
    err = error_of(client.post("/admin/v1/prices/quote", json=body, headers=login("admin")), status, error)
    assert err["details"]["code"] in (code, "KHONG-CO")


def test_two_exclusive_vouchers_do_not_combine(app, demo):
    make_voucher(code="MOT-MOT")
    make_voucher(code="HAI-HAI")
    with pytest.raises(DomainError) as refused:
        resolver.price_lines([(variant(POMELO), 1)], vouchers=["MOT-MOT", "hai-hai"])
    assert refused.value.code == "voucher.not_combinable" and refused.value.status == 422


# --- usage, refunds, reports --------------------------------------------------------------------
def test_reserve_cart_release_and_partial_refund(client, login, demo):
    promo = campaign()
    make_voucher(owner="sct.dongnai", code="DN-5K", kind="amount", value=5_000)
    cart = resolver.price_lines([(variant(QUYT), 2), (variant(LAMP), 1), (variant(WINE), 1)],
                                customer="phone:0912345678", vouchers=["dn-5k"])
    reservation = usage.reserve_cart(cart, "order:OCOP-2026-000900")
    commit()
    assert {(u.producer_id, u.units, u.discount_amount) for u in reservation.promotions} == {
        (variant(QUYT).product.producer_id, 2, 21_000), (variant(LAMP).product.producer_id, 1, 48_000)}
    db.session.refresh(promo)
    assert (promo.units_used, promo.discount_used) == (3, 69_000)  # it has a budget: counted
    assert len(reservation.vouchers) == 1 and reservation.vouchers[0].discount_amount == 5_000
    assert usage.reserve_cart(cart, "order:OCOP-2026-000900").promotions[0].id == reservation.promotions[0].id

    report = client.get(f"/admin/v1/promotions/{promo.id}/report", headers=login("sct.dongnai")).get_json()
    assert (report["orders"], report["units"], report["discount"]) == (1, 3, 69_000)
    assert report["gmv"] == sum(l.line_total for l in cart.lines[:2])
    assert report["budget_left"] == 20_000_000 - 69_000
    assert {r["producer_id"]: r["discount"] for r in report["producers"]} == {
        variant(QUYT).product.producer_id: 21_000, variant(LAMP).product.producer_id: 48_000}
    mine = client.get(f"/admin/v1/promotions/{promo.id}/report", headers=login("cs.htx-binh-minh")).get_json()
    assert [r["producer_id"] for r in mine["producers"]] == [variant(QUYT).product.producer_id]
    summary = client.get("/admin/v1/promotions/report", headers=login("sct.dongnai")).get_json()
    assert [(r["promotion_id"], r["discount"]) for r in summary["results"]] == [(promo.id, 69_000)]

    # one of the two tangerines comes back: half its discount is returned to the budget
    quyt = cart.line(variant(QUYT).id)
    refund = usage.record_refund("order:OCOP-2026-000900", {"producer_id": quyt.producer_id,
                                                            "quantity": 2, "line_total": quyt.line_total,
                                                            "discounts": quyt.snapshot()}, 1)
    commit()
    assert refund["amount"] == quyt.line_total // 2 and refund["discounts"][0]["amount"] == 10_500
    db.session.refresh(promo)
    assert (promo.units_used, promo.discount_used) == (2, 58_500)

    assert usage.release_usage("order:OCOP-2026-000900") == 3
    assert usage.release_usage("order:OCOP-2026-000900") == 0
    commit()
    db.session.refresh(promo)
    assert (promo.units_used, promo.discount_used) == (0, 0)
    from core.pricing import vouchers
    assert vouchers.find_voucher("DN-5K").uses == 0


# --- speed: bounded queries ------------------------------------------------------------------------
def test_a_page_is_priced_in_a_bounded_number_of_queries(app, demo):
    for n in range(30):  # many live promotions, of every owner, some scoped by origin province
        make_promotion(kind="amount", value=100 + n, stackable=bool(n % 2),
                       scope={"provinces": ["75"]} if n % 3 == 0 else {})
    every = [v.id for v in db.session.execute(select(variant(POMELO).__class__)).scalars()]
    live.clear()  # cold: the live promotions are read too
    with counted_queries() as one:
        resolver.prices_for(every[:1])
    live.clear()
    with counted_queries() as all_of_them:
        priced = resolver.prices_for(every)
    assert len(all_of_them) == len(one) <= 7
    assert all(p.discounts for p in priced.values())
    with counted_queries() as warm:  # the live set is kept per process until the pricing state changes
        resolver.prices_for(every)
    assert len(warm) == len(all_of_them) - 2
    with counted_queries() as cart:  # a cart re-reads the counters of limited promotions
        resolver.price_lines([(v, 2) for v in every])
    assert len(cart) == len(warm) + 1  # the demo campaign has a budget


def test_the_storefront_list_costs_the_same_queries_for_3_or_20_products(client, demo):
    from core.catalogue import version as catalogue_cache
    make_promotion(kind="percentage", value=5)
    catalogue_cache.clear()
    live.clear()
    with counted_queries() as small:
        assert client.get("/storefront/v1/products?limit=3").status_code == 200
    catalogue_cache.clear()
    live.clear()
    with counted_queries() as page:
        assert len(client.get("/storefront/v1/products?limit=20").get_json()["results"]) == 7
    assert len(page) == len(small)


def test_a_rolled_back_change_never_reaches_the_live_promotions_cache(app, demo):
    from core.pricing import promotions
    assert resolver.price_for(variant(POMELO)).unit_price == 65_000
    same_window = window()  # the same window, so only the version could tell the two states apart
    data = {"name": "Không bao giờ", "name_en": "Never", "kind": "percentage", "value": 50, "requires_opt_in": False,
            **same_window}
    promo = promotions.create_promotion(user("admin"), data)
    promotions.activate_promotion(user("admin"), promo)
    assert resolver.price_for(variant(POMELO)).unit_price == 32_500  # this transaction sees its own change
    db.session.rollback()
    assert resolver.price_for(variant(POMELO)).unit_price == 65_000
    make_promotion(kind="amount", value=1_000, **same_window)  # committed: reuses the rolled-back version number
    assert resolver.price_for(variant(POMELO)).unit_price == 64_000
