"""Trust boundaries of stock and pickup: unverified producers do nothing, producers create only their own
warehouses and book only their own goods, shoppers pick up only at organiser-registered places, and one
posting rule for a sales point's stock whichever endpoint posts."""
from __future__ import annotations

from sqlalchemy import func, select

from core.db import commit, db
from core.catalogue.models import Producer, Variant
from core.inventory.models import Stock, StockLocation, StockMovement
from support.orders import checkout_for
from support.sales_points import setup_points

REGISTRATION = {
    "name": "Công ty TNHH Mật Ong Tân Triều", "legal_form": "enterprise", "tax_code": "0100000028",
    "registration_no": "0100000028", "commune_code": "26188", "address": "Ấp 1, Phường Tân Triều",
    "contact_name": "Nguyễn Văn An", "phone": "0912 345 678", "email": "an@matong.vn",
    "username": "matong.tantrieu", "password": "mat-khau-2026",
}


def _error(response, status, code=None):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "message_en", "details"}
    if code:
        assert error["code"] == code, error
    return error


def _count(model):
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _variant(sku):
    return db.session.execute(select(Variant).where(Variant.sku == sku)).scalar_one()


def _warehouse(producer_id):
    return db.session.execute(select(StockLocation).where(StockLocation.producer_id == producer_id,
                                                          StockLocation.kind == "producer_warehouse")).scalars().first()


def test_an_unverified_producer_can_create_no_location_and_post_no_stock(client, demo, login):
    assert client.post("/storefront/v1/producer-registrations", json=REGISTRATION).status_code == 201
    headers = login("matong.tantrieu", "mat-khau-2026")
    before = _count(StockLocation), _count(StockMovement)
    for kind in ("producer_warehouse", "sales_point"):
        _error(client.post("/admin/v1/stock-locations", json={"name": "Điểm bán Tân Triều", "kind": kind,
                                                             "province_code": "75"}, headers=headers),
               403, "producer.not_verified")
    variant = _variant("BL-BDX-1")
    _error(client.post("/admin/v1/stock/receipts", headers=headers, json={
        "location_id": _warehouse(variant.product.producer_id).id, "variant_id": variant.id, "quantity": 5,
        "reason": "x"}), 403, "producer.not_verified")
    assert (_count(StockLocation), _count(StockMovement)) == before


def test_a_producer_creates_only_its_own_warehouses(client, demo, login):
    headers = login("cs.tht-cam-vu-quang")
    before = _count(StockLocation)
    for kind in ("sales_point", "sales_point_transit"):
        _error(client.post("/admin/v1/stock-locations", json={"name": "Điểm bán giả", "kind": kind,
                                                             "province_code": "75"}, headers=headers),
               403, "auth.out_of_scope")
    assert _count(StockLocation) == before
    created = client.post("/admin/v1/stock-locations", json={"name": "Kho phụ"}, headers=headers)
    assert created.status_code == 201 and created.get_json()["kind"] == "producer_warehouse"


def _squatted_location(producer_id):
    """A producer-owned shared-kind location, as the old rules let a producer create."""
    location = StockLocation(kind="sales_point", name="Điểm nhận hàng giả", producer_id=producer_id,
                             province_code="75", active=True)
    db.session.add(location)
    commit()
    return location


def test_a_producer_books_only_its_own_goods_and_its_odd_location_is_no_pickup_point(client, demo, login):
    cam = _variant("VQ-CAM-5KG")
    foreign = _variant("BL-BDX-1")
    squat = _squatted_location(cam.product.producer_id)
    squat_id = squat.id
    headers = login("cs.tht-cam-vu-quang")
    before = _count(StockMovement)
    _error(client.post("/admin/v1/stock/receipts", headers=headers, json={
        "location_id": squat_id, "variant_id": foreign.id, "quantity": 5, "reason": "hàng người khác"}), 403)
    _error(client.post("/admin/v1/stock/adjustments", headers=headers, json={
        "location_id": squat_id, "variant_id": foreign.id, "delta": 5, "reason": "hàng người khác"}), 403)
    assert _count(StockMovement) == before
    # stock of its own, booked there by the old rules, still makes no pickup point of it
    admin = login("admin")
    assert client.post("/admin/v1/stock/receipts", headers=admin, json={
        "location_id": squat_id, "variant_id": cam.id, "quantity": 5, "reason": "dữ liệu cũ"}).status_code == 201
    token = checkout_for(client, [("VQ-CAM-5KG", 1)], delivery=None)["token"]
    offered = client.get(f"/storefront/v1/checkouts/{token}/delivery-methods").get_json()["pickup_locations"]
    assert squat_id not in {location["id"] for location in offered}
    _error(client.patch(f"/storefront/v1/checkouts/{token}", json={"delivery_method": "pickup",
                                                                   "pickup_location_id": squat_id}),
           422, "checkout.invalid_pickup_location")
    assert client.get(f"/storefront/v1/checkouts/{token}").get_json()["delivery"] in (None, {}) or \
        client.get(f"/storefront/v1/checkouts/{token}").get_json()["delivery"].get("method") != "pickup"


def test_an_unverified_producers_warehouse_is_no_pickup_point(client, demo):
    cam = _variant("VQ-CAM-5KG")
    warehouse_id = _warehouse(cam.product.producer_id).id
    token = checkout_for(client, [("VQ-CAM-5KG", 1)], delivery=None)["token"]
    offered = client.get(f"/storefront/v1/checkouts/{token}/delivery-methods").get_json()["pickup_locations"]
    assert warehouse_id in {location["id"] for location in offered}
    db.session.get(Producer, cam.product.producer_id).status = "suspended"
    commit()
    offered = client.get(f"/storefront/v1/checkouts/{token}/delivery-methods").get_json()["pickup_locations"]
    assert warehouse_id not in {location["id"] for location in offered}
    _error(client.patch(f"/storefront/v1/checkouts/{token}", json={"delivery_method": "pickup",
                                                                   "pickup_location_id": warehouse_id}),
           422, "checkout.invalid_pickup_location")


def test_a_sales_points_stock_follows_one_rule_through_the_core_stock_api(client, demo, login):
    from plugins.sales_points.models import SalesPoint
    points = setup_points(client, login)
    point = db.session.get(SalesPoint, points.a)
    location_id, transit_id = point.stock_location_id, point.transit_location_id
    variant = _variant("BL-BDX-1")
    before = _count(StockMovement), _count(Stock)
    for target in (location_id, transit_id):
        _error(client.post("/admin/v1/stock/receipts", headers=points.organiser, json={
            "location_id": target, "variant_id": variant.id, "quantity": 5, "reason": "nhập hộ"}),
            403, "sales_point.out_of_scope")
        _error(client.post("/admin/v1/stock/adjustments", headers=points.organiser, json={
            "location_id": target, "variant_id": variant.id, "delta": 5, "reason": "chỉnh hộ"}),
            403, "sales_point.out_of_scope")
        _error(client.post("/admin/v1/stock/counts", headers=points.organiser, json={
            "location_id": target, "variant_id": variant.id, "counted": 5, "reason": "kiểm hộ"}),
            403, "sales_point.out_of_scope")
    # a producer cannot book into the point around its operators either
    producer = login("cs.htx-binh-loi")
    _error(client.post("/admin/v1/stock/transfers", headers=producer, json={
        "from_location_id": _warehouse(variant.product.producer_id).id, "to_location_id": location_id,
        "variant_id": variant.id, "quantity": 1, "reason": "gửi thẳng"}), 403, "sales_point.out_of_scope")
    assert (_count(StockMovement), _count(Stock)) == before
    # the plugin's own endpoint refuses the organiser the same way
    _error(client.post(f"/admin/v1/sales-points/{points.a}/receipts", headers=points.organiser, json={
        "producer_id": variant.product.producer_id, "lines": [{"variant_id": variant.id, "quantity": 5}]}), 403)
    # admin may still correct it through the core
    assert client.post("/admin/v1/stock/adjustments", headers=points.admin, json={
        "location_id": location_id, "variant_id": variant.id, "delta": 2, "reason": "điều chỉnh"}).status_code == 201


def test_goods_in_transit_to_a_sales_point_are_no_pickup_point(client, demo, login):
    from plugins.sales_points.models import SalesPoint
    points = setup_points(client, login)
    transit_id = db.session.get(SalesPoint, points.a).transit_location_id
    variant = _variant("BL-BDX-1")
    assert client.post("/admin/v1/stock/receipts", headers=points.admin, json={
        "location_id": transit_id, "variant_id": variant.id, "quantity": 5, "reason": "đang chuyển"}).status_code == 201
    token = checkout_for(client, [("BL-BDX-1", 1)], delivery=None)["token"]
    offered = client.get(f"/storefront/v1/checkouts/{token}/delivery-methods").get_json()["pickup_locations"]
    assert transit_id not in {location["id"] for location in offered}
    _error(client.patch(f"/storefront/v1/checkouts/{token}", json={"delivery_method": "pickup",
                                                                   "pickup_location_id": transit_id}),
           422, "checkout.invalid_pickup_location")
