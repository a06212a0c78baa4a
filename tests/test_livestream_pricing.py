"""Livestream prices through the core price resolver and attribution by the session's voucher code."""
from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.pricing import resolver
from core.sales.models import Order
from support.checks import error_of, row_counts
from support.livestream import BASE, CONFIRM, comment, drafts, make_session, push
from support.orders import checkout_for
from support.pricing import make_promotion, make_voucher, variant

POMELO, GIFT, QUYT = "BL-BDX-1", "BL-BDX-HOP2", "BM-QHC-1KG"


def test_session_prices_are_the_resolvers_answer_on_the_session_channel_only(client, login, demo):
    live = make_session(client, login)
    channel = f"livestream:{live.id}"
    on_air = resolver.price_for(variant(POMELO), channel)
    assert (on_air.base_unit_price, on_air.unit_price) == (65_000, 59_000)
    assert [d.reference for d in on_air.discounts] == ["plugin:livestream-session-price"]
    # the online store and another session keep their own prices (the Đồng Nai campaign covers the quýt online)
    assert resolver.price_for(variant(POMELO)).unit_price == 65_000
    other = make_session(client, login)
    assert resolver.price_for(variant(QUYT), f"livestream:{other.id}").unit_price == 65_000
    assert resolver.price_for(variant(QUYT)).unit_price == 59_500
    shown = client.get(f"{BASE}/{live.id}/showcase", headers=live.admin).get_json()
    a1 = next(i for i in shown["results"] if i["code"] == "A1")
    assert {v["sku"]: v["price"] for v in a1["variants"]} == {POMELO: 59_000, GIFT: 139_000}
    # editing the session price changes the resolver's answer at once
    r = client.patch(f"{BASE}/{live.id}/showcase/{a1['id']}", headers=live.admin, json={"variants": [
        {"variant_id": variant(POMELO).id, "words": "Loại 1", "session_price": 57_000}]})
    assert r.status_code == 200, r.get_json()
    assert {v["sku"]: v["price"] for v in r.get_json()["variants"]} == {POMELO: 57_000}
    assert resolver.price_for(variant(POMELO), channel).unit_price == 57_000


def test_a_livestream_only_promotion_prices_drafts_and_their_orders(client, login, demo):
    live = make_session(client, login)
    promo = make_promotion(kind="fixed_price", value=55_000, scope={"variants": [variant(POMELO).id]},
                           channels=[f"livestream:{live.id}"], name="Giờ vàng livestream", name_en="Golden hour")
    assert push(client, live, [comment(1, "hoa", "A1 loại 1 x2")]).status_code == 200
    draft = drafts(client, live)["hoa"]
    assert draft["lines"][0]["unit_price"] == 55_000 and draft["total"] == 110_000
    r = client.post(f"{BASE}/{live.id}/drafts/{draft['id']}/confirm", headers=live.admin, json=CONFIRM)
    assert r.status_code == 201, r.get_json()
    order = db.session.get(Order, r.get_json()["order_id"])
    line = order.lines[0]
    assert (line.base_unit_price, line.unit_price, line.discount_amount, line.line_total) == \
        (65_000, 55_000, 20_000, 110_000)
    assert [d["reference"] for d in line.discounts] == [f"promotion:{promo.id}"]
    assert order.subtotal == 110_000 and order.discount_amount == 20_000
    # the storefront does not see the livestream-only price
    assert resolver.price_for(variant(POMELO)).unit_price == 65_000


def test_orders_using_the_sessions_voucher_are_credited_to_it(client, login, demo):
    make_voucher(code="LIVE-HOA", kind="amount", value=5_000)
    live = make_session(client, login)
    url, outsider = f"{BASE}/{live.id}", login("cs.tht-cam-vu-quang")
    before = row_counts()
    error_of(client.patch(url, headers=live.admin, json={"voucher_code": "KHONG-CO"}), 422, "voucher.invalid")
    error_of(client.patch(url, headers=outsider, json={"voucher_code": "LIVE-HOA"}), 403)
    assert row_counts() == before
    r = client.patch(url, headers=live.admin, json={"voucher_code": "live-hoa"})
    assert r.status_code == 200 and r.get_json()["voucher_code"] == "LIVE-HOA"

    token = checkout_for(client, [("BL-TDB-10", 1)], gateway="cod")["token"]
    assert client.patch(f"/storefront/v1/checkouts/{token}", json={"vouchers": ["Live-Hoa"]}).status_code == 200
    placed = client.post(f"/storefront/v1/checkouts/{token}/complete")
    assert placed.status_code == 201, placed.get_json()
    order = db.session.execute(select(Order).where(Order.number == placed.get_json()["number"])).scalar_one()
    assert order.attribution == {"source": "livestream", "reference": f"livestream:{live.id}",
                                 "session_id": live.id, "via": "voucher"}
    assert order.discount_amount == 5_000
    # an order without the code gets no credit
    plain = client.post(f"/storefront/v1/checkouts/{checkout_for(client, [('BL-TDB-10', 1)])['token']}/complete")
    assert db.session.execute(select(Order.attribution).where(Order.number == plain.get_json()["number"])
                              ).scalar_one() is None
