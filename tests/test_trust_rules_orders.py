"""Whole-order actions (confirm, cancel, refund, mark paid) need authority over every line: an organiser
with one line of its province in a multi-province order can view it but not act on all of it."""
from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.sales.models import Order, OrderEvent
from core.payments.models import Payment
from support.checks import error_of, row_counts
from support.orders import order_id, place_order

MIXED = (("BL-BDX-1", 1), ("VQ-CAM-5KG", 1))  # Đồng Nai and Hà Tĩnh producers


def _state(oid):
    db.session.rollback()
    order = db.session.get(Order, oid)
    return order.status, order.paid_amount, order.refunded_amount, \
        [(p.status, p.amount) for p in db.session.execute(select(Payment).where(Payment.order_id == oid)).scalars()]


def test_an_organiser_cannot_act_on_a_multi_province_order(client, demo, login):
    order = place_order(client, MIXED, gateway="cod")
    oid = order_id(order["number"])
    organiser = login("sct.dongnai")
    assert client.get(f"/admin/v1/orders/{oid}", headers=organiser).status_code == 200  # its line: visible
    payment_id = db.session.execute(select(Payment.id).where(Payment.order_id == oid)).scalar_one()
    before, state = row_counts(), _state(oid)
    for path, body in ((f"/admin/v1/orders/{oid}/confirm", None), (f"/admin/v1/orders/{oid}/cancel", {}),
                       (f"/admin/v1/orders/{oid}/payments/{payment_id}/mark-paid", {}),
                       (f"/admin/v1/orders/{oid}/refunds", {"amount": 1000})):
        error_of(client.post(path, json=body, headers=organiser), 403, "order.other_provinces")
    assert row_counts() == before and _state(oid) == state
    # the administrator acts on it
    assert client.post(f"/admin/v1/orders/{oid}/confirm", headers=login("admin")).status_code == 200


def test_an_organiser_still_manages_an_order_of_its_own_province(client, demo, login):
    order = place_order(client, (("BL-BDX-1", 1),), gateway="cod")
    oid = order_id(order["number"])
    response = client.post(f"/admin/v1/orders/{oid}/confirm", headers=login("sct.dongnai"))
    assert response.status_code == 200, response.get_json()
    assert db.session.execute(select(OrderEvent.id).where(OrderEvent.order_id == oid)).first() is not None
