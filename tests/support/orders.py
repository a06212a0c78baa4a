"""Helpers for checkout, order and payment tests: build a checkout over HTTP, place an order, read stock."""
from __future__ import annotations

from sqlalchemy import func, select

#: a current (2025) address in Đồng Nai
ADDRESS_DONG_NAI = {"province_code": "75", "commune_code": "26188", "street": "12 Nguyễn Văn Trỗi"}
#: the same place written with the retired pre-2025 units
ADDRESS_RETIRED = {"province_code": "DNA", "district_code": "DNA-VC", "commune_code": "DNA-VC-BL",
                   "street": "Ấp 3"}
CONTACT = {"full_name": "Nguyễn Thị Lan", "phone": "0912 345 678", "email": "lan@example.vn"}


def checkout_for(client, lines, *, address=ADDRESS_DONG_NAI, delivery="standard", gateway=None,
                 contact=CONTACT) -> dict:
    """Create a checkout with ``lines`` = [(sku, quantity), …] and details; return its JSON (asserts 201/200)."""
    body = {"lines": [{"sku": sku, "quantity": q} for sku, q in lines], **(contact or {})}
    if address is not None:
        body["shipping_address"] = address
    response = client.post("/storefront/v1/checkouts", json=body)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    patch = {}
    if delivery:
        patch["delivery_method"] = delivery
    if gateway:
        patch["payment_gateway"] = gateway
    if patch:
        response = client.patch(f"/storefront/v1/checkouts/{data['token']}", json=patch)
        assert response.status_code == 200, response.get_json()
        data = response.get_json()
    return data


def place_order(client, lines=(("VQ-CAM-5KG", 1),), *, key=None, **kwargs) -> dict:
    """Checkout + complete; return the order JSON (asserts 201)."""
    token = checkout_for(client, lines, **kwargs)["token"]
    headers = {"Idempotency-Key": key} if key else {}
    response = client.post(f"/storefront/v1/checkouts/{token}/complete", headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stock_of(sku: str) -> tuple[int, int]:
    """(on_hand, allocated) of a SKU summed over all locations (committed state)."""
    from core.db import db
    from core.inventory.models import Stock
    from core.catalogue.models import Variant
    db.session.rollback()
    row = db.session.execute(select(func.coalesce(func.sum(Stock.on_hand), 0), func.coalesce(func.sum(Stock.allocated), 0))
                             .join(Variant, Variant.id == Stock.variant_id).where(Variant.sku == sku)).one()
    return int(row[0]), int(row[1])


def order_id(number: str) -> int:
    from core.db import db
    from core.sales.models import Order
    db.session.rollback()
    return db.session.execute(select(Order.id).where(Order.number == number)).scalar_one()


def ledger_ok() -> None:
    """Assert every stock figure equals the sum of its ledger."""
    from core.db import db
    from core.inventory import ledger
    db.session.rollback()
    assert ledger.verify_ledger() == []
