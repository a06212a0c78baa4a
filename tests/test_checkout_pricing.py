"""Checkout, orders and counter sales priced by core.pricing: discount lines, vouchers entered at checkout,
order-line snapshots, cancellations and returns giving discounts back, bounded queries, the issue's
"done when" (the Đồng Nai campaign on the storefront, at checkout and at a sales-point till, prices back
at the window's end) and 100 concurrent completions on a 50-use voucher (PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from core import clock
from support.checks import error_of
from support.orders import ADDRESS_DONG_NAI, CONTACT, checkout_for, order_id, stock_of
from support.pricing import make_voucher, user, variant
from support.sales_points import BASE as SP_BASE, receive, sell, setup_points

QUYT, LAMP, WINE, POMELO = "BM-QHC-1KG", "NTN-DEN-S", "SAHS-RNH-500", "BL-BDX-1"
CHECKOUTS = "/storefront/v1/checkouts"
LOT = {"lot_no": "L1", "best_before": "2027-06-30"}


def campaign():
    from core.db import db
    from core.pricing.models import Promotion
    return db.session.execute(select(Promotion).where(Promotion.name == "Tuần lễ OCOP Đồng Nai")).scalar_one()


@contextmanager
def counted_queries():
    from core.db import db
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def line_of(body: dict, sku: str) -> dict:
    return next(line for line in body["lines"] if line["sku"] == sku)


# --- the "done when" ------------------------------------------------------------------
def test_dong_nai_campaign_on_storefront_checkout_and_till_then_prices_return(client, login, demo, monkeypatch):
    promo = campaign()
    ref = f"promotion:{promo.id}"
    # storefront: HTX Bình Minh (quýt) and Nhân Tuân Nhân (đèn) joined; Bình Lợi (bưởi) did not
    items = {p["slug"]: p for p in client.get("/storefront/v1/products?limit=50").get_json()["results"]}
    assert items["quyt-huu-co-phu-ly"]["sale_price_min"] == 59_500
    assert items["quyt-huu-co-phu-ly"]["sale_ends_at"] == clock.local(promo.ends_at)
    assert items["ruou-nhung-huou-huong-son"]["sale_price_min"] is None  # Sơn An did not join
    detail = client.get("/storefront/v1/products/quyt-huu-co-phu-ly").get_json()
    assert detail["variants"][0]["sale_price"] == 59_500 and detail["promotions"][0]["reference"] == ref

    # checkout: the sale price, the discount line, the total; a non-opted producer keeps its price
    body = checkout_for(client, [(QUYT, 2), (POMELO, 1)])
    quyt, pomelo = line_of(body, QUYT), line_of(body, POMELO)
    assert (quyt["base_unit_price"], quyt["unit_price"], quyt["discount_amount"], quyt["line_total"]) == \
        (70_000, 59_500, 21_000, 119_000)
    assert [d["reference"] for d in quyt["discounts"]] == [ref]
    assert quyt["sale_ends_at"] == clock.local(promo.ends_at)
    assert (pomelo["unit_price"], pomelo["discount_amount"], pomelo["discounts"]) == (65_000, 0, [])
    assert body["discounts"] == [{"source": "promotion", "id": promo.id, "reference": ref,
                                  "name": "Tuần lễ OCOP Đồng Nai", "name_en": "Đồng Nai OCOP week", "code": None,
                                  "amount": 21_000}]
    assert (body["base_subtotal"], body["discount_amount"], body["subtotal"]) == (205_000, 21_000, 184_000)
    assert body["total"] == 184_000 + body["shipping_fee"]

    # the order remembers what was charged and why
    order = client.post(f"{CHECKOUTS}/{body['token']}/complete").get_json()
    assert order["subtotal"] == 184_000 and order["discount_amount"] == 21_000
    quyt_line = line_of(order, QUYT)
    assert (quyt_line["base_unit_price"], quyt_line["unit_price"], quyt_line["discount_amount"],
            quyt_line["line_total"]) == (70_000, 59_500, 21_000, 119_000)
    assert quyt_line["discounts"][0]["reference"] == ref and quyt_line["discounts"][0]["units"] == 2
    assert quyt_line["discounts"][0]["ends_at"] == clock.local(promo.ends_at)
    from core.db import db
    from core.pricing.models import PromotionUsage
    db.session.rollback()
    used = db.session.execute(select(PromotionUsage).where(PromotionUsage.order_ref == f"order:{order['number']}")
                              ).scalars().all()
    assert [(u.promotion_id, u.units, u.discount_amount, u.gross_amount) for u in used] == \
        [(promo.id, 2, 21_000, 119_000)]

    # a sales-point till: the lookup shows the campaign price and the sale is charged it
    sp = setup_points(client, login)
    r = receive(sp, sp.a, sp.op_a, QUYT, [{"sku": QUYT, "quantity": 5, **LOT}])
    assert r.status_code == 201, r.get_json()
    r = receive(sp, sp.a, sp.op_a, POMELO, [{"sku": POMELO, "quantity": 5, **LOT}])
    assert r.status_code == 201, r.get_json()
    looked = client.get(f"{SP_BASE}/{sp.a}/lookup?code={QUYT}", headers=sp.op_a).get_json()
    assert looked["price"] == 59_500
    r = sell(sp, sp.a, sp.op_a, [{"sku": QUYT, "quantity": 2}, {"sku": POMELO, "quantity": 1}])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["total"] == 119_000 + 65_000

    # at the window's end the prices come back without any job: storefront, checkout and till
    later = (promo.ends_at + dt.timedelta(days=1)).astimezone(clock.VN_TZ).date()
    monkeypatch.setenv("OCOP_TODAY", later.isoformat())
    assert client.get("/storefront/v1/products/quyt-huu-co-phu-ly").get_json()["variants"][0]["sale_price"] is None
    again = client.get(f"{CHECKOUTS}/{checkout_for(client, [(QUYT, 2)])['token']}").get_json()
    assert (line_of(again, QUYT)["unit_price"], again["discounts"], again["subtotal"]) == (70_000, [], 140_000)
    assert client.get(f"{SP_BASE}/{sp.a}/lookup?code={QUYT}", headers=sp.op_a).get_json()["price"] == 70_000
    r = sell(sp, sp.a, sp.op_a, [{"sku": QUYT, "quantity": 1}])
    assert r.status_code == 201 and r.get_json()["total"] == 70_000


# --- vouchers at checkout -------------------------------------------------------------------------
def test_vouchers_entered_at_checkout(client, demo):
    token = checkout_for(client, [(WINE, 1)])["token"]  # 450,000 ₫, no campaign
    url = f"{CHECKOUTS}/{token}"
    before = client.get(url).get_json()
    # a wrong code: 422 with the envelope, nothing kept
    error_of(client.patch(url, json={"vouchers": ["KHONG-CO"]}), 422, "voucher.invalid")
    assert client.get(url).get_json() == before
    error_of(client.patch(url, json={"vouchers": [""]}), 422)
    error_of(client.patch(url, json={"vouchers": "OCOP-DONGNAI"}), 422)
    error_of(client.patch(url, json={"vouchers": ["A"] * 6}), 422)
    # any case: 20,000 ₫ off from 200,000 ₫
    body = client.patch(url, json={"vouchers": ["ocop-dongnai"]}).get_json()
    assert body["vouchers"] == ["ocop-dongnai"] and body["voucher_error"] is None
    assert [(d["source"], d["code"], d["amount"]) for d in body["discounts"]] == [("voucher", "OCOP-DONGNAI", 20_000)]
    assert (body["base_subtotal"], body["discount_amount"], body["subtotal"]) == (450_000, 20_000, 430_000)
    wine = line_of(body, WINE)
    assert (wine["unit_price"], wine["discount_amount"], wine["line_total"]) == (450_000, 20_000, 430_000)
    # the minimum subtotal: a cart below it refuses the code
    small = checkout_for(client, [(POMELO, 1)])["token"]
    error_of(client.patch(f"{CHECKOUTS}/{small}", json={"vouchers": ["OCOP-DONGNAI"]}), 422, "voucher.min_subtotal")
    # the cart later drops below the minimum: priced without the code, told why; placing refuses it
    line_id = wine["id"]
    client.post(f"{url}/lines", json={"sku": POMELO, "quantity": 1})
    body = client.delete(f"{url}/lines/{line_id}").get_json()
    assert body["voucher_error"]["code"] == "voucher.min_subtotal" and body["discounts"] == []
    assert body["subtotal"] == 65_000
    error_of(client.post(f"{url}/complete"), 422, "voucher.min_subtotal")
    body = client.post(f"{url}/lines", json={"sku": WINE, "quantity": 1}).get_json()
    assert body["voucher_error"] is None and body["discount_amount"] == 20_000

    order = client.post(f"{url}/complete").get_json()
    assert order["voucher_codes"] == ["OCOP-DONGNAI"] and order["discount_amount"] == 20_000
    assert order["subtotal"] == 450_000 + 65_000 - 20_000
    assert sum(l["discount_amount"] for l in order["lines"]) == 20_000  # shared pro rata, exact
    # once per customer: the same phone cannot use it again
    other = checkout_for(client, [(WINE, 1)])["token"]
    error_of(client.patch(f"{CHECKOUTS}/{other}", json={"vouchers": ["OCOP-DONGNAI"]}), 409, "voucher.customer_limit")
    # removing the codes
    assert client.patch(f"{CHECKOUTS}/{other}", json={"vouchers": []}).get_json()["vouchers"] == []


def test_cancelling_an_order_gives_its_voucher_and_promotion_back(client, login, demo):
    from core.db import db
    from core.pricing.models import PromotionUsage, Voucher, VoucherUsage
    body = checkout_for(client, [(QUYT, 4)])  # 4 × 59,500 = 238,000 ₫: over the code's 200,000 ₫
    assert client.patch(f"{CHECKOUTS}/{body['token']}", json={"vouchers": ["OCOP-DONGNAI"]}).status_code == 200
    order = client.post(f"{CHECKOUTS}/{body['token']}/complete").get_json()
    assert order["discount_amount"] == 4 * 10_500 + 20_000
    db.session.rollback()
    voucher = db.session.execute(select(Voucher).where(Voucher.code == "OCOP-DONGNAI")).scalar_one()
    assert voucher.uses == 1
    admin = login("admin")
    r = client.post(f"/admin/v1/orders/{order_id(order['number'])}/cancel", json={"reason": "khách huỷ"},
                    headers=admin)
    assert r.status_code == 200, r.get_json()
    db.session.rollback()
    assert db.session.get(Voucher, voucher.id).uses == 0
    ref = f"order:{order['number']}"
    assert db.session.execute(select(func.count()).select_from(VoucherUsage).where(
        VoucherUsage.order_ref == ref, VoucherUsage.released_at.is_(None))).scalar_one() == 0
    assert db.session.execute(select(func.count()).select_from(PromotionUsage).where(
        PromotionUsage.order_ref == ref, PromotionUsage.released_at.is_(None))).scalar_one() == 0
    # the same shopper may use the code again
    again = checkout_for(client, [(WINE, 1)])["token"]
    assert client.patch(f"{CHECKOUTS}/{again}", json={"vouchers": ["OCOP-DONGNAI"]}).status_code == 200


def test_a_counter_return_pro_rates_the_discount_and_gives_units_back(client, login, demo):
    from core.db import db
    from core.pricing.models import Promotion, PromotionUsage
    sp = setup_points(client, login)
    assert receive(sp, sp.a, sp.op_a, QUYT, [{"sku": QUYT, "quantity": 6, **LOT}]).status_code == 201
    promo = campaign()
    sale = sell(sp, sp.a, sp.op_a, [{"sku": QUYT, "quantity": 3}]).get_json()
    assert sale["total"] == 3 * 59_500
    db.session.rollback()
    used_before = db.session.get(Promotion, promo.id).units_used
    line = sale["lines"][0]
    r = client.post(f"{SP_BASE}/sales/{sale['id']}/returns", json={"reason": "quả bị dập", "lines": [
        {"sale_line_id": line["id"], "quantity": 1}]}, headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["refund_amount"] == 59_500  # what was charged for that unit, not the base price
    db.session.rollback()
    assert db.session.get(Promotion, promo.id).units_used == used_before - 1
    from plugins.sales_points.models import PosSale
    from core.sales.models import Order
    number = db.session.execute(select(Order.number).join(PosSale, PosSale.order_id == Order.id)
                                .where(PosSale.id == sale["id"])).scalar_one()
    usage_row = db.session.execute(select(PromotionUsage).where(
        PromotionUsage.order_ref == f"order:{number}")).scalar_one()
    assert (usage_row.units, usage_row.discount_amount) == (2, 21_000)


def test_an_order_line_snapshot_is_kept_when_prices_change_later(client, demo, monkeypatch):
    order = client.post(f"{CHECKOUTS}/{checkout_for(client, [(LAMP, 1)])['token']}/complete").get_json()
    later = (campaign().ends_at + dt.timedelta(days=2)).astimezone(clock.VN_TZ).date()
    monkeypatch.setenv("OCOP_TODAY", later.isoformat())
    seen = client.get(f"/storefront/v1/orders/{order['token']}").get_json()
    lamp = line_of(seen, LAMP)
    assert (lamp["base_unit_price"], lamp["unit_price"]) == (320_000, 272_000)
    assert lamp["discounts"][0]["name"] == "Tuần lễ OCOP Đồng Nai"


# --- bounded queries ------------------------------------------------------------------------------
def stocked_skus(count: int) -> list[str]:
    from core.catalogue.browse import listed_filter
    from core.catalogue.models import Product, Variant
    from core.db import db
    from core.inventory.models import Stock
    rows = db.session.execute(
        select(Variant.sku).join(Product, Product.id == Variant.product_id).join(Stock, Stock.variant_id == Variant.id)
        .where(listed_filter(), Product.status == "active", Variant.active.is_(True), Variant.is_service.is_(False),
               Stock.on_hand - Stock.allocated >= 2).group_by(Variant.sku).order_by(Variant.sku)).scalars().all()
    assert len(rows) >= count
    return rows[:count]


def test_a_checkout_costs_the_same_queries_for_2_or_8_lines(client, demo):
    skus = stocked_skus(8)
    small = checkout_for(client, [(s, 1) for s in skus[:2]], delivery=None)["token"]
    large = checkout_for(client, [(s, 1) for s in skus], delivery=None)["token"]
    counts = []
    for token in (small, large):
        client.get(f"{CHECKOUTS}/{token}")  # warm the per-process caches
        with counted_queries() as statements:
            assert client.get(f"{CHECKOUTS}/{token}").status_code == 200
        counts.append(len(statements))
    # the same statements, plus at most one re-reading the counters of limited promotions (only when one of
    # the lines may get one): never a query per line
    assert counts[0] <= counts[1] <= counts[0] + 1, counts
    with counted_queries() as statements:
        body = client.patch(f"{CHECKOUTS}/{large}", json={"note": "giao giờ hành chính"}).get_json()
    assert len(body["lines"]) == 8 and len(statements) <= counts[1] + 4, statements


def test_a_checkout_on_another_channel_is_priced_there(app, demo):
    """``checkout.create(data, channel=…)``: a campaign on the online store and sales points does not reach a
    channel kind it does not name."""
    from core.db import db
    from core.sales import channels, checkout
    from core.sales.models import Checkout
    online = checkout.create({"lines": [{"sku": QUYT, "quantity": 1}]},
                             channel=channels.get_or_create_channel("online_store"))
    assert online["lines"][0]["unit_price"] == 59_500
    kiosk = channels.get_or_create_channel("online_store:kiosk-1", kind="online_store")
    assert checkout.create({"lines": [{"sku": QUYT, "quantity": 1}]}, channel=kiosk)["lines"][0]["unit_price"] == 59_500
    db.session.flush()
    live = channels.get_or_create_channel("livestream:test-1", kind="livestream")
    elsewhere = checkout.create({"lines": [{"sku": QUYT, "quantity": 1}]}, channel=live.code)
    assert elsewhere["lines"][0]["unit_price"] == 70_000  # the campaign does not name livestreams
    row = db.session.execute(select(Checkout).where(Checkout.token == elsewhere["token"])).scalar_one()
    assert row.channel_id == live.id
    db.session.rollback()


# --- limits under concurrency (PostgreSQL) -------------------------------------------------------
@pytest.fixture
def plenty_of_pomelos(app, demo, postgres_url):
    from core.db import commit, db
    from core.inventory import ledger
    from core.inventory.models import Stock
    pomelo = variant(POMELO)
    row = db.session.execute(select(Stock).where(Stock.variant_id == pomelo.id)).scalars().first()
    ledger.adjust(row.location_id, pomelo, 500 - row.on_hand, actor=user("admin"), reason="kiểm thử đồng thời")
    commit()


def test_100_concurrent_completions_on_a_50_use_voucher_give_exactly_50_discounts(app, client, plenty_of_pomelos):
    from core.db import db
    from core.pricing.models import Voucher, VoucherUsage
    from core.sales.models import Order
    voucher_id = make_voucher(code="LIVE-50", kind="amount", value=10_000, max_uses=50, channels=["online_store"]).id
    tokens = []
    for i in range(100):
        body = checkout_for(client, [(POMELO, 1)], contact={**CONTACT, "phone": f"09{i:08d}"},
                            address=ADDRESS_DONG_NAI)
        response = client.patch(f"{CHECKOUTS}/{body['token']}", json={"vouchers": ["live-50"]})
        assert response.status_code == 200 and response.get_json()["discount_amount"] == 10_000
        tokens.append(body["token"])
    db.session.remove()
    barrier = threading.Barrier(len(tokens))
    results: list = [None] * len(tokens)

    def complete(i: int, token: str) -> None:
        local = app.test_client()
        barrier.wait()
        response = local.post(f"{CHECKOUTS}/{token}/complete", headers={"Idempotency-Key": f"v50-{i}"})
        results[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=complete, args=(i, t)) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 50, 409: 50}, statuses
    assert {body["error"]["code"] for status, body in results if status == 409} == {"voucher.used_up"}
    assert all(body["discount_amount"] == 10_000 and body["voucher_codes"] == ["LIVE-50"]
               for status, body in results if status == 201)
    db.session.rollback()
    assert db.session.get(Voucher, voucher_id).uses == 50
    assert db.session.execute(select(func.count(), func.sum(VoucherUsage.discount_amount))
                              .where(VoucherUsage.voucher_id == voucher_id)).one() == (50, 500_000)
    assert db.session.execute(select(func.count()).select_from(Order).where(Order.discount_amount == 10_000)
                              ).scalar_one() == 50
    assert stock_of(POMELO)[1] == 50  # the refused completions hold nothing


# --- storefront search and producer page ----------------------------------------------------------
def test_search_hits_and_the_producer_page_show_sale_prices_and_end_on_time(client, demo, monkeypatch):
    promo = campaign()
    hits = client.get("/storefront/v1/search?q=quýt").get_json()["results"]
    quyt = next(h for h in hits if h["slug"] == "quyt-huu-co-phu-ly")
    assert (quyt["price_min"], quyt["sale_price_min"]) == (70_000, 59_500)
    assert quyt["sale_ends_at"] == clock.local(promo.ends_at)
    assert [p["reference"] for p in quyt["promotions"]] == [f"promotion:{promo.id}"]
    pomelo = next(h for h in client.get("/storefront/v1/search?q=bưởi").get_json()["results"]
                  if h["slug"].startswith("buoi"))
    assert pomelo["sale_price_min"] is None and pomelo["promotions"] == []
    page = client.get(f"/storefront/v1/producers/{variant(QUYT).product.producer.slug}").get_json()
    assert {p["slug"]: p["sale_price_min"] for p in page["products"]}["quyt-huu-co-phu-ly"] == 59_500
    # after the window the same (cached) search answers base prices: no job, no re-index
    later = (promo.ends_at + dt.timedelta(days=1)).astimezone(clock.VN_TZ).date()
    monkeypatch.setenv("OCOP_TODAY", later.isoformat())
    hits = client.get("/storefront/v1/search?q=quýt").get_json()["results"]
    assert next(h for h in hits if h["slug"] == "quyt-huu-co-phu-ly")["sale_price_min"] is None


def test_a_search_page_is_priced_in_a_bounded_number_of_queries(app, client, demo, monkeypatch):
    monkeypatch.setitem(app.extensions, "ocop_search_cache", False)  # measure the uncached path
    counts = []
    for limit in (2, 7):  # the demo lists 7 products
        client.get(f"/storefront/v1/search?limit={limit}&sort=newest")
        with counted_queries() as statements:
            body = client.get(f"/storefront/v1/search?limit={limit}&sort=newest").get_json()
        assert len(body["results"]) == limit, body
        counts.append(len(statements))
    # the same statements, plus at most one re-reading the counters of limited promotions (only when one of
    # the lines may get one): never a query per line
    assert counts[0] <= counts[1] <= counts[0] + 1, counts


def test_reports_give_discount_cost_and_gmv_of_checkout_and_till_orders(client, login, demo):
    promo = campaign()
    kept = client.post(f"{CHECKOUTS}/{checkout_for(client, [(QUYT, 2), (LAMP, 1)])['token']}/complete").get_json()
    cancelled = client.post(f"{CHECKOUTS}/{checkout_for(client, [(QUYT, 1)])['token']}/complete").get_json()
    admin = login("admin")
    assert client.post(f"/admin/v1/orders/{order_id(cancelled['number'])}/cancel", json={"reason": "huỷ"},
                       headers=admin).status_code == 200
    sp = setup_points(client, login)
    assert receive(sp, sp.a, sp.op_a, QUYT, [{"sku": QUYT, "quantity": 3, **LOT}]).status_code == 201
    assert sell(sp, sp.a, sp.op_a, [{"sku": QUYT, "quantity": 3}]).status_code == 201
    organiser = login("sct.dongnai")
    report = client.get(f"/admin/v1/promotions/{promo.id}/report", headers=organiser).get_json()
    assert (report["orders"], report["units"]) == (2, 2 + 1 + 3)
    assert report["discount"] == 5 * 10_500 + 48_000 and report["gmv"] == 5 * 59_500 + 272_000
    by_producer = {r["producer_id"]: (r["units"], r["discount"], r["gmv"]) for r in report["producers"]}
    assert by_producer == {variant(QUYT).product.producer_id: (5, 52_500, 297_500),
                           variant(LAMP).product.producer_id: (1, 48_000, 272_000)}
    assert report["budget_left"] == promo.budget - report["discount"]
    summary = client.get("/admin/v1/promotions/report", headers=organiser).get_json()["results"]
    assert [(r["promotion_id"], r["discount"], r["gmv"]) for r in summary] == \
        [(promo.id, report["discount"], report["gmv"])]
    assert kept["discount_amount"] == 2 * 10_500 + 48_000
