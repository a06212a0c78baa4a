"""Hostile input (issue 13, server errors): every case once answered 5xx; now a 4xx envelope and nothing written.

Runs on SQLite and PostgreSQL (``dev.py test --postgres``). Each test names the finding it reproduces.
"""
from __future__ import annotations

import http.client
import io
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from support import hostile_xlsx
from support.checks import error_of, row_counts
from support.orders import checkout_for

HUGE = 10 ** 20
JUST_OVER_INT32 = 2 ** 31
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def admin(demo, login):
    return login("admin")


def _variant(sku: str):
    from core.catalogue.models import Variant
    from core.db import db
    db.session.rollback()
    return db.session.execute(select(Variant).where(Variant.sku == sku)).scalar_one()


# --- integers out of range --------------------------------------------------------------------------------
ID_PATHS = ("/admin/v1/products/{}", "/admin/v1/producers/{}", "/admin/v1/orders/{}", "/admin/v1/orders/{}/events",
            "/admin/v1/stock-locations/{}", "/admin/v1/users/{}", "/admin/v1/promotions/{}",
            "/admin/v1/sales-points/{}", "/admin/v1/sales-points/receipts/{}", "/admin/v1/sales-points/sales/{}",
            "/admin/v1/sales-points/{}/consignments", "/admin/v1/livestreams/{}")


@pytest.mark.parametrize("number", [HUGE, JUST_OVER_INT32])
def test_huge_ids_in_paths_answer_not_found(client, admin, number):
    for path in ID_PATHS:
        error_of(client.get(path.format(number), headers=admin), 404, "route.not_found")
    before = row_counts()
    error_of(client.patch(f"/admin/v1/products/{number}", headers=admin, json={"name": "x"}), 404)
    error_of(client.post(f"/admin/v1/orders/{number}/confirm", headers=admin, json={}), 404)
    assert row_counts() == before


def test_the_largest_id_still_reaches_the_route(client, admin):
    error_of(client.get(f"/admin/v1/products/{JUST_OVER_INT32 - 1}", headers=admin), 404, "product.not_found")


def test_huge_integers_in_bodies_and_queries_answer_422(client, admin):
    before = row_counts()
    variant = _variant("VQ-CAM-5KG")
    cases = [
        client.post("/storefront/v1/checkouts", json={"lines": [{"variant_id": HUGE, "quantity": 1}]}),
        client.post("/storefront/v1/checkouts", json={"lines": [{"sku": "VQ-CAM-5KG", "quantity": HUGE}]}),
        client.post("/storefront/v1/checkouts", json={"pickup_location_id": HUGE}),
        client.post("/admin/v1/stock/receipts", headers=admin,
                    json={"location_id": HUGE, "variant_id": variant.id, "quantity": 1}),
        client.post("/admin/v1/stock/receipts", headers=admin,
                    json={"location_id": 1, "variant_id": HUGE, "quantity": 1}),
        client.post("/admin/v1/products", headers=admin, json={"producer_id": HUGE, "name": "Trà", "group_code": "x"}),
        client.get(f"/admin/v1/products?producer_id={HUGE}", headers=admin),
        client.get(f"/admin/v1/orders?producer_id={HUGE}", headers=admin),
        client.get(f"/storefront/v1/search?min_price={10 ** 30}"),
        client.get(f"/storefront/v1/search?max_price={10 ** 30}"),
        client.patch(f"/admin/v1/variants/{variant.id}", headers=admin, json={"price": 10 ** 13}),
        client.patch(f"/admin/v1/variants/{variant.id}", headers=admin, json={"capacity_per_day": JUST_OVER_INT32}),
    ]
    for response in cases:
        error_of(response, 422)
    assert row_counts() == before
    assert _variant("VQ-CAM-5KG").price == variant.price


def test_page_beyond_reach_answers_422_on_every_list(client, admin):
    spec = client.get("/openapi.json").get_json()
    checked = 0
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if "{" in path or not get or not any(p["name"] == "page" for p in get.get("parameters", [])):
            continue
        for page in (HUGE, JUST_OVER_INT32 // 10):  # the second is in range alone but beyond reach with limit 100
            response = client.get(f"{path}?page={page}&limit=100", headers=admin)
            assert response.status_code == 422, (path, page, response.status_code, response.get_json())
            error_of(response, 422)
        checked += 1
    assert checked >= 15


def test_prices_over_int32_are_stored_and_an_order_over_int32_is_placed(client, admin):
    """Money columns are BIGINT: a 1.5 billion đồng variant, two of them, an order of over 3 billion đồng."""
    from core.db import db
    from core.sales.models import Order
    from core.payments.models import Payment
    variant = _variant("VQ-CAM-5KG")
    price = 1_500_000_000
    response = client.patch(f"/admin/v1/variants/{variant.id}", headers=admin, json={"price": price})
    assert response.status_code == 200, response.get_json()
    assert _variant("VQ-CAM-5KG").price == price
    checkout = checkout_for(client, [("VQ-CAM-5KG", 2)], gateway="cod")
    response = client.post(f"/storefront/v1/checkouts/{checkout['token']}/complete")
    assert response.status_code == 201, response.get_json()
    placed = response.get_json()
    assert placed["total"] > 2_147_483_647
    db.session.rollback()
    order = db.session.execute(select(Order).where(Order.number == placed["number"])).scalar_one()
    assert order.subtotal == 2 * price and order.total == placed["total"]
    assert order.lines[0].unit_price == price and order.lines[0].line_total == 2 * price
    payments = db.session.execute(select(Payment).where(Payment.order_id == order.id)).scalars().all()
    assert all(p.amount == order.total for p in payments)
    shown = client.get(f"/admin/v1/orders/{order.id}", headers=admin).get_json()
    assert shown["total"] == order.total


# --- JSON shape ---------------------------------------------------------------------------------------------
def _deep_lines(depth: int) -> bytes:
    return b'{"lines": [' + b"[" * depth + b"]" * depth + b"]}"


@pytest.mark.parametrize("body, code", [
    (_deep_lines(500), "request.json_too_deep"),
    (b"[" * 100_000 + b"]" * 100_000, "request.json_too_deep"),
    (b"[" * 100_000, "request.json_too_deep"),  # unbalanced as well
    (b'{"lines": [{"sku": "VQ-CAM-5KG", "quantity": ' + b"9" * 5000 + b"}]}", "request.number_too_long"),
    (b'{"email": "a@b.vn", "note": 1' + b"0" * 5000 + b"}", "request.number_too_long"),
])
def test_deep_or_long_json_answers_400_before_parsing(client, demo, body, code):
    before = row_counts()
    error_of(client.post("/storefront/v1/checkouts", data=body, content_type="application/json"), 400, code)
    assert row_counts() == before


def test_strings_may_hold_brackets_and_digits(client, demo):
    note = "[" * 200 + "9" * 200 + '\\"]'
    body = json.dumps({"note": note, "lines": [{"sku": "VQ-CAM-5KG", "quantity": 1}]}).encode()
    response = client.post("/storefront/v1/checkouts", data=body, content_type="application/json")
    assert response.status_code == 201, response.get_json()


# --- media types, URL and header sizes -----------------------------------------------------------------------
def test_a_form_body_to_a_json_endpoint_answers_415(client, demo, admin):
    before = row_counts()
    error_of(client.post("/storefront/v1/checkouts", data={"email": "a@b.vn"}), 415, "request.unsupported_media_type")
    error_of(client.post("/storefront/v1/checkouts", data=b'{"email": "a@b.vn"}', content_type="text/plain"), 415)
    error_of(client.post("/admin/v1/producers", headers=admin, data={"name": "x"}), 415)
    assert row_counts() == before
    # anonymous callers of a token-only route still learn that they need a token first
    error_of(client.post("/admin/v1/producers", data={"name": "x"}), 401)
    # no body at all is still an empty JSON object
    assert client.post("/storefront/v1/checkouts").status_code == 201


def test_over_long_url_and_headers_answer_the_envelope(client, demo):
    error_of(client.get("/storefront/v1/products?q=" + "a" * 5000), 414, "request.uri_too_long")
    error_of(client.get("/storefront/v1/products", headers={"X-Long": "a" * 9000}), 431, "request.headers_too_large")
    many = {f"X-H{i}": "a" * 1000 for i in range(40)}
    error_of(client.get("/storefront/v1/products", headers=many), 431, "request.headers_too_large")


def test_development_server_answers_its_own_errors_with_the_envelope(app):
    """``ocop serve``: a request line or header past the server's own 64 KB limit is JSON, not HTML."""
    from core.http_guards import EnvelopeRequestHandler
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=EnvelopeRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for request in (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as conn:
                conn.sendall(request)
                answer = http.client.HTTPResponse(conn)
                answer.begin()
                assert answer.status in (414, 431), answer.status
                assert answer.getheader("Content-Type") == "application/json"
                body = json.loads(answer.read())
                assert set(body["error"]) == {"code", "message", "message_en", "details"}
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        conn.request("GET", "/storefront/v1/products?q=" + "a" * 5000)
        answer = conn.getresponse()
        assert answer.status == 414 and json.loads(answer.read())["error"]["code"] == "request.uri_too_long"
    finally:
        server.shutdown()
        thread.join(5)


# --- NUL bytes in path parameters -----------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/storefront/v1/products/abc%00def", "/storefront/v1/producers/abc%00",
                                  "/storefront/v1/checkouts/abc%00def", "/storefront/v1/checkouts/abc%00/complete",
                                  "/storefront/v1/orders/abc%00def", "/admin/v1/administrative-units/75%00",
                                  "/media/products/a%00.png"])
def test_a_nul_byte_in_a_path_parameter_answers_404(client, admin, path):
    before = row_counts()
    method = "post" if path.endswith("/complete") else "get"
    error_of(getattr(client, method)(path, headers=admin), 404, "route.not_found")
    assert row_counts() == before


# --- XLSX ---------------------------------------------------------------------------------------------------
XLSX_CASES = {
    "billion_laughs": (hostile_xlsx.billion_laughs, "import.unsafe_xlsx"),
    "billion_laughs_past_the_prefix_check": (lambda: hostile_xlsx.billion_laughs(hidden=True), "import.bad_xlsx"),
    "external_entity": (hostile_xlsx.external_entity, "import.unsafe_xlsx"),
    "huge_dimension": (hostile_xlsx.huge_dimension, "import.xlsx_too_large"),
    "whole_sheet_dimension": (lambda: hostile_xlsx.huge_dimension("A1:XFD1048576"), "import.xlsx_too_large"),
    "one_30_mb_cell": (hostile_xlsx.huge_cell, "import.xlsx_cell_too_long"),
    "wide_rows": (hostile_xlsx.wide_rows, "import.xlsx_too_large"),
}


@pytest.mark.parametrize("case", sorted(XLSX_CASES))
def test_hostile_xlsx_import_is_refused_with_422(client, admin, case):
    make, code = XLSX_CASES[case]
    data = make()
    before = row_counts()
    response = client.post("/admin/v1/imports", headers=admin, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "tinh.xlsx")})
    error = error_of(response, 422, code)
    assert error["details"]["rows"] == []
    assert row_counts() == before


def test_rows_wider_than_declared_are_cut_not_padded():
    """A sheet whose dimension lies (A1:B2) but whose rows reach column WMZ: read quickly, cut to the cap."""
    from core.imports import formats
    data = hostile_xlsx.sheet(hostile_xlsx.header_row() + "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>a</t></is></c>'
        f'<c r="WMZ{r}" t="inlineStr"><is><t>z</t></is></c></row>' for r in range(2, 2002)), dimension="A1:B2")
    rows = list(formats.xlsx_rows(data))
    assert len(rows) == 2001 and max(len(r) for r in rows) == formats.MAX_COLUMNS + 1
    table = formats.read_table(data)
    assert len(table) == 2000


@pytest.mark.parametrize("case", ["billion_laughs", "external_entity", "huge_dimension", "one_30_mb_cell"])
def test_hostile_xlsx_bank_statement_is_refused_with_422(client, admin, case):
    make, _code = XLSX_CASES[case]
    before = row_counts()
    response = client.post("/admin/v1/payments/bank-transfer/statements", headers=admin,
                           content_type="multipart/form-data", data={"file": (io.BytesIO(make()), "saoke.xlsx")})
    error = error_of(response, 422, "bank_transfer.bad_statement")
    assert "refused" in error["message_en"], error  # by the bounded reader, before any row was read
    assert row_counts() == before


# --- security headers and image sniffing ---------------------------------------------------------------------
def test_security_headers_on_every_answer(client, demo):
    for path, csp in (("/storefront/v1/products", "default-src 'none'"), ("/docs", "script-src 'self'"),
                      ("/nowhere", "default-src 'none'"), ("/media/products/missing.png", "sandbox")):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert csp in response.headers["Content-Security-Policy"], (path, response.headers["Content-Security-Policy"])
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP
    secure = client.get("/storefront/v1/products", base_url="https://shop.example.vn")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_media_is_served_with_a_sandboxing_policy(client, admin):
    from core.catalogue.models import Product
    from core.db import db
    product_id = db.session.execute(select(Product.id).limit(1)).scalar_one()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
    response = client.post(f"/admin/v1/products/{product_id}/images", headers=admin, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(png), "a.png", "image/png")})
    assert response.status_code == 201, response.get_json()
    served = client.get(f"/media/{response.get_json()['storage_key']}")
    assert served.status_code == 200 and "sandbox" in served.headers["Content-Security-Policy"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    served.close()


@pytest.mark.parametrize("data, accepted", [
    (b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(32), True),
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32), False),  # a WAV file is a RIFF too
    (b"RIFF<html><script>alert(1)</script>", False),
    (b"\x89PNG\r\n\x1a\n<svg onload=alert(1)>", False),
])
def test_image_content_is_sniffed_by_its_format(client, admin, data, accepted):
    from core.catalogue.models import Product
    from core.db import db
    product_id = db.session.execute(select(Product.id).limit(1)).scalar_one()
    kind = "image/webp" if data.startswith(b"RIFF") else "image/png"
    before = row_counts()
    response = client.post(f"/admin/v1/products/{product_id}/images", headers=admin, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "a.bin", kind)})
    if accepted:
        assert response.status_code == 201, response.get_json()
    else:
        error_of(response, 422, "image.content_mismatch")
        assert row_counts() == before


# --- in-process Celery under a threaded server -------------------------------------------------------------
def test_the_celery_app_binds_every_task_when_the_app_is_built(tmp_path):
    """A fresh process: after create_app no task is left to be bound by the first (concurrent) use.

    Lazily, Celery registers a task before binding it; a request thread evaluating a task proxy meanwhile
    got a task whose ``request_stack`` was None (AttributeError: 'NoneType' object has no attribute 'push').
    """
    code = (
        "import sys\n"
        "from core.config import load_settings\n"
        "from core.app import create_app\n"
        "from core.celery_app import celery_app\n"
        "create_app(load_settings({}, instance_path=sys.argv[1], database_url='sqlite:///' + sys.argv[1] + '/x.db'))\n"
        "unbound = sorted(name for name, task in celery_app._tasks.items() if task.request_stack is None)\n"
        "print(celery_app.finalized, len(celery_app._tasks), unbound)\n"
        "assert celery_app.finalized and not unbound\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
