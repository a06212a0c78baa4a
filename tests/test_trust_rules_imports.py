"""Trust boundaries of the bulk import: only verified producers are matched (a squatter's self-registration
under a real tax code receives nothing), and certifications follow the API's role rule."""
from __future__ import annotations

import io

from sqlalchemy import select

from core.db import commit, db
from core.catalogue.models import Producer, Product
from core.certification.models import Certification
from core.imports.catalogue_import import COLUMNS
from core.imports.formats import write_csv
from support.checks import error_of, row_counts

URL = "/admin/v1/imports"
TAX_CODE = "3603312413"
SQUATTER = {
    "name": "Công ty TNHH Thực phẩm Phú Lý", "legal_form": "enterprise", "tax_code": TAX_CODE,
    "registration_no": TAX_CODE, "commune_code": "26173", "address": "Ấp 2", "contact_name": "Kẻ Giả",
    "phone": "0912 345 679", "email": "gia@example.vn", "username": "phuly.gia", "password": "mat-khau-2026",
}


def _row(**changes) -> dict:
    row = {"producer_name": "Công ty TNHH Thực phẩm Phú Lý", "legal_form": "enterprise", "tax_code": TAX_CODE,
           "registration_no": TAX_CODE, "commune_code": "26173", "product_name": "Chả lụa Phú Lý",
           "group": "food", "product_set": "processed_meat_eggs_milk_seafood_honey",
           "variant_sku": "PL-CL-500", "variant_name": "Cây 500 g", "gtin": "8930000100047", "unit": "cây",
           "weight_g": "500", "price": "120.000", "cert_stars": "3", "cert_score": "58", "cert_level": "province",
           "cert_criteria": "148", "cert_decision_no": "3001/QĐ-UBND", "cert_issued_on": "2025-10-01"}
    row.update(changes)
    return row


def _post(client, headers, rows):
    data = write_csv(list(COLUMNS), rows).encode("utf-8")
    return client.post(URL, headers=headers, data={"file": (io.BytesIO(data), "import.csv")},
                       content_type="multipart/form-data")


def test_a_pending_producer_with_the_tax_code_is_a_row_error(client, demo, login):
    assert client.post("/storefront/v1/producer-registrations", json=SQUATTER).status_code == 201
    admin = login("admin")
    before = row_counts()
    error = error_of(_post(client, admin, [_row()]), 422, "import.invalid")
    assert [(r["row"], r["column"], r["code"]) for r in error["details"]["rows"]] == [
        (2, "tax_code", "import.producer_not_verified")]
    assert row_counts() == before
    squatter = db.session.execute(select(Producer).where(Producer.tax_code == TAX_CODE)).scalar_one()
    assert db.session.execute(select(Product).where(Product.producer_id == squatter.id)).first() is None


def test_a_verified_producer_is_matched_by_tax_code(client, demo, login):
    assert client.post("/storefront/v1/producer-registrations", json=SQUATTER).status_code == 201
    producer = db.session.execute(select(Producer).where(Producer.tax_code == TAX_CODE)).scalar_one()
    producer.status = "verified"
    commit()
    response = _post(client, login("admin"), [_row()])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"]["producers"] == 0


def test_a_pending_producer_is_not_matched_by_name_either(client, demo, login):
    assert client.post("/storefront/v1/producer-registrations",
                       json={**SQUATTER, "tax_code": None, "registration_no": None}).status_code == 201
    pending = db.session.execute(select(Producer).where(Producer.status == "pending")).scalar_one()
    response = _post(client, login("admin"), [_row(tax_code="", registration_no="")])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"]["producers"] == 1
    assert db.session.execute(select(Product).where(Product.producer_id == pending.id)).first() is None


def test_an_organiser_records_no_certification_through_the_import(client, demo, login):
    organiser = login("sct.dongnai")
    certificates = db.session.execute(select(Certification.id)).scalars().all()
    before = row_counts()
    error = error_of(_post(client, organiser, [_row()]), 422, "import.invalid")
    assert [(r["row"], r["column"], r["code"]) for r in error["details"]["rows"]] == [
        (2, "cert_level", "auth.forbidden")]
    assert row_counts() == before
    assert db.session.execute(select(Certification.id)).scalars().all() == certificates
    # without the certification columns the organiser imports its province's producers and products
    response = _post(client, organiser, [_row(**{c: "" for c in COLUMNS if c.startswith("cert_")})])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"]["certifications"] == 0
