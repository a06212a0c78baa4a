"""The web console in a real browser (Playwright driving Debian's Chromium against the app on a real port):
each role logs in and does its main task, the till is used with the keyboard alone, one screenshot per page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from support.browser import screenshot
from support.sales_points import PASSWORD as OP_PASSWORD, on_hand, receive, setup_points
from support.console import browser_log_in


@pytest.fixture
def world(client, login, demo):
    from core.catalogue import producers
    from core.db import commit
    points = setup_points(client, login)
    r = receive(points, points.a, points.op_a, "BL-BDX-1", [
        {"sku": "BL-BDX-1", "quantity": 6, "lot_no": "L1", "best_before": "2027-03-01"}])
    assert r.status_code == 201, r.get_json()
    pending = producers.create_producer(None, {"name": "HTX Nông sản Long Thành", "legal_form": "cooperative",
                                               "commune_code": "26188"}, status="pending")
    commit()
    points.ids["pending"] = pending.id
    return points


def test_each_role_logs_in_and_sees_its_menu(live_server, page, world):
    for username, password, label, name in (("cs.htx-binh-loi", None, "Sản phẩm", "products"),
                                            ("op.a", OP_PASSWORD, "Bán hàng tại quầy", "till"),
                                            ("sct.dongnai", None, "Xác minh chủ thể", "dashboard"),
                                            ("admin", None, "Số liệu tỉnh", "admin-dashboard")):
        browser_log_in(page, live_server, username, password or "ocop-demo-2026")
        assert page.locator(".console-menu").get_by_text(label).count() == 1
        screenshot(page, f"console-{name}")
        page.click("#logout")
        page.wait_for_url(re.compile(r".*/console/login.*"))


def test_producer_edits_a_product_and_sees_it_listed(live_server, page, world):
    from core.accounts.models import User
    from core.catalogue import products
    from core.catalogue.models import Variant
    from core.db import commit, db
    variant = db.session.execute(select(Variant).where(Variant.sku == "BL-BDX-1")).scalar_one()
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    products.update_product(admin, variant.product, {"status": "draft"})
    commit()
    pid = variant.product_id
    browser_log_in(page, live_server, "cs.htx-binh-loi")
    page.goto(f"{live_server}/console/products")
    row = page.locator(f"tr[data-product-id='{pid}']")
    assert "Chưa niêm yết" in row.inner_text() and "chưa ở trạng thái đang bán" in row.inner_text()
    row.get_by_text("Sửa").click()
    page.select_option("select[name=status]", "active")
    page.fill(f"input[name=price_{variant.id}]", "68000")
    screenshot(page, "console-product-edit")
    page.click("#save")
    page.wait_for_load_state()
    assert "Đã lưu" in page.content()
    assert "Đang niêm yết" in page.locator("#listing-state").inner_text()
    page.goto(f"{live_server}/console/products")
    assert "Đang niêm yết" in page.locator(f"tr[data-product-id='{pid}'] .listing").inner_text()
    screenshot(page, "console-products")
    page.goto(f"{live_server}/console/stock")
    screenshot(page, "console-stock")
    page.goto(f"{live_server}/console/orders")
    screenshot(page, "console-orders")


def test_operator_sells_at_the_till_with_the_keyboard_alone_and_the_stock_drops(live_server, page, world):
    from core.catalogue.models import Variant
    from core.db import db
    gtin = db.session.execute(select(Variant.gtin).where(Variant.sku == "BL-BDX-1")).scalar_one()
    before = on_hand(world, world.a, "BL-BDX-1")
    browser_log_in(page, live_server, "op.a", OP_PASSWORD)
    page.goto(f"{live_server}/console/till")
    page.wait_for_selector("#till-code:focus")  # the scan field has the focus: a USB scanner types into it
    page.keyboard.type(gtin)
    page.keyboard.press("Enter")  # what a barcode scanner sends after the code
    page.wait_for_selector("#till-lines tr.till-line")
    page.wait_for_selector("#till-code:focus")
    page.keyboard.type("BL-BDX-1")
    page.keyboard.press("Enter")
    page.locator("#till-lines tr.till-line").nth(1).wait_for()
    assert page.locator("#till-total").get_attribute("data-total") == "130000"
    page.keyboard.press("F9")  # to the payment
    assert page.evaluate("document.activeElement.id") == "till-method"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "till-tendered"
    page.keyboard.type("200000")
    screenshot(page, "console-till")
    page.keyboard.press("Enter")
    page.wait_for_selector("#receipt")
    assert page.locator("#receipt-total").inner_text() == "130.000 ₫"
    assert page.locator("#receipt-change").inner_text() == "70.000 ₫"
    assert page.evaluate("document.activeElement.id") == "next-sale"  # Enter starts the next sale
    screenshot(page, "console-receipt")
    assert on_hand(world, world.a, "BL-BDX-1") == before - 2
    page.keyboard.press("Enter")
    page.wait_for_selector("#till-code:focus")


def test_organiser_verifies_a_producer_and_sees_the_dashboard_change(live_server, page, world):
    browser_log_in(page, live_server, "sct.dongnai")
    page.goto(f"{live_server}/console/dashboard")
    page.wait_for_selector("#chart-stars")
    page.wait_for_load_state("load")
    assert page.evaluate("typeof Chart") == "function"  # the vendored chart library loaded (no CDN)
    before = page.locator("#producer-mix tr[data-code=cooperatives] td").nth(1).inner_text()
    screenshot(page, "console-dashboard")
    page.goto(f"{live_server}/console/producers/verification")
    row = page.locator(f"#producer-{world.ids['pending']}")
    screenshot(page, "console-verification")
    row.get_by_role("button", name="Xác minh").click()  # htmx swaps the row in place
    page.wait_for_selector(f"#producer-{world.ids['pending']}[data-status=verified]")
    page.goto(f"{live_server}/console/dashboard")
    after = page.locator("#producer-mix tr[data-code=cooperatives] td").nth(1).inner_text()
    n_before, total_before = map(int, re.search(r"\((\d+)/(\d+)\)", before).groups())
    assert re.search(r"\((\d+)/(\d+)\)", after).groups() == (str(n_before + 1), str(total_before + 1))
    page.goto(f"{live_server}/console/certifications")
    screenshot(page, "console-certifications")
    page.goto(f"{live_server}/console/imports")
    screenshot(page, "console-imports")


def test_english_console(live_server, page, world):
    browser_log_in(page, live_server, "cs.htx-binh-loi")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert "My products" in page.content()
    screenshot(page, "console-products-en")


def test_producer_creates_a_product_with_an_image(live_server, page, world):
    from test_console_forms import tiny_png
    browser_log_in(page, live_server, "cs.htx-binh-loi")
    page.goto(f"{live_server}/console/products")
    page.click("#new-product")
    page.fill("input[name=name]", "Mật ong rừng Bình Lợi")
    page.select_option("select[name=group]", "food")
    page.fill("textarea[name=description]", "Mật ong nguyên chất từ rừng Mã Đà")
    page.select_option("select[name=status]", "active")
    page.fill("input[name=variant_sku]", "BL-MO-500")
    page.fill("input[name=variant_name]", "Chai 500 ml")
    page.fill("input[name=variant_unit]", "chai")
    page.fill("input[name=variant_price]", "180.000")
    page.set_input_files("#image-file", files=[{"name": "mat-ong.png", "mimeType": "image/png", "buffer": tiny_png()}])
    page.fill("input[name=image_alt]", "Chai mật ong")
    screenshot(page, "console-product-new")
    page.click("#create-product")
    page.wait_for_selector("#created")
    image = page.locator("#images img[alt='Chai mật ong']")
    image.wait_for()
    assert page.evaluate("document.querySelector(\"#images img\").naturalWidth") == 2  # served from /media
    assert "BL-MO-500" in page.content() and 'value="180000"' in page.content()
    screenshot(page, "console-product-created")
    page.goto(f"{live_server}/console/promotions")
    assert "Tuần lễ OCOP Đồng Nai" in page.locator("#my-promotions").inner_text()
    screenshot(page, "console-promotions")


def test_organiser_creates_and_activates_a_campaign(live_server, page, world):
    browser_log_in(page, live_server, "sct.dongnai")
    page.goto(f"{live_server}/console/campaigns")
    screenshot(page, "console-campaigns")
    page.click("#new-campaign")
    page.fill("input[name=name]", "Tết OCOP Đồng Nai")
    page.fill("input[name=name_en]", "Đồng Nai OCOP Tết")
    page.select_option("select[name=kind]", "percentage")
    page.fill("input[name=value]", "10")
    page.fill("input[name=starts_at]", "2026-12-03T08:00")
    page.fill("input[name=ends_at]", "2026-12-10T20:00")
    page.check("input[name=scope_groups][value=food]")
    page.fill("input[name=budget]", "5.000.000")
    screenshot(page, "console-campaign-new")
    page.click("#create-campaign")
    page.wait_for_selector("#campaign-state[data-lifecycle=draft]")
    assert page.locator("#preview tr[data-sku='BL-BDX-1'] .price-with").inner_text() == "58.500 ₫"
    page.click("#activate")
    page.wait_for_selector("#activated")
    assert page.locator("#campaign-state").get_attribute("data-lifecycle") == "scheduled"
    screenshot(page, "console-campaign")
    page.goto(f"{live_server}/console/dashboard")
    page.select_option("select[name=unit]", "26188")
    page.select_option("select[name=period]", "h2")
    page.click("#apply-filters")
    page.wait_for_url(re.compile(r".*unit=26188.*"))
    assert "Phường Tân Triều" in page.locator("h1").inner_text()
    with page.expect_download() as download:
        page.click("#export-pdf")
    assert download.value.suggested_filename.endswith(".pdf")
    screenshot(page, "console-dashboard-filtered")
