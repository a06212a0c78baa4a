"""Admin catalogue API: producers, products, variants, images — validation, scope and storage."""
from __future__ import annotations

import io
import unicodedata

import pytest
from sqlalchemy import select

from core.db import db
from core.catalogue.models import Producer, Product, ProductImage, Variant
from core.accounts.authentication import create_user
from core.db import commit
from support.checks import error_of, row_counts

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)
GOOD_TAX = "3601234569"
GOOD_GTIN = "8930000009999"  # GS1 prefix 893, valid check digit


def _product(name) -> Product:
    return db.session.execute(select(Product).where(Product.name == name)).scalar_one()


def _producer(slug_part) -> Producer:
    return db.session.execute(select(Producer).where(Producer.slug.contains(slug_part))).scalar_one()


@pytest.fixture
def organiser_42(demo):
    """A Department of Industry and Trade user of Hà Tĩnh (42) — another province than the demo organiser."""
    create_user("sct.hatinh", "ocop-demo-2026", "organiser", province_code="42", full_name="Sở Công Thương Hà Tĩnh")
    commit()
    return "sct.hatinh"


def _new_product(**overrides):
    body = {"name": "Bánh tráng mè Tân Bình", "group": "food", "product_set": "processed_rice_grains",
            "description": "Bánh tráng nướng\nmè đen.",
            "variants": [{"sku": "TG-BTM-1", "name": "Gói 10 cái", "price": 35000, "gtin": GOOD_GTIN,
                          "unit": "gói", "weight_g": 300}]}
    body.update(overrides)
    return body


# --- products -----------------------------------------------------------------
def test_producer_user_creates_a_product_for_itself(client, demo, login):
    headers = login("cs.tran-gia")
    response = client.post("/admin/v1/products", json=_new_product(), headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["producer_id"] == _producer("tran-gia").id
    assert body["slug"] == "banh-trang-me-tan-binh"
    assert body["status"] == "draft" and body["is_listed"] is False
    assert body["price_min"] == 35000 == body["price_max"]
    assert body["variants"][0]["gtin"] == GOOD_GTIN
    assert body["description"] == "Bánh tráng nướng\nmè đen."  # multiline text keeps its newline
    # visible to its producer, not to another producer
    assert client.get(f"/admin/v1/products/{body['id']}", headers=headers).status_code == 200
    error_of(client.get(f"/admin/v1/products/{body['id']}", headers=login("cs.son-an")), 403, "auth.out_of_scope")


def test_name_in_nfd_is_stored_nfc(client, demo, login):
    nfd = unicodedata.normalize("NFD", "Bánh tét lá cẩm Trần Gia")
    assert nfd != unicodedata.normalize("NFC", nfd)
    response = client.post("/admin/v1/products", headers=login("cs.tran-gia"),
                           json=_new_product(name=nfd, variants=[]))
    assert response.status_code == 201
    assert response.get_json()["name"] == "Bánh tét lá cẩm Trần Gia"
    stored = db.session.get(Product, response.get_json()["id"])
    assert stored.name == unicodedata.normalize("NFC", stored.name) == "Bánh tét lá cẩm Trần Gia"
    assert stored.slug == "banh-tet-la-cam-tran-gia"


@pytest.mark.parametrize("change, field", [
    ({"variants": [{"sku": "TG-X-1", "name": "Gói", "price": 35000, "gtin": "8930000009991"}]}, "gtin"),
    ({"variants": [{"sku": "TG-X-1", "name": "Gói", "price": 35000, "gtin": "893000000999"}]}, "gtin"),
    ({"name": "Bánh\u0000 tét"}, "name"),
    ({"name": "Bánh\u200b tét"}, "name"),  # zero-width space (format character)
    ({"colour": "xanh"}, "colour"),
    ({"variants": [{"sku": "TG-X-1", "name": "Gói", "price": 35000, "colour": "xanh"}]}, "variants"),
    ({"variants": [{"sku": "TG-X-1", "name": "Gói", "price": 350.5}]}, "variants"),
    ({"variants": [{"sku": "TG-X-1", "name": "Gói", "price": 0}]}, "variants"),
    ({"group": "jewellery"}, "group"),
    ({"product_set": "fresh_produce", "group": "handicrafts"}, "product_set"),
    ({"origin_commune_code": "75"}, "origin_commune_code"),  # a province is not a commune
])
def test_bad_product_input_is_422_and_changes_nothing(client, demo, login, change, field):
    headers = login("cs.tran-gia")
    before = row_counts()
    error = error_of(client.post("/admin/v1/products", json=_new_product(**change), headers=headers), 422)
    assert field in error["details"] or field in error["message_en"], error
    assert row_counts() == before


def test_duplicate_sku_is_409_and_changes_nothing(client, demo, login):
    headers = login("cs.tran-gia")
    before = row_counts()
    body = _new_product(variants=[{"sku": "TG-BT-1", "name": "Trùng", "price": 10000}])  # demo SKU
    error_of(client.post("/admin/v1/products", json=body, headers=headers), 409, "variant.sku_taken")
    assert row_counts() == before


def test_producer_user_cannot_edit_another_producers_product(client, demo, login):
    wine = _product("Rượu Nhung Hươu Hương Sơn")
    headers = login("cs.htx-binh-loi")
    before = row_counts()
    error = error_of(client.patch(f"/admin/v1/products/{wine.id}", json={"name": "Đã bị sửa"},
                                  headers=headers), 403, "auth.out_of_scope")
    assert error["details"] == {"producer_id": wine.producer_id}
    db.session.expire_all()
    assert _product("Rượu Nhung Hươu Hương Sơn").name == "Rượu Nhung Hươu Hương Sơn"
    assert row_counts() == before
    # nor create a product for it
    error_of(client.post("/admin/v1/products", json=_new_product(producer_id=wine.producer_id),
                         headers=headers), 403, "auth.out_of_scope")
    # nor add a variant or an image to it
    error_of(client.post(f"/admin/v1/products/{wine.id}/variants", headers=headers,
                         json={"sku": "X-1", "name": "x", "price": 1000}), 403, "auth.out_of_scope")
    error_of(client.post(f"/admin/v1/products/{wine.id}/images", headers=headers,
                         data={"file": (io.BytesIO(PNG), "a.png", "image/png")}), 403, "auth.out_of_scope")
    assert row_counts() == before


def test_producer_user_edits_own_product(client, demo, login):
    pomelo = _product("Bưởi da xanh Bình Lợi")
    response = client.patch(f"/admin/v1/products/{pomelo.id}", headers=login("cs.htx-binh-loi"),
                            json={"story": "Vườn bưởi ven sông Đồng Nai.\nHơn 30 năm."})
    assert response.status_code == 200
    assert response.get_json()["story"].endswith("Hơn 30 năm.")
    assert response.get_json()["is_listed"] is True


def test_roles_and_provinces_scope_product_edits(client, demo, login, organiser_42):
    pomelo = _product("Bưởi da xanh Bình Lợi")
    # the Đồng Nai organiser may edit a Đồng Nai product
    ok = client.patch(f"/admin/v1/products/{pomelo.id}", json={"description": "Mô tả mới"},
                      headers=login("sct.dongnai"))
    assert ok.status_code == 200
    # the Hà Tĩnh organiser may not
    error_of(client.patch(f"/admin/v1/products/{pomelo.id}", json={"description": "x"},
                          headers=login(organiser_42)), 403, "auth.out_of_scope")
    # a certifier may read but not edit products
    assert client.get(f"/admin/v1/products/{pomelo.id}", headers=login("hoidong.dongnai")).status_code == 200
    error = error_of(client.patch(f"/admin/v1/products/{pomelo.id}", json={"description": "x"},
                                  headers=login("hoidong.dongnai")), 403, "auth.forbidden")
    assert set(error["details"]["allowed_roles"]) == {"admin", "organiser", "producer"}


def test_product_lists_are_scoped(client, demo, login, organiser_42):
    def names(username, query=""):
        body = client.get(f"/admin/v1/products?limit=100{query}", headers=login(username)).get_json()
        assert body["total"] == len(body["results"])
        return {p["name"] for p in body["results"]}

    assert len(names("admin")) == 9
    assert len(names("sct.dongnai")) == 7
    assert names(organiser_42) == {"Cam Vũ Quang"}
    assert names("cs.htx-binh-loi") == {"Bưởi da xanh Bình Lợi", "Tinh dầu bưởi Bình Lợi"}
    assert names("admin", "&listed=false") == {"Rượu nhung nai Hiếu Liêm", "Bánh tét đặc sản Trần Gia"}
    error_of(client.get("/admin/v1/products?limit=101", headers=login("admin")), 422, "validation.invalid")
    error_of(client.get("/admin/v1/products?colour=red", headers=login("admin")), 422, "validation.invalid")
    error_of(client.get("/admin/v1/products"), 401, "auth.required")


def test_archiving_delists_and_reactivating_relists(client, demo, login):
    oil = _product("Tinh dầu bưởi Bình Lợi")
    headers = login("cs.htx-binh-loi")
    assert client.get(f"/storefront/v1/products/{oil.slug}").status_code == 200
    response = client.patch(f"/admin/v1/products/{oil.id}", json={"status": "archived"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["is_listed"] is False
    error_of(client.get(f"/storefront/v1/products/{oil.slug}"), 404, "product.not_found")
    assert client.get("/storefront/v1/products").get_json()["total"] == 6
    response = client.patch(f"/admin/v1/products/{oil.id}", json={"status": "active"}, headers=headers)
    assert response.get_json()["is_listed"] is True
    assert client.get("/storefront/v1/products").get_json()["total"] == 7


def test_product_bad_patch_is_422_and_unchanged(client, demo, login):
    pomelo = _product("Bưởi da xanh Bình Lợi")
    headers = login("cs.htx-binh-loi")
    for body, field in (({"status": "sold_out"}, "status"), ({"slug": "Bad Slug"}, "slug"),
                        ({"name": "a\u0085b"}, "name"), ({"producer_id": 1}, "producer_id")):
        error = error_of(client.patch(f"/admin/v1/products/{pomelo.id}", json=body, headers=headers), 422)
        assert field in error["details"] or field in error["message_en"]
    db.session.expire_all()
    assert pomelo.status == "active" and pomelo.slug == "buoi-da-xanh-binh-loi"
    # a taken slug is a conflict
    error_of(client.patch(f"/admin/v1/products/{pomelo.id}", json={"slug": "tinh-dau-buoi-binh-loi"},
                          headers=headers), 409, "product.slug_taken")


def test_unknown_product_is_404(client, demo, login):
    error_of(client.get("/admin/v1/products/999999", headers=login("admin")), 404, "product.not_found")
    error_of(client.patch("/admin/v1/products/999999", json={"name": "xx"}, headers=login("admin")), 404)


# --- variants -----------------------------------------------------------------
def test_variants_add_and_edit(client, demo, login):
    pomelo = _product("Bưởi da xanh Bình Lợi")
    headers = login("cs.htx-binh-loi")
    response = client.post(f"/admin/v1/products/{pomelo.id}/variants", headers=headers,
                           json={"sku": "BL-BDX-THUNG", "name": "Thùng 10 kg", "price": 500000, "weight_g": 10000})
    assert response.status_code == 201
    variant_id = response.get_json()["id"]
    db.session.expire_all()
    assert pomelo.price_max == 500000
    response = client.patch(f"/admin/v1/variants/{variant_id}", headers=headers,
                            json={"price": 45000, "gtin": "893 0000 00999-9"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["gtin"] == GOOD_GTIN  # spaces and hyphens are dropped
    db.session.expire_all()
    assert pomelo.price_min == 45000 and pomelo.price_max == 150000


@pytest.mark.parametrize("body, status, code", [
    ({"gtin": "8930000009991"}, 422, "validation.invalid"),
    ({"price": -5}, 422, "validation.invalid"),
    ({"price": "65000"}, 422, "validation.invalid"),
    ({"sku": "NEW-SKU"}, 422, "validation.invalid"),  # the SKU cannot be changed
    ({"gtin": "8930000000019"}, 409, "variant.gtin_taken"),  # another demo variant's GTIN
])
def test_variant_bad_patch(client, demo, login, body, status, code):
    variant = db.session.execute(select(Variant).where(Variant.sku == "BL-BDX-1")).scalar_one()
    headers = login("cs.htx-binh-loi")
    before = (variant.gtin, variant.price, variant.sku)
    error_of(client.patch(f"/admin/v1/variants/{variant.id}", json=body, headers=headers), status, code)
    db.session.expire_all()
    assert (variant.gtin, variant.price, variant.sku) == before


def test_variant_of_another_producer_is_403(client, demo, login):
    variant = db.session.execute(select(Variant).where(Variant.sku == "BL-BDX-1")).scalar_one()
    error_of(client.patch(f"/admin/v1/variants/{variant.id}", json={"price": 1000},
                          headers=login("cs.son-an")), 403, "auth.out_of_scope")
    error_of(client.patch(f"/admin/v1/variants/{variant.id}", json={"price": 1000}), 401, "auth.required")


# --- producers ----------------------------------------------------------------
def _new_producer(**overrides):
    body = {"name": "HTX Nông nghiệp Tân Bình", "legal_form": "cooperative", "tax_code": GOOD_TAX,
            "commune_code": "26188", "phone": "0251 3861 234", "email": "htx.tanbinh@example.vn"}
    body.update(overrides)
    return body


def test_organiser_creates_a_verified_producer_in_their_province(client, demo, login):
    response = client.post("/admin/v1/producers", json=_new_producer(), headers=login("sct.dongnai"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "verified" and body["province_code"] == "75"
    assert body["tax_code"] == GOOD_TAX and body["slug"] == "htx-nong-nghiep-tan-binh"
    # a branch tax code (10-3) is normalised
    branch = client.post("/admin/v1/producers", headers=login("admin"),
                         json=_new_producer(name="Chi nhánh HTX Tân Bình", tax_code="3601234569 001"))
    assert branch.status_code == 201 and branch.get_json()["tax_code"] == "3601234569-001"


@pytest.mark.parametrize("change, field, status", [
    ({"tax_code": "3601234568"}, "tax_code", 422),  # wrong check digit
    ({"tax_code": "36012345"}, "tax_code", 422),
    ({"name": "HTX\u0007 Tân Bình"}, "name", 422),
    ({"legal_form": "corporation"}, "legal_form", 422),
    ({"commune_code": "99999"}, "commune_code", 422),
    ({"fax": "0251 000"}, "fax", 422),
    ({"email": "not-an-email"}, "email", 422),
    ({"legal_form": "enterprise", "registration_no": "0100100079"}, "registration_no", 422),
])
def test_bad_producer_input_is_422_and_changes_nothing(client, demo, login, change, field, status):
    headers = login("sct.dongnai")
    before = row_counts()
    error = error_of(client.post("/admin/v1/producers", json=_new_producer(**change), headers=headers), status)
    assert field in error["details"] or field in error["message_en"], error
    assert row_counts() == before


def test_duplicate_tax_code_is_409(client, demo, login):
    headers = login("admin")
    assert client.post("/admin/v1/producers", json=_new_producer(), headers=headers).status_code == 201
    before = row_counts()
    error_of(client.post("/admin/v1/producers", json=_new_producer(name="Khác"), headers=headers),
             409, "producer.tax_code_taken")
    assert row_counts() == before


def test_organiser_of_another_province_cannot_change_a_producer(client, demo, login, organiser_42):
    binh_loi = _producer("binh-loi")
    headers = login(organiser_42)
    before = row_counts()
    error_of(client.patch(f"/admin/v1/producers/{binh_loi.id}", json={"phone": "0901 234 567"}, headers=headers),
             403, "auth.out_of_scope")
    error_of(client.post(f"/admin/v1/producers/{binh_loi.id}/status", json={"status": "suspended"},
                         headers=headers), 403, "auth.out_of_scope")
    error_of(client.get(f"/admin/v1/producers/{binh_loi.id}", headers=headers), 403, "auth.out_of_scope")
    # nor create one in Đồng Nai
    error_of(client.post("/admin/v1/producers", json=_new_producer(), headers=headers), 403, "auth.out_of_scope")
    assert row_counts() == before
    db.session.expire_all()
    assert binh_loi.phone is None and binh_loi.status == "verified"
    # it may act in its own province
    own = client.post("/admin/v1/producers", json=_new_producer(commune_code="18313"), headers=headers)
    assert own.status_code == 201 and own.get_json()["province_code"] == "42"
    listed = client.get("/admin/v1/producers?limit=100", headers=headers).get_json()
    assert {p["province_code"] for p in listed["results"]} == {"42"} and listed["total"] == 2


def test_organiser_cannot_move_a_producer_out_of_their_province(client, demo, login):
    binh_loi = _producer("binh-loi")
    error_of(client.patch(f"/admin/v1/producers/{binh_loi.id}", json={"commune_code": "18313"},
                          headers=login("sct.dongnai")), 403, "auth.out_of_scope")
    db.session.expire_all()
    assert binh_loi.province_code == "75" and binh_loi.commune_code == "DNA-VC-BL"


def test_producer_user_edits_only_its_own_producer(client, demo, login):
    own, other = _producer("binh-loi"), _producer("son-an")
    headers = login("cs.htx-binh-loi")
    response = client.patch(f"/admin/v1/producers/{own.id}", headers=headers,
                            json={"website": "https://binhloi.example.vn", "tax_code": GOOD_TAX})
    assert response.status_code == 200 and response.get_json()["website"] == "https://binhloi.example.vn"
    error_of(client.patch(f"/admin/v1/producers/{other.id}", json={"phone": "0901 234 567"}, headers=headers),
             403, "auth.out_of_scope")
    error_of(client.post(f"/admin/v1/producers/{own.id}/status", json={"status": "verified"}, headers=headers),
             403, "auth.forbidden")
    error_of(client.post("/admin/v1/producers", json=_new_producer(tax_code=None), headers=headers),
             403, "auth.forbidden")
    body = client.get("/admin/v1/producers", headers=headers).get_json()
    assert [p["id"] for p in body["results"]] == [own.id]


def test_enterprise_registration_number_must_equal_tax_code(client, demo, login):
    son_an = _producer("son-an")  # an enterprise
    headers = login("sct.dongnai")
    ok = client.patch(f"/admin/v1/producers/{son_an.id}", headers=headers,
                      json={"tax_code": GOOD_TAX, "registration_no": GOOD_TAX})
    assert ok.status_code == 200
    # changing only the registration number is checked against the stored tax code too
    error = error_of(client.patch(f"/admin/v1/producers/{son_an.id}", headers=headers,
                                  json={"registration_no": "0100100079"}), 422)
    assert "registration_no" in error["details"]


def test_suspending_a_producer_delists_its_products(client, demo, login):
    binh_loi = _producer("binh-loi")
    headers = login("sct.dongnai")
    response = client.post(f"/admin/v1/producers/{binh_loi.id}/status", headers=headers,
                           json={"status": "suspended", "reason": "Kiểm tra an toàn thực phẩm"})
    assert response.status_code == 200 and response.get_json()["status"] == "suspended"
    assert client.get("/storefront/v1/products").get_json()["total"] == 5
    error_of(client.get(f"/storefront/v1/producers/{binh_loi.slug}"), 404, "producer.not_found")
    assert client.post(f"/admin/v1/producers/{binh_loi.id}/status", headers=headers,
                       json={"status": "verified"}).status_code == 200
    assert client.get("/storefront/v1/products").get_json()["total"] == 7
    error_of(client.post(f"/admin/v1/producers/{binh_loi.id}/status", headers=headers,
                         json={"status": "pending"}), 422, "validation.invalid")


def test_producer_list_filters(client, demo, login):
    headers = login("admin")

    def total(query):
        return client.get(f"/admin/v1/producers?{query}", headers=headers).get_json()["total"]

    assert total("") == 8
    assert total("legal_form=cooperative") == 3
    assert total("province=75") == 6
    assert total("q=binh loi") == 1
    assert total("status=pending") == 0
    error_of(client.get("/admin/v1/producers?status=unknown", headers=headers), 422, "validation.invalid")
    error_of(client.get("/admin/v1/producers"), 401, "auth.required")
    error_of(client.get("/admin/v1/producers/999999", headers=headers), 404, "producer.not_found")


# --- images -------------------------------------------------------------------
def _upload(client, product_id, headers, data=PNG, content_type="image/png", name="anh.png", **form):
    return client.post(f"/admin/v1/products/{product_id}/images", headers=headers,
                       data={"file": (io.BytesIO(data), name, content_type), **form},
                       content_type="multipart/form-data")


def test_png_upload_is_stored_and_served(client, demo, login):
    pomelo = _product("Bưởi da xanh Bình Lợi")
    response = _upload(client, pomelo.id, login("cs.htx-binh-loi"), alt="Bưởi da xanh")
    assert response.status_code == 201, response.get_json()
    image = response.get_json()
    assert image["content_type"] == "image/png" and image["size_bytes"] == len(PNG)
    assert image["storage_key"].startswith(f"products/{pomelo.id}/") and image["storage_key"].endswith(".png")
    served = client.get(f"/media/{image['storage_key']}")
    assert served.status_code == 200
    assert served.data == PNG and served.mimetype == "image/png"
    served.close()
    # the storefront shows it
    detail = client.get(f"/storefront/v1/products/{pomelo.slug}").get_json()
    assert detail["images"] == [{"url": f"/media/{image['storage_key']}", "alt": "Bưởi da xanh"}]
    assert detail["image"] == f"/media/{image['storage_key']}"
    # path tricks do not escape the media folder
    assert client.get("/media/../secret_key").status_code == 404
    assert client.get("/media/products/none.png").status_code == 404


def test_image_by_url(client, demo, login):
    pomelo = _product("Bưởi da xanh Bình Lợi")
    headers = login("cs.htx-binh-loi")
    response = client.post(f"/admin/v1/products/{pomelo.id}/images", headers=headers,
                           json={"url": "https://cdn.example.vn/buoi.jpg", "alt": "Bưởi"})
    assert response.status_code == 201 and response.get_json()["url"] == "https://cdn.example.vn/buoi.jpg"
    before = row_counts()
    for body, field in (({"url": "ftp://x/y.jpg"}, "url"), ({}, "url"),
                        ({"url": "https://x.vn/a.jpg", "caption": "x"}, "caption")):
        error = error_of(client.post(f"/admin/v1/products/{pomelo.id}/images", json=body, headers=headers), 422)
        assert field in error["details"]
    assert row_counts() == before


@pytest.mark.parametrize("data, content_type, status, code", [
    (b"just some text", "text/plain", 415, "image.unsupported_type"),
    (PNG, "image/gif", 415, "image.unsupported_type"),
    (JPEG, "image/png", 422, "image.content_mismatch"),
    (PNG, "image/jpeg", 422, "image.content_mismatch"),
    (PNG + bytes(5 * 1024 * 1024), "image/png", 413, "image.too_large"),
])
def test_bad_uploads_are_refused_and_store_nothing(client, demo, login, app, data, content_type, status, code):
    pomelo = _product("Bưởi da xanh Bình Lợi")
    media = app.config["OCOP"].instance_path / "media" / "products" / str(pomelo.id)
    files_before = sorted(media.rglob("*")) if media.exists() else []
    headers = login("cs.htx-binh-loi")
    before = row_counts()
    error_of(_upload(client, pomelo.id, headers, data=data, content_type=content_type), status, code)
    assert row_counts() == before
    assert (sorted(media.rglob("*")) if media.exists() else []) == files_before


def test_upload_needs_the_file_field_and_a_token(client, demo, login):
    pomelo = _product("Bưởi da xanh Bình Lợi")
    response = client.post(f"/admin/v1/products/{pomelo.id}/images", headers=login("cs.htx-binh-loi"),
                           data={"picture": (io.BytesIO(PNG), "a.png", "image/png")},
                           content_type="multipart/form-data")
    assert "file" in error_of(response, 422)["details"]
    error_of(_upload(client, pomelo.id, {}), 401, "auth.required")
    assert db.session.execute(select(ProductImage)).first() is None
