"""Built-in payment gateways (cash on delivery, bank transfer), gateway events, statement import, refunds,
and switching the built-in plugins off."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from support.checks import error_of, row_counts
from support.orders import checkout_for, order_id, place_order, stock_of

ADMIN = "/admin/v1/orders"


def _pay(client, token, gateway):
    return client.post(f"/storefront/v1/orders/{token}/payments", json={"gateway": gateway})


def test_gateways_listed(client, demo):
    codes = {g["code"]: g for g in client.get("/storefront/v1/payment-gateways").get_json()}
    assert {"cod", "bank_transfer"} <= set(codes)
    assert codes["cod"]["offline"] is True and codes["bank_transfer"]["name"] == "Chuyển khoản ngân hàng"


def test_bank_transfer_reference_and_admin_marks_paid(client, login, demo, monkeypatch):
    monkeypatch.setenv("OCOP_BANK_ACCOUNT_NO", "0123456789")
    monkeypatch.setenv("OCOP_BANK_BIN", "970436")
    order = place_order(client, [("BL-BDX-1", 2)])
    response = _pay(client, order["token"], "bank_transfer")
    assert response.status_code == 201, response.get_json()
    payment = response.get_json()["payment"]
    reference = payment["transfer_reference"]
    from plugins.bank_transfer.gateway import find_references, luhn_digit, reference_for
    assert reference == reference_for(payment["id"]) and reference.startswith("OCOP") and len(reference) >= 10
    assert luhn_digit(reference[4:-1]) == reference[-1]
    assert payment["client_data"]["reference"] == reference and payment["amount"] == order["total"]
    assert payment["client_data"]["account_no"] == "0123456789" and payment["client_data"]["bank"] == "Vietcombank"
    assert payment["client_data"]["qr_image_url"] == f"/storefront/v1/payments/bank-transfer/orders/{order['token']}/qr.png"
    assert find_references(f"CK {reference.lower()} thanh toan") == [reference]
    wrong = reference[:-1] + str((int(reference[-1]) + 1) % 10)
    assert find_references(wrong) == []

    # starting again with the same gateway returns the same pending payment
    assert _pay(client, order["token"], "bank_transfer").get_json()["payment"]["id"] == payment["id"]

    admin = login("admin")
    oid = order_id(order["number"])
    body = client.post(f"{ADMIN}/{oid}/payments/{payment['id']}/mark-paid", headers=admin, json={}).get_json()
    assert body["changed"] is True and body["order"]["status"] == "paid" and body["order"]["paid_amount"] == order["total"]
    error_of(_pay(client, order["token"], "cod"), 409, "payment.not_due")
    shopper = client.get(f"/storefront/v1/orders/{order['token']}").get_json()
    assert shopper["status"] == "paid" and shopper["payment_status"] == "paid"

    organiser, producer = login("sct.dongnai"), login("cs.htx-binh-loi")
    error_of(client.post(f"{ADMIN}/{oid}/payments/{payment['id']}/mark-paid", headers=producer, json={}), 403)
    error_of(client.post(f"{ADMIN}/{oid}/payments/{payment['id']}/mark-paid", json={}), 401)
    error_of(client.post(f"{ADMIN}/{oid}/payments/999999/mark-paid", headers=organiser, json={}), 404,
             "payment.not_found")
    error_of(client.post(f"{ADMIN}/{oid}/payments/{payment['id']}/mark-paid", headers=admin, json={"x": 1}), 422)


def test_switching_gateway_cancels_the_earlier_pending_payment(client, demo):
    order = place_order(client, [("BL-BDX-1", 1)])
    first = _pay(client, order["token"], "bank_transfer").get_json()["payment"]
    second = _pay(client, order["token"], "cod").get_json()
    assert second["payment"]["gateway"] == "cod"
    assert [p["gateway"] for p in second["order"]["payments"]] == ["cod"]
    from core.db import db
    from core.payments.models import Payment
    db.session.rollback()
    assert db.session.get(Payment, first["id"]).status == "cancelled"


def test_bad_payment_requests(client, demo):
    order = place_order(client, [("BL-BDX-1", 1)])
    error_of(_pay(client, order["token"], "bitcoin"), 422, "payment.gateway_unavailable")
    error_of(client.post(f"/storefront/v1/orders/{order['token']}/payments", json={}), 422)
    error_of(_pay(client, "no-such-token", "cod"), 404, "order.not_found")
    token = checkout_for(client, [("BL-BDX-1", 1)])["token"]
    error_of(client.patch(f"/storefront/v1/checkouts/{token}", json={"payment_gateway": "bitcoin"}), 422,
             "payment.gateway_unavailable")


def test_gateway_events_are_idempotent(app, client, demo):
    from core.db import commit
    from core.errors import NotFound
    from core.sales import order_payments
    from core.payments.gateways import GatewayEvent
    order = place_order(client, [("BL-BDX-1", 2)])
    payment = _pay(client, order["token"], "bank_transfer").get_json()["payment"]
    ref = payment["transfer_reference"]
    short = GatewayEvent(event_id="evt-1", external_id=ref, kind="succeeded", amount=payment["amount"] - 1)
    assert order_payments.handle_gateway_event("bank_transfer", short) is True  # recorded as amount_mismatch
    commit()  # the test owns the unit of work, as a webhook request or task would
    assert client.get(f"/storefront/v1/orders/{order['token']}").get_json()["status"] == "unconfirmed"
    event = GatewayEvent(event_id="evt-2", external_id=ref, kind="succeeded", amount=payment["amount"])
    assert order_payments.handle_gateway_event("bank_transfer", event) is True
    commit()
    before = row_counts()
    assert order_payments.handle_gateway_event("bank_transfer", event) is False
    commit()
    assert order_payments.handle_gateway_event("bank_transfer", short) is False
    commit()
    assert row_counts() == before
    body = client.get(f"/storefront/v1/orders/{order['token']}").get_json()
    assert body["status"] == "paid" and body["paid_amount"] == payment["amount"]
    with pytest.raises(NotFound):
        order_payments.handle_gateway_event("bank_transfer", GatewayEvent("evt-3", "OCOP999999", "succeeded", 1))
    assert row_counts() == before
    # a gateway-side refund event records the missing part once
    refunded = GatewayEvent(event_id="evt-4", external_id=ref, kind="refunded", amount=50000)
    assert order_payments.handle_gateway_event("bank_transfer", refunded) is True
    commit()
    assert order_payments.handle_gateway_event("bank_transfer", refunded) is False
    commit()
    body = client.get(f"/storefront/v1/orders/{order['token']}").get_json()
    assert body["refunded_amount"] == 50000 and body["payment_status"] == "partially_refunded"


def test_failed_event_marks_a_pending_payment_failed(app, client, demo):
    from core.db import commit
    from core.sales import order_payments
    from core.payments.gateways import GatewayEvent
    order = place_order(client, [("BL-BDX-1", 1)])
    payment = _pay(client, order["token"], "cod").get_json()["payment"]
    assert order_payments.handle_gateway_event("cod", GatewayEvent("f-1", payment["external_id"], "failed")) is True
    commit()
    body = client.get(f"/storefront/v1/orders/{order['token']}").get_json()
    assert body["payments"][0]["status"] == "failed" and body["status"] == "unconfirmed"


def _statement(rows):
    lines = ["Ngày giao dịch;Số tham chiếu;Số tiền ghi có;Nội dung"]
    lines += [";".join(map(str, r)) for r in rows]
    return "\n".join(lines) + "\n"


def test_statement_import_cli_matches_reference_and_amount(app, client, demo, tmp_path):
    orders_ = [place_order(client, [("BL-BDX-1", n)]) for n in (1, 2, 3)]
    pays = [_pay(client, o["token"], "bank_transfer").get_json()["payment"] for o in orders_]
    amount = lambda p: f"{p['amount']:,}".replace(",", ".")  # noqa: E731  (1.500.000 style)
    text = _statement([
        ("23/11/2026", "FT001", amount(pays[0]), f"NGUYEN THI LAN CK {pays[0]['transfer_reference']}"),
        ("23/11/2026", "FT002", pays[1]["amount"] - 1000, f"thanh toan {pays[1]['transfer_reference']}"),
        ("23/11/2026", "FT003", "50.000", "chuyen tien khong ghi noi dung"),
        ("23/11/2026", "FT004", f"-{pays[2]['amount']}", f"{pays[2]['transfer_reference']}"),
        ("23/11/2026", "FT005", f"{pays[2]['amount']} VND", f"ocop {pays[2]['transfer_reference'][4:]}"),
    ])
    path = tmp_path / "sao_ke.csv"
    path.write_text(text, encoding="utf-8")
    from core.cli import build_cli
    pm = app.extensions["ocop_plugins"]
    cli, _ = build_cli(pm)
    runner = CliRunner()
    result = runner.invoke(cli, ["payments", "import-statement", str(path)], obj={"app": app, "pm": pm},
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # the short transfer (FT002) counts as a partial payment: the order waits for the rest
    assert "paid=2 partial=1 overpaid=0 refund_due=0 already_processed=0 unmatched=1 skipped=1" in result.output
    statuses = [client.get(f"/storefront/v1/orders/{o['token']}").get_json()["status"] for o in orders_]
    assert statuses == ["paid", "unconfirmed", "paid"]
    before = row_counts()
    again = runner.invoke(cli, ["payments", "import-statement", str(path), "--json"], obj={"app": app, "pm": pm})
    assert again.exit_code == 0 and '"already_processed": 4' in again.output  # the unmatched line too
    assert row_counts() == before


def test_statement_import_admin_endpoint(client, login, demo):
    order = place_order(client, [("BL-TDB-10", 1)])
    payment = _pay(client, order["token"], "bank_transfer").get_json()["payment"]
    admin = login("admin")
    text = f"date,amount,description\n2026-11-23,{payment['amount']},{payment['transfer_reference']}\n"
    url = "/admin/v1/payments/bank-transfer/statements"
    body = client.post(url, data=text.encode(), headers={**admin, "Content-Type": "text/csv"})
    assert body.status_code == 200, body.get_json()
    assert body.get_json()["paid"] == 1 and body.get_json()["lines"][0]["outcome"] == "paid"
    error_of(client.post(url, data=b"foo,bar\n1,2\n", headers={**admin, "Content-Type": "text/csv"}), 422,
             "bank_transfer.bad_statement")
    error_of(client.post(url, data=b"", headers={**admin, "Content-Type": "text/csv"}), 422)
    error_of(client.post(url, data=text.encode(), headers={**login("sct.dongnai"), "Content-Type": "text/csv"}), 403)
    error_of(client.post(url, data=text.encode(), headers={"Content-Type": "text/csv"}), 401)


@pytest.mark.parametrize("raw,expected", [("1.500.000", 1500000), ("1,500,000", 1500000), ("150000 VND", 150000),
                                          ("1.500.000,00", 1500000), ("150000.00", 150000), ("-20.000", -20000),
                                          ("abc", None), ("", None)])
def test_statement_amounts(raw, expected):
    from plugins.bank_transfer.services import parse_amount
    assert parse_amount(raw) == expected


def test_refunds(client, login, demo):
    order = place_order(client, [("BL-BDX-1", 2)])
    oid = order_id(order["number"])
    payment = _pay(client, order["token"], "bank_transfer").get_json()["payment"]
    admin = login("admin")
    error_of(client.post(f"{ADMIN}/{oid}/refunds", headers=admin, json={"amount": 1000}), 409,
             "payment.refund_exceeds")
    client.post(f"{ADMIN}/{oid}/payments/{payment['id']}/mark-paid", headers=admin, json={})
    part = client.post(f"{ADMIN}/{oid}/refunds", headers=admin, json={"amount": 20000, "reason": "giao trễ"})
    assert part.status_code == 201, part.get_json()
    assert part.get_json()["refunds"][0]["amount"] == 20000
    assert part.get_json()["order"]["payment_status"] == "partially_refunded"
    assert part.get_json()["order"]["status"] == "paid"
    error_of(client.post(f"{ADMIN}/{oid}/refunds", headers=admin, json={"amount": payment["amount"]}), 409,
             "payment.refund_exceeds")
    error_of(client.post(f"{ADMIN}/{oid}/refunds", headers=admin, json={"amount": 0}), 422)
    error_of(client.post(f"{ADMIN}/{oid}/refunds", headers=login("cs.htx-binh-loi"), json={"amount": 1}), 403)
    error_of(client.post(f"{ADMIN}/{oid}/refunds", json={"amount": 1}), 401)
    assert stock_of("BL-BDX-1")[1] == 2
    rest = client.post(f"{ADMIN}/{oid}/refunds", headers=admin, json={"amount": payment["amount"] - 20000})
    assert rest.get_json()["order"]["status"] == "refunded"
    assert stock_of("BL-BDX-1")[1] == 0  # a refunded order that had not shipped releases its stock


def test_cancelling_a_paid_order_refunds_it(client, login, demo):
    order = place_order(client, [("BL-BDX-1", 1)])
    oid = order_id(order["number"])
    payment = _pay(client, order["token"], "bank_transfer").get_json()["payment"]
    admin = login("admin")
    client.post(f"{ADMIN}/{oid}/payments/{payment['id']}/mark-paid", headers=admin, json={})
    body = client.post(f"{ADMIN}/{oid}/cancel", headers=admin, json={}).get_json()
    assert body["status"] == "cancelled" and body["refunded_amount"] == payment["amount"]
    assert body["payments"][0]["status"] == "refunded" and stock_of("BL-BDX-1")[1] == 0


def test_builtin_plugins_can_be_switched_off(_migrated_app, instance_path, database_url):
    """With cod, bank_transfer and flat_shipping disabled the app still works: no gateways, pickup only."""
    from conftest import make_settings
    from core.app import create_app
    from core.db import commit
    from core.demo import seed_demo
    settings = make_settings(instance_path, database_url,
                             plugins_disabled=["cod", "bank_transfer", "flat_shipping"])
    app = create_app(settings)
    client = app.test_client()
    with app.app_context():
        try:
            seed_demo()
            commit()
            codes = {g["code"] for g in client.get("/storefront/v1/payment-gateways").get_json()}
            assert not codes & {"cod", "bank_transfer"}
            token = checkout_for(client, [("BL-BDX-1", 1)], delivery=None)["token"]
            options = client.get(f"/storefront/v1/checkouts/{token}/delivery-methods").get_json()
            assert options["results"] == [] and len(options["pickup_locations"]) == 1
            error_of(client.patch(f"/storefront/v1/checkouts/{token}", json={"delivery_method": "standard"}), 422,
                     "shipping.method_unavailable")
            client.patch(f"/storefront/v1/checkouts/{token}",
                         json={"delivery_method": "pickup", "pickup_location_id": options["pickup_locations"][0]["id"]})
            order = client.post(f"/storefront/v1/checkouts/{token}/complete").get_json()
            error_of(_pay(client, order["token"], "cod"), 422, "payment.gateway_unavailable")
            assert client.post("/admin/v1/payments/bank-transfer/statements", data=b"x").status_code == 404
            assert client.get("/storefront/v1/products").status_code == 200
        finally:
            from conftest import _clean
            from core.db import db
            db.session.remove()
            _clean(app)
