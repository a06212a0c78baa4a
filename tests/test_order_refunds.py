"""Refunding units of online order lines: the charged (discounted) amount pro-rated by quantity, exact to the
đồng over several refunds, promotion and voucher usage given back in proportion, unshipped units released."""
from __future__ import annotations

from sqlalchemy import select

from support.checks import error_of
from support.orders import checkout_for, ledger_ok, order_id, stock_of

QUYT = "BM-QHC-1KG"  # 70,000 ₫, 59,500 ₫ in the Đồng Nai campaign (10,500 ₫ off a unit)
ADMIN = "/admin/v1/orders"
CHECKOUTS = "/storefront/v1/checkouts"


def counters(order_number: str) -> dict:
    from core.db import db
    from core.pricing.models import Promotion, PromotionUsage, Voucher, VoucherUsage
    db.session.rollback()
    ref = f"order:{order_number}"
    usage = db.session.execute(select(PromotionUsage).where(PromotionUsage.order_ref == ref)).scalar_one()
    promotion = db.session.get(Promotion, usage.promotion_id)
    voucher_usage = db.session.execute(select(VoucherUsage).where(VoucherUsage.order_ref == ref)).scalar_one()
    voucher = db.session.get(Voucher, voucher_usage.voucher_id)
    return {"promotion_units": promotion.units_used, "promotion_discount": promotion.discount_used,
            "usage_units": usage.units, "usage_discount": usage.discount_amount,
            "voucher_usage_discount": voucher_usage.discount_amount, "voucher_uses": voucher.uses}


def paid_discounted_order(client, login, quantity: int = 7) -> dict:
    """QUYT × quantity in the campaign with the OCOP-DONGNAI voucher (20,000 ₫ off), paid by bank transfer."""
    token = checkout_for(client, [(QUYT, quantity)], gateway="bank_transfer")["token"]
    assert client.patch(f"{CHECKOUTS}/{token}", json={"vouchers": ["OCOP-DONGNAI"]}).status_code == 200
    order = client.post(f"{CHECKOUTS}/{token}/complete").get_json()
    oid = order_id(order["number"])
    paid = client.post(f"{ADMIN}/{oid}/payments/{order['payments'][0]['id']}/mark-paid", headers=login("admin"),
                       json={})
    assert paid.status_code == 200, paid.get_json()
    return {**order, "id": oid}


def test_partial_refunds_of_a_discounted_line_pro_rate_and_add_up_to_what_was_charged(client, login, demo):
    admin = login("admin")
    order = paid_discounted_order(client, login)
    line = order["lines"][0]
    # 7 × 70,000 = 490,000; the campaign takes 10,500 off at most 5 units an order (52,500), the voucher
    # 20,000: charged 417,500 (not a multiple of 7)
    assert (line["discount_amount"], line["line_total"]) == (72_500, 417_500)
    before = counters(order["number"])
    on_hand, allocated = stock_of(QUYT)

    # 2 units before shipping: 417,500 × 2 // 7 = 119,285 ₫ back, their allocation released
    r = client.post(f"{ADMIN}/{order['id']}/refunds", headers=admin,
                    json={"lines": [{"order_line_id": line["id"], "quantity": 2}], "reason": "hết hàng"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert [f["amount"] for f in body["refunds"]] == [119_285]
    assert body["order"]["refunded_amount"] == 119_285 and body["order"]["status"] == "paid"
    assert body["order"]["lines"][0]["returned_quantity"] == 2
    after = counters(order["number"])
    # the campaign gets 2/7 of what the line took from it back: 5 × 2 // 7 = 1 unit, 52,500 × 2 // 7 ₫
    assert after["promotion_units"] == before["promotion_units"] - 1
    assert after["promotion_discount"] == before["promotion_discount"] - 15_000
    assert (after["usage_units"], after["usage_discount"]) == (4, 37_500)
    assert after["voucher_usage_discount"] == 20_000 - 20_000 * 2 // 7
    assert after["voucher_uses"] == before["voucher_uses"]  # the order still used the code
    assert stock_of(QUYT) == (on_hand, allocated - 2)

    # more than is left on the line: 422 with the envelope, nothing changes
    error_of(client.post(f"{ADMIN}/{order['id']}/refunds", headers=admin,
                         json={"lines": [{"order_line_id": line["id"], "quantity": 6}]}), 422,
             "order.refund_exceeds_line")
    error_of(client.post(f"{ADMIN}/{order['id']}/refunds", headers=admin,
                         json={"lines": [{"order_line_id": line["id"], "quantity": 3},
                                         {"order_line_id": line["id"], "quantity": 3}]}), 422,
             "order.refund_exceeds_line")
    error_of(client.post(f"{ADMIN}/{order['id']}/refunds", headers=admin,
                         json={"lines": [{"order_line_id": 999_999, "quantity": 1}]}), 422)
    error_of(client.post(f"{ADMIN}/{order['id']}/refunds", headers=admin,
                         json={"amount": 1000, "lines": [{"order_line_id": line["id"], "quantity": 1}]}), 422)
    error_of(client.post(f"{ADMIN}/{order['id']}/refunds", headers=login("cs.htx-binh-minh"),
                         json={"lines": [{"order_line_id": line["id"], "quantity": 1}]}), 403)
    assert counters(order["number"]) == after and stock_of(QUYT) == (on_hand, allocated - 2)

    # the other 5 ship (only those leave the stock), then come back: the rest of what was charged
    shipped = client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=admin,
                          json={"carrier": "GHN", "tracking_no": "R1", "line_ids": [line["id"]]})
    assert shipped.status_code == 201, shipped.get_json()
    assert shipped.get_json()["status"] == "fulfilled"
    assert shipped.get_json()["lines"][0]["fulfilled_quantity"] == 5
    assert stock_of(QUYT) == (on_hand - 5, allocated - 7)
    r = client.post(f"{ADMIN}/{order['id']}/refunds", headers=admin,
                    json={"lines": [{"order_line_id": line["id"], "quantity": 5}], "reason": "khách trả"})
    assert r.status_code == 201, r.get_json()
    assert [f["amount"] for f in r.get_json()["refunds"]] == [298_215]
    assert 119_285 + 298_215 == line["line_total"]  # never more than was charged, to the đồng
    final = counters(order["number"])
    assert final["promotion_units"] == before["promotion_units"] - 5
    assert final["promotion_discount"] == before["promotion_discount"] - 52_500
    assert (final["usage_units"], final["usage_discount"], final["voucher_usage_discount"]) == (0, 0, 0)
    assert r.get_json()["order"]["status"] == "fulfilled"  # the shipping fee was paid and not refunded
    error_of(client.post(f"{ADMIN}/{order['id']}/refunds", headers=admin,
                         json={"lines": [{"order_line_id": line["id"], "quantity": 1}]}), 422,
             "order.refund_exceeds_line")
    ledger_ok()


def test_refunding_every_unit_and_the_shipping_fee_refunds_the_order(client, login, demo):
    admin = login("admin")
    order = paid_discounted_order(client, login, quantity=4)
    line = order["lines"][0]
    on_hand, allocated = stock_of(QUYT)
    r = client.post(f"{ADMIN}/{order['id']}/refunds", headers=admin,
                    json={"lines": [{"order_line_id": line["id"], "quantity": 4}]})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["order"]["refunded_amount"] == line["line_total"]
    assert stock_of(QUYT) == (on_hand, allocated - 4)
    # nothing is left to ship
    error_of(client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=admin,
                         json={"carrier": "GHN", "tracking_no": "R2", "line_ids": [line["id"]]}), 409)
    r = client.post(f"{ADMIN}/{order['id']}/refunds", headers=admin, json={"amount": order["shipping_fee"]})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["order"]["status"] == "refunded"
    error_of(client.post(f"{ADMIN}/{order['id']}/refunds", headers=admin,
                         json={"lines": [{"order_line_id": line["id"], "quantity": 1}]}), 409,
             "order.not_refundable")
    ledger_ok()
