"""Stock: ledger invariant, lots and FEFO, allocation, sales channels, admin API and permissions."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from core.db import commit, db
from core.errors import DomainError
from core.hookspecs import hookimpl
from core.catalogue.models import Producer, Variant
from core.sales.models import SalesChannel
from core.inventory.models import Stock, StockLocation, StockMovement
from core.plugins import plugin_manager
from core.inventory import ledger
from core.sales import channels

TODAY = dt.date(2026, 11, 23)  # OCOP_TODAY in tests


def variant(sku: str) -> Variant:
    return db.session.execute(select(Variant).where(Variant.sku == sku)).scalar_one()


def warehouse_of(producer_id: int) -> StockLocation:
    return db.session.execute(select(StockLocation).where(StockLocation.producer_id == producer_id,
                                                          StockLocation.kind == "producer_warehouse")
                              .order_by(StockLocation.id)).scalars().first()


def new_warehouse(producer_id: int, name: str = "Kho phụ") -> StockLocation:
    p = db.session.get(Producer, producer_id)
    location = StockLocation(kind="producer_warehouse", name=name, producer_id=p.id,
                             province_code=p.province_code, active=True)
    db.session.add(location)
    commit()
    return location


def level(location, v) -> tuple[int, int]:
    figures = ledger.stock_level(v, location)
    return figures["on_hand"], figures["allocated"]


def code_of(exc_info) -> str:
    return exc_info.value.code


@pytest.fixture
def cam(demo):
    """Cam Vũ Quang (150 in the demo, one food lot) and its producer's warehouse."""
    v = variant("VQ-CAM-5KG")
    return v, warehouse_of(v.product.producer_id)


# --- demo ------------------------------------------------------------------------
def test_demo_seeds_a_warehouse_per_producer_with_lots(demo):
    producers = db.session.execute(select(Producer)).scalars().all()
    for p in producers:
        assert warehouse_of(p.id) is not None, p.name
    v = variant("VQ-CAM-5KG")
    s = db.session.execute(select(Stock).where(Stock.variant_id == v.id)).scalar_one()
    assert (s.on_hand, s.allocated) == (150, 0)
    [lot] = s.lots
    assert lot.lot_no.startswith("DEMO-") and lot.best_before == TODAY + dt.timedelta(days=30)
    lamp = db.session.execute(select(Stock).where(Stock.variant_id == variant("NTN-DEN-S").id)).scalar_one()
    assert lamp.on_hand == 15 and lamp.lots[0].lot_label is None and lamp.lots[0].best_before is None
    assert ledger.stock_level(variant("VK-TOUR-1N"))["on_hand"] == 0  # service: no stock
    assert ledger.verify_ledger() == []


# --- ledger invariant ---------------------------------------------------------------
def test_ledger_invariant_after_mixed_operations(cam):
    v, wh = cam
    second = new_warehouse(v.product.producer_id)
    ledger.receive(wh, v, 20, actor=None, reason="thu hoạch", lot_no="L2", best_before=TODAY + dt.timedelta(days=5))
    ledger.receive(wh, v, 7, actor=None, reason="không lô")
    allocations = ledger.allocate(v, 30, location=wh, reference="order:A")
    assert allocations[0].lot_no == "L2" and allocations[0].quantity == 20  # earliest expiry first
    ledger.allocate(v, 5, reference="order:B")
    commit()
    ledger.deduct_allocated(v, 25, wh, reference="order:A", actor=None)
    ledger.release("order:A")
    ledger.release("order:A")  # idempotent
    ledger.adjust(wh, v, -3, actor=None, reason="dập hỏng")
    ledger.adjust(wh, v, 2, actor=None, reason="tìm thấy")
    ledger.transfer(wh, second, v, 10, actor=None, reason="chia kho")
    ledger.sell_now(second, v, 4, reference="pos:1", actor=None)
    ledger.receive(second, v, 1, actor=None, reason="khách trả", kind="return")
    ledger.count(wh, v, 100, actor=None, reason="kiểm kê", lot_no="DEMO-202611")
    commit()
    assert ledger.verify_ledger() == []
    for s in db.session.execute(select(Stock)).scalars():
        assert 0 <= s.allocated <= s.on_hand
        assert sum(lot.on_hand for lot in s.lots) == s.on_hand
        assert sum(lot.allocated for lot in s.lots) == s.allocated
    assert level(wh, v)[1] == 5  # order:B still allocated
    kinds = set(db.session.execute(select(StockMovement.kind)).scalars())
    assert kinds == {"receipt", "allocation", "release", "sale", "adjustment", "transfer_out", "transfer_in",
                     "return", "count"}


def test_verify_ledger_reports_a_tampered_figure(cam):
    v, wh = cam
    db.session.execute(text("UPDATE stock SET on_hand = on_hand + 1"))
    problems = ledger.verify_ledger()
    assert {p["check"] for p in problems} >= {"stock_vs_ledger", "stock_vs_lots"}
    db.session.rollback()


def test_failed_operation_leaves_nothing(cam):
    v, wh = cam
    before = db.session.execute(select(StockMovement.id)).scalars().all()
    with pytest.raises(DomainError) as exc:
        ledger.adjust(wh, v, -151, actor=None, reason="quá tay")
    assert code_of(exc) == "stock.negative"
    db.session.rollback()
    assert db.session.execute(select(StockMovement.id)).scalars().all() == before
    assert level(wh, v) == (150, 0)


# --- lots and FEFO ---------------------------------------------------------------
def test_fefo_picks_earliest_expiry_skips_expired_and_undated_last(cam):
    v, wh = cam  # DEMO lot: best before today + 30
    ledger.receive(wh, v, 5, actor=None, reason="r", lot_no="SOON", best_before=TODAY + dt.timedelta(days=2))
    ledger.receive(wh, v, 5, actor=None, reason="r", lot_no="NODATE")
    ledger.receive(wh, v, 5, actor=None, reason="r", lot_no="OLD", best_before=TODAY)
    commit()
    # age the OLD lot past its date (receipts in the past are refused, so edit it directly)
    db.session.execute(text("UPDATE stock_lot SET best_before = :d WHERE lot_no = 'OLD'"),
                       {"d": TODAY - dt.timedelta(days=1)})
    picked = [(lot.lot_label, q) for lot, q in ledger.pick_fefo(wh, v, 157)]
    assert picked == [("SOON", 5), ("DEMO-202611", 150), ("NODATE", 2)]
    with_expired = [(lot.lot_label, q) for lot, q in ledger.pick_fefo(wh, v, 6, include_expired=True)]
    assert with_expired == [("OLD", 5), ("SOON", 1)]
    with pytest.raises(DomainError) as exc:
        ledger.pick_fefo(wh, v, 161)
    assert code_of(exc) == "stock.insufficient" and exc.value.details["available"] == 160
    # counter sales follow FEFO too
    [sale] = ledger.sell_now(wh, v, 3, reference="pos:9", actor=None)
    assert sale.lot.lot_no == "SOON" and sale.quantity == -3
    db.session.rollback()


def test_receipt_lot_rules(cam):
    v, wh = cam
    with pytest.raises(DomainError) as exc:
        ledger.receive(wh, v, 1, actor=None, reason="r", lot_no="X", best_before=TODAY - dt.timedelta(days=1))
    assert code_of(exc) == "stock.best_before_past"
    with pytest.raises(DomainError) as exc:
        ledger.receive(wh, v, 1, actor=None, reason="r", lot_no="DEMO-202611", best_before=TODAY + dt.timedelta(days=99))
    assert code_of(exc) == "stock.lot_mismatch"
    db.session.rollback()
    [m] = ledger.receive(wh, v, 2, actor=None, reason="r", best_before=TODAY + dt.timedelta(days=3))
    assert m.lot.lot_no == f"BB-{TODAY + dt.timedelta(days=3)}"
    with pytest.raises(DomainError) as exc:
        ledger.count(wh, v, 10, actor=None, reason="kiểm kê")
    assert code_of(exc) == "stock.lot_required"
    db.session.rollback()


# --- allocation ---------------------------------------------------------------
def test_allocation_strategy_most_free_producer_warehouse(cam):
    v, wh = cam
    big = new_warehouse(v.product.producer_id, "Kho lớn")
    ledger.receive(big, v, 400, actor=None, reason="r")
    other = warehouse_of(variant("BL-BDX-1").product.producer_id)
    commit()
    [a] = ledger.allocate(v, 10, reference="order:1")
    assert a.location_id == big.id
    # a line is never split: 500 is more than either warehouse holds alone
    with pytest.raises(DomainError) as exc:
        ledger.allocate(v, 500, reference="order:2")
    assert code_of(exc) == "stock.insufficient" and exc.value.status == 409
    assert exc.value.details == {"variant": v.id, "sku": v.sku, "requested": 500, "available": 390,
                                 "location": None}
    with pytest.raises(DomainError) as exc:
        ledger.allocate(v, 1, location=other, reference="order:3")  # another producer's warehouse
    assert code_of(exc) == "stock.variant_not_allowed"
    with pytest.raises(DomainError) as exc:
        ledger.allocate(variant("VK-TOUR-1N"), 1, reference="order:4")
    assert code_of(exc) == "stock.not_stocked"
    with pytest.raises(DomainError) as exc:
        ledger.allocate(v, 0, reference="order:5")
    assert exc.value.status == 422
    db.session.rollback()


def test_allocated_never_exceeds_on_hand(cam):
    v, wh = cam
    ledger.allocate(v, 150, location=wh, reference="order:all")
    commit()
    assert level(wh, v) == (150, 150)
    with pytest.raises(DomainError) as exc:
        ledger.allocate(v, 1, location=wh, reference="order:more")
    assert code_of(exc) == "stock.insufficient" and exc.value.details["available"] == 0
    with pytest.raises(DomainError) as exc:
        ledger.adjust(wh, v, -1, actor=None, reason="hỏng")
    assert code_of(exc) == "stock.insufficient"
    with pytest.raises(DomainError) as exc:
        ledger.count(wh, v, 149, actor=None, reason="kiểm kê")
    assert code_of(exc) == "stock.below_allocated"
    with pytest.raises(DomainError) as exc:
        ledger.deduct_allocated(v, 151, wh, reference="order:all", actor=None)
    assert code_of(exc) == "stock.not_allocated"
    db.session.rollback()
    # the database refuses it too
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE stock SET allocated = on_hand + 1"))
        db.session.flush()
    db.session.rollback()
    ledger.deduct_allocated(v, 100, wh, reference="order:all", actor=None)
    released = ledger.release("order:all")
    assert sum(m.quantity for m in released) == -50
    commit()
    assert level(wh, v) == (50, 0) and ledger.verify_ledger() == []


def test_stock_changed_fires_after_commit_only(cam):
    v, wh = cam
    calls = []

    class Spy:
        @hookimpl
        def stock_changed(self, stock, movement):
            calls.append((movement.kind, movement.quantity))

    pm = plugin_manager()
    pm.register(Spy(), name="test_stock_spy")
    try:
        ledger.receive(wh, v, 3, actor=None, reason="r")
        assert calls == []
        db.session.rollback()
        commit()
        assert calls == []
        ledger.allocate(v, 2, reference="order:spy")
        commit()
        assert calls == [("allocation", 2)]
    finally:
        pm.unregister(name="test_stock_spy")
        pm.infos.pop("test_stock_spy", None)


def test_online_store_channel_created_on_demand(app):
    first = channels.get_or_create_channel("online_store")
    commit()
    again = channels.get_or_create_channel("online_store")
    assert first.id == again.id and first.kind == "online_store" and first.name == "Cửa hàng trực tuyến"
    with pytest.raises(DomainError) as exc:
        channels.get_or_create_channel("mystery")
    assert code_of(exc) == "sales_channel.unknown_kind"
    assert db.session.execute(select(SalesChannel)).scalars().all() == [first]


# --- admin API -------------------------------------------------------------------
def test_producer_receives_into_own_warehouse(client, login, cam):
    v, wh = cam
    headers = login("cs.tht-cam-vu-quang")
    body = {"location_id": wh.id, "variant_id": v.id, "quantity": 12, "reason": "Nhập vụ mới",
            "lot_no": "VQ-2611", "best_before": "2026-12-20"}
    r = client.post("/admin/v1/stock/receipts", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    [m] = r.get_json()["movements"]
    assert m["kind"] == "receipt" and m["quantity"] == 12 and m["lot_no"] == "VQ-2611"
    r = client.get(f"/admin/v1/stock-locations/{wh.id}/stock", headers=headers)
    [row] = r.get_json()["results"]
    assert row["on_hand"] == 162 and row["sku"] == "VQ-CAM-5KG"
    assert {(lot["lot_no"], lot["on_hand"]) for lot in row["lots"]} == {("DEMO-202611", 150), ("VQ-2611", 12)}
    r = client.get(f"/admin/v1/stock/movements?location_id={wh.id}&kind=receipt", headers=headers)
    assert r.get_json()["total"] == 2 and r.get_json()["results"][0]["reference"] is None


def test_receipt_refusals(client, login, cam):
    v, wh = cam
    body = {"location_id": wh.id, "variant_id": v.id, "quantity": 1, "reason": "x"}
    assert client.post("/admin/v1/stock/receipts", json=body).status_code == 401
    other = login("cs.htx-binh-loi")  # producer A into producer B's warehouse
    r = client.post("/admin/v1/stock/receipts", json=body, headers=other)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "auth.out_of_scope"
    own_wh = warehouse_of(variant("BL-BDX-1").product.producer_id)
    r = client.post("/admin/v1/stock/receipts", json={**body, "location_id": own_wh.id}, headers=other)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "auth.out_of_scope"  # not its goods
    headers = login("cs.tht-cam-vu-quang")
    for bad in ({"quantity": 0}, {"quantity": "5"}, {"quantity": 1.5}, {"colour": "red"}, {"kind": "sale"}):
        r = client.post("/admin/v1/stock/receipts", json={**body, **bad}, headers=headers)
        assert r.status_code == 422, bad
        assert set(r.get_json()["error"]) == {"code", "message", "message_en", "details"}
    r = client.post("/admin/v1/stock/receipts", json={**body, "best_before": "2026-11-22"}, headers=headers)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "stock.best_before_past"
    r = client.post("/admin/v1/stock/receipts", json={**body, "variant_id": 999999}, headers=headers)
    assert r.status_code == 404
    assert client.post("/admin/v1/stock/receipts", json=body, headers=login("hoidong.dongnai")).status_code == 403
    assert ledger.verify_ledger() == [] and level(wh, v) == (150, 0)


def test_adjustments_counts_and_transfers_api(client, login, cam):
    v, wh = cam
    headers = login("cs.tht-cam-vu-quang")
    r = client.post("/admin/v1/stock/adjustments", json={"location_id": wh.id, "variant_id": v.id, "delta": -200,
                                                         "reason": "hỏng"}, headers=headers)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "stock.negative"
    r = client.post("/admin/v1/stock/adjustments", json={"location_id": wh.id, "variant_id": v.id, "delta": 0,
                                                         "reason": "hỏng"}, headers=headers)
    assert r.status_code == 422
    r = client.post("/admin/v1/stock/adjustments", json={"location_id": wh.id, "variant_id": v.id, "delta": -5,
                                                         "reason": "hỏng do vận chuyển"}, headers=headers)
    assert r.status_code == 201 and r.get_json()["movements"][0]["quantity"] == -5
    r = client.post("/admin/v1/stock/counts", json={"location_id": wh.id, "variant_id": v.id, "counted": 140,
                                                    "reason": "kiểm kê tháng"}, headers=headers)
    assert r.status_code == 201 and r.get_json()["movements"][0]["quantity"] == -5
    r = client.post("/admin/v1/stock/counts", json={"location_id": wh.id, "variant_id": v.id, "counted": -1,
                                                    "reason": "kiểm kê"}, headers=headers)
    assert r.status_code == 422
    # a second own warehouse, created through the API
    r = client.post("/admin/v1/stock-locations", json={"name": "Kho Hương Sơn"}, headers=headers)
    assert r.status_code == 201, r.get_json()
    second = r.get_json()
    assert second["producer_id"] == v.product.producer_id and second["kind"] == "producer_warehouse"
    transfer = {"from_location_id": wh.id, "to_location_id": second["id"], "variant_id": v.id, "quantity": 40,
                "reason": "chia hàng"}
    r = client.post("/admin/v1/stock/transfers", json=transfer, headers=headers)
    assert r.status_code == 201
    kinds = [(m["kind"], m["quantity"], m["lot_no"]) for m in r.get_json()["movements"]]
    assert kinds == [("transfer_out", -40, "DEMO-202611"), ("transfer_in", 40, "DEMO-202611")]
    r = client.post("/admin/v1/stock/transfers", json={**transfer, "quantity": 1000}, headers=headers)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "stock.insufficient"
    assert set(r.get_json()["error"]["details"]) >= {"variant", "requested", "available"}
    # into another producer's warehouse: refused
    foreign = warehouse_of(variant("BL-BDX-1").product.producer_id)
    r = client.post("/admin/v1/stock/transfers", json={**transfer, "to_location_id": foreign.id}, headers=headers)
    assert r.status_code == 403
    r = client.post("/admin/v1/stock/transfers", json={**transfer, "to_location_id": wh.id}, headers=headers)
    assert r.status_code == 422
    r = client.get(f"/admin/v1/stock?variant_id={v.id}", headers=headers)
    assert sorted(row["on_hand"] for row in r.get_json()["results"]) == [40, 100]
    assert ledger.verify_ledger() == []


def test_locations_scope_and_crud(client, login, demo):
    cam_producer = variant("VQ-CAM-5KG").product.producer_id
    loi_producer = variant("BL-BDX-1").product.producer_id
    producer_headers = login("cs.tht-cam-vu-quang")
    r = client.get("/admin/v1/stock-locations", headers=producer_headers)
    assert [row["producer_id"] for row in r.get_json()["results"]] == [cam_producer]
    r = client.post("/admin/v1/stock-locations", json={"name": "Kho lạ", "producer_id": loi_producer},
                    headers=producer_headers)
    assert r.status_code == 403
    r = client.get(f"/admin/v1/stock-locations/{warehouse_of(loi_producer).id}", headers=producer_headers)
    assert r.status_code == 403
    assert client.get("/admin/v1/stock-locations").status_code == 401
    r = client.post("/admin/v1/stock-locations", json={"name": "Kho", "kind": "spaceship"}, headers=producer_headers)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "stock_location.unknown_kind"
    r = client.post("/admin/v1/stock-locations", json={"name": "K"}, headers=producer_headers)
    assert r.status_code == 422
    # organiser of Đồng Nai (75) sees only locations in province 75
    organiser = login("sct.dongnai")
    r = client.get("/admin/v1/stock-locations?limit=100", headers=organiser)
    rows = r.get_json()["results"]
    assert rows and all(row["province_code"] == "75" for row in rows)
    outside = next(p for p in db.session.execute(select(Producer)).scalars() if p.province_code != "75")
    r = client.post("/admin/v1/stock-locations", json={"name": "Kho ngoài tỉnh", "producer_id": outside.id},
                    headers=organiser)
    assert r.status_code == 403
    admin = login("admin")
    assert client.get("/admin/v1/stock-locations?limit=100", headers=admin).get_json()["total"] == \
        db.session.query(StockLocation).count()
    # create, rename, deactivate, delete an unused location; a location with stock cannot be deleted
    r = client.post("/admin/v1/stock-locations", json={"name": "Kho tạm"}, headers=producer_headers)
    new_id = r.get_json()["id"]
    r = client.patch(f"/admin/v1/stock-locations/{new_id}", json={"name": "Kho tạm 2", "active": False},
                     headers=producer_headers)
    assert r.status_code == 200 and r.get_json()["active"] is False
    r = client.post("/admin/v1/stock/receipts", json={"location_id": new_id, "variant_id": variant("VQ-CAM-5KG").id,
                                                      "quantity": 1, "reason": "x"}, headers=producer_headers)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "stock.location_inactive"
    assert client.delete(f"/admin/v1/stock-locations/{new_id}", headers=producer_headers).status_code == 204
    r = client.delete(f"/admin/v1/stock-locations/{warehouse_of(cam_producer).id}", headers=producer_headers)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "stock_location.in_use"


def test_movement_ledger_is_scoped(client, login, demo):
    r = client.get("/admin/v1/stock/movements?limit=100", headers=login("cs.tht-cam-vu-quang"))
    rows = r.get_json()["results"]
    assert r.status_code == 200 and len(rows) == 1 and rows[0]["reference"] == "demo:seed"
    r = client.get("/admin/v1/stock/movements?kind=teleport", headers=login("admin"))
    assert r.status_code == 422
    assert client.get("/admin/v1/stock/movements").status_code == 401
    r = client.get("/admin/v1/stock/movements?limit=100", headers=login("admin"))
    assert r.get_json()["total"] == db.session.query(StockMovement).count()


def test_sales_channels_api(client, login, demo):
    admin, producer_headers = login("admin"), login("cs.tht-cam-vu-quang")
    r = client.get("/admin/v1/sales-channel-kinds", headers=producer_headers)
    assert {"code": "online_store", "name": "Cửa hàng trực tuyến", "name_en": "Online store"} in r.get_json()
    r = client.get("/admin/v1/stock-location-kinds", headers=producer_headers)
    assert "producer_warehouse" in {k["code"] for k in r.get_json()}
    body = {"kind": "online_store", "code": "online-b2b", "name": "Cửa hàng sỉ"}
    assert client.post("/admin/v1/sales-channels", json=body).status_code == 401
    assert client.post("/admin/v1/sales-channels", json=body, headers=producer_headers).status_code == 403
    r = client.post("/admin/v1/sales-channels", json={**body, "kind": "spaceship"}, headers=admin)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "sales_channel.unknown_kind"
    r = client.post("/admin/v1/sales-channels", json={**body, "code": "Bad Code"}, headers=admin)
    assert r.status_code == 422
    r = client.post("/admin/v1/sales-channels", json=body, headers=admin)
    assert r.status_code == 201
    channel_id = r.get_json()["id"]
    assert client.post("/admin/v1/sales-channels", json=body, headers=admin).status_code == 409
    r = client.patch(f"/admin/v1/sales-channels/{channel_id}", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.get_json()["active"] is False
    r = client.get("/admin/v1/sales-channels", headers=producer_headers)
    assert r.get_json()["total"] == 1
    assert client.get(f"/admin/v1/sales-channels/{channel_id + 99}", headers=admin).status_code == 404
