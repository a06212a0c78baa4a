"""The browser harness itself: Chromium loads a page the app serves on a real port."""
from __future__ import annotations

from support.browser import screenshot


def test_chromium_reads_the_apps_json_on_a_real_port(live_server, page):
    response = page.goto(f"{live_server}/storefront/v1/products")
    assert response.status == 200
    assert '"results"' in page.content()
    assert screenshot(page, "harness-products-json").stat().st_size > 1000
