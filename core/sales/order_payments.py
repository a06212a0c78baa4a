"""How money moves an order: start the first payment, apply gateway events, refund, mark paid, cancel.

The payments domain (:mod:`core.payments.gateways`) knows gateways and
payment records; this module applies them to orders (paid, completed,
refunded transitions, stock released on a refund before shipping).
"""
from __future__ import annotations

from sqlalchemy import select

from core.db import commit, db, utcnow
from core.errors import Conflict, NotFound, invalid
from core.inventory import ledger
from core.payments.gateways import GatewayEvent, get_gateway, get_gateway_for_refund, gateways, record_gateway_event
from core.payments.models import Payment, PaymentEvent, Refund
from core.accounts.models import User
from core.sales import orders


def start_payment(order, gateway_code: str):
    """Start collecting what is still due on ``order`` with ``gateway_code``. Commits.

    Returns the :class:`~core.models.Payment` (its ``client_data`` holds what the
    storefront needs). Idempotent per gateway: while a pending payment of the
    same gateway and amount exists it is returned again. Starting with another
    gateway cancels earlier pending payments. Refused for cancelled, refunded
    or fully paid orders (``payment.not_due``, 409).
    """
    gateway = get_gateway(gateway_code)
    order = orders.lock_order(order)
    due = order.total - order.paid_amount
    if order.status in ("cancelled", "refunded", "completed") or due <= 0:
        raise Conflict("payment.not_due", "Đơn hàng không còn khoản nào cần thanh toán.",
                       "Nothing is due on this order.", {"status": order.status, "due": max(due, 0)})
    for existing in order.payments:
        if existing.status in ("pending", "authorised"):
            if existing.gateway == gateway.code and existing.amount == due:
                return existing
            existing.status = "cancelled"
    payment = Payment(order_id=order.id, gateway=gateway.code, amount=due, status="pending",
                      created_at=utcnow())
    db.session.add(payment)
    db.session.flush()
    try:
        started = gateway.start(order, payment)
    except Exception:
        db.session.rollback()
        raise
    payment.status = started.status if started.status in ("pending", "authorised") else "pending"
    payment.external_id = started.external_id
    payment.client_data = started.client_data or {}
    payment.transfer_reference = getattr(started, "transfer_reference", None)
    order.payment_gateway = gateway.code
    orders.add_event(order, "payment_started", data={"payment_id": payment.id, "gateway": gateway.code,
                                                     "amount": payment.amount})
    commit()
    return payment


def handle_gateway_event(gateway_code: str, event: GatewayEvent, *, actor=None) -> bool:
    """Apply a verified gateway notification to its payment and order, exactly once. Commits.

    Returns True when the event changed something, False for a replay (the
    same ``event_id`` of the same gateway seen before — nothing changes).
    Raises ``payment.not_found`` (404) for an external id no payment carries.

    ``succeeded``: the payment is captured (its amount must match, otherwise
    the event is recorded as ``amount_mismatch`` for an operator); an order
    whose total is covered becomes ``paid`` (``completed`` when it had
    already shipped, as with cash on delivery); ``order_paid`` fires after
    commit. ``failed``: a pending payment fails. ``refunded``: ``amount`` is
    the gateway's cumulative refunded amount; refunds not yet recorded are.
    """
    seen = db.session.execute(select(PaymentEvent.id).where(PaymentEvent.gateway == gateway_code,
                                                            PaymentEvent.event_id == event.event_id)).first()
    if seen:
        return False
    payment = db.session.execute(select(Payment).where(Payment.gateway == gateway_code,
                                                       Payment.external_id == event.external_id)
                                 .order_by(Payment.id.desc())).scalars().first()
    if payment is None:
        raise NotFound("payment", "khoản thanh toán", {"gateway": gateway_code, "external_id": event.external_id})
    order = orders.lock_order(payment.order)
    db.session.refresh(payment)
    outcome = "ignored"
    try:
        if event.kind == "succeeded":
            if payment.status in ("succeeded", "refunded", "partially_refunded"):
                outcome = "already_succeeded"
            elif event.amount is not None and event.amount != payment.amount:
                outcome = "amount_mismatch"
                orders.add_event(order, "payment_amount_mismatch", actor=actor,
                                 data={"payment_id": payment.id, "expected": payment.amount,
                                       "received": event.amount, "event_id": event.event_id})
            else:
                outcome = "succeeded"
                payment.status = "succeeded"
                payment.succeeded_at = utcnow()
                order.paid_amount += payment.amount
                orders.add_event(order, "payment_succeeded", actor=actor,
                                 data={"payment_id": payment.id, "gateway": gateway_code,
                                       "amount": payment.amount, "event_id": event.event_id})
                if order.paid_amount >= order.total:
                    if order.status in ("unconfirmed", "confirmed"):
                        orders.transition(order, "paid", actor=actor)
                    elif order.status == "fulfilled":
                        orders.transition(order, "completed", actor=actor)
                    if order.status in ("paid", "completed"):
                        orders.fire_after_commit("order_paid", order, payment=payment)
        elif event.kind == "failed":
            if payment.status in ("pending", "authorised"):
                outcome = "failed"
                payment.status = "failed"
                orders.add_event(order, "payment_failed", actor=actor,
                                 data={"payment_id": payment.id, "event_id": event.event_id})
        elif event.kind == "refunded":
            recorded = payment.refunded_amount or 0
            target = min(event.amount if event.amount is not None else payment.amount, payment.amount)
            if target > recorded and payment.status in ("succeeded", "partially_refunded"):
                outcome = "refunded"
                db.session.add(Refund(order_id=order.id, payment_id=payment.id, amount=target - recorded,
                                      external_id=event.event_id, reason="refunded at the gateway",
                                      status="succeeded", created_at=utcnow()))
                _apply_refund(order, payment, target - recorded, actor=actor)
        if not record_gateway_event(gateway_code, event, payment.id, outcome):
            db.session.rollback()
            return False
        commit()
    except Exception:
        db.session.rollback()
        raise
    return outcome not in ("ignored", "already_succeeded")


def _apply_refund(order, payment, amount: int, *, actor=None, set_status: bool = True) -> None:
    payment.refunded_amount = (payment.refunded_amount or 0) + amount
    payment.status = "refunded" if payment.refunded_amount >= payment.amount else "partially_refunded"
    order.refunded_amount += amount
    orders.add_event(order, "refund", actor=actor, data={"payment_id": payment.id, "amount": amount})
    if set_status and order.refunded_amount >= order.paid_amount and order.status in ("paid", "fulfilled",
                                                                                      "completed"):
        if order.status == "paid":
            ledger.release(orders.stock_reference(order), actor=actor, reason="order refunded")
            for line in order.lines:
                line.allocated_quantity = 0
        orders.transition(order, "refunded", actor=actor)


def refund_order(order, amount: int, reason: str | None, *, actor=None, payment_id: int | None = None,
                 set_status: bool = True, outside_gateway: bool = False) -> list:
    """Refund ``amount`` VND of the order's captured payments through their gateways. Does not commit.

    Takes the newest captured payments first (or only ``payment_id``). When
    everything paid is refunded the order becomes ``refunded`` (a paid order
    that had not shipped also releases its stock). Returns the Refund rows.
    ``outside_gateway``: the money was already handed back outside any gateway
    (cash at a till): the refund is recorded and no gateway is called.
    """
    if amount <= 0:
        raise invalid("amount", "số tiền hoàn phải dương", "the refund amount must be positive")
    captured = [p for p in sorted(order.payments, key=lambda p: -p.id)
                if p.status in ("succeeded", "partially_refunded") and (payment_id is None or p.id == payment_id)]
    refundable = sum(p.amount - (p.refunded_amount or 0) for p in captured)
    if amount > refundable:
        raise Conflict("payment.refund_exceeds", "Số tiền hoàn vượt quá số đã thanh toán.",
                       "The refund exceeds what was paid.", {"amount": amount, "refundable": refundable})
    refunds, left = [], amount
    for payment in captured:
        if left <= 0:
            break
        part = min(left, payment.amount - (payment.refunded_amount or 0))
        if part <= 0:
            continue
        external_id = None if outside_gateway else get_gateway_for_refund(payment.gateway).refund(payment, part)
        refund = Refund(order_id=order.id, payment_id=payment.id, amount=part, external_id=external_id,
                        reason=reason, status="succeeded", actor_id=getattr(actor, "id", None),
                        created_at=utcnow())
        db.session.add(refund)
        refunds.append(refund)
        _apply_refund(order, payment, part, actor=actor, set_status=set_status)
        left -= part
    return refunds


def refund(user, order_id: int, amount: int, reason: str | None = None, payment_id: int | None = None) -> list:
    """Admin refund of ``amount`` VND on an order in the caller's scope. Commits."""
    order = orders.get_order(order_id)
    orders.require_manage(user, order)
    order = orders.lock_order(order)
    try:
        refunds = refund_order(order, amount, reason, actor=user, payment_id=payment_id)
        commit()
    except Exception:
        db.session.rollback()
        raise
    return refunds


def mark_paid(user, order_id: int, payment_id: int, note: str | None = None) -> bool:
    """An admin records that an offline payment (bank transfer, cash on delivery) was received. Commits.

    Goes through :func:`handle_gateway_event` with the event id
    ``manual:<payment id>``, so marking twice changes nothing the second time.
    """
    order = orders.get_order(order_id)
    orders.require_manage(user, order)
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.order_id != order.id:
        raise NotFound("payment", "khoản thanh toán")
    gateway = gateways().get(payment.gateway)
    if gateway is None or not getattr(gateway, "offline", False):
        raise Conflict("payment.not_offline", "Chỉ khoản thanh toán ngoại tuyến mới được đánh dấu thủ công.",
                       "Only offline payments (bank transfer, cash on delivery) can be marked paid by hand.",
                       {"gateway": payment.gateway})
    if payment.status not in ("pending", "authorised", "succeeded"):
        raise Conflict("payment.not_pending", "Khoản thanh toán không còn chờ.", "The payment is not pending.",
                       {"status": payment.status})
    changed = handle_gateway_event(payment.gateway, GatewayEvent(
        event_id=f"manual:{payment.id}", external_id=payment.external_id, kind="succeeded",
        amount=payment.amount), actor=user)
    if changed and note:
        orders.add_event(orders.get_order(order_id), "note", actor=user, message=note,
                         data={"payment_id": payment.id})
        commit()
    return changed


def cancel_order(user: User | None, order_id: int, reason: str | None = None) -> dict:
    """Cancel an order that has not shipped anything, releasing its stock allocations. Commits.

    A paid order is refunded through its gateway(s) first. ``order_cancelled``
    fires after commit.
    """
    order = orders.get_order(order_id)
    if user is not None:
        orders.require_manage(user, order)
    order = orders.lock_order(order)
    if not orders.can_transition(order, "cancelled"):
        orders.transition(order, "cancelled")  # raises order.invalid_transition
    if any(line.fulfilled_quantity for line in order.lines):
        raise Conflict("order.already_shipped", "Đơn hàng đã có hàng được gửi đi, không thể huỷ.",
                       "Part of the order has shipped; it cannot be cancelled.", {"order_id": order.id})
    try:
        refundable = order.paid_amount - order.refunded_amount
        if refundable > 0:
            refund_order(order, refundable, reason or "order cancelled", actor=user, set_status=False)
        ledger.release(orders.stock_reference(order), actor=user, reason="order cancelled")
        for line in order.lines:
            line.allocated_quantity = 0
        order.cancel_reason = reason
        orders.transition(order, "cancelled", actor=user, data={"reason": reason} if reason else None)
        orders.fire_after_commit("order_cancelled", order)
        commit()
    except Exception:
        db.session.rollback()
        raise
    return orders.admin_view(order, user) if user is not None else orders.shopper_view(order)
