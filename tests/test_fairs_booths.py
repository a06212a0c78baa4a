"""Fairs plugin: goods to and from a booth (two-step transfers), booth sales as core counter-sale orders, customer
returns, and the end-of-fair settlement that balances with the core ledger (CSV/XLSX, formula-safe)."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from core.catalogue.models import Producer
from core.db import db
from core.inventory import ledger
from core.pricing import resolver
from core.sales.models import Order, SalesChannel
from plugins.fairs.booth_stock import safe_cell
from plugins.fairs.models import FairAssignment
from plugins.fairs.tests.fixtures import BASE, build, counts, error, user, variant_id

BDX = "BL-BDX-1"


def _sell(client, headers, assignment_id, sku=BDX, quantity=1, **extra):
    body = {"lines": [{"variant_id": variant_id(sku), "quantity": quantity}], "payment_method": "cash", **extra}
    return client.post(f"{BASE}/assignments/{assignment_id}/sales", json=body, headers=headers)


def _booth_location(assignment_id: int) -> int:
    return db.session.get(FairAssignment, assignment_id).stock_location_id


def test_goods_reach_the_booth_in_two_steps_and_shortages_are_written_off(client, login, demo):
    fair = build("published")
    loi = login("cs.htx-binh-loi")
    assignment = fair.assignments["cs.htx-binh-loi"]
    booth = _booth_location(assignment)
    response = client.post(f"{BASE}/assignments/{assignment}/moves", json={
        "direction": "in", "lines": [{"variant_id": variant_id(BDX), "quantity": 12}]}, headers=loi)
    assert response.status_code == 201, response.get_json()
    move = response.get_json()
    assert move["status"] == "dispatched" and move["reference"].startswith("FAIR-MV-")
    assert ledger.stock_level(variant_id(BDX), booth)["on_hand"] == 0  # still in transit
    received = client.post(f"{BASE}/moves/{move['id']}/receive",
                           json={"lines": [{"variant_id": variant_id(BDX), "received": 11}]}, headers=loi)
    assert received.status_code == 200 and received.get_json()["lines"][0]["received"] == 11
    assert ledger.stock_level(variant_id(BDX), booth)["on_hand"] == 11
    assert ledger.verify_ledger() == []
    error(client.post(f"{BASE}/moves/{move['id']}/receive", json={}, headers=loi), 409, "fair.move_received")
    moves = client.get(f"{BASE}/assignments/{assignment}/moves", headers=loi).get_json()["results"]
    assert [m["id"] for m in moves] == [move["id"]]


def test_bad_moves_are_refused_and_write_nothing(client, login, demo):
    fair = build("published")
    loi, minh = login("cs.htx-binh-loi"), login("cs.htx-binh-minh")
    assignment = fair.assignments["cs.htx-binh-loi"]
    url = f"{BASE}/assignments/{assignment}/moves"
    before = counts()
    error(client.post(url, json={"direction": "in", "lines": [{"variant_id": variant_id("BM-QHC-1KG"), "quantity": 1}]},
                      headers=loi), 422, "fair.product_not_exhibited")
    error(client.post(url, json={"direction": "in", "lines": [{"variant_id": variant_id(BDX), "quantity": 100000}]},
                      headers=loi), 409, "stock.insufficient")
    error(client.post(url, json={"direction": "out", "lines": [{"variant_id": variant_id(BDX), "quantity": 1}]},
                      headers=loi), 409, "fair.wrong_status")
    error(client.post(url, json={"direction": "sideways", "lines": []}, headers=loi), 422)
    error(client.post(url, json={"direction": "in", "lines": [{"variant_id": variant_id(BDX), "quantity": 1}] * 2},
                      headers=loi), 422)
    error(client.post(url, json={"direction": "in", "lines": [{"variant_id": variant_id(BDX), "quantity": 1}]},
                      headers=minh), 403, "fair.out_of_scope")
    error(client.post(url, json={"direction": "in", "warehouse_id": 999999,
                                 "lines": [{"variant_id": variant_id(BDX), "quantity": 1}]}, headers=loi), 422,
          "fair.unknown_warehouse")
    error(client.post(f"{BASE}/assignments/999999/moves", json={"direction": "in", "lines": [
        {"variant_id": variant_id(BDX), "quantity": 1}]}, headers=loi), 404)
    assert counts() == before
    move = client.post(url, json={"direction": "in", "lines": [{"variant_id": variant_id(BDX), "quantity": 2}]},
                       headers=loi).get_json()
    before = counts()
    error(client.post(f"{BASE}/moves/{move['id']}/receive", json={"lines": [
        {"variant_id": variant_id(BDX), "received": 3}]}, headers=loi), 422, "fair.over_received")
    error(client.post(f"{BASE}/moves/{move['id']}/receive", json={"lines": [
        {"variant_id": variant_id("BM-QHC-1KG"), "received": 1}]}, headers=loi), 422, "fair.unknown_line")
    error(client.post(f"{BASE}/moves/{move['id']}/receive", json={}, headers=minh), 403)
    assert counts() == before


def test_a_booth_sale_is_a_core_counter_sale_on_the_fair_channel(client, login, demo):
    fair = build("running")
    loi = login("cs.htx-binh-loi")
    assignment = fair.assignments["cs.htx-binh-loi"]
    response = _sell(client, loi, assignment, quantity=3, amount_tendered=500_000, client_ref="till-1")
    assert response.status_code == 201, response.get_json()
    sale = response.get_json()
    order = db.session.get(Order, sale["order_id"])
    channel = db.session.get(SalesChannel, order.channel_id)
    assert channel.code == f"fair_booth:{fair.slug}" and channel.kind == "fair_booth"
    assert order.status == "completed" and order.delivery_method == "counter"
    assert order.lines[0].location_id == _booth_location(assignment)
    expected = resolver.price_lines([(variant_id(BDX), 3)], channel).subtotal  # the core's price on the channel
    assert sale["total"] == order.total == expected
    assert ledger.stock_level(variant_id(BDX), _booth_location(assignment))["on_hand"] == 17
    again = _sell(client, loi, assignment, quantity=3, amount_tendered=500_000, client_ref="till-1")
    assert again.get_json()["id"] == sale["id"]  # a retry records nothing new
    assert ledger.stock_level(variant_id(BDX), _booth_location(assignment))["on_hand"] == 17
    listed = client.get(f"{BASE}/assignments/{assignment}/sales", headers=loi).get_json()["results"]
    assert [s["order_number"] for s in listed] == [order.number]
    error(client.get(f"{BASE}/assignments/{assignment}/sales", headers=login("cs.htx-binh-minh")), 403)
    assert ledger.verify_ledger() == []


def test_bad_sales_are_refused_and_write_nothing(client, login, demo):
    published = build("stocked")
    loi = login("cs.htx-binh-loi")
    error(_sell(client, loi, published.assignments["cs.htx-binh-loi"]), 409, "fair.wrong_status")
    fair = build("running", name="Phiên chợ OCOP")
    assignment = fair.assignments["cs.htx-binh-loi"]
    before = counts()
    error(_sell(client, loi, assignment, quantity=21), 409, "stock.insufficient")
    error(_sell(client, loi, assignment, sku="BM-QHC-1KG"), 422, "fair.product_not_exhibited")
    error(_sell(client, loi, assignment, amount_tendered=10), 422, "counter_sale.insufficient_payment")
    error(_sell(client, loi, assignment, payment_method="iou"), 422)
    error(_sell(client, loi, assignment, quantity=0), 422)
    error(_sell(client, login("cs.htx-binh-minh"), assignment), 403, "fair.out_of_scope")
    error(_sell(client, None, assignment), 401)
    assert counts() == before


def test_settlement_balances_with_the_ledger_after_sales_returns_and_a_discrepancy(client, login, demo):
    fair = build("running")
    loi, organiser = login("cs.htx-binh-loi"), login("sct.dongnai")
    assignment = fair.assignments["cs.htx-binh-loi"]
    sale = _sell(client, loi, assignment, quantity=3).get_json()
    line_id = sale["lines"][0]["id"]
    unit = sale["lines"][0]["unit_price"]
    returned = client.post(f"{BASE}/sales/{sale['id']}/return", json={
        "lines": [{"order_line_id": line_id, "quantity": 1}], "reason": "Khách đổi ý", "refund_method": "cash"},
        headers=loi)
    assert returned.status_code == 200, returned.get_json()
    assert returned.get_json()["refunded_amount"] == unit
    error(client.post(f"{BASE}/sales/{sale['id']}/return", json={"lines": [{"order_line_id": line_id, "quantity": 5}],
                                                                "reason": "x"}, headers=loi), 422,
          "counter_sale.return_exceeds_sale")
    error(client.post(f"{BASE}/sales/{sale['id']}/return", json={"lines": [{"order_line_id": line_id, "quantity": 1}],
                                                                "reason": "x"}, headers=login("cs.htx-binh-minh")), 403)
    # settling is for the organiser, once the event is closed
    error(client.post(f"{BASE}/assignments/{assignment}/settlement", json={}, headers=organiser), 409,
          "fair.wrong_status")
    client.post(f"{fair.url}/transition", json={"to": "closed"}, headers=organiser)
    move = client.post(f"{BASE}/assignments/{assignment}/moves", json={
        "direction": "out", "lines": [{"variant_id": variant_id(BDX), "quantity": 15}]}, headers=loi).get_json()
    assert client.post(f"{BASE}/moves/{move['id']}/receive", json={}, headers=loi).status_code == 200
    preview = client.get(f"{BASE}/assignments/{assignment}/settlement", headers=loi).get_json()
    assert preview["lines"][0]["on_hand"] == 3 and preview["balanced"] and preview["settled_at"] is None
    error(client.post(f"{BASE}/assignments/{assignment}/settlement", json={}, headers=loi), 403, "auth.forbidden")
    before = counts()
    error(client.post(f"{BASE}/assignments/{assignment}/settlement", json={"counts": [
        {"variant_id": variant_id("BM-QHC-1KG"), "counted": 1}]}, headers=organiser), 422, "fair.unknown_variant")
    error(client.post(f"{BASE}/assignments/{assignment}/settlement", json={"counts": [
        {"variant_id": variant_id(BDX), "counted": -1}]}, headers=organiser), 422)
    assert counts() == before
    error(client.post(f"{fair.url}/transition", json={"to": "reported"}, headers=organiser), 409, "fair.unsettled")
    settled = client.post(f"{BASE}/assignments/{assignment}/settlement", json={"counts": [
        {"variant_id": variant_id(BDX), "counted": 2}]}, headers=organiser)
    assert settled.status_code == 201, settled.get_json()
    line = settled.get_json()["lines"][0]
    assert {k: line[k] for k in ("moved_in", "sold", "customer_returns", "moved_out", "discrepancy", "on_hand")} == {
        "moved_in": 20, "sold": 3, "customer_returns": 1, "moved_out": 15, "discrepancy": -1, "on_hand": 2}
    assert line["sales_value"] == 2 * unit and settled.get_json()["balanced"] is True
    assert ledger.verify_ledger() == []
    error(client.post(f"{BASE}/assignments/{assignment}/settlement", json={}, headers=organiser), 409,
          "fair.already_settled")
    # the other stocked exhibitor, then the event can be reported
    assert client.post(f"{BASE}/assignments/{fair.assignments['cs.htx-binh-minh']}/settlement", json={},
                       headers=organiser).status_code == 201
    assert client.post(f"{fair.url}/transition", json={"to": "reported"}, headers=organiser).status_code == 200


def test_settlement_exports_are_formula_safe(client, login, demo):
    fair = build("running")
    loi = login("cs.htx-binh-loi")
    assignment = fair.assignments["cs.htx-binh-loi"]
    producer = db.session.get(Producer, user("cs.htx-binh-loi").producer_id)
    producer.name = '=HYPERLINK("http://evil.example","bấm")'
    db.session.commit()
    _sell(client, loi, assignment, quantity=2)
    response = client.get(f"{BASE}/assignments/{assignment}/settlement?format=csv", headers=loi)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "quyet-toan-" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[3][1] == "'" + producer.name
    assert rows[6][0] == BDX and rows[6][3] == "2"
    xlsx = client.get(f"{BASE}/assignments/{assignment}/settlement?format=xlsx", headers=loi)
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet["B4"].value == "'" + producer.name and sheet["B4"].data_type == "s"
    assert sheet["D7"].value == 2
    error(client.get(f"{BASE}/assignments/{assignment}/settlement?format=pdf", headers=loi), 422)
    error(client.get(f"{BASE}/assignments/{assignment}/settlement", headers=login("cs.htx-binh-minh")), 403)
    assert [safe_cell(v) for v in ("=1+1", "+84", "-5", "@x", "ok", -5, "\tx")] == [
        "'=1+1", "'+84", "'-5", "'@x", "ok", -5, "'\tx"]


def test_booth_staff_sell_and_receive_at_their_booth_only(client, login, demo):
    fair = build("running")
    loi = login("cs.htx-binh-loi")
    mine, other = fair.assignments["cs.htx-binh-loi"], fair.assignments["cs.htx-binh-minh"]
    url = f"{BASE}/assignments/{mine}/staff"
    before = counts()
    error(client.post(url, json={"username": "nv.binhloi"}, headers=loi), 404, "user.not_found")
    error(client.post(url, json={"username": "NV BL", "password": "gian-hang-2026"}, headers=loi), 422)
    error(client.post(url, json={"username": "cs.htx-binh-minh"}, headers=loi), 422, "fair.not_an_operator")
    error(client.post(url, json={"username": "nv.binhloi", "password": "gian-hang-2026"},
                      headers=login("cs.htx-binh-minh")), 403, "fair.out_of_scope")
    assert counts() == before
    added = client.post(url, json={"username": "nv.binhloi", "password": "gian-hang-2026",
                                   "full_name": "Nhân viên gian Bình Lợi"}, headers=loi)
    assert added.status_code == 201, added.get_json()
    error(client.post(url, json={"username": "nv.binhloi"}, headers=loi), 409, "fair.already_staff")
    assert [s["username"] for s in client.get(url, headers=login("sct.dongnai")).get_json()["results"]] == ["nv.binhloi"]
    staff = login("nv.binhloi", "gian-hang-2026")
    sold = _sell(client, staff, mine, quantity=1)
    assert sold.status_code == 201, sold.get_json()
    assert len(client.get(f"{BASE}/assignments/{mine}/sales", headers=staff).get_json()["results"]) == 1
    move = client.post(f"{BASE}/assignments/{mine}/moves", json={
        "direction": "in", "lines": [{"variant_id": variant_id(BDX), "quantity": 2}]}, headers=loi).get_json()
    assert client.post(f"{BASE}/moves/{move['id']}/receive", json={}, headers=staff).status_code == 200
    before = counts()
    error(_sell(client, staff, other, sku="BM-QHC-1KG"), 403, "fair.out_of_scope")  # another exhibitor's booth
    error(client.post(f"{BASE}/assignments/{mine}/moves", json={
        "direction": "in", "lines": [{"variant_id": variant_id(BDX), "quantity": 1}]}, headers=staff), 403)
    error(client.get(f"{BASE}/assignments/{mine}/settlement", headers=staff), 403)
    error(client.get(BASE, headers=staff), 403, "auth.forbidden")
    assert counts() == before
    staff_id = added.get_json()["user_id"]
    assert client.delete(f"{url}/{staff_id}", headers=loi).status_code == 204
    error(_sell(client, staff, mine), 403, "fair.out_of_scope")
    error(client.delete(f"{url}/{staff_id}", headers=loi), 404)
