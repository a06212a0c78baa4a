"""Webhooks plugin: subscriptions API, signed deliveries to a live receiver on 127.0.0.1, retries with
backoff, timeouts, recovery, automatic disabling, replay, and events declared by another plugin
(``register_webhook_events`` + ``plugin_event``). Celery is eager here: each task runs in-process.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import time

import pytest
from sqlalchemy import func, select

from core.db import db, utcnow
from core.hookspecs import hookimpl
from core.catalogue.models import Product
from core.plugins import hooks
from plugins.webhooks import sender, services
from plugins.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from support.orders import order_id, place_order
from support.webhook_receiver import Receiver, verify_webhook

BASE = "/admin/v1/webhooks"


@pytest.fixture
def receiver():
    r = Receiver(hold_seconds=1.5)
    yield r
    r.close()


@pytest.fixture
def wh_env(monkeypatch):
    monkeypatch.setenv("OCOP_WEBHOOKS_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("OCOP_WEBHOOKS_TIMEOUT", "0.5")
    monkeypatch.setenv("OCOP_WEBHOOKS_RETRY_BASE", "10")
    monkeypatch.setenv("OCOP_WEBHOOKS_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("OCOP_WEBHOOKS_DISABLE_AFTER", "50")


@pytest.fixture
def admin(demo, login):
    return login("admin")


def _subscribe(client, admin, url, events, **extra):
    response = client.post(f"{BASE}/subscriptions", headers=admin,
                           json={"integrator": "ERP Hợp tác xã", "url": url, "events": events, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _deliveries(**where):
    db.session.rollback()
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(WebhookDelivery, key) == value)
    return db.session.execute(stmt).scalars().all()


def _count(model) -> int:
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


# --- subscriptions API ------------------------------------------------------------------------------
def test_subscription_crud_and_secret_shown_once(client, admin, wh_env, receiver):
    types = client.get(f"{BASE}/event-types", headers=admin).get_json()
    assert {"order.created", "order.paid", "product.delisted", "stock.changed"} <= {t["code"] for t in types}
    created = _subscribe(client, admin, receiver.url, ["order.created", "order.paid"], description="Kế toán")
    assert created["secret"].startswith("whsec_") and created["active"] is True
    sub_id = created["id"]
    shown = client.get(f"{BASE}/subscriptions/{sub_id}", headers=admin).get_json()
    assert "secret" not in shown and shown["secret_hint"].startswith("whsec_")
    assert shown["created_at"].endswith("+07:00")
    listed = client.get(f"{BASE}/subscriptions?integrator=ERP Hợp tác xã", headers=admin).get_json()
    assert listed["total"] == 1
    patched = client.patch(f"{BASE}/subscriptions/{sub_id}", headers=admin, json={"events": ["*"]}).get_json()
    assert patched["events"] == ["*"]
    rotated = client.post(f"{BASE}/subscriptions/{sub_id}/rotate-secret", headers=admin).get_json()
    assert rotated["secret"] != created["secret"]
    assert client.delete(f"{BASE}/subscriptions/{sub_id}", headers=admin).status_code == 204
    assert client.get(f"{BASE}/subscriptions/{sub_id}", headers=admin).status_code == 404
    assert _count(WebhookSubscription) == 0


@pytest.mark.parametrize("body, code", [
    ({"url": "ftp://127.0.0.1/x"}, "webhook.url_scheme"),
    ({"url": "http://user:pw@127.0.0.1/x"}, "webhook.url_credentials"),
    ({"url": "http://127.0.0.1:99999/x"}, "webhook.url_invalid"),
    ({"url": "not a url"}, "webhook.url_invalid"),
    ({"events": ["order.exploded"]}, "webhook.unknown_event"),
    ({"events": []}, "validation.invalid"),
    ({"colour": "red"}, "validation.invalid"),
    ({"integrator": "x" * 121}, "validation.invalid"),
    ({"url": "http://10.0.0.1/hook", "_private": False}, "webhook.url_private"),
    ({"url": "http://localhost:8080/hook", "_private": False}, "webhook.url_private"),
])
def test_bad_subscriptions_are_refused_and_write_nothing(client, admin, wh_env, monkeypatch, body, code):
    if body.pop("_private", True) is False:
        monkeypatch.setenv("OCOP_WEBHOOKS_ALLOW_PRIVATE", "0")
    payload = {"integrator": "ERP", "url": "http://127.0.0.1:9/hook", "events": ["order.created"], **body}
    response = client.post(f"{BASE}/subscriptions", headers=admin, json=payload)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"] != response.get_json()["error"]["message_en"]
    assert _count(WebhookSubscription) == 0


def test_only_admins_manage_webhooks(client, admin, login, wh_env, receiver):
    sub = _subscribe(client, admin, receiver.url, ["order.created"])
    organiser = login("sct.dongnai")
    calls = [("get", f"{BASE}/subscriptions", None), ("post", f"{BASE}/subscriptions",
             {"integrator": "x", "url": receiver.url, "events": ["*"]}),
             ("patch", f"{BASE}/subscriptions/{sub['id']}", {"active": False}),
             ("delete", f"{BASE}/subscriptions/{sub['id']}", None),
             ("post", f"{BASE}/subscriptions/{sub['id']}/ping", None),
             ("get", f"{BASE}/deliveries", None), ("get", f"{BASE}/event-types", None)]
    for method, url, body in calls:
        for headers, status in ((organiser, 403), ({}, 401)):
            response = getattr(client, method)(url, headers=headers, json=body) if body else \
                getattr(client, method)(url, headers=headers)
            assert response.status_code == status, (method, url, response.get_json())
            assert response.get_json()["error"]["code"] in ("auth.forbidden", "auth.required")
    assert _count(WebhookSubscription) == 1 and _count(WebhookDelivery) == 0
    assert client.get(f"{BASE}/subscriptions/{sub['id']}", headers=admin).get_json()["active"] is True


# --- deliveries to the live receiver -----------------------------------------------------------------
def test_order_events_are_delivered_signed(client, admin, login, wh_env, receiver):
    sub = _subscribe(client, admin, receiver.url, ["order.created", "order.cancelled", "stock.changed"])
    response = client.post("/storefront/v1/checkouts", json={"lines": [{"sku": "VQ-CAM-5KG", "quantity": 1}]})
    assert response.status_code == 201
    number = place_order(client, [("VQ-CAM-5KG", 2)], key=None)["number"]
    oid = order_id(number)
    cancelled = client.post(f"/admin/v1/orders/{oid}/cancel", headers=admin, json={"reason": "Khách đổi ý"})
    assert cancelled.status_code == 200, cancelled.get_json()
    got = receiver.wait_for(4)  # order.created, stock.changed (allocation), order.cancelled, stock.changed (release)
    messages = [verify_webhook(sub["secret"], r["headers"], r["body"]) for r in got]
    types = [m["type"] for m in messages]
    assert types.count("order.created") == 1 and types.count("order.cancelled") == 1
    assert types.count("stock.changed") == 2
    created = next(m for m in messages if m["type"] == "order.created")
    assert created["data"]["order"]["number"] == number and created["data"]["order"]["currency"] == "VND"
    assert created["data"]["order"]["lines"][0]["quantity"] == 2
    assert "email" not in json.dumps(created) and "phone" not in json.dumps(created)  # no shopper contact data
    assert created["timestamp"].endswith("+07:00") and created["id"].startswith("evt_")
    first = got[0]["headers"]
    assert first["content-type"] == "application/json" and first["x-ocop-event"] in types
    assert first["x-request-id"]  # the request that caused the event
    # a tampered body or another secret does not verify
    with pytest.raises(ValueError):
        verify_webhook(sub["secret"], got[0]["headers"], got[0]["body"] + b" ")
    with pytest.raises(ValueError):
        verify_webhook("whsec_" + base64.b64encode(b"0" * 24).decode(), got[0]["headers"], got[0]["body"])
    rows = _deliveries()
    assert len(rows) == 4 and {r.status for r in rows} == {"succeeded"}
    assert all(len(r.attempt_log) == 1 and r.attempt_log[0].status_code == 200 for r in rows)
    log = client.get(f"{BASE}/deliveries?event_type=order.created", headers=admin).get_json()
    assert log["total"] == 1
    detail = client.get(f"{BASE}/deliveries/{log['results'][0]['id']}", headers=admin).get_json()
    assert detail["payload"]["data"]["order"]["number"] == number
    assert detail["attempt_log"][0]["status_code"] == 200


def test_listing_changes_are_delivered(client, login, admin, wh_env, receiver):
    sub = _subscribe(client, admin, receiver.url, ["product.delisted", "certification.changed"])
    oil = db.session.execute(select(Product).where(Product.name == "Tinh dầu bưởi Bình Lợi")).scalar_one()
    cert = oil.current_certification()
    certifier = login("hoidong.dongnai")
    response = client.post(f"/admin/v1/certifications/{cert.id}/withdraw", headers=certifier,
                           json={"reason": "Không đạt chỉ tiêu khi hậu kiểm"})
    assert response.status_code == 200
    messages = [verify_webhook(sub["secret"], r["headers"], r["body"]) for r in receiver.wait_for(2)]
    by_type = {m["type"]: m["data"] for m in messages}
    assert by_type["product.delisted"]["reason"] == "withdrawn"
    assert by_type["product.delisted"]["product"]["is_listed"] is False
    assert by_type["certification.changed"]["certification"]["status"] == "withdrawn"
    assert by_type["certification.changed"]["certification"]["previous_status"] == "active"


def test_failures_are_retried_with_backoff_until_the_receiver_recovers(client, admin, wh_env, receiver):
    sub = _subscribe(client, admin, receiver.url, ["order.created"])
    receiver.script(500, "timeout", 503)
    place_order(client)
    receiver.wait_for(1)
    (delivery,) = _deliveries()
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_status_code == 500
    first_wait = (delivery.next_attempt_at - delivery.attempt_log[0].started_at).total_seconds()
    assert 8 <= first_wait <= 12  # 10 s ± 20 %
    # not due yet: the sweep sends nothing
    assert services.retry_due(now=utcnow())["enqueued"] == 0
    assert len(receiver.requests) == 1
    # due: the receiver holds the answer past the 0.5 s timeout
    services.retry_due(now=delivery.next_attempt_at + dt.timedelta(seconds=1))
    (delivery,) = _deliveries()
    assert delivery.status == "pending" and delivery.attempts == 2 and "timeout" in delivery.last_error
    second = delivery.attempt_log[1]
    assert second.status_code is None and second.duration_ms >= 400
    second_wait = (delivery.next_attempt_at - second.started_at).total_seconds()
    assert 16 <= second_wait <= 24  # doubled
    services.retry_due(now=delivery.next_attempt_at + dt.timedelta(seconds=1))
    services.retry_due(now=_deliveries()[0].next_attempt_at + dt.timedelta(seconds=1))  # 503, then 200
    (delivery,) = _deliveries()
    assert delivery.status == "succeeded" and delivery.attempts == 4
    assert [a.status_code for a in delivery.attempt_log] == [500, None, 503, 200]
    got = receiver.wait_for(4)
    assert len({r["headers"]["webhook-id"] for r in got}) == 1  # the same message every time
    for r in got:
        verify_webhook(sub["secret"], r["headers"], r["body"])
    db.session.rollback()
    assert db.session.get(WebhookSubscription, sub["id"]).consecutive_failures == 0


def test_exhausted_attempts_fail_and_repeated_failures_switch_the_subscription_off(
        client, admin, wh_env, monkeypatch, receiver):
    monkeypatch.setenv("OCOP_WEBHOOKS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("OCOP_WEBHOOKS_DISABLE_AFTER", "3")
    sub = _subscribe(client, admin, receiver.url, ["order.created"])
    receiver.default = 500
    place_order(client)
    place_order(client)
    assert [d.status for d in _deliveries()] == ["pending", "pending"]
    later = utcnow() + dt.timedelta(minutes=5)
    services.retry_due(now=later)  # attempt 2 of the first (failed: attempts exhausted) → 3 in a row: off
    rows = _deliveries()
    assert rows[0].status == "failed" and rows[0].attempts == 2
    assert rows[1].status == "failed" and "switched off" in rows[1].last_error
    db.session.rollback()
    subscription = db.session.get(WebhookSubscription, sub["id"])
    assert subscription.active is False and subscription.disabled_reason == "too_many_failures"
    assert len(receiver.requests) == 3
    # switched off: new events make no deliveries, replay is refused
    place_order(client)
    assert len(_deliveries()) == 2
    response = client.post(f"{BASE}/deliveries/{rows[0].id}/replay", headers=admin)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "webhook.subscription_inactive"
    assert len(_deliveries()) == 2
    # switched on again by an admin, the receiver fixed: a replay goes through
    receiver.default = 200
    on = client.patch(f"{BASE}/subscriptions/{sub['id']}", headers=admin, json={"active": True}).get_json()
    assert on["active"] is True and on["consecutive_failures"] == 0 and on["disabled_reason"] is None
    replayed = client.post(f"{BASE}/deliveries/{rows[0].id}/replay", headers=admin)
    assert replayed.status_code == 202, replayed.get_json()
    copy = _deliveries(replay_of_id=rows[0].id)[0]
    assert copy.status == "succeeded" and copy.event_id == rows[0].event_id and copy.body == rows[0].body
    assert receiver.requests[-1]["headers"]["webhook-id"] == rows[0].event_id


def test_replay_of_a_delivered_message_and_ping(client, admin, wh_env, receiver):
    sub = _subscribe(client, admin, receiver.url, ["order.created"])
    place_order(client)
    (delivery,) = _deliveries()
    response = client.post(f"{BASE}/deliveries/{delivery.id}/replay", headers=admin)
    assert response.status_code == 202 and response.get_json()["replay_of_id"] == delivery.id
    got = receiver.wait_for(2)
    assert got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"] and got[0]["body"] == got[1]["body"]
    assert client.post(f"{BASE}/deliveries/999999/replay", headers=admin).status_code == 404
    ping = client.post(f"{BASE}/subscriptions/{sub['id']}/ping", headers=admin)
    assert ping.status_code == 202 and ping.get_json()["event_type"] == "webhook.ping"
    message = verify_webhook(sub["secret"], receiver.wait_for(3)[2]["headers"], receiver.requests[2]["body"])
    assert message == {**message, "type": "webhook.ping", "data": {"subscription_id": sub["id"]}}
    assert len(_deliveries()) == 3


def test_large_answers_are_read_only_in_part(client, admin, wh_env, receiver):
    _subscribe(client, admin, receiver.url, ["order.created"])
    receiver.script(("big", 2_000_000))
    place_order(client)
    (delivery,) = _deliveries()
    assert delivery.status == "succeeded"
    assert len(delivery.attempt_log[0].response_excerpt) <= 1000


def test_private_targets_are_refused_at_delivery_unless_allowed(client, admin, wh_env, monkeypatch, receiver):
    _subscribe(client, admin, receiver.url, ["order.created"])
    monkeypatch.setenv("OCOP_WEBHOOKS_ALLOW_PRIVATE", "0")
    place_order(client)
    (delivery,) = _deliveries()
    assert delivery.status == "pending" and delivery.last_error.startswith("refused")
    assert receiver.requests == []


def test_url_rules():
    assert sender.check_url("https://erp.example.vn/hooks?x=1", allow_private=False)
    for url in ("https://8.8.8.8/x", "http://[2001:4860:4860::8888]/x"):
        assert sender.check_url(url, allow_private=False)
    for url in ("http://127.0.0.1/x", "http://[::1]/x", "http://169.254.169.254/latest", "http://192.168.1.1/",
                "http://[::ffff:127.0.0.1]/x", "http://0.0.0.0/"):
        with pytest.raises(sender.UrlRefused) as refused:
            sender.check_url(url, allow_private=False)
        assert refused.value.code == "webhook.url_private"
        assert sender.check_url(url, allow_private=True)
    for url in ("javascript:alert(1)", "file:///etc/passwd", "http://a b/", "http:///x", "http://x/#frag",
                "https://:pw@example.vn/", "http://example.vn\n/"):
        with pytest.raises(sender.UrlRefused):
            sender.check_url(url, allow_private=True)


# --- events declared by another plugin -----------------------------------------------------------------
class FairPlugin:
    """A plugin declaring its own webhook event and emitting it after its commit."""

    @hookimpl
    def register_webhook_events(self, registry):
        registry.add("fair.booth_booked", "Gian hàng hội chợ đã được đặt", "A fair booth was booked")


def test_a_plugin_declares_and_emits_its_own_event(app, client, admin, wh_env, receiver):
    pm = app.extensions["ocop_plugins"]
    pm.register(FairPlugin(), name="fair_test")  # historic: the registry hears it at once
    try:
        types = {t["code"] for t in client.get(f"{BASE}/event-types", headers=admin).get_json()}
        assert "fair.booth_booked" in types
        sub = _subscribe(client, admin, receiver.url, ["fair.booth_booked"])
        hooks().plugin_event(name="fair.booth_booked", payload={"booth": "A-12", "fee": 1_500_000})
        hooks().plugin_event(name="fair.undeclared", payload={"x": 1})  # never delivered
        message = verify_webhook(sub["secret"], receiver.wait_for(1)[0]["headers"], receiver.requests[0]["body"])
        assert message["type"] == "fair.booth_booked" and message["data"] == {"booth": "A-12", "fee": 1_500_000}
        assert [d.event_type for d in _deliveries()] == ["fair.booth_booked"]
    finally:
        pm.unregister(name="fair_test")
        app.extensions["ocop_webhook_events"]._kinds.pop("fair.booth_booked", None)


def test_disabled_plugin_has_no_routes(settings):
    from core.app import create_app
    from core.plugins import build_plugin_manager
    app = create_app(settings, plugin_manager=build_plugin_manager(["webhooks"]))
    assert "ocop_webhook_events" not in app.extensions
    assert not [r for r in app.url_map.iter_rules() if r.rule.startswith(BASE)]
