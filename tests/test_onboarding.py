"""Producer onboarding: self-registration → pending → organiser of the province verifies → may sell."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import db
from core.audit.models import AuditEvent
from core.catalogue.models import Producer, Product
from core.accounts.models import User

TAX_CODE = "0100000028"  # valid check digit (stdnum.vn.mst)
REGISTRATION = {
    "name": "Công ty TNHH Mật Ong Tân Triều", "legal_form": "enterprise", "tax_code": TAX_CODE,
    "registration_no": TAX_CODE, "commune_code": "26188", "address": "Ấp 1, Phường Tân Triều",
    "contact_name": "Nguyễn Văn An", "phone": "0912 345 678", "email": "an@matong.vn",
    "username": "matong.tantrieu", "password": "mat-khau-2026",
}
PRODUCT = {"name": "Mật ong hoa cà phê", "group": "food",
           "variants": [{"sku": "MOTT-500", "name": "Chai 500 ml", "price": 180000}]}


def _error(response, status, code=None):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "message_en", "details"}
    if code:
        assert error["code"] == code, error
    return error


def _count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_register_verify_then_sell(client, demo, login):
    response = client.post("/storefront/v1/producer-registrations", json=REGISTRATION)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["producer"]["status"] == "pending" and body["producer"]["province_code"] == "75"
    assert body["producer"]["tax_code"] == TAX_CODE
    assert body["user"] == {"id": body["user"]["id"], "username": "matong.tantrieu", "role": "producer"}
    assert "password" not in str(body)
    producer_id = body["producer"]["id"]
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "producer.registered")).scalar_one()
    assert event.province_code == "75" and event.actor_username == "matong.tantrieu"

    # the producer user can log in and see its producer, but cannot create products yet
    headers = login("matong.tantrieu", "mat-khau-2026")
    assert client.get(f"/admin/v1/producers/{producer_id}", headers=headers).get_json()["status"] == "pending"
    before = _count(Product)
    _error(client.post("/admin/v1/products", headers=headers, json=PRODUCT), 403, "producer.not_verified")
    assert _count(Product) == before
    # and it is not on the storefront
    slug = body["producer"]["slug"]
    _error(client.get(f"/storefront/v1/producers/{slug}"), 404)

    # an organiser of another province cannot verify it
    admin = login("admin")
    assert client.post("/admin/v1/users", headers=admin, json={
        "username": "sct.hatinh", "password": "mat-khau-123", "role": "organiser",
        "province_code": "42"}).status_code == 201
    _error(client.post(f"/admin/v1/producers/{producer_id}/status", headers=login("sct.hatinh", "mat-khau-123"),
                       json={"status": "verified"}), 403)
    assert db.session.get(Producer, producer_id).status == "pending"

    # the organiser of Đồng Nai (75) verifies it
    verified = client.post(f"/admin/v1/producers/{producer_id}/status", headers=login("sct.dongnai"),
                           json={"status": "verified"})
    assert verified.status_code == 200 and verified.get_json()["status"] == "verified"

    created = client.post("/admin/v1/products", headers=headers, json=PRODUCT)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["producer_id"] == producer_id and created.get_json()["is_listed"] is False
    product_id = created.get_json()["id"]
    assert client.patch(f"/admin/v1/products/{product_id}", headers=headers,
                        json={"story": "Ong nuôi dưới tán cà phê."}).status_code == 200

    # a suspended producer is read-only again
    assert client.post(f"/admin/v1/producers/{producer_id}/status", headers=login("sct.dongnai"),
                       json={"status": "suspended", "reason": "Kiểm tra an toàn thực phẩm"}).status_code == 200
    _error(client.patch(f"/admin/v1/products/{product_id}", headers=headers, json={"story": "x"}),
           403, "producer.not_verified")
    _error(client.post(f"/admin/v1/products/{product_id}/variants", headers=headers,
                       json={"sku": "MOTT-1000", "name": "Chai 1 lít", "price": 320000}), 403, "producer.not_verified")


def test_organiser_edits_of_a_pending_producers_catalogue_are_not_blocked(client, demo, login):
    """Only the producer's own users are held back; the province's organiser may prepare the catalogue."""
    body = client.post("/storefront/v1/producer-registrations", json=REGISTRATION).get_json()
    created = client.post("/admin/v1/products", headers=login("sct.dongnai"),
                          json={**PRODUCT, "producer_id": body["producer"]["id"]})
    assert created.status_code == 201, created.get_json()


@pytest.mark.parametrize("change, status, code, field", [
    ({"tax_code": "0100000029"}, 422, "validation.invalid", "tax_code"),       # wrong check digit
    ({"commune_code": "99999"}, 422, "validation.invalid", "commune_code"),   # unknown commune
    ({"commune_code": "75"}, 422, "validation.invalid", "commune_code"),      # a province, not a commune
    ({"legal_form": "corporation"}, 422, "validation.invalid", "legal_form"),
    ({"registration_no": "0100000035"}, 422, "validation.invalid", "registration_no"),  # ≠ tax code
    ({"password": "short"}, 422, "validation.invalid", "password"),
    ({"email": "not-an-email"}, 422, "validation.invalid", "email"),
    ({"phone": "call me"}, 422, "validation.invalid", "phone"),
    ({"username": "a b"}, 422, "validation.invalid", "username"),
    ({"status": "verified"}, 422, "validation.invalid", "status"),            # cannot self-verify
    ({"name": "Mật\u0000ong"}, 422, "validation.invalid", "name"),
    ({"username": "sct.dongnai"}, 409, "user.exists", None),
])
def test_registration_bad_input_writes_nothing(client, demo, change, status, code, field):
    producers, users = _count(Producer), _count(User)
    error = _error(client.post("/storefront/v1/producer-registrations", json={**REGISTRATION, **change}),
                   status, code)
    if field:
        assert field in error["details"]
    assert (_count(Producer), _count(User)) == (producers, users)


def test_missing_fields_and_duplicate_tax_code(client, demo):
    payload = {k: v for k, v in REGISTRATION.items() if k not in ("username", "commune_code")}
    error = _error(client.post("/storefront/v1/producer-registrations", json=payload), 422)
    assert {"username", "commune_code"} <= set(error["details"])
    assert client.post("/storefront/v1/producer-registrations", json=REGISTRATION).status_code == 201
    _error(client.post("/storefront/v1/producer-registrations", json={**REGISTRATION, "username": "another.one"}),
           409, "producer.tax_code_taken")


def test_pending_producer_user_still_refused_outside_its_scope(client, demo, login):
    client.post("/storefront/v1/producer-registrations", json=REGISTRATION)
    headers = login("matong.tantrieu", "mat-khau-2026")
    other = db.session.execute(select(Producer).where(Producer.status == "verified")).scalars().first()
    _error(client.post("/admin/v1/products", headers=headers, json={**PRODUCT, "producer_id": other.id}),
           403, "auth.out_of_scope")
    _error(client.post(f"/admin/v1/producers/{other.id}/status", headers=headers, json={"status": "verified"}),
           403, "auth.forbidden")
    _error(client.post("/admin/v1/products", json=PRODUCT), 401, "auth.required")
