"""The refund-due queue: late money on a cancelled order is listed for an admin and closed once, with a note."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import db
from core.payments.models import PaymentRefundDue
from core.sales.models import Order, OrderEvent
from support.checks import error_of
from support.orders import order_id
from test_stripe_payments import (fake_payment_intent_event, fresh_gateways, live_server, localstripe,  # noqa: F401
                                  place_order, post_webhook, sign, stripe_env, stripe_payment)

stripe = pytest.importorskip("stripe")
BASE = "/admin/v1/payment-refunds-due"


@pytest.fixture
def late_money(stripe_env, client, demo, login):
    """A cancelled Stripe order whose money Stripe then reports anyway: one open refund-due record."""
    order = place_order(client)
    payment = stripe_payment(order)
    oid = order_id(order["number"])
    assert client.post(f"/admin/v1/orders/{oid}/cancel", headers=login("admin"), json={}).status_code == 200
    body = fake_payment_intent_event(payment["external_id"], amount=order["total"], event_id="evt_late_queue")
    status, answer = post_webhook(stripe_env.server.url, body, sign(body))
    assert status == 200, answer
    db.session.rollback()
    due = db.session.execute(select(PaymentRefundDue)).scalar_one()
    return {"order_id": oid, "total": order["total"], "due_id": due.id}


def _due(due_id):
    db.session.rollback()
    return db.session.get(PaymentRefundDue, due_id)


@pytest.mark.localstripe
def test_admin_lists_and_closes_a_refund_due_once(client, login, late_money):
    admin = login("admin")
    page = client.get(f"{BASE}?status=open", headers=admin).get_json()
    assert page["total"] == 1
    [row] = page["results"]
    assert (row["order_id"], row["amount"], row["reason"], row["status"], row["gateway"]) == (
        late_money["order_id"], late_money["total"], "order_cancelled", "open", "stripe")
    assert row["created_at"].endswith("+07:00") and row["resolved_at"] is None
    closed = client.post(f"{BASE}/{late_money['due_id']}/close", headers=admin,
                         json={"outcome": "refunded", "note": "Đã chuyển khoản trả lại khách ngày 25/11"})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "refunded" and closed.get_json()["resolved_at"].endswith("+07:00")
    assert client.get(f"{BASE}?status=open", headers=admin).get_json()["total"] == 0
    kinds = [e.kind for e in db.session.execute(
        select(OrderEvent).where(OrderEvent.order_id == late_money["order_id"])).scalars()]
    assert "payment_refund_due_refunded" in kinds
    error_of(client.post(f"{BASE}/{late_money['due_id']}/close", headers=admin,
                         json={"outcome": "dismissed", "note": "lần hai"}), 409, "refund_due.closed")
    assert _due(late_money["due_id"]).status == "refunded"
    order = db.session.get(Order, late_money["order_id"])
    assert (order.status, order.paid_amount) == ("cancelled", 0)


@pytest.mark.localstripe
def test_bad_input_and_refused_callers_change_nothing(client, login, late_money):
    admin, due_id = login("admin"), late_money["due_id"]
    error_of(client.post(f"{BASE}/{due_id}/close", headers=admin, json={"outcome": "maybe", "note": "x"}), 422)
    error_of(client.post(f"{BASE}/{due_id}/close", headers=admin, json={"outcome": "refunded"}), 422)
    error_of(client.post(f"{BASE}/{due_id}/close", headers=admin,
                         json={"outcome": "refunded", "note": ""}), 422)
    error_of(client.post(f"{BASE}/999999/close", headers=admin,
                         json={"outcome": "refunded", "note": "x"}), 404, "refund_due.not_found")
    error_of(client.get(f"{BASE}?status=closed", headers=admin), 422)
    organiser = login("sct.dongnai")
    error_of(client.get(BASE, headers=organiser), 403)
    error_of(client.post(f"{BASE}/{due_id}/close", headers=organiser,
                         json={"outcome": "refunded", "note": "x"}), 403)
    error_of(client.get(BASE), 401)
    due = _due(due_id)
    assert (due.status, due.resolved_at) == ("open", None)
