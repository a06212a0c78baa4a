"""Public storefront catalogue on the demo data (OCOP_TODAY pinned to 2026-11-23)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import db
from core.catalogue.models import Product
from support.checks import error_of

LISTED = {
    "Rượu Nhung Hươu Hương Sơn", "Bưởi da xanh Bình Lợi", "Tinh dầu bưởi Bình Lợi",
    "Đèn gỗ trang trí nội thất Trị An", "Quýt hữu cơ Phú Lý", "Cam Vũ Quang", "Trải nghiệm làng cây cảnh Vị Khê",
}


def _names(client, query=""):
    body = client.get(f"/storefront/v1/products?limit=100{query}").get_json()
    assert body["total"] == len(body["results"]), body
    return [p["name"] for p in body["results"]]


def test_exactly_the_seven_listed_demo_products(client, demo):
    body = client.get("/storefront/v1/products").get_json()
    assert body["total"] == 7 and body["next"] is None
    names = {p["name"] for p in body["results"]}
    assert names == LISTED
    assert "Rượu nhung nai Hiếu Liêm" not in names  # certificate expired in 2024
    assert "Bánh tét đặc sản Trần Gia" not in names  # never certified


def test_list_item_fields(client, demo):
    item = next(p for p in client.get("/storefront/v1/products").get_json()["results"]
                if p["slug"] == "buoi-da-xanh-binh-loi")
    assert item == {
        "slug": "buoi-da-xanh-binh-loi", "name": "Bưởi da xanh Bình Lợi",
        "producer": {"slug": "htx-dich-vu-nong-nghiep-binh-loi", "name": "HTX Dịch vụ - Nông nghiệp Bình Lợi",
                     "legal_form": "cooperative", "province": {"code": "75", "name": "Đồng Nai"}},
        "group": {"code": "food", "name": "Thực phẩm", "name_en": "Food"},
        "stars": 3, "price_min": 65000, "price_max": 150000,
        "sale_price_min": None, "sale_ends_at": None, "promotions": [],  # Bình Lợi is not in the demo campaign
        "image": None,
    }


@pytest.mark.parametrize("query, expected", [
    ("group=food", {"Bưởi da xanh Bình Lợi", "Quýt hữu cơ Phú Lý", "Cam Vũ Quang"}),
    ("group=beverages", {"Rượu Nhung Hươu Hương Sơn"}),
    ("group=herbal", {"Tinh dầu bưởi Bình Lợi"}),  # a 1048 group code maps to its 148 group
    ("group=ornamentals", set()),
    ("stars=4", {"Rượu Nhung Hươu Hương Sơn", "Tinh dầu bưởi Bình Lợi", "Cam Vũ Quang",
                 "Trải nghiệm làng cây cảnh Vị Khê"}),
    ("stars=3", {"Bưởi da xanh Bình Lợi", "Đèn gỗ trang trí nội thất Trị An", "Quýt hữu cơ Phú Lý"}),
    ("stars=5", set()),
    ("province=75", {"Rượu Nhung Hươu Hương Sơn", "Bưởi da xanh Bình Lợi", "Tinh dầu bưởi Bình Lợi",
                     "Đèn gỗ trang trí nội thất Trị An", "Quýt hữu cơ Phú Lý"}),
    ("province=42", {"Cam Vũ Quang"}),
    ("province=37", {"Trải nghiệm làng cây cảnh Vị Khê"}),  # Nam Định merged into Ninh Bình
    ("province=NDI", {"Trải nghiệm làng cây cảnh Vị Khê"}),  # the old Nam Định code finds it too
    ("province=99", set()),
    ("producer=htx-dich-vu-nong-nghiep-binh-loi", {"Bưởi da xanh Bình Lợi", "Tinh dầu bưởi Bình Lợi"}),
    ("producer=co-so-tram-chau", set()),
    ("legal_form=cooperative", {"Bưởi da xanh Bình Lợi", "Tinh dầu bưởi Bình Lợi", "Quýt hữu cơ Phú Lý",
                                "Trải nghiệm làng cây cảnh Vị Khê"}),
    ("legal_form=enterprise", {"Rượu Nhung Hươu Hương Sơn", "Đèn gỗ trang trí nội thất Trị An"}),
    ("legal_form=cooperative_group", {"Cam Vũ Quang"}),
    ("legal_form=household_business", set()),
    ("group=food&province=75&stars=3", {"Bưởi da xanh Bình Lợi", "Quýt hữu cơ Phú Lý"}),
    ("legal_form=cooperative&stars=4", {"Tinh dầu bưởi Bình Lợi", "Trải nghiệm làng cây cảnh Vị Khê"}),
])
def test_filters(client, demo, query, expected):
    assert set(_names(client, "&" + query)) == expected


def test_sort_by_price(client, demo):
    ascending = client.get("/storefront/v1/products?sort=price_asc").get_json()["results"]
    assert [p["price_min"] for p in ascending] == [55000, 65000, 70000, 80000, 250000, 320000, 450000]
    assert ascending[0]["name"] == "Tinh dầu bưởi Bình Lợi"
    descending = client.get("/storefront/v1/products?sort=price_desc").get_json()["results"]
    assert [p["price_min"] for p in descending] == [450000, 320000, 250000, 80000, 70000, 65000, 55000]


def test_sort_by_stars_name_and_newest(client, demo):
    stars = client.get("/storefront/v1/products?sort=stars").get_json()["results"]
    assert [p["stars"] for p in stars] == [4, 4, 4, 4, 3, 3, 3]
    by_name = [n for n in _names(client, "&sort=name") if not n.startswith("Đ")]  # Đ collates differently per DB
    assert by_name == sorted(by_name)
    newest = _names(client, "&sort=newest")
    created = db.session.execute(select(Product.name).where(Product.is_listed.is_(True))
                                 .order_by(Product.created_at.desc(), Product.id.desc())).scalars().all()
    assert newest == created
    assert _names(client) == newest  # newest is the default


def test_pagination(client, demo):
    first = client.get("/storefront/v1/products?limit=3&sort=price_asc").get_json()
    assert first["total"] == 7 and len(first["results"]) == 3
    assert first["next"] is not None and "page=2" in first["next"] and "limit=3" in first["next"]
    second = client.get(first["next"]).get_json()
    third = client.get(second["next"]).get_json()
    assert len(third["results"]) == 1 and third["next"] is None
    slugs = [p["slug"] for page in (first, second, third) for p in page["results"]]
    assert len(slugs) == len(set(slugs)) == 7
    beyond = client.get("/storefront/v1/products?limit=3&page=9").get_json()
    assert beyond["results"] == [] and beyond["total"] == 7


@pytest.mark.parametrize("query, field", [
    ("limit=1000", "limit"),
    ("limit=101", "limit"),
    ("limit=0", "limit"),
    ("page=0", "page"),
    ("page=abc", "page"),
    ("stars=2", "stars"),
    ("stars=6", "stars"),
    ("legal_form=corporation", "legal_form"),
    ("sort=cheapest", "sort"),
    ("colour=green", "colour"),
    ("group=jewellery", "group"),
])
def test_bad_query_is_422(client, demo, query, field):
    error = error_of(client.get(f"/storefront/v1/products?{query}"), 422, "validation.invalid")
    assert field in error["details"], error


def test_page_size_cap_accepts_the_maximum(client, demo):
    assert client.get("/storefront/v1/products?limit=100").status_code == 200


def test_product_detail_badge(client, demo):
    response = client.get("/storefront/v1/products/buoi-da-xanh-binh-loi")
    assert response.status_code == 200
    body = response.get_json()
    assert body["stars"] == 3 and body["product_set"] == "fresh_produce"
    assert body["origin_commune"] == {"code": "DNA-VC-BL", "name": "Bình Lợi"}
    badge = body["certification"]
    assert badge["stars"] == 3 and badge["level"] == "district" and badge["criteria_set"] == "148"
    assert badge["decision_no"] and badge["decision_no"].endswith("/QĐ-UBND")
    assert badge["issued_on"] == "2024-09-20" and badge["expires_on"] == "2027-09-20"
    assert badge["score"] == 66.0 and badge["status"] == "active"
    assert badge["issuing_unit"] == {"code": "DNA-VC", "name": "Vĩnh Cửu"}  # the unit named on the certificate
    assert [v["sku"] for v in body["variants"]] == ["BL-BDX-1", "BL-BDX-HOP2"]
    assert body["variants"][0]["price"] == 65000 and body["variants"][0]["gtin"].startswith("893")


def test_huong_son_wine_certification_history(client, demo):
    body = client.get("/storefront/v1/products/ruou-nhung-huou-huong-son").get_json()
    badge = body["certification"]
    assert (badge["stars"], badge["level"], badge["issued_on"], badge["expires_on"]) == \
        (4, "province", "2024-06-20", "2027-06-20")
    assert badge["issuing_unit"]["code"] == "DNA"  # certified before the 2025 merger
    history = [(c["level"], c["stars"], c["score"], c["issued_on"], c["status"])
               for c in body["certification_history"]]
    assert history == [("district", 3, 71.7, "2020-06-11", "expired"),
                       ("province", 4, 74.5, "2024-06-20", "active")]
    assert body["certification_history"][0]["criteria_set"] == "1048"


def test_tourism_service_detail(client, demo):
    body = client.get("/storefront/v1/products/trai-nghiem-lang-cay-canh-vi-khe").get_json()
    assert body["group"]["code"] == "tourism"
    assert body["variants"][0]["is_service"] is True
    assert body["producer"]["province"] == {"code": "37", "name": "Ninh Bình"}


@pytest.mark.parametrize("slug", ["ruou-nhung-nai-hieu-liem", "banh-tet-dac-san-tran-gia", "no-such-product"])
def test_unlisted_or_unknown_product_is_404(client, demo, slug):
    error_of(client.get(f"/storefront/v1/products/{slug}"), 404, "product.not_found")


def test_producer_page(client, demo):
    response = client.get("/storefront/v1/producers/htx-dich-vu-nong-nghiep-binh-loi")
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "HTX Dịch vụ - Nông nghiệp Bình Lợi" and body["legal_form"] == "cooperative"
    assert body["province"] == {"code": "75", "name": "Đồng Nai"}
    assert body["commune"] == {"code": "26188", "name": "Phường Tân Triều"}  # today's unit for Xã Bình Lợi
    assert [p["name"] for p in body["products"]] == ["Bưởi da xanh Bình Lợi", "Tinh dầu bưởi Bình Lợi"]
    # a verified producer without listed products still has a page, without them
    tram_chau = client.get("/storefront/v1/producers/co-so-tram-chau").get_json()
    assert tram_chau["products"] == []
    error_of(client.get("/storefront/v1/producers/no-such-producer"), 404, "producer.not_found")


def test_pending_producer_has_no_page(client, demo, login):
    response = client.post("/admin/v1/producers/{}/status".format(
        db.session.execute(select(Product.producer_id).where(Product.slug == "cam-vu-quang")).scalar_one()),
        json={"status": "rejected", "reason": "Hồ sơ thiếu"}, headers=login("admin"))
    assert response.status_code == 200
    error_of(client.get("/storefront/v1/producers/to-hop-tac-trong-cam-vietgap-vu-quang"), 404, "producer.not_found")
    assert "Cam Vũ Quang" not in _names(client)


def test_groups(client, demo):
    response = client.get("/storefront/v1/groups")
    assert response.status_code == 200
    groups = {g["code"]: g for g in response.get_json()}
    assert list(groups) == ["food", "beverages", "medicinal_herbs", "handicrafts", "ornamentals", "tourism"]
    assert {code: g["listed_products"] for code, g in groups.items()} == {
        "food": 3, "beverages": 1, "medicinal_herbs": 1, "handicrafts": 1, "ornamentals": 0, "tourism": 1}
    assert sum(len(g["product_sets"]) for g in groups.values()) == 26  # Decision 148: 26 product sets
    assert groups["food"]["name"] == "Thực phẩm" and groups["food"]["name_en"] == "Food"
    assert {lg["code"] for lg in groups["handicrafts"]["legacy_1048"]} == {
        "textiles_garments", "souvenirs_furniture_decoration"}


def test_storefront_needs_no_token_and_rejects_writes(client, demo):
    assert client.get("/storefront/v1/groups").status_code == 200
    error_of(client.post("/storefront/v1/products", json={}), 405, "method.not_allowed")


def test_empty_catalogue(client):
    body = client.get("/storefront/v1/products").get_json()
    assert body == {"results": [], "total": 0, "next": None}
    assert all(g["listed_products"] == 0 for g in client.get("/storefront/v1/groups").get_json())


def test_query_strings_are_checked_and_normalised_like_bodies(client, demo, login):
    error = error_of(client.get("/storefront/v1/products?producer=co-so%00tram"), 422, "validation.invalid")
    assert "producer" in error["details"]
    # an NFD search term finds the NFC-stored producer
    headers = login("admin")
    decomposed = "Bi\u0300nh Lo\u031b\u0323i"  # "Bình Lợi" in NFD
    body = client.get("/admin/v1/producers", query_string={"q": decomposed}, headers=headers).get_json()
    assert [p["name"] for p in body["results"]] == ["HTX Dịch vụ - Nông nghiệp Bình Lợi"]
