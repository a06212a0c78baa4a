"""Sales points plugin: receipts, reversals, two-step transfers, counts, returns to producers, alerts."""
from __future__ import annotations

import pytest

from support.checks import error_of, row_counts
from support.sales_points import BASE, ledger_ok, on_hand, receive, setup_points


@pytest.fixture
def sp(client, login, demo):
    return setup_points(client, login)


def pomelo_lines(qty=10, lot="L2611", bb="2027-01-15", **extra):
    return [{"sku": "BL-BDX-1", "quantity": qty, "lot_no": lot, "best_before": bb, "unit_cost": 50000, **extra}]


def test_receipt_by_sku_and_gtin_posts_to_ledger(sp):
    gtin = sp.variant("BL-TDB-10").gtin
    r = receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(10) + [{"gtin": gtin, "quantity": 5, "unit_cost": 40000}],
                supplier_document="PXK-0001")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["number"].startswith("GRN-SP-75-001-") and body["mode"] == "purchase"
    assert body["total_cost"] == 10 * 50000 + 5 * 40000
    assert [(l["sku"], l["quantity"], l["lot_no"]) for l in body["lines"]] == [("BL-BDX-1", 10, "L2611"),
                                                                             ("BL-TDB-10", 5, None)]
    assert on_hand(sp, sp.a, "BL-BDX-1") == 10 and on_hand(sp, sp.a, "BL-TDB-10") == 5
    ledger_ok()
    stock = sp.client.get(f"{BASE}/{sp.a}/stock", headers=sp.op_a).get_json()
    row = next(x for x in stock["results"] if x["sku"] == "BL-BDX-1")
    assert row["lots"] == [{"lot_no": "L2611", "best_before": "2027-01-15", "on_hand": 10, "allocated": 0}]
    listed = sp.client.get(f"{BASE}/{sp.a}/receipts", headers=sp.op_a).get_json()
    assert listed["total"] == 1


def test_receipt_refusals_change_nothing(sp, login):
    producer_headers = login("cs.htx-binh-loi")
    before = row_counts()
    # best-before in the past (OCOP_TODAY is 2026-11-23)
    error_of(receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(bb="2026-11-01")), 422, "sales_point.best_before_past")
    # food without lot / best-before
    error_of(receive(sp, sp.a, sp.op_a, "BL-BDX-1", [{"sku": "BL-BDX-1", "quantity": 3}]), 422,
             "sales_point.lot_required")
    # unknown barcode
    err = error_of(receive(sp, sp.a, sp.op_a, "BL-BDX-1", [{"gtin": "8930000099990", "quantity": 1}]), 422,
                   "sales_point.unknown_code")
    assert err["details"]["line"] == 0
    # another producer's product on this producer's note
    error_of(receive(sp, sp.a, sp.op_a, "BL-BDX-1", [{"sku": "VQ-CAM-5KG", "quantity": 1, "lot_no": "X",
                                                      "best_before": "2027-01-01"}]), 422, "sales_point.wrong_producer")
    # delisted product (Trâm Châu's certification expired)
    error_of(receive(sp, sp.a, sp.op_a, "TC-RNN-500", [{"sku": "TC-RNN-500", "quantity": 1, "lot_no": "X",
                                                        "best_before": "2028-01-01"}]), 422,
             "sales_point.product_not_listed")
    # consignment without agreement; two references on one line; negative quantity
    error_of(receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(), mode="consignment"), 422,
             "sales_point.receipt_mode_mismatch")
    error_of(receive(sp, sp.a, sp.op_a, "BL-BDX-1", [{"sku": "BL-BDX-1", "gtin": "1", "quantity": 1}]), 422)
    error_of(receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(qty=-2)), 422, "validation.invalid")
    error_of(receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(), received_on="2030-01-01"), 422)
    # operator of B on point A; organiser (not an operator); producer; anonymous
    error_of(receive(sp, sp.a, sp.op_b, "BL-BDX-1", pomelo_lines()), 403, "sales_point.out_of_scope")
    error_of(receive(sp, sp.a, sp.organiser, "BL-BDX-1", pomelo_lines()), 403)
    error_of(receive(sp, sp.a, producer_headers, "BL-BDX-1", pomelo_lines()), 403)
    error_of(receive(sp, sp.a, {}, "BL-BDX-1", pomelo_lines()), 401)
    # one bad line among good ones → nothing written
    error_of(receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines() + [{"sku": "BL-BDX-1", "quantity": 1,
                                                                       "lot_no": "Z", "best_before": "2020-01-01"}]),
             422, "sales_point.best_before_past")
    assert row_counts() == before


def test_consignment_mode_follows_agreement(sp):
    producer = sp.producer_id("BL-BDX-1")
    sp.client.post(f"{BASE}/{sp.a}/consignments", json={"producer_id": producer, "valid_from": "2026-11-01"},
                   headers=sp.op_a)
    r = receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines())
    assert r.status_code == 201 and r.get_json()["mode"] == "consignment"
    error_of(receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(), mode="purchase"), 422,
             "sales_point.receipt_mode_mismatch")


def test_reversal_is_the_only_correction(sp):
    r = receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(10))
    rid = r.get_json()["id"]
    error_of(sp.client.post(f"{BASE}/receipts/{rid}/reverse", json={"reason": "ab"}, headers=sp.op_a), 422)
    error_of(sp.client.post(f"{BASE}/receipts/{rid}/reverse", json={"reason": "nhập nhầm số lượng"},
                            headers=sp.op_b), 403)
    rev = sp.client.post(f"{BASE}/receipts/{rid}/reverse", json={"reason": "nhập nhầm số lượng"}, headers=sp.op_a)
    assert rev.status_code == 200, rev.get_json()
    assert rev.get_json()["status"] == "reversed"
    assert on_hand(sp, sp.a, "BL-BDX-1") == 0
    error_of(sp.client.post(f"{BASE}/receipts/{rid}/reverse", json={"reason": "lần nữa"}, headers=sp.op_a), 409,
             "sales_point.receipt_reversed")
    ledger_ok()
    # the original movements are still in the ledger next to the reversal
    from core.db import db
    from core.inventory.models import StockMovement
    from sqlalchemy import select
    kinds = [m.kind for m in db.session.execute(select(StockMovement).where(
        StockMovement.reason.like(f"{r.get_json()['number']}%")).order_by(StockMovement.id)).scalars()]
    assert kinds == ["receipt", "adjustment"]


def test_reversal_refused_once_goods_sold(sp):
    r = receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(2))
    sale = sp.client.post(f"{BASE}/{sp.a}/sales", json={"payment_method": "cash", "lines": [
        {"sku": "BL-BDX-1", "quantity": 1}]}, headers=sp.op_a)
    assert sale.status_code == 201
    before = row_counts()
    error_of(sp.client.post(f"{BASE}/receipts/{r.get_json()['id']}/reverse", json={"reason": "nhầm"},
                            headers=sp.op_a), 409, "sales_point.reversal_impossible")
    assert row_counts() == before


def test_two_step_transfer_with_discrepancy(sp):
    receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(6, lot="L1", bb="2026-12-10")
            + pomelo_lines(10, lot="L2", bb="2027-02-01"))
    r = sp.client.post(f"{BASE}/{sp.a}/transfers", json={"to_sales_point_id": sp.b, "lines": [
        {"sku": "BL-BDX-1", "quantity": 8}]}, headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    t = r.get_json()
    assert t["status"] == "dispatched"
    # FEFO: all of L1 (6) then 2 of L2
    assert [(l["lot_no"], l["quantity_sent"]) for l in t["lines"]] == [("L1", 6), ("L2", 2)]
    assert on_hand(sp, sp.a, "BL-BDX-1") == 8 and on_hand(sp, sp.b, "BL-BDX-1") == 0
    ledger_ok()
    # only B's operator receives; shortfall needs a reason; over-receipt refused
    l1, l2 = t["lines"]
    error_of(sp.client.post(f"{BASE}/transfers/{t['id']}/receive", json={}, headers=sp.op_a), 403)
    error_of(sp.client.post(f"{BASE}/transfers/{t['id']}/receive", json={"lines": [
        {"line_id": l1["id"], "quantity_received": 5}]}, headers=sp.op_b), 422,
        "sales_point.discrepancy_reason_required")
    error_of(sp.client.post(f"{BASE}/transfers/{t['id']}/receive", json={"lines": [
        {"line_id": l1["id"], "quantity_received": 7}]}, headers=sp.op_b), 422, "sales_point.over_receipt")
    got = sp.client.post(f"{BASE}/transfers/{t['id']}/receive", json={"lines": [
        {"line_id": l1["id"], "quantity_received": 5, "discrepancy_reason": "1 quả dập khi vận chuyển"}]},
        headers=sp.op_b)
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body["status"] == "received"
    assert [(l["quantity_received"], l["discrepancy"]) for l in body["lines"]] == [(5, 1), (2, 0)]
    assert on_hand(sp, sp.b, "BL-BDX-1") == 7
    stock_b = sp.client.get(f"{BASE}/{sp.b}/stock", headers=sp.op_b).get_json()["results"][0]
    assert {(l["lot_no"], l["on_hand"]) for l in stock_b["lots"]} == {("L1", 5), ("L2", 2)}
    error_of(sp.client.post(f"{BASE}/transfers/{t['id']}/receive", json={}, headers=sp.op_b), 409,
             "sales_point.transfer_received")
    ledger_ok()
    assert sp.client.get(f"{BASE}/{sp.b}/transfers", headers=sp.op_b).get_json()["total"] == 1
    error_of(sp.client.get(f"{BASE}/transfers/{t['id']}", headers=sp.login("cs.son-an")), 403)


def test_transfer_refusals(sp):
    receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(3))
    before = row_counts()
    error_of(sp.client.post(f"{BASE}/{sp.a}/transfers", json={"to_sales_point_id": sp.b, "lines": [
        {"sku": "BL-BDX-1", "quantity": 4}]}, headers=sp.op_a), 409, "stock.insufficient")
    error_of(sp.client.post(f"{BASE}/{sp.a}/transfers", json={"to_sales_point_id": sp.a, "lines": [
        {"sku": "BL-BDX-1", "quantity": 1}]}, headers=sp.op_a), 422)
    error_of(sp.client.post(f"{BASE}/{sp.a}/transfers", json={"lines": [{"sku": "BL-BDX-1", "quantity": 1}]},
                            headers=sp.op_a), 422)
    error_of(sp.client.post(f"{BASE}/{sp.a}/transfers", json={"to_sales_point_id": sp.b, "lines": [
        {"sku": "BL-BDX-1", "quantity": 1}]}, headers=sp.op_b), 403)
    assert row_counts() == before


def test_transfer_back_to_producer_warehouse(sp, login):
    receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(3))
    from core.db import db
    from core.inventory.models import StockLocation
    from sqlalchemy import select
    wh = db.session.execute(select(StockLocation).where(
        StockLocation.producer_id == sp.producer_id("BL-BDX-1"), StockLocation.kind == "producer_warehouse")).scalar_one()
    r = sp.client.post(f"{BASE}/{sp.a}/transfers", json={"to_location_id": wh.id, "lines": [
        {"sku": "BL-BDX-1", "quantity": 2, "lot_no": "L2611"}]}, headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    error_of(sp.client.post(f"{BASE}/transfers/{r.get_json()['id']}/receive", json={}, headers=login("cs.son-an")),
             403)
    got = sp.client.post(f"{BASE}/transfers/{r.get_json()['id']}/receive", json={}, headers=login("cs.htx-binh-loi"))
    assert got.status_code == 200, got.get_json()
    ledger_ok()


def test_count_posts_variances_with_reason(sp):
    receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(10))
    receive(sp, sp.a, sp.op_a, "BL-TDB-10", [{"sku": "BL-TDB-10", "quantity": 4}])
    before = row_counts()
    error_of(sp.client.post(f"{BASE}/{sp.a}/counts", json={"lines": [{"sku": "BL-BDX-1", "counted": -1}]},
                            headers=sp.op_a), 422, "validation.invalid")
    error_of(sp.client.post(f"{BASE}/{sp.a}/counts", json={"lines": [{"sku": "BL-BDX-1", "counted": 8}]},
                            headers=sp.op_a), 422, "sales_point.variance_reason_required")
    error_of(sp.client.post(f"{BASE}/{sp.a}/counts", json={"lines": [{"sku": "BL-BDX-1", "counted": 8,
                                                                      "reason": "vanished"}]}, headers=sp.op_a), 422)
    error_of(sp.client.post(f"{BASE}/{sp.a}/counts", json={"lines": [{"sku": "BL-BDX-1", "counted": 8,
                                                                      "reason": "damaged"}]}, headers=sp.op_b), 403)
    assert row_counts() == before
    r = sp.client.post(f"{BASE}/{sp.a}/counts", json={"note": "Kiểm kê cuối tháng", "lines": [
        {"sku": "BL-BDX-1", "counted": 8, "reason": "damaged", "note": "2 quả thối"},
        {"code": sp.variant("BL-TDB-10").gtin, "counted": 4}]}, headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    lines = r.get_json()["lines"]
    assert [(l["expected"], l["counted"], l["variance"], l["reason"]) for l in lines] == [
        (10, 8, -2, "damaged"), (4, 4, 0, None)]
    assert on_hand(sp, sp.a, "BL-BDX-1") == 8
    ledger_ok()
    assert sp.client.get(f"{BASE}/{sp.a}/counts", headers=sp.organiser).get_json()["total"] == 1


def test_return_to_producer(sp):
    receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(5))
    error_of(sp.client.post(f"{BASE}/{sp.a}/producer-returns", json={
        "producer_id": sp.producer_id("VQ-CAM-5KG"), "reason": "hết hợp đồng",
        "lines": [{"sku": "BL-BDX-1", "quantity": 2}]}, headers=sp.op_a), 422, "sales_point.wrong_producer")
    r = sp.client.post(f"{BASE}/{sp.a}/producer-returns", json={
        "producer_id": sp.producer_id("BL-BDX-1"), "reason": "hết hợp đồng",
        "lines": [{"sku": "BL-BDX-1", "quantity": 2}]}, headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["lines"][0]["lot_no"] == "L2611"
    assert on_hand(sp, sp.a, "BL-BDX-1") == 3
    ledger_ok()


def test_thresholds_and_daily_alerts(sp, app):
    receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(2, lot="SOON", bb="2026-12-01"))
    receive(sp, sp.a, sp.op_a, "BL-TDB-10", [{"sku": "BL-TDB-10", "quantity": 20}])
    r = sp.client.put(f"{BASE}/{sp.a}/thresholds", json={"thresholds": [{"sku": "BL-TDB-10", "min_quantity": 25}]},
                      headers=sp.op_a)
    assert r.status_code == 200 and r.get_json()["results"] == [
        {"variant_id": sp.variant("BL-TDB-10").id, "sku": "BL-TDB-10", "min_quantity": 25}]
    error_of(sp.client.put(f"{BASE}/{sp.a}/thresholds", json={"thresholds": [{"sku": "BL-TDB-10",
                                                                               "min_quantity": -1}]},
                           headers=sp.op_a), 422)
    error_of(sp.client.put(f"{BASE}/{sp.a}/thresholds", json={"thresholds": []}, headers=sp.op_b), 403)
    # the beat entry is registered and the task runs eagerly
    celery = app.extensions["celery"]
    assert celery.conf.beat_schedule["sales-points-stock-alerts-daily"]["task"] == "sales_points.stock_alerts"
    assert celery.tasks["sales_points.stock_alerts"].delay().get() == {"raised": 3, "resolved": 0}
    assert celery.tasks["sales_points.stock_alerts"].delay().get() == {"raised": 0, "resolved": 0}  # idempotent
    alerts = sp.client.get(f"{BASE}/{sp.a}/alerts", headers=sp.op_a).get_json()
    kinds = sorted((a["kind"], a["sku"]) for a in alerts["results"])
    # pomelo: 2 on hand ≤ default 3 and best-before within 30 days; oil: 20 ≤ 25
    assert kinds == [("low_stock", "BL-BDX-1"), ("low_stock", "BL-TDB-10"), ("near_expiry", "BL-BDX-1")]
    error_of(sp.client.get(f"{BASE}/{sp.a}/alerts", headers=sp.op_b), 403)
    first = alerts["results"][0]["id"]
    error_of(sp.client.post(f"{BASE}/alerts/{first}/acknowledge", headers=sp.op_b), 403)
    assert sp.client.post(f"{BASE}/alerts/{first}/acknowledge", headers=sp.op_a).status_code == 200
    assert sp.client.get(f"{BASE}/{sp.a}/alerts", headers=sp.op_a).get_json()["total"] == 2
    # restocking clears the oil alert at the next run
    receive(sp, sp.a, sp.op_a, "BL-TDB-10", [{"sku": "BL-TDB-10", "quantity": 10}])
    from plugins.sales_points.operations import run_alerts
    assert run_alerts() == {"raised": 0, "resolved": 1}


def test_stock_list_shows_the_points_channel_price_in_a_bounded_number_of_queries(sp):
    """The list's price is the price resolver's on the point's channel (a sales-point promotion shows), and a
    page costs the same statements whatever the number of rows (lots and prices read in one batch each)."""
    from sqlalchemy import event

    from core.db import db
    from support.pricing import make_promotion, variant
    make_promotion(kind="amount", value=5_000, channels=["sales_point"], scope={"variants": [variant("BL-BDX-1").id]})
    make_promotion(kind="amount", value=7_000, channels=["online_store"], scope={"variants": [variant("BL-TDB-10").id]})

    def statements_for_stock_page(**query):
        seen = []

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)
        sp.client.get(f"{BASE}/{sp.a}/stock", headers=sp.op_a, query_string=query)  # warm per-process caches
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            body = sp.client.get(f"{BASE}/{sp.a}/stock", headers=sp.op_a, query_string=query).get_json()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return body, len(seen)

    receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(10))
    one, few = statements_for_stock_page()
    assert [(r["sku"], r["price"]) for r in one["results"]] == [("BL-BDX-1", 60_000)]
    receive(sp, sp.a, sp.op_a, "BL-BDX-1", pomelo_lines(5, lot="L2612", bb="2027-02-01")
            + [{"sku": "BL-TDB-10", "quantity": 5, "unit_cost": 40000},
               {"sku": "BL-BDX-HOP2", "quantity": 3, "lot_no": "H1", "best_before": "2027-01-10", "unit_cost": 120000}])
    many, more = statements_for_stock_page()
    prices = {r["sku"]: r["price"] for r in many["results"]}
    assert prices == {"BL-BDX-1": 60_000, "BL-TDB-10": 55_000, "BL-BDX-HOP2": 150_000}  # no online-only discount
    assert more == few, (few, more)
    paged, _ = statements_for_stock_page(limit=1, page=2)
    assert len(paged["results"]) == 1 and paged["results"][0]["price"] == prices[paged["results"][0]["sku"]]
