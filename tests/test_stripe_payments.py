"""Stripe plugin against localstripe with the real SDK and the real app served over HTTP.

localstripe runs once for the module on a loopback port and delivers its
signed webhooks (~1 s late) to the app, which is served by werkzeug on
another loopback port so the whole path (SDK → localstripe → webhook →
core payments service → order) is real. Waiting for a webhook is a polling
loop with a deadline, never a timed assertion.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest

from support.services import need_service

stripe = pytest.importorskip("stripe")

pytestmark = pytest.mark.localstripe

SECRET_KEY = "sk_test_ocop_localstripe"
WEBHOOK_SECRET = "whsec_ocop_test_secret"
WEBHOOK_PATH = "/storefront/v1/payments/stripe/webhook"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- fixtures ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def localstripe():
    """One localstripe process for the module (skips, or fails under CI, when it cannot start)."""
    from support.localstripe_server import LocalStripeUnavailable, start_localstripe
    try:
        server = start_localstripe()
    except (LocalStripeUnavailable, RuntimeError, OSError) as exc:
        need_service("localstripe", False, str(exc))
    yield server
    server.stop()


class _CaptureWebhooks:
    """WSGI middleware keeping the raw body and signature of every webhook delivery (to replay them)."""

    def __init__(self, app):
        self.app = app
        self.deliveries: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == WEBHOOK_PATH and environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            record = {"body": body, "signature": environ.get("HTTP_STRIPE_SIGNATURE"), "status": None}

            def capture_start(status, headers, exc_info=None):
                record["status"] = int(status.split()[0])
                return start_response(status, headers, exc_info)

            with self.lock:
                self.deliveries.append(record)
            return self.app(environ, capture_start)
        return self.app(environ, start_response)

    def events(self, event_type: str | None = None) -> list[dict]:
        """Answered deliveries (of ``event_type``), oldest first."""
        with self.lock:
            records = [r for r in self.deliveries if r["status"] is not None]
        found = []
        for record in records:
            event = json.loads(record["body"])
            if event_type is None or event["type"] == event_type:
                found.append({**record, "event": event})
        return found


@pytest.fixture(scope="module")
def live_server(_migrated_app):
    """The real app served over HTTP on 127.0.0.1 (werkzeug in a thread), webhook deliveries captured."""
    from werkzeug.serving import make_server
    wsgi = _CaptureWebhooks(_migrated_app.wsgi_app)
    _migrated_app.wsgi_app = wsgi
    server = make_server("127.0.0.1", 0, _migrated_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", capture=wsgi)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        _migrated_app.wsgi_app = wsgi.app


@pytest.fixture
def fresh_gateways(app):
    """Forget the app's cached gateway registry before and after a test that changes Stripe settings."""
    app.extensions.pop("ocop_payment_gateways", None)
    yield
    app.extensions.pop("ocop_payment_gateways", None)


@pytest.fixture
def stripe_env(app, settings, localstripe, live_server, monkeypatch, fresh_gateways):
    """Stripe switched on for the app (settings as OCOP_STRIPE_* would set them), localstripe emptied."""
    monkeypatch.setattr(settings, "stripe_secret_key", SECRET_KEY)
    monkeypatch.setattr(settings, "stripe_webhook_secret", WEBHOOK_SECRET)
    monkeypatch.setattr(settings, "stripe_api_base", localstripe.api_base)
    localstripe.reset()
    localstripe.register_webhook("ocop", live_server.url + WEBHOOK_PATH, WEBHOOK_SECRET)
    with live_server.capture.lock:
        live_server.capture.deliveries.clear()
    client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe.api_base})
    return SimpleNamespace(app=app, settings=settings, localstripe=localstripe, server=live_server,
                           stripe=client)


def post_webhook(base_url: str, body: bytes, signature: str | None):
    """POST a webhook over real HTTP; returns (status, json body)."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    request = urllib.request.Request(base_url + WEBHOOK_PATH, data=body, headers=headers, method="POST")
    try:
        with _NO_PROXY.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def sign(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header exactly as Stripe computes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), b"%d.%s" % (timestamp, body), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value or the deadline passes (then fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(interval)


def gateways(settings):
    from core.plugins import hooks
    return {g.code: g for result in hooks().payment_gateways(settings=settings) for g in result}


def fake_payment_intent_event(intent_id: str, event_type: str = "payment_intent.succeeded",
                              amount: int = 150000, event_id: str = "evt_test_1") -> bytes:
    return json.dumps({
        "id": event_id, "object": "event", "type": event_type, "api_version": "2017-08-15",
        "created": int(time.time()), "livemode": False,
        "data": {"object": {"id": intent_id, "object": "payment_intent", "amount": amount,
                            "currency": "vnd", "status": "succeeded", "metadata": {}}},
    }).encode()


# --- gateway against localstripe ----------------------------------------------------------
def test_gateway_enabled_only_with_secret_key(app, settings, monkeypatch, fresh_gateways):
    assert "stripe" not in gateways(settings)
    monkeypatch.setattr(settings, "stripe_secret_key", SECRET_KEY)
    gateway = gateways(settings)["stripe"]
    assert gateway.describe() == {"code": "stripe", "name": "Thẻ ngân hàng quốc tế (Stripe)",
                                  "name_en": "Card payment (Stripe)", "offline": False, "currency": "VND"}


def test_start_creates_a_vnd_payment_intent_with_the_exact_amount(stripe_env):
    gateway = gateways(stripe_env.settings)["stripe"]
    order = SimpleNamespace(id=41, number="OCOP-2026-000041")
    payment = SimpleNamespace(id=7, amount=150000, external_id=None)
    started = gateway.start(order, payment)
    assert started.status == "pending"
    assert started.external_id.startswith("pi_")
    assert started.client_data["client_secret"].startswith(started.external_id + "_secret_")
    intent = stripe_env.stripe.v1.payment_intents.retrieve(started.external_id)
    assert intent.amount == 150000  # zero-decimal VND: never ×100
    assert intent.currency == "vnd"
    assert intent.status == "requires_payment_method"
    assert intent.metadata.to_dict() == {"ocop_payment_id": "7", "ocop_order_id": "41",
                                     "ocop_order_number": "OCOP-2026-000041"}


@pytest.mark.parametrize("amount", [0, -5, 1500.5, True, None])
def test_start_refuses_amounts_that_are_not_positive_whole_dong(stripe_env, amount):
    from core.errors import DomainError
    gateway = gateways(stripe_env.settings)["stripe"]
    with pytest.raises(DomainError) as caught:
        gateway.start(SimpleNamespace(id=1), SimpleNamespace(id=1, amount=amount))
    assert caught.value.code == "payment.invalid_amount"
    assert stripe_env.stripe.v1.payment_intents.list().data == []


def test_refund_through_the_sdk(stripe_env):
    gateway = gateways(stripe_env.settings)["stripe"]
    started = gateway.start(SimpleNamespace(id=1, number=None), SimpleNamespace(id=1, amount=200000))
    stripe_env.stripe.v1.payment_intents.update(started.external_id, params={"payment_method": "pm_card_visa"})
    stripe_env.stripe.v1.payment_intents.confirm(started.external_id)
    payment = SimpleNamespace(id=1, amount=200000, external_id=started.external_id)
    refund_id = gateway.refund(payment, 50000)
    refund = stripe_env.stripe.v1.refunds.retrieve(refund_id)
    assert (refund.amount, refund.status, refund.payment_intent) == (50000, "succeeded", started.external_id)
    # its webhook (for an intent no order owns) is acknowledged; wait so it does not spill into the next test
    assert wait_for(lambda: stripe_env.server.capture.events("payment_intent.succeeded"),
                    what="webhook delivery")[0]["status"] == 200


def test_refund_of_an_unpaid_intent_is_a_4xx_domain_error(stripe_env):
    from core.errors import DomainError
    gateway = gateways(stripe_env.settings)["stripe"]
    started = gateway.start(SimpleNamespace(id=1, number=None), SimpleNamespace(id=1, amount=1000))
    with pytest.raises(DomainError) as caught:
        gateway.refund(SimpleNamespace(id=1, amount=1000, external_id=started.external_id), 1000)
    assert caught.value.code == "payment.gateway_rejected" and caught.value.status == 422


def test_unreachable_stripe_is_a_gateway_error(app, settings, monkeypatch, fresh_gateways):
    from core.errors import DomainError
    from support.services import port_open
    monkeypatch.setattr(settings, "stripe_secret_key", SECRET_KEY)
    port = 9  # discard: nothing listens there on a test machine
    assert not port_open("127.0.0.1", port)
    monkeypatch.setattr(settings, "stripe_api_base", f"http://127.0.0.1:{port}")
    gateway = gateways(settings)["stripe"]
    with pytest.raises(DomainError) as caught:
        gateway.start(SimpleNamespace(id=1), SimpleNamespace(id=1, amount=1000))
    assert caught.value.code == "payment.gateway_unavailable" and caught.value.status == 502


# --- webhook verification --------------------------------------------------------------
def test_localstripe_webhook_is_delivered_and_verified(stripe_env):
    """A real signed delivery from localstripe passes verification; for an intent no order owns it is acknowledged."""
    gateway = gateways(stripe_env.settings)["stripe"]
    started = gateway.start(SimpleNamespace(id=3, number=None), SimpleNamespace(id=3, amount=150000))
    stripe_env.stripe.v1.payment_intents.update(started.external_id, params={"payment_method": "pm_card_visa"})
    stripe_env.stripe.v1.payment_intents.confirm(started.external_id)
    delivery = wait_for(lambda: stripe_env.server.capture.events("payment_intent.succeeded"),
                        what="payment_intent.succeeded webhook")[0]
    assert delivery["status"] == 200
    assert delivery["event"]["data"]["object"]["id"] == started.external_id
    assert delivery["event"]["data"]["object"]["amount"] == 150000
    event = gateway.verify_event(delivery["body"], delivery["signature"])
    converted = gateway.to_gateway_event(event)
    assert (converted.event_id, converted.external_id, converted.kind, converted.amount) == (
        delivery["event"]["id"], started.external_id, "succeeded", 150000)


@pytest.mark.parametrize("signature", [
    None,
    "",
    "t=1,v1=deadbeef",
    "garbage",
    "wrong-secret",
    "stale",
])
def test_bad_signature_is_400_and_changes_nothing(stripe_env, signature):
    body = fake_payment_intent_event("pi_unknown")
    if signature == "wrong-secret":
        signature = sign(body, secret="whsec_someone_else")
    elif signature == "stale":
        signature = sign(body, timestamp=int(time.time()) - 3600)  # outside Stripe's 5-minute tolerance
    status, answer = post_webhook(stripe_env.server.url, body, signature)
    assert status == 400
    assert answer["error"]["code"] == "payment.bad_signature"
    assert answer["error"]["message"] and answer["error"]["message_en"]


def test_tampered_body_with_a_once_valid_signature_is_refused(stripe_env):
    body = fake_payment_intent_event("pi_a", amount=1000)
    signature = sign(body)
    tampered = body.replace(b'"amount": 1000', b'"amount": 1')
    assert tampered != body
    status, answer = post_webhook(stripe_env.server.url, tampered, signature)
    assert (status, answer["error"]["code"]) == (400, "payment.bad_signature")


def test_signed_non_event_body_is_refused(stripe_env):
    body = b"not json at all"
    status, answer = post_webhook(stripe_env.server.url, body, sign(body))
    assert (status, answer["error"]["code"]) == (400, "payment.bad_signature")


def test_signed_event_of_an_unused_type_is_acknowledged(stripe_env):
    body = json.dumps({"id": "evt_other", "object": "event", "type": "customer.created",
                       "data": {"object": {"id": "cus_1", "object": "customer"}}}).encode()
    status, answer = post_webhook(stripe_env.server.url, body, sign(body))
    assert status == 200
    assert answer == {"received": True, "event_id": "evt_other", "type": "customer.created", "handled": False}


def test_webhook_without_stripe_configured_is_404(app, client):
    spec = client.get("/openapi.json").get_json()["paths"][WEBHOOK_PATH]["post"]
    assert {"200", "400"} <= set(spec["responses"])
    response = client.post(WEBHOOK_PATH, data=b"{}", headers={"Stripe-Signature": "t=1,v1=x"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "payment.gateway_unavailable"


def test_webhook_without_webhook_secret_is_refused(app, client, settings, monkeypatch, fresh_gateways):
    monkeypatch.setattr(settings, "stripe_secret_key", SECRET_KEY)
    body = fake_payment_intent_event("pi_x")
    response = client.post(WEBHOOK_PATH, data=body, headers={"Stripe-Signature": sign(body)})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "payment.webhook_not_configured"


# --- plugin switched off -------------------------------------------------------------------
@pytest.fixture
def disabled_app(app, instance_path, database_url):
    """A second app on the same database with Stripe configured but ``OCOP_PLUGINS_DISABLED=stripe_payments``."""
    from conftest import make_settings
    from core.app import create_app
    from core.celery_app import init_celery
    from core.db import db
    db.session.commit()
    yield create_app(make_settings(instance_path, database_url, plugins_disabled=["stripe_payments"],
                                   stripe_secret_key=SECRET_KEY, stripe_webhook_secret=WEBHOOK_SECRET))
    init_celery(app)  # give Celery back to the session's app


def test_plugin_disabled_removes_gateway_and_webhook_route(disabled_app, demo):
    from core.db import db
    from core.plugins import hooks
    db.session.commit()
    settings = disabled_app.config["OCOP"]
    with disabled_app.app_context():
        found = [g.code for result in hooks().payment_gateways(settings=settings) for g in result]
        assert "stripe" not in found
        infos = {p["name"]: p for p in disabled_app.extensions["ocop_plugins"].describe()}
        assert infos["stripe_payments"]["enabled"] is False
    other = disabled_app.test_client()
    body = fake_payment_intent_event("pi_x")
    response = other.post(WEBHOOK_PATH, data=body, headers={"Stripe-Signature": sign(body)})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "route.not_found"
    assert WEBHOOK_PATH not in other.get("/openapi.json").get_json()["paths"]
    # the rest of the shop works without it: Stripe is simply not offered
    assert "stripe" not in [g["code"] for g in other.get("/storefront/v1/payment-gateways").get_json()]
    order = place_order(other, gateway=None)
    response = other.post(f"/storefront/v1/orders/{order['token']}/payments", json={"gateway": "stripe"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "payment.gateway_unavailable"


# --- end to end: checkout → PaymentIntent → webhook → order ---------------------------------
ADDRESS = {"province_code": "75", "commune_code": "26188", "street": "12 Đường Đồng Khởi"}
CAM_SKU, CAM_PRICE, STANDARD_FEE = "VQ-CAM-5KG", 250000, 48000


def place_order(client, gateway: str | None = "stripe", quantity: int = 2) -> dict:
    """A shopper orders Cam Vũ Quang with home delivery; returns the order as the storefront sees it."""
    body = {"lines": [{"sku": CAM_SKU, "quantity": quantity}], "email": "khach@example.vn",
            "phone": "0912345678", "full_name": "Nguyễn Thị Khách", "shipping_address": ADDRESS,
            "delivery_method": "standard"}
    if gateway:
        body["payment_gateway"] = gateway
    response = client.post("/storefront/v1/checkouts", json=body)
    assert response.status_code == 201, response.get_json()
    response = client.post(f"/storefront/v1/checkouts/{response.get_json()['token']}/complete")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stripe_payment(order: dict) -> dict:
    found = [p for p in order["payments"] if p["gateway"] == "stripe"]
    assert len(found) == 1, order
    return found[0]


def order_state(token: str) -> dict:
    """Fresh read of everything a payment event could change on the order behind ``token``."""
    from sqlalchemy import func, select
    from core.db import db
    from core.sales.models import Order, OrderEvent
    from core.payments.models import PaymentEvent, Refund
    db.session.rollback()  # end the test's read transaction: see the server thread's commits
    order = db.session.execute(select(Order).where(Order.token == token)).scalar_one()
    count = lambda model, column: db.session.execute(  # noqa: E731
        select(func.count()).select_from(model).where(column == order.id)).scalar_one()
    payment_ids = [p.id for p in order.payments]
    return {
        "status": order.status, "paid_amount": order.paid_amount, "refunded_amount": order.refunded_amount,
        "payments": [(p.id, p.status, p.amount, p.refunded_amount) for p in order.payments],
        "payment_events": db.session.execute(select(func.count()).select_from(PaymentEvent)
                                             .where(PaymentEvent.payment_id.in_(payment_ids))).scalar_one(),
        "order_events": count(OrderEvent, OrderEvent.order_id),
        "refunds": count(Refund, Refund.order_id),
    }


def shopper_confirms_card(env, intent_id: str, payment_method: str = "pm_card_visa"):
    """What Stripe.js does with the client secret: attach the card, confirm (localstripe needs two calls)."""
    env.stripe.v1.payment_intents.update(intent_id, params={"payment_method": payment_method})
    return env.stripe.v1.payment_intents.confirm(intent_id)


def pay_order(env, client) -> tuple[dict, dict]:
    """Place a Stripe order and pay it for real (webhook delivered); returns (order view, payment view)."""
    order = place_order(client)
    payment = stripe_payment(order)
    shopper_confirms_card(env, payment["external_id"])
    wait_for(lambda: order_state(order["token"])["status"] == "paid", what="order paid by webhook")
    return order, payment


def signed_event(event: dict) -> tuple[bytes, str]:
    body = json.dumps(event).encode()
    return body, sign(body)


def test_checkout_with_stripe_creates_a_vnd_intent_for_the_order_total(stripe_env, client, demo):
    order = place_order(stripe_env.app.test_client())
    total = 2 * CAM_PRICE + STANDARD_FEE
    assert order["total"] == total == 548000
    assert (order["status"], order["payment_status"], order["payment_gateway"]) == ("unconfirmed", "unpaid", "stripe")
    payment = stripe_payment(order)
    assert (payment["amount"], payment["status"]) == (total, "pending")
    intent = stripe_env.stripe.v1.payment_intents.retrieve(payment["external_id"])
    assert (intent.amount, intent.currency) == (548000, "vnd")  # 548,000 ₫, not 5,480.00
    assert intent.metadata["ocop_order_number"] == order["number"]
    assert intent.metadata["ocop_payment_id"] == str(payment["id"])
    assert payment["client_data"] == {"client_secret": intent.client_secret, "payment_intent": intent.id,
                                      "amount": 548000, "currency": "vnd",
                                      "payment_page": f"/thanh-toan/stripe/{order['token']}"}
    # the shopper can read the client secret back through the order token
    again = client.get(f"/storefront/v1/orders/{order['token']}").get_json()
    assert stripe_payment(again)["client_data"]["client_secret"] == intent.client_secret


def test_storefront_lists_stripe_and_starts_a_payment_for_an_existing_order(stripe_env, client, demo):
    codes = [g["code"] for g in client.get("/storefront/v1/payment-gateways").get_json()]
    assert "stripe" in codes
    order = place_order(client, gateway=None)
    assert order["payments"] == []
    response = client.post(f"/storefront/v1/orders/{order['token']}/payments", json={"gateway": "stripe"})
    assert response.status_code == 201, response.get_json()
    payment = response.get_json()["payment"]
    intent = stripe_env.stripe.v1.payment_intents.retrieve(payment["external_id"])
    assert (intent.amount, intent.currency, payment["amount"]) == (order["total"], "vnd", order["total"])
    assert payment["client_data"]["client_secret"] == intent.client_secret


def test_confirmed_card_pays_the_order_through_the_webhook(stripe_env, client, demo):
    from core.plugins import plugin_manager
    order = place_order(client)
    payment = stripe_payment(order)
    before = order_state(order["token"])
    assert before["paid_amount"] == 0 and before["payment_events"] == 0
    intent = shopper_confirms_card(stripe_env, payment["external_id"])
    assert intent.status == "succeeded"
    state = wait_for(lambda: (s := order_state(order["token"]))["status"] == "paid" and s,
                     what="order paid by the payment_intent.succeeded webhook")
    assert state["paid_amount"] == order["total"]
    assert state["payments"] == [(payment["id"], "succeeded", order["total"], 0)]
    assert state["payment_events"] == 1
    delivery = wait_for(lambda: stripe_env.server.capture.events("payment_intent.succeeded"),
                        what="the delivery's answer")[0]
    assert delivery["status"] == 200
    view = client.get(f"/storefront/v1/orders/{order['token']}").get_json()
    assert (view["status"], view["payment_status"]) == ("paid", "paid")
    assert plugin_manager().is_enabled("stripe_payments")


def test_replayed_or_duplicated_webhook_changes_nothing(stripe_env, client, demo):
    order, payment = pay_order(stripe_env, client)
    delivery = wait_for(lambda: stripe_env.server.capture.events("payment_intent.succeeded"),
                        what="captured delivery")[0]
    before = order_state(order["token"])
    # 1. the very same signed request again (a replay)
    status, answer = post_webhook(stripe_env.server.url, delivery["body"], delivery["signature"])
    assert status == 200
    assert answer == {"received": True, "event_id": delivery["event"]["id"],
                      "type": "payment_intent.succeeded", "handled": False}
    # 2. Stripe's own retry: same event id, signed again with a new timestamp
    status, answer = post_webhook(stripe_env.server.url, delivery["body"], sign(delivery["body"]))
    assert (status, answer["handled"]) == (200, False)
    # 3. the same event id delivered twice at once
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        post_webhook(stripe_env.server.url, delivery["body"], sign(delivery["body"])))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r[0] for r in results) == [200] * 4
    assert order_state(order["token"]) == before
    assert before["paid_amount"] == order["total"] and before["payment_events"] == 1


def test_bad_signature_on_a_real_payment_event_is_400_and_changes_nothing(stripe_env, client, demo):
    order = place_order(client)
    payment = stripe_payment(order)
    before = order_state(order["token"])
    event = json.loads(fake_payment_intent_event(payment["external_id"], amount=order["total"],
                                                 event_id="evt_forged_1"))
    body = json.dumps(event).encode()
    for signature in (None, sign(body, secret="whsec_attacker"), sign(body, timestamp=int(time.time()) - 600),
                      sign(body).replace("v1=", "v1=0")):
        status, answer = post_webhook(stripe_env.server.url, body, signature)
        assert status == 400
        assert answer["error"]["code"] == "payment.bad_signature"
        assert set(answer["error"]) == {"code", "message", "message_en", "details"}
    assert order_state(order["token"]) == before
    assert before["status"] == "unconfirmed" and before["paid_amount"] == 0
    # the same body correctly signed is accepted, which shows the refusals above were the signature's
    status, answer = post_webhook(stripe_env.server.url, body, sign(body))
    assert (status, answer["handled"]) == (200, True)
    assert order_state(order["token"])["status"] == "paid"


def test_declined_card_fails_the_payment_and_leaves_the_order_unpaid(stripe_env, client, demo):
    order = place_order(client)
    payment = stripe_payment(order)
    with pytest.raises(stripe.CardError) as declined:
        shopper_confirms_card(stripe_env, payment["external_id"], "pm_card_chargeCustomerFail")
    assert declined.value.code == "card_declined"
    state = wait_for(lambda: (s := order_state(order["token"]))["payments"][0][1] == "failed" and s,
                     what="payment failed by the payment_intent.payment_failed webhook")
    assert state["status"] == "unconfirmed" and state["paid_amount"] == 0
    assert state["payments"] == [(payment["id"], "failed", order["total"], 0)]
    assert wait_for(lambda: stripe_env.server.capture.events("payment_intent.payment_failed"),
                    what="the delivery's answer")[0]["status"] == 200
    view = client.get(f"/storefront/v1/orders/{order['token']}").get_json()
    assert view["payment_status"] == "unpaid"
    # the shopper may try again with another card: a new intent for the same amount
    response = client.post(f"/storefront/v1/orders/{order['token']}/payments", json={"gateway": "stripe"})
    assert response.status_code == 201, response.get_json()
    retry = response.get_json()["payment"]
    assert retry["id"] != payment["id"] and retry["external_id"] != payment["external_id"]
    shopper_confirms_card(stripe_env, retry["external_id"])
    wait_for(lambda: order_state(order["token"])["status"] == "paid", what="order paid on the second card")


def test_refund_goes_through_stripe_and_is_recorded(stripe_env, client, demo):
    from sqlalchemy import select
    from core.db import commit, db
    from core.sales.models import Order
    from core.payments.models import Refund
    from core.accounts.models import User
    from core.sales import order_payments
    order, payment = pay_order(stripe_env, client)
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    order_id = db.session.execute(select(Order.id).where(Order.token == order["token"])).scalar_one()
    refunds = order_payments.refund(admin, order_id, 100000, reason="Khách trả một thùng")
    assert len(refunds) == 1 and refunds[0].external_id.startswith("re_")
    refund_id = refunds[0].external_id
    commit()  # the test owns the unit of work, as the admin request would
    at_stripe = stripe_env.stripe.v1.refunds.retrieve(refund_id)
    assert (at_stripe.amount, at_stripe.status, at_stripe.payment_intent) == (
        100000, "succeeded", payment["external_id"])
    state = order_state(order["token"])
    assert state["refunds"] == 1 and state["refunded_amount"] == 100000
    assert state["payments"] == [(payment["id"], "partially_refunded", order["total"], 100000)]
    row = db.session.execute(select(Refund).where(Refund.order_id == order_id)).scalar_one()
    assert (row.amount, row.external_id, row.actor_id) == (100000, refund_id, admin.id)

    # Stripe's charge.refunded for that same refund (cumulative amount) is not counted twice …
    charge = {"id": "ch_test_1", "object": "charge", "amount": order["total"], "currency": "vnd",
              "amount_refunded": 100000, "payment_intent": payment["external_id"], "refunded": False}
    body, signature = signed_event({"id": "evt_refund_1", "object": "event", "type": "charge.refunded",
                                    "data": {"object": charge}})
    status, answer = post_webhook(stripe_env.server.url, body, signature)
    assert (status, answer["handled"]) == (200, False)
    assert order_state(order["token"]) == {**state, "payment_events": state["payment_events"] + 1}
    # … while a refund made in the Stripe dashboard (cumulative 548,000) records the rest
    body, signature = signed_event({"id": "evt_refund_2", "object": "event", "type": "charge.refunded",
                                    "data": {"object": {**charge, "amount_refunded": order["total"],
                                                        "refunded": True}}})
    status, answer = post_webhook(stripe_env.server.url, body, signature)
    assert (status, answer["handled"]) == (200, True)
    state = order_state(order["token"])
    assert state["refunded_amount"] == order["total"] and state["refunds"] == 2
    assert state["status"] == "refunded"
    # a refund beyond what was paid never reaches Stripe
    with pytest.raises(Exception) as too_much:
        order_payments.refund(admin, order_id, 1, reason="again")
    assert getattr(too_much.value, "code", None) == "payment.refund_exceeds"
    assert len(stripe_env.stripe.v1.refunds.list().data) == 1



# --- the public site: Stripe's hosted page, no Stripe.js on our pages ------------------------
# localstripe 1.15.10 has no /v1/checkout/sessions (nor payment links, nor any hosted page): asked for a
# Checkout Session it answers 404, which the site handles as "Stripe's page cannot be opened" — that is the
# failure path these tests drive for real. The paid path is the same webhook Stripe sends after its page
# took the card (``checkout.session.completed``), signed as Stripe signs it; the money itself is a real
# PaymentIntent confirmed at localstripe.
def site_order_with_stripe(client):
    """The site's checkout form for the cart, posted as a browser would, with Stripe chosen; the answer."""
    form = {"full_name": "Nguyễn Thị Khách", "phone": "0912345678", "email": "khach@example.vn",
            "province_code": "75", "communes_for": "75", "commune_code": "26188", "street": "12 Đường Đồng Khởi",
            "delivery_method": "standard", "payment_gateway": "stripe", "order_key": "site-stripe-1", "action": "place"}
    return client.post("/thanh-toan", data=form)


def checkout_session_completed(order: dict, payment: dict, paid_by: str, event_id: str = "evt_cs_1") -> dict:
    session = {"id": "cs_test_1", "object": "checkout.session", "mode": "payment", "payment_status": "paid",
               "status": "complete", "amount_total": order["total"], "currency": "vnd", "payment_intent": paid_by,
               "client_reference_id": order["number"],
               "metadata": {"ocop_payment_id": str(payment["id"]), "ocop_order_number": order["number"],
                            "ocop_payment_intent": payment["external_id"]}}
    return {"id": event_id, "object": "event", "type": "checkout.session.completed", "data": {"object": session}}


def test_site_offers_stripe_only_when_configured(app, client, demo, fresh_gateways):
    client.post("/gio-hang/them", data={"sku": CAM_SKU, "quantity": "1"})
    page = client.get("/thanh-toan").get_data(as_text=True)
    assert 'name="payment_gateway" value="cod"' in page
    assert 'value="stripe"' not in page and "js.stripe.com" not in page


def test_site_checkout_with_stripe_goes_to_stripe_and_comes_back_pending_when_stripe_has_no_page(stripe_env, demo):
    client = stripe_env.app.test_client()
    assert client.post("/gio-hang/them", data={"sku": CAM_SKU, "quantity": "1"}).status_code == 303
    checkout_page = client.get("/thanh-toan").get_data(as_text=True)
    assert 'name="payment_gateway" value="stripe"' in checkout_page and "js.stripe.com" not in checkout_page
    response = site_order_with_stripe(client)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/thanh-toan/stripe/")
    token = response.headers["Location"].rsplit("/", 1)[1]
    placed = client.get(f"/storefront/v1/orders/{token}").get_json()
    intent = stripe_env.stripe.v1.payment_intents.retrieve(stripe_payment(placed)["external_id"])
    assert (intent.amount, intent.currency) == (placed["total"], "vnd") and placed["total"] > 0
    # on to Stripe: localstripe has no Checkout Sessions, so the shopper is back on the order page, told so
    back = client.get(response.headers["Location"])
    assert back.status_code == 303 and back.headers["Location"] == f"/don-hang/{token}?payment=unavailable"
    for lang, text in (("vi", "Hiện không mở được trang thanh toán Stripe"), ("en", "payment page cannot be opened right now")):
        shown = client.get(f"{back.headers['Location']}&lang={lang}").get_data(as_text=True)
        assert text in shown and 'id="pay-on-stripe"' in shown and "js.stripe.com" not in shown
    state = order_state(token)
    assert state["status"] == "unconfirmed" and state["paid_amount"] == 0
    assert [p[1] for p in state["payments"]] == ["pending"]
    # Stripe's cancel URL: a clear message, the order still pending
    shown = client.get(f"/don-hang/{token}?payment=cancelled&lang=vi").get_data(as_text=True)
    assert "Bạn đã huỷ thanh toán. Đơn hàng vẫn đang chờ" in shown


def test_checkout_session_completed_pays_the_order_and_refunds_go_to_the_sessions_intent(stripe_env, client, demo):
    from sqlalchemy import select
    from core.accounts.models import User
    from core.db import commit, db
    from core.sales import order_payments
    from core.sales.models import Order
    order = place_order(client)
    payment = stripe_payment(order)
    assert payment["client_data"]["payment_page"] == f"/thanh-toan/stripe/{order['token']}"
    # the PaymentIntent Stripe Checkout created and charged (a real one at localstripe)
    paid_by = stripe_env.stripe.v1.payment_intents.create(params={
        "amount": order["total"], "currency": "vnd", "payment_method": "pm_card_visa", "confirm": True})
    assert paid_by.status == "succeeded"
    wait_for(lambda: stripe_env.server.capture.events("payment_intent.succeeded"), what="its (ignored) webhook")
    body, signature = signed_event(checkout_session_completed(order, payment, paid_by.id))
    status, answer = post_webhook(stripe_env.server.url, body, signature)
    assert (status, answer["handled"]) == (200, True)
    state = order_state(order["token"])
    assert state["status"] == "paid" and state["paid_amount"] == order["total"]
    assert state["payments"] == [(payment["id"], "succeeded", order["total"], 0)]
    own = stripe_env.stripe.v1.payment_intents.retrieve(payment["external_id"])
    assert own.metadata["ocop_paid_through"] == paid_by.id
    # the same event again changes nothing
    assert post_webhook(stripe_env.server.url, body, sign(body))[1]["handled"] is False
    # a refund goes to the intent that holds the money
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    order_id = db.session.execute(select(Order.id).where(Order.token == order["token"])).scalar_one()
    refunds = order_payments.refund(admin, order_id, 50000, reason="Khách trả một phần")
    commit()
    assert stripe_env.stripe.v1.refunds.retrieve(refunds[0].external_id).payment_intent == paid_by.id
    # an unpaid session (e.g. a bank debit still processing) pays nothing
    unpaid = checkout_session_completed(order, payment, paid_by.id, event_id="evt_cs_2")
    unpaid["data"]["object"]["payment_status"] = "unpaid"
    assert post_webhook(stripe_env.server.url, *signed_event(unpaid))[1]["handled"] is False


def test_site_shopper_chooses_stripe_and_sees_the_order_paid_after_the_webhook(stripe_env, demo, page):
    """Chromium: checkout with Stripe → on to Stripe (localstripe: no hosted page, back with a message,
    order pending) → the card is charged at localstripe → its signed webhook → the order page shows paid."""
    from core.catalogue.models import Product, Variant
    from core.db import db
    from support.browser import screenshot
    slug = db.session.execute(select_product_slug(Product, Variant)).scalar_one()
    base = stripe_env.server.url
    page.goto(f"{base}/san-pham/{slug}")
    page.locator("form.add").first.get_by_role("button", name="Thêm vào giỏ").click()
    page.wait_for_url("**/gio-hang?added=**")
    page.goto(f"{base}/thanh-toan")
    page.fill("#full_name", "Nguyễn Thị Khách")
    page.fill("#phone", "0912 345 678")
    page.fill("#email", "khach@example.vn")
    page.select_option("#province_code", "75")
    page.wait_for_selector('#commune_code option[value="26188"]', state="attached")
    page.select_option("#commune_code", "26188")
    page.fill("#street", "12 Đường Đồng Khởi")
    page.get_by_role("button", name="Lưu và xem cách giao hàng").click()
    page.wait_for_selector('input[name="delivery_method"][value="standard"]')
    page.check('input[name="delivery_method"][value="standard"]')
    page.check('input[name="payment_gateway"][value="stripe"]')
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.get_by_role("button", name="Đặt hàng").click()
    page.wait_for_url("**/don-hang/**?payment=unavailable")
    assert any("/thanh-toan/stripe/" in url for url in requested)  # the shopper was sent on to Stripe
    assert not [u for u in requested if not u.startswith(base)]  # nothing from a CDN, no Stripe.js
    assert "Hiện không mở được trang thanh toán Stripe" in page.inner_text("#payment-notice")
    assert "Chưa thanh toán" in page.inner_text("main")
    screenshot(page, "site-order-stripe-pending")
    token = page.url.split("/don-hang/", 1)[1].split("?", 1)[0]
    intent_id = stripe_payment(stripe_env.app.test_client().get(f"/storefront/v1/orders/{token}").get_json())[
        "external_id"]
    shopper_confirms_card(stripe_env, intent_id)
    wait_for(lambda: order_state(token)["status"] == "paid", what="order paid by the webhook")
    page.goto(f"{base}/don-hang/{token}")
    assert "Đã thanh toán" in page.inner_text("main")
    assert page.locator("#pay-on-stripe").count() == 0
    screenshot(page, "site-order-stripe-paid")


def select_product_slug(Product, Variant):
    from sqlalchemy import select
    return select(Product.slug).join(Variant, Variant.product_id == Product.id).where(Variant.sku == CAM_SKU)
