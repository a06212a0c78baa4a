"""The OpenAPI document is valid, complete (every public/admin route) and states admin security; docs and health."""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

PREFIXES = ("/storefront/v1", "/admin/v1", "/auth")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _openapi_path(rule: str) -> str:
    """Flask ``/products/<int:product_id>`` → OpenAPI ``/products/{product_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_openapi_document_is_valid(spec):
    validate(spec)  # raises on any schema violation
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}


def test_openapi_covers_every_url_rule(app, spec):
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops
                  if method in ("get", "post", "put", "patch", "delete")}
    expected = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIXES):
            continue
        for method in rule.methods - IGNORED_METHODS:
            expected.add((_openapi_path(rule.rule), method))
    assert expected, "no API routes found"
    missing = sorted(expected - documented)
    assert not missing, f"routes missing from /openapi.json: {missing}"
    # and nothing documented that does not exist
    extra = sorted(op for op in documented - expected if op[0].startswith(PREFIXES))
    assert not extra, f"documented operations without a route: {extra}"


def test_core_and_plugin_routes_are_documented(spec):
    for path in ("/storefront/v1/products", "/storefront/v1/products/{slug}", "/storefront/v1/producers/{slug}",
                 "/storefront/v1/groups", "/auth/token", "/admin/v1/me", "/admin/v1/producers",
                 "/admin/v1/products/{product_id}/certifications", "/admin/v1/plugins",
                 "/storefront/v1/hello"):  # the hello test plugin's route
        assert path in spec["paths"], path


def test_every_admin_operation_declares_bearer_auth(spec):
    checked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/admin/v1"):
            continue
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            assert {"bearerAuth": []} in op.get("security", []), f"{method.upper()} {path} lacks bearerAuth"
            assert "Roles:" in op.get("description", ""), f"{method.upper()} {path} does not state its roles"
            checked += 1
    assert checked >= 10
    logout = spec["paths"]["/auth/token"]
    assert {"bearerAuth": []} in logout["delete"]["security"]
    assert "security" not in logout["post"]  # logging in needs no token


def test_every_admin_rule_is_protected(app, client):
    """No admin route answers without a token (guards against a forgotten ``require_roles``)."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin/v1"):
            continue
        url = re.sub(r"<int:[^>]+>", "1", rule.rule)
        url = re.sub(r"<[^>]+>", "x", url)
        for method in rule.methods - IGNORED_METHODS:
            response = client.open(url, method=method, json={})
            assert response.status_code == 401, (method, url, response.status_code)
            assert response.get_json()["error"]["code"] == "auth.required"


def test_docs_page_is_swagger_ui_from_installed_files(client):
    response = client.get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', body)
    assert "/docs/assets/swagger-ui-bundle.js" in assets and "/docs/assets/swagger-ui.css" in assets
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets  # no CDN
    assert "<script>" not in body  # no inline script (a strict Content-Security-Policy keeps working)
    for asset in assets:
        if asset.startswith("/docs/assets/"):
            served = client.get(asset)
            assert served.status_code == 200, asset
            assert len(served.data) > 100, asset
    assert "SwaggerUIBundle" in client.get("/docs/assets/init.js").get_data(as_text=True)
    assert client.get("/docs/assets/index.html").status_code == 404  # only the listed files
    assert "/docs/plain" in body  # the fallback, for browsers without JavaScript


def test_plain_docs_page_lists_operations_with_bodies(client):
    response = client.get("/docs/plain")
    assert response.status_code == 200 and response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "<h1>ocop-commerce API</h1>" in body
    assert "/storefront/v1/products" in body and "/admin/v1/certifications/{cert_id}/withdraw" in body
    assert "Request body (example)" in body and "Mật ong" in body
    assert "``" not in body  # reST markup is rendered, not shown
    assert "<code>include_retired</code>" in body


def test_every_operation_has_description_roles_errors_and_vietnamese_examples(spec):
    checked = 0
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            where = f"{method.upper()} {path}"
            description = op.get("description", "")
            assert description.strip(), where
            assert "Roles:" in description, where
            assert "``" not in description and ":func:`" not in description, f"{where}: reST markup"
            assert "x-error-codes" in op and "**Errors**" in description, where
            for status, codes in op["x-error-codes"].items():
                assert status in op["responses"], (where, status)
                assert all(f"`{code}`" in description for code in codes), (where, codes)
            for media in op.get("requestBody", {}).get("content", {}).values():
                assert "example" in media, f"{where}: no request example"
            for status, response in op["responses"].items():
                if status.isdigit() and 200 <= int(status) < 300 and "$ref" not in response:
                    for media in response.get("content", {}).values():
                        assert "example" in media, f"{where}: no {status} example"
            checked += 1
    assert checked > 100
    products = spec["paths"]["/admin/v1/products"]["post"]
    example = products["requestBody"]["content"]["application/json"]["example"]
    assert example["name"] == "Mật ong hoa nhãn Vĩnh Cửu" and example["variants"][0]["price"] == 126000
    assert spec["paths"]["/admin/v1/me"]["get"]["x-error-codes"]["401"] == ["auth.required", "auth.invalid_token"]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_database_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] in ("ok", "in-process")


def test_unknown_route_uses_the_error_envelope(client):
    response = client.get("/storefront/v1/no-such-thing")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "route.not_found"
    assert set(error) == {"code", "message", "message_en", "details"}
