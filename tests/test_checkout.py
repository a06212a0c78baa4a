"""Storefront checkout: lines, limits, Vietnamese addresses, delivery methods, totals, completion and idempotency."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from support.checks import error_of, row_counts
from support.orders import (ADDRESS_DONG_NAI, ADDRESS_RETIRED, CONTACT, checkout_for, ledger_ok, place_order,
                            stock_of)

BASE = "/storefront/v1/checkouts"


def _create(client, **body):
    return client.post(BASE, json=body)


# --- lines -----------------------------------------------------------------------------
def test_create_add_change_remove_lines_with_integer_vnd_totals(client, demo):
    response = _create(client, lines=[{"sku": "VQ-CAM-5KG", "quantity": 2}])
    assert response.status_code == 201
    checkout = response.get_json()
    token = checkout["token"]
    assert len(token) >= 32 and checkout["status"] == "open"
    assert checkout["subtotal"] == 500000 and checkout["total"] == 500000 and checkout["currency"] == "VND"

    added = client.post(f"{BASE}/{token}/lines", json={"sku": "BL-BDX-1", "quantity": 3})
    assert added.status_code == 201
    again = client.post(f"{BASE}/{token}/lines", json={"sku": "BL-BDX-1", "quantity": 1}).get_json()
    lines = {l["sku"]: l for l in again["lines"]}
    assert lines["BL-BDX-1"]["quantity"] == 4 and len(again["lines"]) == 2
    assert again["subtotal"] == 2 * 250000 + 4 * 65000
    assert lines["VQ-CAM-5KG"]["producer"]["slug"] and lines["VQ-CAM-5KG"]["product_slug"] == "cam-vu-quang"

    changed = client.patch(f"{BASE}/{token}/lines/{lines['BL-BDX-1']['id']}", json={"quantity": 10}).get_json()
    assert {l["sku"]: l["quantity"] for l in changed["lines"]} == {"VQ-CAM-5KG": 2, "BL-BDX-1": 10}
    removed = client.delete(f"{BASE}/{token}/lines/{lines['VQ-CAM-5KG']['id']}").get_json()
    assert [l["sku"] for l in removed["lines"]] == ["BL-BDX-1"] and removed["subtotal"] == 650000

    fetched = client.get(f"{BASE}/{token}").get_json()
    assert fetched == removed
    assert all(isinstance(fetched[k], int) for k in ("subtotal", "shipping_fee", "total"))


@pytest.mark.parametrize("quantity", [0, -1, 100])
def test_quantity_out_of_limits_is_refused(client, demo, quantity):
    error_of(_create(client, lines=[{"sku": "BL-BDX-1", "quantity": quantity}]), 422, "checkout.invalid_quantity")
    token = _create(client, lines=[{"sku": "BL-BDX-1", "quantity": 1}]).get_json()["token"]
    error_of(client.post(f"{BASE}/{token}/lines", json={"sku": "VQ-CAM-5KG", "quantity": quantity}), 422,
             "checkout.invalid_quantity")
    line_id = client.get(f"{BASE}/{token}").get_json()["lines"][0]["id"]
    error_of(client.patch(f"{BASE}/{token}/lines/{line_id}", json={"quantity": quantity}), 422,
             "checkout.invalid_quantity")
    assert client.get(f"{BASE}/{token}").get_json()["lines"][0]["quantity"] == 1


def test_adding_up_beyond_99_is_refused(client, demo):
    token = _create(client, lines=[{"sku": "BL-BDX-1", "quantity": 60}]).get_json()["token"]
    error_of(client.post(f"{BASE}/{token}/lines", json={"sku": "BL-BDX-1", "quantity": 40}), 422,
             "checkout.invalid_quantity")


def test_bad_line_input_is_refused(client, demo):
    error_of(_create(client, lines=[{"sku": "BL-BDX-1", "quantity": "2"}]), 422, "validation.invalid")
    error_of(_create(client, lines=[{"sku": "BL-BDX-1", "variant_id": 1, "quantity": 2}]), 422)
    error_of(_create(client, lines=[{"quantity": 2}]), 422)
    error_of(_create(client, surprise=True), 422, "validation.invalid")
    error_of(client.post(BASE, data="not json", content_type="application/json"), 400)


@pytest.mark.parametrize("sku", ["TC-RNN-500", "TG-BT-1"])
def test_unlisted_products_cannot_be_added(client, demo, sku):
    """Rượu nhung nai (certificate expired) and Bánh tét (never certified) are not for sale."""
    before = row_counts()
    error_of(_create(client, lines=[{"sku": sku, "quantity": 1}]), 422, "product.not_listed")
    assert row_counts() == before
    token = _create(client).get_json()["token"]
    error_of(client.post(f"{BASE}/{token}/lines", json={"sku": sku, "quantity": 1}), 422, "product.not_listed")
    error_of(client.post(f"{BASE}/{token}/lines", json={"sku": "NO-SUCH-SKU", "quantity": 1}), 404,
             "variant.not_found")


def test_more_than_in_stock_is_refused_when_adding(client, demo):
    error_of(_create(client, lines=[{"sku": "VQ-CAM-5KG", "quantity": 99}, {"sku": "VQ-CAM-5KG", "quantity": 99}]),
             422, "checkout.invalid_quantity")
    token = _create(client, lines=[{"sku": "BL-TDB-50", "quantity": 30}]).get_json()["token"]  # 35 in stock
    error = error_of(client.post(f"{BASE}/{token}/lines", json={"sku": "BL-TDB-50", "quantity": 6}), 409,
                     "stock.insufficient")
    assert error["details"]["available"] == 35 and error["details"]["requested"] == 36


def test_unknown_checkout_and_line(client, demo):
    error_of(client.get(f"{BASE}/nope"), 404, "checkout.not_found")
    token = _create(client).get_json()["token"]
    error_of(client.patch(f"{BASE}/{token}/lines/999999", json={"quantity": 1}), 404, "checkout_line.not_found")
    error_of(client.delete(f"{BASE}/{token}/lines/999999"), 404, "checkout_line.not_found")


# --- contact and address -----------------------------------------------------------------
def test_contact_and_current_address(client, demo):
    token = _create(client, lines=[{"sku": "BL-BDX-1", "quantity": 1}]).get_json()["token"]
    body = client.patch(f"{BASE}/{token}", json={**CONTACT, "shipping_address": ADDRESS_DONG_NAI}).get_json()
    assert body["contact"] == {"email": "lan@example.vn", "phone": "0912345678", "full_name": "Nguyễn Thị Lan"}
    assert body["shipping_address"]["province"] == {"code": "75", "name": "Đồng Nai"}
    assert body["shipping_address"]["commune"]["name"] == "Phường Tân Triều"
    assert body["shipping_address"]["district"] is None


def test_retired_pre_2025_address_is_accepted(client, demo):
    token = _create(client, lines=[{"sku": "BL-BDX-1", "quantity": 1}]).get_json()["token"]
    body = client.patch(f"{BASE}/{token}", json={"shipping_address": ADDRESS_RETIRED}).get_json()
    assert body["shipping_address"]["district"]["name"] == "Vĩnh Cửu"
    # retired province code with a current commune of that province, and the reverse
    for address in ({"province_code": "DNA", "commune_code": "26188", "street": "1"},
                    {"province_code": "75", "commune_code": "DNA-VC-BL", "street": "1"}):
        assert client.patch(f"{BASE}/{token}", json={"shipping_address": address}).status_code == 200


@pytest.mark.parametrize("address,code", [
    ({"province_code": "42", "commune_code": "26188", "street": "1"}, "address.commune_not_in_province"),
    ({"province_code": "HTI", "commune_code": "DNA-VC-BL", "street": "1"}, "address.commune_not_in_province"),
    ({"province_code": "DNA", "district_code": "HTI-VQ", "commune_code": "DNA-VC-BL", "street": "1"},
     "address.commune_not_in_district"),
    ({"province_code": "75", "district_code": "DNA-VC", "commune_code": "26188", "street": "1"},
     "address.commune_not_in_district"),
    ({"province_code": "99", "commune_code": "26188", "street": "1"}, "address.unknown_unit"),
    ({"province_code": "26188", "commune_code": "26188", "street": "1"}, "address.unknown_unit"),
    ({"province_code": "75", "commune_code": "75", "street": "1"}, "address.unknown_unit"),
    ({"province_code": "75", "commune_code": "26188", "street": "   "}, "validation.invalid"),
])
def test_bad_addresses_are_refused(client, demo, address, code):
    token = _create(client, lines=[{"sku": "BL-BDX-1", "quantity": 1}]).get_json()["token"]
    error_of(client.patch(f"{BASE}/{token}", json={"shipping_address": address}), 422, code)
    assert client.get(f"{BASE}/{token}").get_json()["shipping_address"] is None


def test_bad_contact_is_refused(client, demo):
    token = _create(client).get_json()["token"]
    error_of(client.patch(f"{BASE}/{token}", json={"phone": "12345"}), 422, "checkout.invalid_phone")
    error_of(client.patch(f"{BASE}/{token}", json={"email": "not-an-email"}), 422, "validation.invalid")
    error_of(client.patch(f"{BASE}/{token}", json={"full_name": "Lan\u0000"}), 422, "validation.invalid")
    error_of(client.patch(f"{BASE}/{token}", json={"shipping_address": {"province_code": "75"}}), 422)


# --- delivery -------------------------------------------------------------------------------
def test_delivery_methods_come_from_the_hook_and_fees_are_weight_and_zone(client, demo):
    checkout = checkout_for(client, [("BL-BDX-1", 3)], delivery=None)
    options = client.get(f"{BASE}/{checkout['token']}/delivery-methods").get_json()
    quotes = {q["code"]: q for q in options["results"]}
    assert set(quotes) == {"standard", "express"}
    # one parcel inside Đồng Nai, 3 kg: 20,000 + 4 × 2,500
    assert quotes["standard"]["fee"] == 30000 and quotes["standard"]["provider"] == "flat_shipping"
    body = client.patch(f"{BASE}/{checkout['token']}", json={"delivery_method": "express"}).get_json()
    assert body["delivery"]["method"] == "express" and body["shipping_fee"] == quotes["express"]["fee"]
    assert body["total"] == 3 * 65000 + quotes["express"]["fee"]

    # adding an orange box from Hà Tĩnh adds a second parcel in another region
    body = client.post(f"{BASE}/{checkout['token']}/lines", json={"sku": "VQ-CAM-5KG", "quantity": 1}).get_json()
    client.patch(f"{BASE}/{checkout['token']}", json={"delivery_method": "standard"})
    body = client.get(f"{BASE}/{checkout['token']}").get_json()
    assert body["shipping_fee"] == 30000 + 38000


def test_delivery_method_needs_an_address_and_a_known_code(client, demo):
    checkout = checkout_for(client, [("BL-BDX-1", 1)], address=None, delivery=None)
    token = checkout["token"]
    error_of(client.patch(f"{BASE}/{token}", json={"delivery_method": "standard"}), 422,
             "checkout.address_required")
    assert client.get(f"{BASE}/{token}/delivery-methods").get_json()["results"] == []
    client.patch(f"{BASE}/{token}", json={"shipping_address": ADDRESS_DONG_NAI})
    error_of(client.patch(f"{BASE}/{token}", json={"delivery_method": "teleport"}), 422,
             "shipping.method_unavailable")
    error_of(client.patch(f"{BASE}/{token}", json={"pickup_location_id": 1}), 422)


def test_pickup_at_the_producer_warehouse(client, demo):
    from core.db import db
    from core.inventory.models import StockLocation
    checkout = checkout_for(client, [("BL-BDX-1", 2), ("BL-TDB-10", 1)], delivery=None)
    token = checkout["token"]
    locations = client.get(f"{BASE}/{token}/delivery-methods").get_json()["pickup_locations"]
    assert len(locations) == 1 and "Bình Lợi" in locations[0]["name"]
    other = db.session.execute(select(StockLocation.id).where(StockLocation.id != locations[0]["id"])).scalars().first()
    error_of(client.patch(f"{BASE}/{token}", json={"delivery_method": "pickup", "pickup_location_id": other}), 422,
             "checkout.pickup_not_possible")
    error_of(client.patch(f"{BASE}/{token}", json={"delivery_method": "pickup"}), 422,
             "checkout.invalid_pickup_location")
    body = client.patch(f"{BASE}/{token}", json={"delivery_method": "pickup",
                                                 "pickup_location_id": locations[0]["id"]}).get_json()
    assert body["delivery"]["method"] == "pickup" and body["shipping_fee"] == 0
    order = client.post(f"{BASE}/{token}/complete").get_json()
    assert {l["location_id"] for l in order["lines"]} == {locations[0]["id"]}
    assert order["total"] == 2 * 65000 + 55000


# --- completion ---------------------------------------------------------------------------
def test_complete_places_the_order_and_allocates_stock(client, demo):
    before = stock_of("BL-BDX-1"), stock_of("VQ-CAM-5KG")
    checkout = checkout_for(client, [("VQ-CAM-5KG", 2), ("BL-BDX-1", 3)])
    response = client.post(f"{BASE}/{checkout['token']}/complete")
    assert response.status_code == 201
    order = response.get_json()
    assert order["number"].startswith("OCOP-2026-") and len(order["number"]) == len("OCOP-2026-000001")
    assert order["status"] == "unconfirmed" and order["payment_status"] == "unpaid"
    assert order["total"] == checkout["total"] and order["shipping_fee"] == checkout["shipping_fee"]
    assert {l["sku"]: l["unit_price"] for l in order["lines"]} == {"VQ-CAM-5KG": 250000, "BL-BDX-1": 65000}
    assert stock_of("BL-BDX-1") == (before[0][0], before[0][1] + 3)
    assert stock_of("VQ-CAM-5KG") == (before[1][0], before[1][1] + 2)
    ledger_ok()
    after = client.get(f"{BASE}/{checkout['token']}").get_json()
    assert after["status"] == "completed" and after["order_token"] == order["token"]
    error_of(client.post(f"{BASE}/{checkout['token']}/lines", json={"sku": "BL-BDX-1", "quantity": 1}), 409,
             "checkout.completed")
    error_of(client.post(f"{BASE}/{checkout['token']}/complete"), 409, "checkout.completed")

    shopper = client.get(f"/storefront/v1/orders/{order['token']}").get_json()
    assert shopper["number"] == order["number"] and shopper["lines"] == order["lines"]
    error_of(client.get("/storefront/v1/orders/not-a-token"), 404, "order.not_found")


def test_price_snapshot_survives_a_price_change(client, demo, login):
    order = place_order(client, [("BL-BDX-1", 1)])
    from core.db import commit, db
    from core.catalogue.models import Variant
    variant = db.session.execute(select(Variant).where(Variant.sku == "BL-BDX-1")).scalar_one()
    variant.price = 99000
    commit()
    again = client.get(f"/storefront/v1/orders/{order['token']}").get_json()
    assert again["lines"][0]["unit_price"] == 65000 and again["subtotal"] == 65000


def test_idempotency_key_returns_the_first_order(client, demo):
    checkout = checkout_for(client, [("BL-BDX-1", 2)])
    url = f"{BASE}/{checkout['token']}/complete"
    first = client.post(url, headers={"Idempotency-Key": "order-abc-1"})
    assert first.status_code == 201
    repeat = client.post(url, headers={"Idempotency-Key": "order-abc-1"})
    assert repeat.status_code == 200
    assert repeat.get_json()["number"] == first.get_json()["number"]
    assert stock_of("BL-BDX-1")[1] == 2  # allocated once
    other = checkout_for(client, [("BL-BDX-1", 1)])
    error_of(client.post(f"{BASE}/{other['token']}/complete", headers={"Idempotency-Key": "order-abc-1"}), 409,
             "idempotency.key_reused")
    error_of(client.post(f"{BASE}/{other['token']}/complete", headers={"Idempotency-Key": "bad key\u00e9"}), 422)
    assert stock_of("BL-BDX-1")[1] == 2


def test_incomplete_checkout_cannot_complete(client, demo):
    token = _create(client, lines=[{"sku": "BL-BDX-1", "quantity": 1}]).get_json()["token"]
    error = error_of(client.post(f"{BASE}/{token}/complete"), 422, "checkout.incomplete")
    assert {"full_name", "phone", "delivery_method"} <= set(error["details"])
    empty = _create(client, **CONTACT, shipping_address=ADDRESS_DONG_NAI).get_json()["token"]
    error = error_of(client.post(f"{BASE}/{empty}/complete"), 422, "checkout.incomplete")
    assert "lines" in error["details"]


def _failed_completion_leaves_nothing(client, token, status, code):
    before = row_counts()
    stock_before = {sku: stock_of(sku) for sku in ("BL-BDX-1", "VQ-CAM-5KG")}
    error_of(client.post(f"{BASE}/{token}/complete"), status, code)
    assert row_counts() == before
    assert {sku: stock_of(sku) for sku in stock_before} == stock_before
    assert client.get(f"{BASE}/{token}").get_json()["status"] == "open"
    ledger_ok()


def test_stock_gone_meanwhile_fails_completion_without_leftovers(client, demo):
    """Two lines; the second lost its stock after it was added: nothing is allocated, not even line one."""
    from core.db import commit, db
    from core.inventory.models import Stock
    from core.accounts.models import User
    from core.catalogue.models import Variant
    from core.inventory import ledger
    checkout = checkout_for(client, [("BL-BDX-1", 2), ("VQ-CAM-5KG", 99)])
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    variant = db.session.execute(select(Variant).where(Variant.sku == "VQ-CAM-5KG")).scalar_one()
    assert ledger.stock_level(variant)["available"] == 150
    row = db.session.execute(select(Stock).where(Stock.variant_id == variant.id)).scalar_one()
    ledger.adjust(row.location_id, variant, -60, actor=admin, reason="hư hỏng")
    commit()
    _failed_completion_leaves_nothing(client, checkout["token"], 409, "stock.insufficient")


def test_product_delisted_meanwhile_fails_completion_without_leftovers(client, demo):
    checkout = checkout_for(client, [("BL-BDX-1", 2), ("VQ-CAM-5KG", 1)])
    from core.db import commit, db
    from core.catalogue.models import Product
    product = db.session.execute(select(Product).where(Product.slug == "cam-vu-quang")).scalar_one()
    product.is_listed = False
    commit()
    _failed_completion_leaves_nothing(client, checkout["token"], 422, "product.not_listed")


def test_order_attribution_and_created_hook_fire_after_commit_only(app, client, demo):
    from core.hookspecs import hookimpl
    from core.plugins import plugin_manager
    from core.db import db
    from core.sales.models import Order

    seen = []

    class Attribution:
        @hookimpl
        def order_attribution(self, order):
            return {"source": "livestream", "reference": "ls-42"}

        @hookimpl
        def order_created(self, order):
            # after commit: the order is visible from a fresh query
            seen.append(db.session.execute(select(Order.number).where(Order.id == order.id)).scalar_one())

    pm = plugin_manager()
    plugin = Attribution()
    pm.register(plugin, name="test-attribution")
    try:
        order = place_order(client, [("BL-BDX-1", 1)])
        failing = checkout_for(client, [("BL-TDB-50", 35)])
        other = place_order(client, [("BL-TDB-50", 1)])
        error_of(client.post(f"{BASE}/{failing['token']}/complete"), 409, "stock.insufficient")
    finally:
        pm.unregister(plugin)
        pm.infos.pop("test-attribution", None)
    assert seen == [order["number"], other["number"]]  # nothing for the failed completion
    db.session.rollback()
    stored = db.session.execute(select(Order.attribution).where(Order.number == order["number"])).scalar_one()
    assert stored == {"source": "livestream", "reference": "ls-42"}


def test_order_numbers_are_sequential_per_year(client, demo):
    numbers = [place_order(client, [("BL-BDX-1", 1)])["number"] for _ in range(3)]
    values = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert values == [values[0], values[0] + 1, values[0] + 2]
    from core.db import db
    from core.sales import orders
    assert orders.next_number(2027) == "OCOP-2027-000001"
    db.session.rollback()


def test_a_carrier_plugin_quotes_through_the_shipping_methods_hook(app, client, demo):
    """A third-party carrier implementing ``shipping_methods`` is offered next to the flat rates."""
    from core.hookspecs import hookimpl
    from core.plugins import plugin_manager
    from core.sales.shipping import ShippingQuote
    seen = []

    class Carrier:
        @hookimpl
        def shipping_methods(self, checkout, address):
            seen.append(address)
            return [ShippingQuote("ghn_fast", "GHN Nhanh", "GHN fast", 27000, 2, "ghn"),
                    ShippingQuote("broken", "Lỗi", "Broken", -5, 1, "ghn")]  # a negative fee is ignored

    pm = plugin_manager()
    carrier = Carrier()
    pm.register(carrier, name="test-carrier")
    try:
        checkout = checkout_for(client, [("BL-BDX-1", 2), ("VQ-CAM-5KG", 1)], delivery=None)
        codes = {q["code"]: q["fee"] for q in
                 client.get(f"{BASE}/{checkout['token']}/delivery-methods").get_json()["results"]}
        assert codes["ghn_fast"] == 27000 and "broken" not in codes and "standard" in codes
        body = client.patch(f"{BASE}/{checkout['token']}", json={"delivery_method": "ghn_fast"}).get_json()
        assert body["shipping_fee"] == 27000 and body["delivery"]["name"] == "GHN Nhanh"
        order = client.post(f"{BASE}/{checkout['token']}/complete").get_json()
        assert order["shipping_fee"] == 27000 and order["delivery"]["method"] == "ghn_fast"
    finally:
        pm.unregister(carrier)
        pm.infos.pop("test-carrier", None)
    address = seen[0]
    assert address["province_code"] == "75" and address["commune_code"] == "26188"
    assert address["weight_g"] == 3000 and address["subtotal"] == 2 * 65000 + 250000
    assert sorted(p["province_code"] for p in address["parcels"]) == ["42", "75"]


def test_a_checkout_edited_during_completion_is_not_placed_stale(app, client, demo, monkeypatch):
    """If the cart changes between reading it and claiming it, the attempt fails cleanly (409) and can be retried."""
    import datetime as dt
    from sqlalchemy import update
    from core.db import db, utcnow
    from core.sales.models import Checkout
    from core.sales import orders
    checkout = checkout_for(client, [("BL-BDX-1", 2)])
    original = orders.next_number

    def racing_next_number(*args, **kwargs):
        with db.engine.begin() as conn:  # another request edits the cart meanwhile
            conn.execute(update(Checkout).where(Checkout.token == checkout["token"])
                         .values(updated_at=utcnow() + dt.timedelta(seconds=1)))
        return original(*args, **kwargs)

    monkeypatch.setattr(orders, "next_number", racing_next_number)
    before = stock_of("BL-BDX-1")
    error_of(client.post(f"{BASE}/{checkout['token']}/complete"), 409, "checkout.changed")
    assert stock_of("BL-BDX-1") == before
    monkeypatch.setattr(orders, "next_number", original)
    assert client.post(f"{BASE}/{checkout['token']}/complete").status_code == 201
