"""The public site in a real browser (Chromium via Playwright), with and without JavaScript.

A shopper searches "buoi" without diacritics, opens Bưởi da xanh Bình Lợi, sees its 4-star badge (the
product is re-certified at 4 stars first, as the provincial council does), adds it to the cart, checks
out cash on delivery to a Đồng Nai address and lands on the order status page.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from support.browser import screenshot

POMELO = "Bưởi da xanh Bình Lợi"


@pytest.fixture
def four_star_pomelo(client, demo, login):
    """Bưởi da xanh Bình Lợi re-certified at 4 stars (decision 88/QĐ-UBND) through the admin API."""
    from core.catalogue.models import Product
    from core.db import db
    product_id = db.session.execute(select(Product.id).where(Product.name == POMELO)).scalar_one()
    body = {"stars": 4, "score": 76, "level": "province", "issued_on": "2026-02-01",
            "decision_no": "88/QĐ-UBND", "council": "Hội đồng OCOP tỉnh Đồng Nai", "issuing_unit_code": "75"}
    response = client.post(f"/admin/v1/products/{product_id}/certifications", json=body,
                           headers=login("hoidong.dongnai"))
    assert response.status_code == 201, response.get_json()
    db.session.commit()


def shop_and_pay_cod(page, base: str, javascript: bool, name: str) -> None:
    page.goto(f"{base}/")
    screenshot(page, f"site-home{name}")
    page.fill("#q", "buoi")
    page.click("form.search button")
    page.wait_for_url("**/tim-kiem?q=buoi")
    screenshot(page, f"site-search{name}")
    page.get_by_role("link", name=POMELO).first.click()
    page.wait_for_url("**/san-pham/buoi-da-xanh-binh-loi")
    badge = page.locator(".cert .badge")
    assert badge.inner_text().startswith("OCOP ★★★★") and "4 sao" in badge.inner_text()
    assert "88/QĐ-UBND" in page.inner_text(".cert")
    screenshot(page, f"site-product{name}")
    page.locator("form.add").first.get_by_role("button", name="Thêm vào giỏ").click()
    page.wait_for_url("**/gio-hang?added=BL-BDX-1")
    assert "65.000 ₫" in page.inner_text("table.lines")
    screenshot(page, f"site-cart{name}")
    page.get_by_role("link", name="Thanh toán").click()
    page.wait_for_url("**/thanh-toan")
    page.fill("#full_name", "Nguyễn Thị Lan")
    page.fill("#phone", "0912 345 678")
    page.fill("#email", "lan@example.vn")
    page.select_option("#province_code", "75")
    if not javascript:  # the plain <select> chain: saving refreshes the communes of the chosen province
        page.get_by_role("button", name="Lưu và xem cách giao hàng").click()
    page.wait_for_selector('#commune_code option[value="26188"]', state="attached")
    page.select_option("#commune_code", "26188")
    page.fill("#street", "12 Nguyễn Văn Trỗi")
    page.get_by_role("button", name="Lưu và xem cách giao hàng").click()
    page.wait_for_selector('input[name="delivery_method"][value="standard"]')
    page.check('input[name="delivery_method"][value="standard"]')
    page.check('input[name="payment_gateway"][value="cod"]')
    screenshot(page, f"site-checkout{name}")
    page.get_by_role("button", name="Đặt hàng").click()
    page.wait_for_url("**/don-hang/**")
    status = page.inner_text("main")
    assert "Chờ xác nhận" in status and "Thanh toán khi nhận hàng" in status and "Đồng Nai" in status
    screenshot(page, f"site-order{name}")


def test_shopper_finds_buys_and_follows_an_order(live_server, page, four_star_pomelo):
    shop_and_pay_cod(page, live_server, javascript=True, name="")


def test_the_same_without_javascript(live_server, page_without_js, four_star_pomelo):
    shop_and_pay_cod(page_without_js, live_server, javascript=False, name="-nojs")


def test_delisted_product_answers_410_with_similar_products(live_server, page, demo):
    response = page.goto(f"{live_server}/san-pham/ruou-nhung-nai-hieu-liem")
    assert response.status == 410
    assert "không còn được bán" in page.inner_text("main")
    assert page.locator(".cards a").count() >= 1
    screenshot(page, "site-gone")


def test_json_ld_parses_and_matches_the_api_price(live_server, page, demo):
    page.goto(f"{live_server}/san-pham/buoi-da-xanh-binh-loi")
    ld = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    api = page.request.get(f"{live_server}/storefront/v1/products/buoi-da-xanh-binh-loi").json()
    assert ld["@type"] == "Product" and ld["brand"]["name"] == api["producer"]["name"]
    prices = {v["sku"]: v["sale_price"] if v["sale_price"] is not None else v["price"] for v in api["variants"]}
    assert {o["sku"]: o["price"] for o in ld["offers"]} == prices
    assert page.locator('meta[property="og:title"]').get_attribute("content") == api["name"]


def test_english_pages(live_server, page, demo):
    page.goto(f"{live_server}/san-pham/cam-vu-quang?lang=en")
    assert page.get_by_role("button", name="Add to cart").count() >= 1
    page.goto(f"{live_server}/diem-ban")
    assert "OCOP sales points" in page.inner_text("h1")
    screenshot(page, "site-sales-points-en")
