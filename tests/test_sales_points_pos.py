"""Sales points plugin: counter sales (POS), look-up, voids, returns, receipt data."""
from __future__ import annotations

import pytest

from support.checks import error_of, row_counts
from support.sales_points import BASE, ledger_ok, on_hand, receive, sell, setup_points


@pytest.fixture
def sp(client, login, demo):
    points = setup_points(client, login)
    r = receive(points, points.a, points.op_a, "BL-BDX-1", [
        {"sku": "BL-BDX-1", "quantity": 3, "lot_no": "LATE", "best_before": "2027-03-01"},
        {"sku": "BL-BDX-1", "quantity": 2, "lot_no": "EARLY", "best_before": "2026-12-05"},
        {"sku": "BL-TDB-10", "quantity": 4}])
    assert r.status_code == 201, r.get_json()
    return points


def test_cash_sale_by_barcode_fefo_and_receipt(sp):
    gtin = sp.variant("BL-BDX-1").gtin
    r = sell(sp, sp.a, sp.op_a, [{"code": gtin, "quantity": 3}, {"sku": "BL-TDB-10", "quantity": 1}],
             amount_tendered=300000, client_ref="till1-0001")
    assert r.status_code == 201, r.get_json()
    sale = r.get_json()
    assert sale["total"] == 3 * 65000 + 55000 == 250000
    assert sale["change_due"] == 50000 and sale["status"] == "completed"
    pomelo = next(l for l in sale["lines"] if l["sku"] == "BL-BDX-1")
    # first expiry first out: both EARLY units, then one LATE
    assert pomelo["lots"] == [{"lot_no": "EARLY", "best_before": "2026-12-05", "quantity": 2},
                              {"lot_no": "LATE", "best_before": "2027-03-01", "quantity": 1}]
    receipt = sale["receipt"]
    assert receipt["number"] == sale["number"] and receipt["point_name"] == "Điểm OCOP Bửu Long"
    assert receipt["total"] == 250000 and receipt["payment_method_name"] == "Tiền mặt / Cash"
    assert receipt["cashier"] == "Nhân viên op.a" and "+07:00" in receipt["sold_at_local"]
    assert on_hand(sp, sp.a, "BL-BDX-1") == 2 and on_hand(sp, sp.a, "BL-TDB-10") == 3
    ledger_ok()
    # the till retries the same sale: same answer, nothing sold twice
    again = sell(sp, sp.a, sp.op_a, [{"code": gtin, "quantity": 3}], client_ref="till1-0001")
    assert again.status_code == 200 and again.get_json()["id"] == sale["id"]
    assert on_hand(sp, sp.a, "BL-BDX-1") == 2
    assert sp.client.get(f"{BASE}/sales/{sale['id']}", headers=sp.organiser).get_json()["number"] == sale["number"]
    assert sp.client.get(f"{BASE}/{sp.a}/sales", headers=sp.op_a).get_json()["total"] == 1
    error_of(sp.client.get(f"{BASE}/sales/{sale['id']}", headers=sp.op_b), 403)


def test_card_and_qr_payments(sp):
    r = sell(sp, sp.a, sp.op_a, [{"sku": "BL-TDB-10", "quantity": 1}], method="bank_transfer_qr",
             payment_reference="FT26327000123", amount_tendered=999999)
    assert r.status_code == 201
    body = r.get_json()
    assert body["payment_reference"] == "FT26327000123" and body["amount_tendered"] is None
    assert body["change_due"] is None
    assert sell(sp, sp.a, sp.op_a, [{"sku": "BL-TDB-10", "quantity": 1}], method="card").status_code == 201
    error_of(sell(sp, sp.a, sp.op_a, [{"sku": "BL-TDB-10", "quantity": 1}], method="crypto"), 422)


def test_lookup(sp):
    gtin = sp.variant("BL-BDX-1").gtin
    r = sp.client.get(f"{BASE}/{sp.a}/lookup?code={gtin}", headers=sp.op_a)
    assert r.status_code == 200
    assert r.get_json() | {} == {"variant_id": sp.variant("BL-BDX-1").id, "sku": "BL-BDX-1", "gtin": gtin,
                                 "name": "Bưởi da xanh Bình Lợi – " + sp.variant("BL-BDX-1").name, "price": 65000,
                                 "available": 5, "listed": True, "sellable": True, "stars": 3}
    assert sp.client.get(f"{BASE}/{sp.a}/lookup?code=BL-TDB-10", headers=sp.op_a).get_json()["available"] == 4
    error_of(sp.client.get(f"{BASE}/{sp.a}/lookup?code=8930000999997", headers=sp.op_a), 404,
             "sales_point.unknown_code")
    error_of(sp.client.get(f"{BASE}/{sp.a}/lookup", headers=sp.op_a), 422)
    error_of(sp.client.get(f"{BASE}/{sp.a}/lookup?code={gtin}", headers=sp.op_b), 403)
    unlisted = sp.client.get(f"{BASE}/{sp.a}/lookup?code=TC-RNN-500", headers=sp.op_a).get_json()
    assert unlisted["listed"] is False and unlisted["sellable"] is False


def test_sale_refusals_change_nothing(sp):
    before = row_counts()
    err = error_of(sell(sp, sp.a, sp.op_a, [{"code": "8930000999997", "quantity": 1}]), 422,
                   "sales_point.unknown_code")
    assert err["details"]["code"] == "8930000999997"
    error_of(sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 6}]), 409, "stock.insufficient")
    error_of(sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 2}], amount_tendered=100000), 422,
             "sales_point.insufficient_payment")
    error_of(sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 0}]), 422, "validation.invalid")
    error_of(sell(sp, sp.a, sp.op_a, []), 422)
    error_of(sell(sp, sp.a, sp.op_a, [{"sku": "VK-TOUR-1N", "quantity": 1}]), 422, "stock.not_stocked")
    # a line for stock that is not there fails the whole sale, including the good line
    error_of(sell(sp, sp.a, sp.op_a, [{"sku": "BL-TDB-10", "quantity": 1}, {"sku": "VQ-CAM-5KG", "quantity": 1}]),
             409, "stock.insufficient")
    error_of(sell(sp, sp.a, sp.op_b, [{"sku": "BL-BDX-1", "quantity": 1}]), 403, "sales_point.out_of_scope")
    error_of(sell(sp, sp.a, sp.organiser, [{"sku": "BL-BDX-1", "quantity": 1}]), 403)
    error_of(sell(sp, sp.a, {}, [{"sku": "BL-BDX-1", "quantity": 1}]), 401)
    assert row_counts() == before
    assert on_hand(sp, sp.a, "BL-BDX-1") == 5


def test_unlisted_products_refused_unless_point_allows(sp):
    c = sp.client
    c.patch(f"{BASE}/{sp.a}", json={"allow_unlisted": True}, headers=sp.organiser)
    r = receive(sp, sp.a, sp.op_a, "TC-RNN-500", [{"sku": "TC-RNN-500", "quantity": 2, "lot_no": "R1",
                                                   "best_before": "2029-01-01"}])
    assert r.status_code == 201, r.get_json()
    assert sell(sp, sp.a, sp.op_a, [{"sku": "TC-RNN-500", "quantity": 1}]).status_code == 201
    c.patch(f"{BASE}/{sp.a}", json={"allow_unlisted": False}, headers=sp.organiser)
    before = row_counts()
    err = error_of(sell(sp, sp.a, sp.op_a, [{"sku": "TC-RNN-500", "quantity": 1}]), 422,
                   "sales_point.product_not_listed")
    assert err["details"]["sku"] == "TC-RNN-500"
    assert row_counts() == before


def test_withdrawn_certification_stops_sales(sp, app):
    from core.db import db
    from core.certification.models import Certification
    from core.certification import certifications
    from sqlalchemy import select
    product = sp.variant("BL-TDB-10").product
    cert = db.session.execute(select(Certification).where(Certification.product_id == product.id,
                                                          Certification.status == "active")).scalar_one()
    from core.accounts.models import User
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    certifications.withdraw(admin, cert, "vi phạm an toàn thực phẩm")
    db.session.commit()
    error_of(sell(sp, sp.a, sp.op_a, [{"sku": "BL-TDB-10", "quantity": 1}]), 422, "sales_point.product_not_listed")


def test_expired_lots_are_never_sold(sp, monkeypatch):
    monkeypatch.setenv("OCOP_TODAY", "2026-12-10")  # lot EARLY (best before 2026-12-05) has expired
    error_of(sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 4}]), 409, "stock.insufficient")
    r = sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 3}])
    assert r.status_code == 201
    assert r.get_json()["lines"][0]["lots"] == [{"lot_no": "LATE", "best_before": "2027-03-01", "quantity": 3}]


def test_void_same_day_restocks(sp, monkeypatch):
    sale = sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 3}]).get_json()
    error_of(sp.client.post(f"{BASE}/sales/{sale['id']}/void", json={"reason": "x"}, headers=sp.op_a), 422)
    error_of(sp.client.post(f"{BASE}/sales/{sale['id']}/void", json={"reason": "khách đổi ý"}, headers=sp.op_b), 403)
    r = sp.client.post(f"{BASE}/sales/{sale['id']}/void", json={"reason": "khách đổi ý"}, headers=sp.op_a)
    assert r.status_code == 200 and r.get_json()["status"] == "voided"
    assert on_hand(sp, sp.a, "BL-BDX-1") == 5
    stock = sp.client.get(f"{BASE}/{sp.a}/stock", headers=sp.op_a).get_json()["results"]
    lots = {l["lot_no"]: l["on_hand"] for row in stock if row["sku"] == "BL-BDX-1" for l in row["lots"]}
    assert lots == {"EARLY": 2, "LATE": 3}
    error_of(sp.client.post(f"{BASE}/sales/{sale['id']}/void", json={"reason": "lần nữa"}, headers=sp.op_a), 409,
             "sales_point.sale_voided")
    ledger_ok()
    # yesterday's sale cannot be voided (use a return)
    other = sell(sp, sp.a, sp.op_a, [{"sku": "BL-TDB-10", "quantity": 1}]).get_json()
    monkeypatch.setenv("OCOP_TODAY", "2026-11-24")
    error_of(sp.client.post(f"{BASE}/sales/{other['id']}/void", json={"reason": "muộn rồi"}, headers=sp.op_a), 409,
             "sales_point.void_window")


def test_partial_returns(sp):
    sale = sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 3}, {"sku": "BL-TDB-10", "quantity": 2}],
                method="card").get_json()
    pomelo = next(l for l in sale["lines"] if l["sku"] == "BL-BDX-1")
    oil = next(l for l in sale["lines"] if l["sku"] == "BL-TDB-10")
    url = f"{BASE}/sales/{sale['id']}/returns"
    error_of(sp.client.post(url, json={"reason": "quả bị dập", "lines": [{"sale_line_id": pomelo["id"],
                                                                        "quantity": 4}]}, headers=sp.op_a), 422,
             "sales_point.return_exceeds_sale")
    error_of(sp.client.post(url, json={"reason": "quả bị dập", "lines": [{"sale_line_id": 999999, "quantity": 1}]},
                            headers=sp.op_a), 422)
    error_of(sp.client.post(url, json={"lines": [{"sale_line_id": pomelo["id"], "quantity": 1}]},
                            headers=sp.op_a), 422)
    error_of(sp.client.post(url, json={"reason": "quả bị dập", "lines": [{"sale_line_id": pomelo["id"],
                                                                        "quantity": 1}]}, headers=sp.op_b), 403)
    r = sp.client.post(url, json={"reason": "khách đổi ý", "lines": [{"sale_line_id": pomelo["id"], "quantity": 2}]},
                       headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["refund_amount"] == 130000 and r.get_json()["refund_method"] == "card"
    # returned goods go back to the lots they came from, latest expiry first (1 LATE, then 1 EARLY)
    stock = sp.client.get(f"{BASE}/{sp.a}/stock", headers=sp.op_a).get_json()["results"]
    lots = {l["lot_no"]: l["on_hand"] for row in stock if row["sku"] == "BL-BDX-1" for l in row["lots"]}
    assert lots == {"EARLY": 1, "LATE": 3}
    # damaged goods: refunded, not restocked
    r2 = sp.client.post(url, json={"reason": "chai vỡ", "restock": False, "refund_method": "cash",
                                   "lines": [{"sale_line_id": oil["id"], "quantity": 1}]}, headers=sp.op_a)
    assert r2.status_code == 201 and r2.get_json()["refund_amount"] == 55000
    assert on_hand(sp, sp.a, "BL-TDB-10") == 2
    body = sp.client.get(f"{BASE}/sales/{sale['id']}", headers=sp.op_a).get_json()
    assert body["refunded"] == 185000 and len(body["returns"]) == 2
    error_of(sp.client.post(f"{BASE}/sales/{sale['id']}/void", json={"reason": "huỷ"}, headers=sp.op_a), 409,
             "sales_point.sale_has_returns")
    ledger_ok()


def test_closed_point_cannot_sell(sp):
    sp.client.patch(f"{BASE}/{sp.a}", json={"status": "suspended"}, headers=sp.organiser)
    error_of(sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 1}]), 409, "sales_point.not_active")


def test_product_sales_points_public(sp):
    c = sp.client
    body = c.get("/storefront/v1/products/buoi-da-xanh-binh-loi/sales-points").get_json()
    assert body["total"] == 1
    point = body["results"][0]
    assert point["code"] == "SP-75-001" and point["opening_hours"]["mon"]
    assert point["variants"] == [{"sku": "BL-BDX-1", "name": sp.variant("BL-BDX-1").name, "price": 65000,
                                  "available": 5}]
    assert c.get("/storefront/v1/products/cam-vu-quang/sales-points").get_json()["total"] == 0
    error_of(c.get("/storefront/v1/products/no-such-product/sales-points"), 404)
    sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 5}])
    assert c.get("/storefront/v1/products/buoi-da-xanh-binh-loi/sales-points").get_json()["total"] == 0
