"""VNPay plugin: signing vectors, the payment URL, the IPN state machine (tampered fields, replays,
out-of-order calls), querydr and refunds against a VNPay-shaped API server on 127.0.0.1."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from plugins.vnpay import signing
from support.checks import error_of, row_counts
from support.orders import order_id, place_order
from support.vnpay_server import FakeVnpay

TMN, SECRET = "OCOPTEST", "VNPAYTESTSECRET0123456789ABCDEFG"
IPN, RETURN = "/storefront/v1/payments/vnpay/ipn", "/storefront/v1/payments/vnpay/return"
# Built with VNPay's documented algorithm by the open-source `vnpay` library's tests (secret "test_secret")
VECTOR = {"vnp_Amount": "1000000", "vnp_BankCode": "NCB", "vnp_BankTranNo": "VNP14422574", "vnp_CardType": "ATM",
          "vnp_OrderInfo": "Thanh toan don hang 2024-05-21T02:17:31.249Z", "vnp_PayDate": "20240521091806",
          "vnp_ResponseCode": "00", "vnp_TmnCode": "TEST_TMN_CODE", "vnp_TransactionNo": "14422574",
          "vnp_TransactionStatus": "00", "vnp_TxnRef": "1716257871703"}
VECTOR_HASH = ("649982421beb422556a1374713c74e58e716ecbd05007c0c0e1f7effdfaf361dbf146889ca446139afe11b9954c4d5c4"
               "86e99e3b86fcfab6957f29eb0be72895")
VECTOR_FAILED_HASH = ("503194f6d93b57b357b2d1d09742565e67e86d771352c5dca4fc8d39df3d392c6b3809add9405f97cfb9631f445e"
                      "36c80656cfbf47eac67d97fa165865c13e1b")


@pytest.fixture(scope="module")
def fake_vnpay():
    server = FakeVnpay(TMN, SECRET)
    yield server
    server.stop()


@pytest.fixture
def vnpay(app, monkeypatch, fake_vnpay):
    monkeypatch.setenv("OCOP_VNPAY_TMN_CODE", TMN)
    monkeypatch.setenv("OCOP_VNPAY_HASH_SECRET", SECRET)
    monkeypatch.setenv("OCOP_VNPAY_URL", "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html")
    monkeypatch.setenv("OCOP_VNPAY_API_URL", fake_vnpay.api_url)
    app.extensions.pop("ocop_payment_gateways", None)
    fake_vnpay.transactions.clear()
    yield fake_vnpay
    app.extensions.pop("ocop_payment_gateways", None)


def vnpay_order(client, quantity=1):
    order = place_order(client, [("BL-BDX-1", quantity)], gateway="vnpay")
    return order, next(p for p in order["payments"] if p["gateway"] == "vnpay")


def ipn_fields(payment, *, amount=None, code="00", status="00", **extra) -> dict:
    fields = {"vnp_Amount": str((amount if amount is not None else payment["amount"]) * 100), "vnp_BankCode": "NCB",
              "vnp_BankTranNo": "VNP14422574", "vnp_CardType": "ATM", "vnp_OrderInfo": "Thanh toan don hang",
              "vnp_PayDate": "20261123101500", "vnp_ResponseCode": code, "vnp_TmnCode": TMN,
              "vnp_TransactionNo": "14422574", "vnp_TransactionStatus": status,
              "vnp_TxnRef": payment["external_id"], **extra}
    return {**fields, "vnp_SecureHash": signing.sign(fields, SECRET)}


def call_ipn(client, fields):
    response = client.get(IPN, query_string=fields)
    assert response.status_code == 200
    return response.get_json()


def state(client, token):
    return client.get(f"/storefront/v1/orders/{token}").get_json()


def test_signing_matches_published_vectors():
    assert signing.sign(VECTOR, "test_secret") == VECTOR_HASH
    assert signing.verify({**VECTOR, "vnp_SecureHash": VECTOR_HASH.upper(), "vnp_SecureHashType": "HmacSHA512"},
                          "test_secret")
    assert signing.sign({**VECTOR, "vnp_ResponseCode": "99"}, "test_secret") == VECTOR_FAILED_HASH
    assert not signing.verify({**VECTOR, "vnp_SecureHash": VECTOR_HASH}, "other_secret")
    # form encoding as VNPay's reference code (PHP urlencode): space → "+", reserved characters escaped
    assert signing.hash_data({"vnp_OrderInfo": "Thanh toan don :5 ~", "vnp_Amount": "1806000", "x": "ignored"}) == \
        "vnp_Amount=1806000&vnp_OrderInfo=Thanh+toan+don+%3A5+%7E"


@pytest.mark.parametrize("field", sorted(VECTOR))
def test_every_tampered_field_is_refused(field):
    tampered = {**VECTOR, field: VECTOR[field] + "1", "vnp_SecureHash": VECTOR_HASH}
    assert not signing.verify(tampered, "test_secret")


def test_payment_url_is_sorted_encoded_and_signed(client, demo, vnpay):
    codes = [g["code"] for g in client.get("/storefront/v1/payment-gateways").get_json()]
    assert "vnpay" in codes
    order, payment = vnpay_order(client, quantity=2)
    url = urlsplit(payment["client_data"]["payment_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
    pairs = parse_qsl(url.query, keep_blank_values=True)
    keys = [k for k, _ in pairs]
    assert keys[-1] == "vnp_SecureHash" and keys[:-1] == sorted(keys[:-1])
    fields = dict(pairs)
    assert fields["vnp_Amount"] == str(order["total"] * 100) and fields["vnp_CurrCode"] == "VND"
    assert fields["vnp_TxnRef"] == payment["external_id"] and fields["vnp_TmnCode"] == TMN
    assert "vnp_OrderInfo=Thanh+toan+don+hang+OCOP-" in url.query  # space as "+"
    assert signing.verify(fields, SECRET)
    assert fields["vnp_ReturnUrl"].endswith(RETURN)
    _, other = vnpay_order(client)
    assert other["external_id"] != payment["external_id"]  # vnp_TxnRef unique


def test_ipn_tampered_fields_replays_and_out_of_order_calls(client, demo, vnpay):
    order, payment = vnpay_order(client)
    good = ipn_fields(payment)
    before = row_counts()
    for field in sorted(good):
        tampered = {**good, field: good[field] + "9"}
        assert call_ipn(client, tampered) == {"RspCode": "97", "Message": "Invalid signature"}, field
    missing = {k: v for k, v in good.items() if k != "vnp_SecureHash"}
    assert call_ipn(client, missing)["RspCode"] == "97"
    assert call_ipn(client, {})["RspCode"] == "97"
    assert call_ipn(client, ipn_fields(payment, vnp_TmnCode="OTHERTMN"))["RspCode"] == "97"
    assert call_ipn(client, ipn_fields(payment, vnp_TxnRef="NOSUCHREF"))["RspCode"] == "01"
    assert call_ipn(client, ipn_fields(payment, amount=payment["amount"] // 100))["RspCode"] == "04"
    assert call_ipn(client, ipn_fields(payment, amount=payment["amount"] + 1))["RspCode"] == "04"
    assert row_counts() == before and state(client, order["token"])["status"] == "unconfirmed"

    assert call_ipn(client, good) == {"RspCode": "00", "Message": "Confirm Success"}
    view = state(client, order["token"])
    assert (view["status"], view["paid_amount"]) == ("paid", order["total"])
    after = row_counts()
    assert call_ipn(client, good) == {"RspCode": "02", "Message": "Order already confirmed"}  # replay
    assert call_ipn(client, ipn_fields(payment, code="24", status="02"))["RspCode"] == "02"  # late failure
    assert row_counts() == after and state(client, order["token"])["paid_amount"] == order["total"]
    # the return page shows the result and changes nothing
    shown = client.get(RETURN, query_string=good)
    assert shown.status_code == 200 and shown.get_json()["success"] is True
    assert shown.get_json()["order"]["status"] == "paid" and row_counts() == after
    error_of(client.get(RETURN, query_string={**good, "vnp_Amount": "1"}), 400, "payment.bad_signature")
    error_of(client.get(RETURN, query_string=ipn_fields(payment, vnp_TxnRef="NOSUCHREF")), 404)


def test_failed_ipn_then_a_late_success_is_not_applied(client, demo, vnpay):
    order, payment = vnpay_order(client)
    assert call_ipn(client, ipn_fields(payment, code="24", status="02"))["RspCode"] == "00"
    view = state(client, order["token"])
    assert view["payments"][0]["status"] == "failed" and view["status"] == "unconfirmed"
    back = client.get(RETURN, query_string=ipn_fields(payment, code="24", status="02")).get_json()
    assert back["success"] is False and back["message"] == "Khách hàng huỷ giao dịch"
    before = row_counts()
    assert call_ipn(client, ipn_fields(payment))["RspCode"] == "02"
    assert row_counts() == before and state(client, order["token"])["paid_amount"] == 0


def test_success_for_a_cancelled_order_is_recorded_for_a_person(client, login, demo, vnpay):
    order, payment = vnpay_order(client)
    admin = login("admin")
    oid = order_id(order["number"])
    client.post(f"/admin/v1/orders/{oid}/cancel", headers=admin, json={})
    assert call_ipn(client, ipn_fields(payment))["RspCode"] == "02"
    assert state(client, order["token"])["paid_amount"] == 0
    kinds = [e["kind"] for e in client.get(f"/admin/v1/orders/{oid}/events", headers=admin).get_json()]
    assert "vnpay_refund_needed" in kinds


def _age(txn_ref: str, minutes: int):
    from core.db import db
    from plugins.vnpay.models import VnpayTransaction
    db.session.execute(update(VnpayTransaction).where(VnpayTransaction.txn_ref == txn_ref).values(
        created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes)))
    db.session.commit()


def test_querydr_settles_payments_whose_ipn_was_missed(client, demo, vnpay):
    from plugins.vnpay import services
    paid_order, paid = vnpay_order(client)
    failed_order, failed = vnpay_order(client)
    lost_order, lost = vnpay_order(client)
    fresh_order, fresh = vnpay_order(client)
    for ref in (paid["external_id"], failed["external_id"], lost["external_id"]):
        _age(ref, 40)
    vnpay.transactions[paid["external_id"]] = {"amount": paid["amount"] * 100, "status": "00",
                                               "transaction_no": "14500001"}
    vnpay.transactions[failed["external_id"]] = {"amount": failed["amount"] * 100, "status": "02"}
    assert services.query_pending() == {"succeeded": 1, "failed": 2, "still_pending": 0, "errors": 0}
    assert state(client, paid_order["token"])["status"] == "paid"
    assert state(client, failed_order["token"])["payments"][0]["status"] == "failed"
    assert state(client, lost_order["token"])["payments"][0]["status"] == "failed"  # VNPay: 91 not found
    assert state(client, fresh_order["token"])["payments"][0]["status"] == "pending"  # still in its window
    assert all(r["vnp_Command"] == "querydr" for r in vnpay.requests)
    before = row_counts()
    assert call_ipn(client, ipn_fields(paid))["RspCode"] == "02"  # the IPN arriving late changes nothing
    assert services.query_pending()["succeeded"] == 0 and row_counts() == before
    assert state(client, paid_order["token"])["paid_amount"] == paid_order["total"]


def test_querydr_with_the_api_down_leaves_payments_pending(client, demo, vnpay, monkeypatch, app):
    from plugins.vnpay import services
    order, payment = vnpay_order(client)
    _age(payment["external_id"], 40)
    monkeypatch.setenv("OCOP_VNPAY_API_URL", "http://127.0.0.1:9/merchant_webapi/api/transaction")
    assert services.query_pending()["errors"] == 1
    assert state(client, order["token"])["payments"][0]["status"] == "pending"
    monkeypatch.setenv("OCOP_VNPAY_HASH_SECRET", "a-different-secret")  # VNPay answers 97 to a bad request hash
    monkeypatch.setenv("OCOP_VNPAY_API_URL", vnpay.api_url)
    assert services.query_pending()["errors"] == 1


def test_refunds_go_through_the_refund_api(client, login, demo, vnpay):
    from core.db import db
    from core.sales.models import Order
    from core.payments.models import Refund
    from core.accounts.models import User
    from core.sales import order_payments
    order, payment = vnpay_order(client, quantity=2)
    call_ipn(client, ipn_fields(payment))
    vnpay.transactions[payment["external_id"]] = {"amount": payment["amount"] * 100, "status": "00",
                                                  "transaction_no": "14422574"}
    db.session.rollback()
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    oid = db.session.execute(select(Order.id).where(Order.token == order["token"])).scalar_one()
    refunds = order_payments.refund(admin, oid, 50000, reason="Khách trả một hộp")
    assert refunds[0].external_id.startswith("vnpay-refund-")
    sent = [r for r in vnpay.requests if r["vnp_Command"] == "refund"][-1]
    assert (sent["vnp_Amount"], sent["vnp_TransactionType"], sent["vnp_TransactionNo"]) == (5000000, "03", "14422574")
    assert state(client, order["token"])["refunded_amount"] == 50000
    rest = order_payments.refund(admin, oid, order["total"] - 50000, reason="Huỷ phần còn lại")
    assert rest and state(client, order["token"])["status"] == "refunded"
    assert db.session.execute(select(Refund).where(Refund.order_id == oid)).scalars().all()
    with pytest.raises(Exception) as too_much:
        order_payments.refund(admin, oid, 1)
    assert getattr(too_much.value, "code", None) == "payment.refund_exceeds"


def test_not_configured_vnpay_is_not_offered_and_is_listed_as_a_plugin(app, client, demo, monkeypatch):
    for name in ("OCOP_VNPAY_TMN_CODE", "OCOP_VNPAY_HASH_SECRET", "OCOP_VNPAY_URL"):
        monkeypatch.delenv(name, raising=False)
    app.extensions.pop("ocop_payment_gateways", None)
    assert "vnpay" not in [g["code"] for g in client.get("/storefront/v1/payment-gateways").get_json()]
    order = place_order(client, [("BL-BDX-1", 1)])
    error_of(client.post(f"/storefront/v1/orders/{order['token']}/payments", json={"gateway": "vnpay"}), 422,
             "payment.gateway_unavailable")
    assert call_ipn(client, {"vnp_TxnRef": "x"})["RspCode"] == "99"
    error_of(client.get(RETURN, query_string={"vnp_TxnRef": "x"}), 404)
    from core.cli import build_cli
    pm = app.extensions["ocop_plugins"]
    cli, _ = build_cli(pm)
    listed = CliRunner().invoke(cli, ["plugins", "list"], obj={"app": app, "pm": pm})
    assert listed.exit_code == 0 and any(line.split()[:1] == ["vnpay"] and "enabled" in line
                                         for line in listed.output.splitlines())
