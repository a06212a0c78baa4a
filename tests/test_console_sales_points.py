"""The sales points' console pages: receipts, transfers in, counts, alerts, settlement, sales and receipts to print.

Each page: the happy path, bad input (a 4xx form, nothing written), every other role refused, and the
plugin switched off (its pages and menu entries gone, the rest of the console working).
"""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from support.console import browser_log_in, console_login, post
from support.sales_points import BASE, PASSWORD as OP_PASSWORD, on_hand, receive, setup_points

OTHER_ROLES = {"producer": ("cs.htx-binh-loi", "ocop-demo-2026"), "organiser": ("sct.dongnai", "ocop-demo-2026"),
               "certifier": ("hoidong.dongnai", "ocop-demo-2026")}


@pytest.fixture
def sp(client, login, demo):
    """Two points (A with op.a, B with op.b); 5 pomelos (lot L1) and 4 bottles of oil received at A."""
    points = setup_points(client, login)
    r = receive(points, points.a, points.op_a, "BL-BDX-1", [
        {"sku": "BL-BDX-1", "quantity": 5, "lot_no": "L1", "best_before": "2027-03-01"},
        {"sku": "BL-TDB-10", "quantity": 4}])
    assert r.status_code == 201, r.get_json()
    return points


def console_as(app, username, password=OP_PASSWORD):
    client = app.test_client()
    assert console_login(client, username, password).status_code == 302
    return client


def text(response):
    return response.get_data(as_text=True)


def counts_of(*models):
    from core.db import db
    from core.inventory.models import StockMovement
    db.session.expire_all()
    return tuple(db.session.execute(select(func.count()).select_from(m)).scalar_one() for m in (StockMovement, *models))


def dispatch(sp, sku="BL-TDB-10", quantity=4):
    r = sp.client.post(f"{BASE}/{sp.a}/transfers", json={"to_sales_point_id": sp.b, "lines": [
        {"sku": sku, "quantity": quantity}]}, headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


# --- receipts ----------------------------------------------------------------------------------------
def test_receipt_posted_from_the_console_raises_the_stock(app, sp):
    op = console_as(app, "op.a")
    page = op.get(f"/console/sales-points/{sp.a}/receipts")
    assert page.status_code == 200 and "GRN-" in text(page)  # the fixture's receipt is listed
    r = post(op, f"/console/sales-points/{sp.a}/receipts", {
        "producer_id": str(sp.producer_id("BL-TDB-10")), "sku": ["BL-TDB-10", ""], "quantity": ["3", ""],
        "unit_cost": ["", ""], "lot_no": ["", ""], "best_before": ["", ""]})
    assert r.status_code == 302 and "posted=GRN-" in r.headers["Location"], text(r)[:2000]
    assert 'id="receipt-posted"' in text(op.get(r.headers["Location"]))
    assert on_hand(sp, sp.a, "BL-TDB-10") == 7


def test_a_bad_receipt_is_a_form_error_and_writes_nothing(app, sp):
    from plugins.sales_points.models import GoodsReceipt
    op = console_as(app, "op.a")
    before = counts_of(GoodsReceipt)
    producer = str(sp.producer_id("BL-BDX-1"))
    for lines, code in ((["abc"], None), (["1.5"], None), (["2"], "sales_point.lot_required")):
        r = post(op, f"/console/sales-points/{sp.a}/receipts", {
            "producer_id": producer, "sku": ["BL-TDB-10", "BL-BDX-1"], "quantity": ["1"] + lines,
            "unit_cost": ["", ""], "lot_no": ["", ""], "best_before": ["", ""]})
        assert r.status_code == 422 and 'id="form-error"' in text(r), text(r)[:1000]
    past = post(op, f"/console/sales-points/{sp.a}/receipts", {
        "producer_id": producer, "sku": ["BL-TDB-10", "BL-BDX-1"], "quantity": ["1", "1"], "unit_cost": ["", ""],
        "lot_no": ["", "X"], "best_before": ["", "2020-01-01"]})
    assert past.status_code == 422 and "Hạn sử dụng đã qua" in text(past)
    assert counts_of(GoodsReceipt) == before and on_hand(sp, sp.a, "BL-TDB-10") == 4


def test_receipts_refuse_another_points_operator_and_other_roles(app, sp):
    op_b = console_as(app, "op.b")
    assert op_b.get(f"/console/sales-points/{sp.a}/receipts").status_code == 403
    assert post(op_b, f"/console/sales-points/{sp.a}/receipts", {
        "producer_id": str(sp.producer_id("BL-TDB-10")), "sku": "BL-TDB-10", "quantity": "1"}).status_code == 403
    for role, (username, password) in OTHER_ROLES.items():
        other = console_as(app, username, password)
        for path in ("receipts", "transfers", "counts", "alerts", "sales"):
            assert other.get(f"/console/sales-points/{sp.a}/{path}").status_code == 403, (role, path)
    assert on_hand(sp, sp.a, "BL-TDB-10") == 4


# --- transfers in ------------------------------------------------------------------------------------
def test_operator_accepts_an_incoming_transfer(app, sp):
    transfer = dispatch(sp)
    op_b = console_as(app, "op.b")
    page = text(op_b.get(f"/console/sales-points/{sp.b}/transfers"))
    assert transfer["number"] in page and f'id="transfer-{transfer["id"]}"' in page
    line = transfer["lines"][0]["id"]
    r = post(op_b, f"/console/sales-points/transfers/{transfer['id']}/receive",
             {f"received_{line}": "3", f"reason_{line}": "vỡ một chai khi vận chuyển"})
    assert r.status_code == 302 and "received=" in r.headers["Location"]
    assert on_hand(sp, sp.b, "BL-TDB-10") == 3
    assert 'id="no-waiting"' in text(op_b.get(f"/console/sales-points/{sp.b}/transfers"))


def test_a_shortfall_without_reason_is_refused_and_nothing_moves(app, sp):
    from plugins.sales_points.models import Transfer
    transfer = dispatch(sp)
    op_b = console_as(app, "op.b")
    line = transfer["lines"][0]["id"]
    before = counts_of()
    for value in ("2", "9", "-1", "hai"):
        r = post(op_b, f"/console/sales-points/transfers/{transfer['id']}/receive", {f"received_{line}": value})
        assert r.status_code == 422 and 'id="form-error"' in text(r), (value, text(r)[:500])
    assert counts_of() == before and on_hand(sp, sp.b, "BL-TDB-10") == 0
    from core.db import db
    assert db.session.get(Transfer, transfer["id"]).status == "dispatched"
    # the sender's operator and other roles cannot receive it
    op_a = console_as(app, "op.a")
    assert post(op_a, f"/console/sales-points/transfers/{transfer['id']}/receive", {}).status_code == 403
    organiser = console_as(app, *OTHER_ROLES["organiser"])
    assert post(organiser, f"/console/sales-points/transfers/{transfer['id']}/receive", {}).status_code == 403
    assert counts_of() == before


# --- counts ------------------------------------------------------------------------------------------
def test_count_sheet_posts_the_differences(app, sp):
    op = console_as(app, "op.a")
    sheet = text(op.get(f"/console/sales-points/{sp.a}/counts"))
    assert 'data-sku="BL-BDX-1" data-lot="L1"' in sheet and 'data-sku="BL-TDB-10" data-lot=""' in sheet
    r = post(op, f"/console/sales-points/{sp.a}/counts", {
        "sku": ["BL-BDX-1", "BL-TDB-10"], "lot_no": ["L1", ""], "counted": ["4", ""],
        "reason": ["damaged", ""], "line_note": ["dập một quả", ""]})
    assert r.status_code == 302 and "posted=CNT-" in r.headers["Location"], text(r)[:1500]
    posted = text(op.get(r.headers["Location"]))
    assert 'id="count-posted"' in posted and "-1" in posted.split('id="count-differences"', 1)[1]
    assert on_hand(sp, sp.a, "BL-BDX-1") == 4 and on_hand(sp, sp.a, "BL-TDB-10") == 4


def test_a_count_difference_needs_a_reason_and_bad_counts_write_nothing(app, sp):
    from plugins.sales_points.models import StockCount
    op = console_as(app, "op.a")
    before = counts_of(StockCount)
    for counted, reason in (("3", ""), ("-2", "lost"), ("ba", "lost")):
        r = post(op, f"/console/sales-points/{sp.a}/counts", {
            "sku": ["BL-BDX-1", "BL-TDB-10"], "lot_no": ["L1", ""], "counted": ["5", counted],
            "reason": ["", reason], "line_note": ["", ""]})
        assert r.status_code == 422 and 'id="form-error"' in text(r), (counted, text(r)[:800])
    assert counts_of(StockCount) == before and on_hand(sp, sp.a, "BL-TDB-10") == 4
    assert post(console_as(app, "op.b"), f"/console/sales-points/{sp.a}/counts", {
        "sku": "BL-TDB-10", "lot_no": "", "counted": "0", "reason": "lost"}).status_code == 403
    assert counts_of(StockCount) == before


# --- alerts ------------------------------------------------------------------------------------------
def low_oil(sp):
    """The oil's threshold at A is 5: its 4 bottles raise a low-stock alert at the daily run."""
    from core.db import commit
    from plugins.sales_points.operations import run_alerts
    r = sp.client.put(f"{BASE}/{sp.a}/thresholds", json={"thresholds": [{"sku": "BL-TDB-10", "min_quantity": 5}]},
                      headers=sp.op_a)
    assert r.status_code == 200, r.get_json()
    assert run_alerts()["raised"] == 1
    commit()


def test_alerts_listed_acknowledged_and_cleared_by_a_check(app, sp):
    low_oil(sp)
    op = console_as(app, "op.a")
    page = text(op.get(f"/console/sales-points/{sp.a}/alerts"))
    assert 'class="alert-low_stock" data-sku="BL-TDB-10"' in page and "BL-BDX-1" not in page
    assert 'id="open-alerts"' in text(op.get(f"/console/sales-points/{sp.a}"))
    assert receive(sp, sp.a, sp.op_a, "BL-TDB-10", [{"sku": "BL-TDB-10", "quantity": 10}]).status_code == 201
    r = post(op, f"/console/sales-points/{sp.a}/alerts/check")
    assert r.status_code == 302 and "checked=0/1" in r.headers["Location"]
    assert 'id="no-alerts"' in text(op.get(r.headers["Location"]))


def test_an_alert_is_acknowledged_only_by_the_points_operator(app, sp):
    from core.db import db
    from plugins.sales_points.models import StockAlert
    low_oil(sp)
    alert = db.session.execute(select(StockAlert)).scalar_one()
    assert post(console_as(app, "op.b"), f"/console/sales-points/alerts/{alert.id}/acknowledge").status_code == 403
    assert post(console_as(app, "op.b"), f"/console/sales-points/{sp.a}/alerts/check").status_code == 403
    assert post(console_as(app, "op.a"), "/console/sales-points/alerts/999999/acknowledge").status_code == 404
    db.session.expire_all()
    assert db.session.get(StockAlert, alert.id).acknowledged_at is None
    op = console_as(app, "op.a")
    assert post(op, f"/console/sales-points/alerts/{alert.id}/acknowledge").status_code == 302
    assert 'id="no-alerts"' in text(op.get(f"/console/sales-points/{sp.a}/alerts"))
    assert "BL-TDB-10" in text(op.get(f"/console/sales-points/{sp.a}/alerts?acknowledged=1"))


# --- sales and receipts to print ------------------------------------------------------------------------
def sell_at_till(op, sp, sku="BL-TDB-10", quantity="1"):
    r = post(op, f"/console/till/{sp.a}/sale", {"line_sku": sku, "line_quantity": quantity, "payment_method": "cash",
                                                "amount_tendered": "500.000"})
    assert r.status_code == 302, text(r)[:500]
    return int(r.headers["Location"].rstrip("/").split("/")[-1])


def test_recent_sales_and_a_printable_receipt_without_script(app, sp):
    op = console_as(app, "op.a")
    sale_id = sell_at_till(op, sp)
    page = text(op.get(f"/console/sales-points/{sp.a}/sales"))
    assert "POS-" in page and f"/console/sales-points/sales/{sale_id}/print" in page
    printable = op.get(f"/console/sales-points/sales/{sale_id}/print")
    body = text(printable)
    assert printable.status_code == 200 and "<script" not in body and "@media print" in body
    assert 'id="receipt-number">POS-' in body and "HOÁ ĐƠN BÁN LẺ" in body
    assert op.get(f"/console/sales-points/{sp.a}/sales?day=không-phải-ngày").status_code == 200  # ignored
    assert op.get(f"/console/sales-points/sales/999999/print").status_code == 404
    assert console_as(app, "op.b").get(f"/console/sales-points/sales/{sale_id}/print").status_code == 403
    for role, (username, password) in OTHER_ROLES.items():
        assert console_as(app, username, password).get(
            f"/console/sales-points/sales/{sale_id}/print").status_code == 403, role


# --- consignment settlement --------------------------------------------------------------------------
def consigned(sp):
    producer = sp.producer_id("BL-TDB-10")
    r = sp.client.post(f"{BASE}/{sp.a}/consignments", json={"producer_id": producer, "valid_from": "2026-01-01"},
                       headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    return producer


def test_settlement_per_producer_with_csv_and_xlsx(app, sp):
    producer = consigned(sp)
    op = console_as(app, "op.a")
    sell_at_till(op, sp, quantity="2")
    form = op.get(f"/console/sales-points/{sp.a}/settlement")
    assert form.status_code == 200 and f'value="{producer}"' in text(form)
    query = f"producer_id={producer}&from=2026-01-01&to=2026-12-31"
    page = op.get(f"/console/sales-points/{sp.a}/settlement?{query}")
    assert page.status_code == 200 and 'id="settlement"' in text(page)
    api = sp.client.get(f"{BASE}/{sp.a}/settlement?{query}", headers=sp.op_a).get_json()
    assert api["amount_owed"] > 0 and f'{api["amount_owed"]:,}'.replace(",", ".") in text(page).split('id="amount-owed"')[1][:40]
    csv = op.get(f"/console/sales-points/{sp.a}/settlement?{query}&format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv" and "Quyết toán" in csv.get_data().decode("utf-8-sig")
    xlsx = op.get(f"/console/sales-points/{sp.a}/settlement?{query}&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    assert [row[0] for row in sheet.iter_rows(values_only=True)][-1].startswith("Phải trả")
    organiser = console_as(app, *OTHER_ROLES["organiser"])
    assert organiser.get(f"/console/sales-points/{sp.a}/settlement?{query}").status_code == 200


def test_settlement_bad_input_and_refused_callers(app, sp):
    producer = consigned(sp)
    op = console_as(app, "op.a")
    for query in (f"producer_id={producer}&from=2026-12-31&to=2026-01-01", f"producer_id={producer}&from=hôm-qua&to=2026-01-01",
                  "producer_id=abc&from=2026-01-01&to=2026-12-31",
                  f"producer_id={sp.producer_id('SAHS-RNH-500')}&from=2026-01-01&to=2026-12-31",
                  f"producer_id={producer}&from=2026-01-01&to=2026-12-31&format=pdf"):
        r = op.get(f"/console/sales-points/{sp.a}/settlement?{query}")
        assert r.status_code == 422 and 'id="form-error"' in text(r), (query, r.status_code)
    query = f"producer_id={producer}&from=2026-01-01&to=2026-12-31"
    assert console_as(app, "op.b").get(f"/console/sales-points/{sp.a}/settlement?{query}").status_code == 403
    assert console_as(app, "op.b").get(f"/console/sales-points/{sp.a}/settlement").status_code == 403
    for role in ("producer", "certifier"):
        assert console_as(app, *OTHER_ROLES[role]).get(
            f"/console/sales-points/{sp.a}/settlement?{query}").status_code == 403, role


# --- the plugin switched off -------------------------------------------------------------------------
def test_plugin_disabled_removes_its_pages_and_menu(instance_path, database_url, app, sp):
    from conftest import make_settings
    from core.app import create_app
    other = create_app(make_settings(instance_path, database_url, plugins_disabled=["sales_points"]))
    rules = {r.rule for r in other.url_map.iter_rules()}
    assert not any(r.startswith(("/console/sales-points", "/console/till")) for r in rules)
    admin = other.test_client()
    assert console_login(admin, "admin").status_code == 302
    home = text(admin.get("/console/", follow_redirects=True))
    assert "Kho điểm bán" not in home and "Bán hàng tại quầy" not in home and "Sản phẩm" in home
    assert admin.get(f"/console/sales-points/{sp.a}/receipts").status_code == 404
    assert admin.get("/console/products").status_code == 200
    producer = other.test_client()
    assert console_login(producer, "cs.htx-binh-loi").status_code == 302
    assert producer.get("/console/stock").status_code == 200


# --- in a real browser -------------------------------------------------------------------------------


def test_browser_operator_receives_a_transfer_counts_and_sees_the_alert_clear(live_server, page, sp):
    from core.db import commit
    from plugins.sales_points.operations import run_alerts
    from support.browser import screenshot
    assert receive(sp, sp.b, sp.op_b, "BL-TDB-10", [{"sku": "BL-TDB-10", "quantity": 2}]).status_code == 201
    assert run_alerts()["raised"] == 1  # B: 2 bottles ≤ the default threshold 3
    commit()
    transfer = dispatch(sp)  # 4 bottles from A, in transit to B
    browser_log_in(page, live_server, "op.b", OP_PASSWORD)
    page.click("text=Kho điểm bán")
    page.wait_for_url(f"**/console/sales-points/{sp.b}")
    assert page.locator("#open-alerts").count() == 1
    page.click("nav.tabs >> text=Cảnh báo")
    assert page.locator('#alerts tr.alert-low_stock[data-sku="BL-TDB-10"]').count() == 1
    screenshot(page, "console-sales-point-alerts")
    page.click("nav.tabs >> text=Chuyển đến")
    assert page.locator(f"#transfer-{transfer['id']}").count() == 1
    screenshot(page, "console-sales-point-transfer-in")
    page.click(f"#transfer-{transfer['id']} button.receive-transfer")
    page.wait_for_selector("#transfer-received")
    assert page.locator("#no-waiting").count() == 1
    page.click("nav.tabs >> text=Kiểm kê")
    row = page.locator('#count-sheet tr[data-sku="BL-TDB-10"]')
    assert row.locator("td").nth(3).inner_text() == "6"
    row.locator("input[name=counted]").fill("5")
    row.locator("select[name=reason]").select_option("damaged")
    screenshot(page, "console-sales-point-count-sheet")
    page.click("#post-count")
    page.wait_for_selector("#count-posted")
    assert "-1" in page.locator("#count-differences").inner_text()
    screenshot(page, "console-sales-point-count-posted")
    assert on_hand(sp, sp.b, "BL-TDB-10") == 5
    page.click("nav.tabs >> text=Cảnh báo")
    page.click("#check-alerts")
    page.wait_for_selector("#alerts-checked")
    assert page.locator("#no-alerts").count() == 1
    screenshot(page, "console-sales-point-alerts-cleared")


def test_browser_prints_a_receipt_from_the_sales_list(live_server, page, sp):
    from support.browser import screenshot
    r = sp.client.post(f"{BASE}/{sp.a}/sales", json={"payment_method": "cash", "amount_tendered": 200000,
                                                     "lines": [{"sku": "BL-TDB-10", "quantity": 1}]}, headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    browser_log_in(page, live_server, "op.a", OP_PASSWORD)
    page.goto(f"{live_server}/console/sales-points/{sp.a}/sales")
    screenshot(page, "console-sales-point-sales")
    page.click("#sales a.print-link")
    page.wait_for_selector("#receipt-number")
    assert page.locator("#receipt-number").inner_text() == r.get_json()["number"]
    page.emulate_media(media="print")
    assert not page.locator(".actions").is_visible()
    screenshot(page, "console-sales-point-receipt-print")
