"""Sales points plugin: consignment settlement with real figures, CSV/XLSX exports, reports."""
from __future__ import annotations

import csv
import io

import pytest

from support.checks import error_of
from support.sales_points import BASE, ledger_ok, on_hand, receive, sell, setup_points


@pytest.fixture
def period(client, login, demo):
    """Bình Lợi consigns pomelos, gift boxes and essential oil to point A (20 % commission) and some sell."""
    sp = setup_points(client, login)
    producer = sp.producer_id("BL-BDX-1")
    r = client.post(f"{BASE}/{sp.a}/consignments", json={"producer_id": producer, "commission_rate_bp": 2000,
                                                        "valid_from": "2026-11-01"}, headers=sp.op_a)
    assert r.status_code == 201
    r = receive(sp, sp.a, sp.op_a, "BL-BDX-1", [
        {"sku": "BL-BDX-1", "quantity": 30, "lot_no": "BL-2611", "best_before": "2027-01-15", "unit_cost": 50000},
        {"sku": "BL-BDX-HOP2", "quantity": 10, "lot_no": "HOP-2611", "best_before": "2027-01-10",
         "unit_cost": 120000},
        {"sku": "BL-TDB-10", "quantity": 20, "unit_cost": 40000}])
    assert r.status_code == 201 and r.get_json()["mode"] == "consignment"
    # another producer's purchased wine sells at the same point: not part of Bình Lợi's settlement
    receive(sp, sp.a, sp.op_a, "SAHS-RNH-500", [{"sku": "SAHS-RNH-500", "quantity": 5, "lot_no": "W1",
                                                 "best_before": "2030-01-01", "unit_cost": 380000}])
    s1 = sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 12}, {"sku": "BL-TDB-10", "quantity": 5},
                                  {"sku": "SAHS-RNH-500", "quantity": 1}], amount_tendered=2_000_000).get_json()
    sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-HOP2", "quantity": 3}], method="bank_transfer_qr")
    voided = sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-HOP2", "quantity": 2}]).get_json()
    client.post(f"{BASE}/sales/{voided['id']}/void", json={"reason": "bấm nhầm"}, headers=sp.op_a)
    pomelo_line = next(l for l in s1["lines"] if l["sku"] == "BL-BDX-1")
    r = client.post(f"{BASE}/sales/{s1['id']}/returns", json={"reason": "quả không đạt", "lines": [
        {"sale_line_id": pomelo_line["id"], "quantity": 2}]}, headers=sp.op_a)
    assert r.status_code == 201
    r = client.post(f"{BASE}/{sp.a}/producer-returns", json={"producer_id": producer, "reason": "chai sắp hết hạn",
                                                           "lines": [{"sku": "BL-TDB-10", "quantity": 4}]},
                    headers=sp.op_a)
    assert r.status_code == 201
    sp.producer = producer
    return sp


def settle(sp, headers, **params):
    query = {"producer_id": sp.producer, "from": "2026-11-01", "to": "2026-11-30", **params}
    return sp.client.get(f"{BASE}/{sp.a}/settlement", query_string=query, headers=headers)


def test_settlement_adds_up(period):
    sp = period
    r = settle(sp, sp.op_a)
    assert r.status_code == 200, r.get_json()
    s = r.get_json()
    lines = {l["sku"]: l for l in s["lines"]}
    assert set(lines) == {"BL-BDX-1", "BL-BDX-HOP2", "BL-TDB-10"}
    pomelo, box, oil = lines["BL-BDX-1"], lines["BL-BDX-HOP2"], lines["BL-TDB-10"]
    # received − sold − returned = on hand, line by line, and equal to the core's stock
    assert (pomelo["received"], pomelo["sold"], pomelo["customer_returns"], pomelo["closing"]) == (30, 10, 2, 20)
    assert (box["received"], box["sold"], box["closing"]) == (10, 3, 7)  # the voided sale counts for nothing
    assert (oil["received"], oil["sold"], oil["returned_to_producer"], oil["closing"]) == (20, 5, 4, 11)
    for line in s["lines"]:
        assert line["opening"] == 0 and line["other"] == 0
        assert line["received"] - line["sold"] - line["returned_to_producer"] == line["closing"] \
            == on_hand(sp, sp.a, line["sku"])
    # sales value: 10 × 65 000 + 3 × 150 000 + 5 × 55 000 (12 pomelos sold, 2 returned)
    assert pomelo["sales_value"] == 650_000 and box["sales_value"] == 450_000 and oil["sales_value"] == 275_000
    assert s["totals"]["sales_value"] == 1_375_000
    assert s["commission_rate_bp"] == 2000 and s["commission"] == 275_000
    assert s["amount_owed"] == 1_100_000 == s["totals"]["sales_value"] - s["commission"]
    assert s["balanced"] is True and s["from"] == "2026-11-01"
    ledger_ok()


def test_settlement_periods_roll_forward(period, monkeypatch):
    sp = period
    monkeypatch.setenv("OCOP_TODAY", "2026-12-02")
    sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 1}])
    nov = settle(sp, sp.op_a).get_json()
    dec = settle(sp, sp.op_a, **{"from": "2026-12-01", "to": "2026-12-31"}).get_json()
    n = {l["sku"]: l for l in nov["lines"]}["BL-BDX-1"]
    d = {l["sku"]: l for l in dec["lines"]}["BL-BDX-1"]
    assert (n["closing"], d["opening"], d["sold"], d["closing"]) == (20, 20, 1, 19)
    assert dec["totals"]["sales_value"] == 65_000 and dec["commission"] == 13_000 and dec["amount_owed"] == 52_000
    earlier = settle(sp, sp.op_a, **{"from": "2026-11-01", "to": "2026-11-22"}).get_json()
    assert earlier["totals"]["closing"] == 0 and earlier["amount_owed"] == 0


def test_settlement_exports(period):
    sp = period
    r = settle(sp, sp.op_a, format="csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][1].startswith("SP-75-001")
    assert ["Phải trả chủ thể / Amount owed to producer (VND)", "1100000"] in rows
    header = next(row for row in rows if row and row[0] == "Mã SKU / SKU")
    pomelo = next(row for row in rows if row and row[0] == "BL-BDX-1")
    assert pomelo[header.index("Tồn cuối kỳ / Closing")] == "20"
    x = settle(sp, sp.op_a, format="xlsx")
    assert x.status_code == 200 and x.mimetype.endswith("spreadsheetml.sheet")
    from openpyxl import load_workbook
    ws = load_workbook(io.BytesIO(x.data)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert ["Phải trả chủ thể / Amount owed to producer (VND)", 1100000] in [v[:2] for v in values]
    assert ["Hoa hồng / Commission (VND)", 275000] in [v[:2] for v in values]


def test_settlement_permissions_and_errors(period, login):
    sp = period
    assert settle(sp, login("cs.htx-binh-loi")).status_code == 200  # the producer itself
    assert settle(sp, sp.organiser).status_code == 200
    error_of(settle(sp, login("cs.son-an")), 403)  # another producer asking for Bình Lợi's figures
    error_of(settle(sp, sp.op_b), 403)
    error_of(settle(sp, {}), 401)
    error_of(settle(sp, sp.op_a, producer_id=sp.producer_id("SAHS-RNH-500")), 422,
             "sales_point.no_consignment_agreement")
    error_of(sp.client.get(f"{BASE}/{sp.a}/settlement?from=2026-11-01&to=2026-11-30", headers=sp.op_a), 422)
    error_of(settle(sp, sp.op_a, **{"from": "2026-12-01", "to": "2026-11-01"}), 422)
    error_of(settle(sp, sp.op_a, format="pdf"), 422)


def test_point_reports(period, login):
    sp = period
    q = {"from": "2026-11-01", "to": "2026-11-30"}
    by_product = sp.client.get(f"{BASE}/{sp.a}/reports/sales", query_string=q, headers=sp.op_a).get_json()
    assert by_product["totals"] == {"quantity": 10 + 3 + 5 + 1, "value": 1_375_000 + 450_000}
    by_group = sp.client.get(f"{BASE}/{sp.a}/reports/sales", query_string={**q, "by": "group"},
                             headers=sp.op_a).get_json()
    assert {r["key"]: r["value"] for r in by_group["results"]} == {"food": 1_100_000, "medicinal_herbs": 275_000,
                                                                   "beverages": 450_000}
    by_producer = sp.client.get(f"{BASE}/{sp.a}/reports/sales", query_string={**q, "by": "producer"},
                                headers=sp.organiser).get_json()
    assert sorted(r["value"] for r in by_producer["results"]) == [450_000, 1_375_000]
    # a producer sees only its own products
    own = sp.client.get(f"{BASE}/{sp.a}/reports/sales", query_string=q, headers=login("cs.son-an")).get_json()
    assert own["totals"] == {"quantity": 1, "value": 450_000}
    error_of(sp.client.get(f"{BASE}/{sp.a}/reports/sales", query_string=q, headers=sp.op_b), 403)
    error_of(sp.client.get(f"{BASE}/{sp.a}/reports/sales", query_string={**q, "by": "colour"}, headers=sp.op_a), 422)

    stock = sp.client.get(f"{BASE}/{sp.a}/reports/stock", headers=sp.op_a).get_json()
    rows = {r["sku"]: r for r in stock["results"]}
    assert rows["BL-BDX-1"]["retail_value"] == 20 * 65000 and rows["BL-BDX-1"]["cost_value"] == 20 * 50000
    assert stock["totals"]["on_hand"] == 20 + 7 + 11 + 4

    slow = sp.client.get(f"{BASE}/{sp.a}/reports/slow-movers?days=30&max_sold=3", headers=sp.op_a).get_json()
    assert {r["sku"] for r in slow["results"]} == {"BL-BDX-HOP2", "SAHS-RNH-500"}

    near = sp.client.get(f"{BASE}/{sp.a}/reports/near-expiry?days=60", headers=sp.op_a).get_json()
    assert [(r["sku"], r["lot_no"], r["days_left"]) for r in near["results"]] == [
        ("BL-BDX-HOP2", "HOP-2611", 48), ("BL-BDX-1", "BL-2611", 53)]
    assert sp.client.get(f"{BASE}/{sp.a}/reports/near-expiry", headers=sp.op_a).get_json()["total"] == 0


def test_province_and_producer_reports(period, login):
    sp = period
    q = {"from": "2026-11-01", "to": "2026-11-30"}
    prov = sp.client.get(f"{BASE}/reports/province", query_string=q, headers=sp.organiser).get_json()
    assert prov["province"] == "75" and prov["points"] == 2 and prov["active_points"] == 2
    assert prov["turnover"] == 1_825_000
    assert prov["by_kind"] == {"highway_stop": 1, "tourist_site_hotel_restaurant": 1}
    assert {r["code"]: r["turnover"] for r in prov["results"]} == {"SP-75-001": 1_825_000, "SP-75-002": 0}
    error_of(sp.client.get(f"{BASE}/reports/province", query_string={**q, "province": "42"},
                           headers=sp.organiser), 403)
    error_of(sp.client.get(f"{BASE}/reports/province", query_string=q, headers=sp.op_a), 403)
    error_of(sp.client.get(f"{BASE}/reports/province", query_string=q, headers=sp.admin), 422)
    assert sp.client.get(f"{BASE}/reports/province", query_string={**q, "province": "75"},
                         headers=sp.admin).get_json()["points"] == 2

    producer = login("cs.htx-binh-loi")
    stock = sp.client.get(f"{BASE}/producer/stock", headers=producer).get_json()
    assert {r["sku"]: r["on_hand"] for r in stock["results"]} == {"BL-BDX-1": 20, "BL-BDX-HOP2": 7, "BL-TDB-10": 11}
    error_of(sp.client.get(f"{BASE}/producer/stock?producer_id={sp.producer_id('SAHS-RNH-500')}",
                           headers=producer), 403)
    error_of(sp.client.get(f"{BASE}/producer/stock", headers=sp.organiser), 422)
    error_of(sp.client.get(f"{BASE}/producer/stock", headers=sp.op_a), 403)
    sales = sp.client.get(f"{BASE}/producer/sales", query_string=q, headers=producer).get_json()
    assert sales["totals"] == {"quantity": 18, "value": 1_375_000}
    # the producer's view of a point's stock holds only its products
    point_stock = sp.client.get(f"{BASE}/{sp.a}/stock", headers=login("cs.son-an")).get_json()
    assert [r["sku"] for r in point_stock["results"]] == ["SAHS-RNH-500"]
    # ...and nothing of the point's operations
    error_of(sp.client.get(f"{BASE}/{sp.a}/sales", headers=login("cs.son-an")), 403)
    error_of(sp.client.get(f"{BASE}/{sp.a}/counts", headers=login("cs.son-an")), 403)


def test_reports_hook_lists_plugin_reports(period, login):
    sp = period
    codes = {r["code"] for r in sp.client.get("/admin/v1/reports", headers=sp.organiser).get_json()["results"]}
    assert {"sales_points.province", "sales_points.sales", "sales_points.stock"} <= codes
    codes = {r["code"] for r in sp.client.get("/admin/v1/reports", headers=login("cs.son-an")).get_json()["results"]}
    assert {"sales_points.producer_stock", "sales_points.producer_sales"} <= codes
    assert "sales_points.province" not in codes


def test_settlement_unit_price_is_what_the_sales_were_charged(period):
    """A promotion on sales-point channels: the settlement's unit price and sales value are the charged
    (discounted) price of the order lines, never the variant's list price."""
    from support.pricing import make_promotion, variant
    sp = period
    make_promotion(kind="percentage", value=20, channels=["sales_point"], scope={"variants": [variant("BL-BDX-1").id]})
    sale = sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 2}]).get_json()
    assert sale["total"] == 2 * 52_000
    s = settle(sp, sp.op_a).get_json()
    lines = {l["sku"]: l for l in s["lines"]}
    pomelo, box = lines["BL-BDX-1"], lines["BL-BDX-HOP2"]
    assert pomelo["sales_value"] == 650_000 + 104_000
    # 12 sold at 65,000 before the promotion, 2 at 52,000 during it: what one unit was charged on average
    assert pomelo["unit_price"] == (12 * 65_000 + 2 * 52_000) // 14 == 63_142
    assert box["unit_price"] == 150_000 and lines["BL-TDB-10"]["unit_price"] == 55_000
