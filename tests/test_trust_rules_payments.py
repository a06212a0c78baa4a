"""Payments trust rules: switching gateway cancels the Stripe PaymentIntent at Stripe, cancelling an order
cancels its pending payments, late money on a cancelled payment or order becomes a refund-due record
(never paid_amount), and a cancelled bank transfer cannot be marked paid."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import db
from core.payments.models import Payment, PaymentRefundDue
from core.sales.models import Order
from support.checks import error_of
from support.orders import order_id
from test_stripe_payments import (fake_payment_intent_event, fresh_gateways, live_server, localstripe,  # noqa: F401
                                  order_state, place_order, post_webhook, sign, stripe_env, stripe_payment)
from test_bank_transfer_vietqr import bank_order, post_statement, statement

stripe = pytest.importorskip("stripe")


def _payments(oid):
    db.session.rollback()
    return [(p.gateway, p.status) for p in db.session.execute(
        select(Payment).where(Payment.order_id == oid).order_by(Payment.id)).scalars()]


@pytest.mark.localstripe
def test_switching_gateway_cancels_the_payment_intent_at_stripe(stripe_env, client, demo):
    order = place_order(client)
    intent_id = stripe_payment(order)["external_id"]
    response = client.post(f"/storefront/v1/orders/{order['token']}/payments", json={"gateway": "cod"})
    assert response.status_code == 201, response.get_json()
    assert _payments(order_id(order["number"])) == [("stripe", "cancelled"), ("cod", "pending")]
    assert stripe_env.stripe.v1.payment_intents.retrieve(intent_id).status == "canceled"


@pytest.mark.localstripe
def test_cancelling_an_order_cancels_its_intent_and_late_money_is_refund_due(stripe_env, client, demo, login):
    order = place_order(client)
    payment = stripe_payment(order)
    oid = order_id(order["number"])
    assert client.post(f"/admin/v1/orders/{oid}/cancel", headers=login("admin"), json={}).status_code == 200
    assert _payments(oid) == [("stripe", "cancelled")]
    assert stripe_env.stripe.v1.payment_intents.retrieve(payment["external_id"]).status == "canceled"
    # money Stripe reports anyway (a race at Stripe): a refund-due record, the order stays unpaid
    body = fake_payment_intent_event(payment["external_id"], amount=order["total"], event_id="evt_late_1")
    status, answer = post_webhook(stripe_env.server.url, body, sign(body))
    assert status == 200, answer
    state = order_state(order["token"])
    assert (state["status"], state["paid_amount"]) == ("cancelled", 0)
    assert state["payments"] == [(payment["id"], "cancelled", order["total"], 0)]
    due = db.session.execute(select(PaymentRefundDue)).scalars().all()
    assert [(d.order_id, d.amount, d.reason, d.status) for d in due] == [(oid, order["total"], "order_cancelled",
                                                                         "open")]
    # a replay adds nothing
    post_webhook(stripe_env.server.url, body, sign(body))
    db.session.rollback()
    assert len(db.session.execute(select(PaymentRefundDue)).scalars().all()) == 1


def test_cancelling_an_order_cancels_a_pending_bank_transfer_that_then_cannot_be_marked_paid(client, demo, login):
    order, payment = bank_order(client)
    admin = login("admin")
    oid = order_id(order["number"])
    assert client.post(f"/admin/v1/orders/{oid}/cancel", headers=admin, json={}).status_code == 200
    assert _payments(oid) == [("bank_transfer", "cancelled")]
    csv = statement([("24/11/2026", "FT77", order["total"], payment["transfer_reference"])])
    assert post_statement(client, admin, csv).get_json()["refund_due"] == 1
    error_of(client.post(f"/admin/v1/orders/{oid}/payments/{payment['id']}/mark-paid", headers=admin, json={}),
             409, "payment.not_pending")
    db.session.rollback()
    order_row = db.session.get(Order, oid)
    assert (order_row.status, order_row.paid_amount) == ("cancelled", 0)
    assert _payments(oid) == [("bank_transfer", "cancelled")]


def test_a_statement_line_then_mark_paid_counts_the_money_once(client, demo, login):
    order, payment = bank_order(client)
    admin = login("admin")
    oid = order_id(order["number"])
    csv = statement([("24/11/2026", "FT78", order["total"], payment["transfer_reference"])])
    post_statement(client, admin, csv)
    client.post(f"/admin/v1/orders/{oid}/payments/{payment['id']}/mark-paid", headers=admin, json={})
    db.session.rollback()
    assert db.session.get(Order, oid).paid_amount == order["total"]
