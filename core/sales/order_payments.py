"""How money moves an order: start a payment, apply gateway events, refund, mark paid, cancel.

The payments domain (:mod:`core.payments.gateways`) knows gateways and
payment records; this module applies them to orders (paid, completed,
refunded transitions, stock released on a refund before shipping). Nothing
here commits: the request, command or task that calls it does.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from core.db import db, on_commit, utcnow
from core.errors import Conflict, DomainError, NotFound, invalid
from core.inventory import ledger
from core.payments.gateways import GatewayEvent, get_gateway, get_gateway_for_refund, gateways, record_gateway_event
from core.payments import payables
from core.payments.models import Payment, PaymentEvent, PaymentRefundDue, Refund
from core.pricing import usage as pricing_usage
from core.accounts.models import User
from core.sales import orders

log = logging.getLogger(__name__)


def start_payment(order, gateway_code: str):
    """Start collecting what is still due on ``order`` with ``gateway_code``. Flushes.

    Returns the :class:`~core.payments.models.Payment` (its ``client_data``
    holds what the storefront needs; ``payment.order`` is the order).
    Idempotent per gateway: while a pending payment of the same gateway and
    amount exists it is returned again. Starting with another gateway cancels
    earlier pending payments. Refused for cancelled, refunded or fully paid
    orders (``payment.not_due``, 409).
    """
    gateway = get_gateway(gateway_code)
    order = orders.lock_order(order)
    due = order.total - order.paid_amount
    if order.status in ("cancelled", "refunded", "completed") or due <= 0:
        raise Conflict("payment.not_due", "Đơn hàng không còn khoản nào cần thanh toán.",
                       "Nothing is due on this order.", {"status": order.status, "due": max(due, 0)})
    for existing in order.payments:
        if existing.status in ("pending", "authorised") and existing.gateway == gateway.code \
                and existing.amount == due:
            return existing
    cancel_open_payments(order, reason="gateway switched")
    payment = Payment(gateway=gateway.code, amount=due, status="pending", created_at=utcnow())
    order.payments.append(payment)
    db.session.flush()
    started = gateway.start(order, payment)
    payment.status = started.status if started.status in ("pending", "authorised") else "pending"
    payment.external_id = started.external_id
    payment.client_data = started.client_data or {}
    payment.transfer_reference = getattr(started, "transfer_reference", None)
    order.payment_gateway = gateway.code
    orders.add_event(order, "payment_started", data={"payment_id": payment.id, "gateway": gateway.code,
                                                     "amount": payment.amount})
    db.session.flush()
    return payment


def cancel_open_payments(order, *, actor=None, reason: str) -> list:
    """Cancel the order's pending payments here, then at their gateways once this commits (a Stripe
    PaymentIntent is cancelled at Stripe). Flushes; returns the cancelled payments."""
    cancelled = [p for p in order.payments if p.status in ("pending", "authorised")]
    for payment in cancelled:
        payment.status = "cancelled"
        orders.add_event(order, "payment_cancelled", actor=actor,
                         data={"payment_id": payment.id, "gateway": payment.gateway, "reason": reason})
        gateway = gateways().get(payment.gateway)
        if gateway is not None and payment.external_id:
            on_commit(lambda gateway=gateway, payment_id=payment.id: _cancel_at_gateway(gateway, payment_id))
    db.session.flush()
    return cancelled


def _cancel_at_gateway(gateway, payment_id: int) -> None:
    """After commit: tell the gateway. A failure is logged; late money still becomes a refund due."""
    payment = db.session.get(Payment, payment_id)
    try:
        gateway.cancel(payment)
    except Exception:  # the cancellation here stands whatever the gateway answers
        log.warning("cancelling payment %s at %s failed", payment_id, gateway.code, exc_info=True)


class _AlreadyApplied(Exception):
    """The same gateway event was recorded meanwhile (a concurrent delivery of it)."""


def handle_gateway_event(gateway_code: str, event: GatewayEvent, *, actor=None) -> bool:
    """Apply a verified gateway notification to its payment and order, exactly once. Flushes.

    Returns True when the event changed something, False for a replay (the
    same ``event_id`` of the same gateway seen before — nothing changes).
    Raises ``payment.not_found`` (404) for an external id no payment carries.
    The event is applied in a savepoint: a replay or an error leaves the
    caller's transaction as it was.

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
    if payment.order_id is None:  # a plugin's payable, not an order
        return payables.apply_gateway_event(payment, event, actor=actor)
    order = orders.lock_order(payment.order)
    db.session.refresh(payment)
    try:
        with db.session.begin_nested():
            outcome = _apply_event(order, payment, gateway_code, event, actor)
            if not record_gateway_event(gateway_code, event, payment.id, outcome):
                raise _AlreadyApplied
    except _AlreadyApplied:
        return False
    if outcome == "succeeded" and order.status in ("paid", "completed") and order.paid_amount >= order.total:
        orders.fire_after_commit("order_paid", order, payment=payment)
    return outcome not in ("ignored", "already_succeeded")


def _apply_event(order, payment, gateway_code: str, event: GatewayEvent, actor) -> str:
    """Change the payment and order as ``event`` says; return the outcome recorded with the event."""
    if event.kind == "succeeded":
        if payment.status in ("succeeded", "refunded", "partially_refunded"):
            return "already_succeeded"
        if payment.status == "cancelled" or order.status in ("cancelled", "refunded"):
            _late_money(order, payment, gateway_code, event, actor)
            return "refund_due"
        if event.amount is not None and event.amount != payment.amount:
            orders.add_event(order, "payment_amount_mismatch", actor=actor,
                             data={"payment_id": payment.id, "expected": payment.amount,
                                   "received": event.amount, "event_id": event.event_id})
            return "amount_mismatch"
        _capture(order, payment, gateway_code, event, actor)
        return "succeeded"
    if event.kind == "failed":
        if payment.status not in ("pending", "authorised"):
            return "ignored"
        payment.status = "failed"
        orders.add_event(order, "payment_failed", actor=actor,
                         data={"payment_id": payment.id, "event_id": event.event_id})
        return "failed"
    if event.kind == "refunded":
        recorded = payment.refunded_amount or 0
        target = min(event.amount if event.amount is not None else payment.amount, payment.amount)
        if target <= recorded or payment.status not in ("succeeded", "partially_refunded"):
            return "ignored"
        db.session.add(Refund(order_id=order.id, payment_id=payment.id, amount=target - recorded,
                              external_id=event.event_id, reason="refunded at the gateway",
                              status="succeeded", created_at=utcnow()))
        _apply_refund(order, payment, target - recorded, actor=actor)
        return "refunded"
    return "ignored"


def _late_money(order, payment, gateway_code: str, event: GatewayEvent, actor) -> None:
    """Money for a cancelled payment or a closed order: a refund-due record for a person, never paid_amount."""
    amount = event.amount if event.amount is not None else payment.amount
    reason = f"order_{order.status}" if order.status in ("cancelled", "refunded") else "payment_cancelled"
    db.session.add(PaymentRefundDue(order_id=order.id, payment_id=payment.id, gateway=gateway_code,
                                    event_id=event.event_id, amount=amount, reason=reason, status="open",
                                    created_at=utcnow()))
    orders.add_event(order, "payment_refund_due", actor=actor,
                     data={"payment_id": payment.id, "gateway": gateway_code, "amount": amount, "reason": reason,
                           "event_id": event.event_id})


def _capture(order, payment, gateway_code: str, event: GatewayEvent, actor) -> None:
    """The payment succeeded: count it; an order now covered becomes paid (completed if it had shipped)."""
    payment.status = "succeeded"
    payment.succeeded_at = utcnow()
    order.paid_amount += payment.amount
    orders.add_event(order, "payment_succeeded", actor=actor,
                     data={"payment_id": payment.id, "gateway": gateway_code, "amount": payment.amount,
                           "event_id": event.event_id})
    if order.paid_amount >= order.total:
        if order.status in ("unconfirmed", "confirmed"):
            orders.transition(order, "paid", actor=actor)
        elif order.status == "fulfilled":
            orders.transition(order, "completed", actor=actor)


def _apply_refund(order, payment, amount: int, *, actor=None, set_status: bool = True) -> None:
    """Count ``amount`` refunded on ``payment``; once everything paid is refunded the order is refunded."""
    payment.refunded_amount = (payment.refunded_amount or 0) + amount
    payment.status = "refunded" if payment.refunded_amount >= payment.amount else "partially_refunded"
    order.refunded_amount += amount
    orders.add_event(order, "refund", actor=actor, data={"payment_id": payment.id, "amount": amount})
    if set_status and order.refunded_amount >= order.paid_amount and order.status in ("paid", "fulfilled",
                                                                                      "completed"):
        _mark_refunded(order, actor=actor)


def _mark_refunded(order, *, actor=None) -> None:
    """Refunded in full: a paid order that has not shipped gives its allocated stock back, then is refunded."""
    if order.status == "paid":
        release_stock(order, actor=actor, reason="order refunded")
    orders.transition(order, "refunded", actor=actor)


def release_stock(order, *, actor=None, reason: str) -> None:
    """Release whatever stock the order still holds (idempotent, per the ledger)."""
    ledger.release(orders.stock_reference(order), actor=actor, reason=reason)
    for line in order.lines:
        line.allocated_quantity = 0


def refund_order(order, amount: int, reason: str | None, *, actor=None, payment_id: int | None = None,
                 set_status: bool = True, outside_gateway: bool = False) -> list:
    """Refund ``amount`` VND of the order's captured payments through their gateways. Flushes.

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
    db.session.flush()
    return refunds


def refund(user, order_id: int, amount: int | None = None, reason: str | None = None,
           payment_id: int | None = None, lines: list[dict] | None = None) -> list:
    """Admin refund on an order in the caller's scope: ``amount`` VND, or units of its ``lines``
    (``[{"order_line_id", "quantity"}]``, see :func:`refund_lines`). Flushes."""
    order = orders.get_order(order_id)
    orders.require_manage(user, order)
    order = orders.lock_order(order)
    if lines:
        return refund_lines(order, lines, reason, actor=user, payment_id=payment_id)
    return refund_order(order, amount, reason, actor=user, payment_id=payment_id)


def refund_lines(order, lines: list[dict], reason: str | None, *, actor=None, payment_id: int | None = None) -> list:
    """Refund units of the order's lines at what they were charged (discounts pro-rated). Flushes.

    ``lines``: ``[{"order_line_id", "quantity"}]``. Each line's refund is its charged total
    (``line_total``, after promotions and vouchers) pro-rated by quantity, rounded down step by step
    so that refunding every unit, in any number of refunds, gives back exactly ``line_total``
    (:func:`core.pricing.usage.prorate`); the promotions and vouchers get back the same share of
    their units and budget. Units of a line not shipped yet are never shipped: their stock
    allocation is released. The money goes back through the gateways (:func:`refund_order`).
    The caller locks the order (:func:`core.sales.orders.lock_order`). Errors: a line of another
    order or a bad quantity (422), more than is left to refund on a line
    (``order.refund_exceeds_line``, 422), a cancelled or refunded order (``order.not_refundable``,
    409), more than was paid (``payment.refund_exceeds``, 409).
    """
    if order.status in ("cancelled", "refunded"):
        raise Conflict("order.not_refundable", "Đơn hàng đã huỷ hoặc đã hoàn tiền.",
                       "The order is cancelled or refunded.", {"status": order.status})
    wanted = _refund_quantities(order, lines)
    reference, total, done = f"order:{order.number}", 0, []
    for line, quantity in sorted(wanted.items(), key=lambda kv: (kv[0].variant_id, kv[0].id)):
        already = line.returned_quantity or 0
        if line.to_ship and line.allocations:  # not shipped: these units never will be
            _release_units(order, line, quantity, already, actor, reason)
        amount = pricing_usage.record_refund(reference, {
            "producer_id": line.producer_id, "quantity": line.quantity, "line_total": line.line_total,
            "discounts": line.discounts or []}, quantity, already)["amount"]
        line.returned_quantity = already + quantity
        total += amount
        done.append({"order_line_id": line.id, "quantity": quantity, "amount": amount})
    refunds = refund_order(order, total, reason, actor=actor, payment_id=payment_id) if total else []
    orders.add_event(order, "line_refund", actor=actor, message=reason, data={"amount": total, "lines": done})
    db.session.flush()
    return refunds


def _refund_quantities(order, lines: list[dict]) -> dict:
    """``{order line: units}`` asked for, checked against what is left to refund on each line."""
    by_id = {line.id: line for line in order.lines}
    wanted: dict = {}
    if not lines:
        raise invalid("lines", "cần ít nhất một dòng hàng", "at least one line is required")
    for i, row in enumerate(lines):
        line, quantity = by_id.get(row.get("order_line_id")), row.get("quantity")
        if line is None:
            raise invalid(f"lines.{i}.order_line_id", "dòng không thuộc đơn hàng", "the line is not on this order",
                          code="order.line_not_found")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise invalid(f"lines.{i}.quantity", "số lượng phải là số nguyên dương", "quantity must be a positive integer")
        wanted[line] = wanted.get(line, 0) + quantity
    for line, quantity in wanted.items():
        left = line.quantity - (line.returned_quantity or 0)
        if quantity > left:
            raise DomainError("order.refund_exceeds_line", "Số lượng hoàn vượt quá số còn lại của dòng hàng.",
                              "More units refunded than are left on the line.",
                              {"order_line_id": line.id, "quantity": line.quantity,
                               "already_refunded": line.returned_quantity or 0, "requested": quantity}, status=422)
    return wanted


def _release_units(order, line, quantity: int, already: int, actor, reason: str | None) -> None:
    """Release ``quantity`` allocated units of an unshipped line (its last lots first; ``already`` went before)."""
    skip, need, released = already, quantity, []
    for lot in reversed(line.allocations):
        taken = min(skip, lot["quantity"])
        skip -= taken
        qty = min(lot["quantity"] - taken, need)
        if qty <= 0:
            continue
        released.append(ledger.Allocation(lot["stock_id"], lot["location_id"], line.variant_id, lot["lot_id"], qty,
                                          orders.stock_reference(order)))
        need -= qty
        if need == 0:
            break
    ledger.release(released, actor=actor, reason=reason or "refunded before shipping")
    line.allocated_quantity = max(0, (line.allocated_quantity or 0) - quantity)


def mark_paid(user, order_id: int, payment_id: int, note: str | None = None) -> bool:
    """An admin records that an offline payment (bank transfer, cash on delivery) was received. Flushes.

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
        orders.add_event(order, "note", actor=user, message=note, data={"payment_id": payment.id})
        db.session.flush()
    return changed


def cancel_order(user: User | None, order_id: int, reason: str | None = None) -> dict:
    """Cancel an order that has not shipped anything, releasing its stock allocations. Flushes.

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
    refundable = order.paid_amount - order.refunded_amount
    if refundable > 0:
        refund_order(order, refundable, reason or "order cancelled", actor=user, set_status=False)
    cancel_open_payments(order, actor=user, reason="order cancelled")
    release_stock(order, actor=user, reason="order cancelled")
    order.cancel_reason = reason
    orders.transition(order, "cancelled", actor=user, data={"reason": reason} if reason else None)
    orders.fire_after_commit("order_cancelled", order)
    db.session.flush()
    return orders.admin_view(order, user) if user is not None else orders.shopper_view(order)
