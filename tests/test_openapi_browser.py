"""/docs in a real headless Chromium, offline: Swagger UI renders from the installed files and shows bodies."""
from __future__ import annotations

from support.browser import ARTIFACTS


def _offline(page, base: str) -> list[str]:
    """Refuse every request that leaves the app's own address; return the list of refused URLs."""
    refused: list[str] = []

    def handle(route):
        url = route.request.url
        if url.startswith(base) or url.startswith("data:"):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    page.route("**/*", handle)
    return refused


def test_swagger_ui_renders_offline_and_shows_an_operation_body(live_server, page):
    refused = _offline(page, live_server)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    response = page.goto(f"{live_server}/docs")
    assert response.status == 200
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() > 100  # every operation listed
    operation = page.locator("#operations-admin_products-post_admin_v1_products")
    operation.locator(".opblock-summary").click()
    body = operation.locator(".opblock-section-request-body")
    body.wait_for(timeout=10_000)
    example = body.locator(".body-param__example, .highlight-code, pre").first
    example.wait_for(timeout=10_000)
    assert "Mật ong hoa nhãn Vĩnh Cửu" in body.inner_text()  # the Vietnamese example
    body.get_by_text("Schema", exact=True).first.click()  # the body's schema (the model view)
    operation.locator(".model-box").first.wait_for(timeout=10_000)
    text = operation.inner_text()
    assert "ProductIn" in text and "variants" in text and "auth.invalid_token" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-swagger-ui.png"))  # the viewport: the page is ~17,000 px long
    close_up = ARTIFACTS / "docs-operation-body-schema.png"  # the operation itself, its body schema open
    operation.screenshot(path=str(close_up))
    assert close_up.stat().st_size > 10_000
    assert refused == [], f"/docs tried to reach outside the app: {refused}"
    assert errors == [], errors


def test_plain_docs_work_without_javascript(live_server, page_without_js):
    page_without_js.goto(f"{live_server}/docs")
    link = page_without_js.locator("noscript a, a[href='/docs/plain']").first
    assert link.get_attribute("href") == "/docs/plain"
    page_without_js.goto(f"{live_server}/docs/plain")
    assert "ocop-commerce API" in page_without_js.locator("h1").inner_text()
    assert page_without_js.locator("section").count() > 100
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page_without_js.screenshot(path=str(ARTIFACTS / "docs-plain.png"))  # the viewport (the page is long)
