"""Payments: the gateway contract, the gateway registry, starting payments, gateway events, refunds.

Gateways are collected through the ``payment_gateways`` hook (built-in
plugins ``cod``, ``bank_transfer`` and ``stripe_payments``). The core owns
orders and ``Payment`` rows; a gateway only talks to the outside world.
Amounts are integer VND (zero-decimal everywhere, Stripe too).

Flow: :func:`start_payment` creates a pending ``Payment`` and asks the
gateway to start (``PaymentGateway.start`` → :class:`PaymentStart`, whose
``client_data`` goes to the storefront). Whatever later tells us the money
arrived — a verified webhook, a bank-statement line, an admin — becomes a
:class:`GatewayEvent` handled by :func:`handle_gateway_event`, idempotent by
``(gateway, event_id)``. Refunds go through :func:`refund` /
:func:`refund_order` and the gateway's ``refund``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import DomainError


@dataclass
class PaymentStart:
    """What a gateway answers when a payment starts."""

    status: str                      # "pending" (waiting for the shopper/bank) or "authorised"
    external_id: str | None = None   # e.g. Stripe PaymentIntent id, bank transfer reference
    client_data: dict[str, Any] = field(default_factory=dict)  # sent to the storefront (client_secret, QR…)
    transfer_reference: str | None = None  # bank transfers: the reference the shopper writes on the transfer


@dataclass
class GatewayEvent:
    """A verified notification from a gateway (webhook, IPN, bank statement line)."""

    event_id: str                    # unique per gateway: replays are ignored
    external_id: str                 # the payment's external id
    kind: str                        # "succeeded", "failed", "refunded"
    amount: int | None = None


class PaymentGateway:
    """Base class for gateways; subclasses set ``code``, ``name``, ``name_en``."""

    code: str = ""
    name: str = ""
    name_en: str = ""
    #: True for payments confirmed by people (cash on delivery, bank transfer): an admin may mark them paid
    offline: bool = False

    def start(self, order, payment) -> PaymentStart:
        """Begin collecting ``payment.amount`` VND for ``order``."""
        raise NotImplementedError

    def refund(self, payment, amount: int) -> str:
        """Refund ``amount`` VND of a captured payment; return the external refund id."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {"code": self.code, "name": self.name, "name_en": self.name_en, "offline": self.offline}


# --- registry --------------------------------------------------------------------------
_REGISTRY_KEY = "ocop_payment_gateways"


def gateways() -> dict[str, PaymentGateway]:
    """Enabled gateways by code, collected once per app from the ``payment_gateways`` hook."""
    from flask import current_app
    cached = current_app.extensions.get(_REGISTRY_KEY)
    if cached is None:
        from core.plugins import hooks
        cached = {}
        for result in hooks().payment_gateways(settings=current_app.config["OCOP"]):
            for gateway in result or []:
                if isinstance(gateway, PaymentGateway) and gateway.code and gateway.code not in cached:
                    cached[gateway.code] = gateway
        current_app.extensions[_REGISTRY_KEY] = cached
    return cached


def get_gateway(code: str) -> PaymentGateway:
    """The enabled gateway ``code`` or ``payment.gateway_unavailable`` (422)."""
    gateway = gateways().get(code or "")
    if gateway is None:
        raise DomainError("payment.gateway_unavailable", "Phương thức thanh toán không khả dụng.",
                          "This payment method is not available.",
                          {"gateway": code, "available": sorted(gateways())}, status=422)
    return gateway


def describe_gateways() -> list[dict]:
    """``describe()`` of every enabled gateway (for the storefront)."""
    return [g.describe() for g in gateways().values()]


# --- payments --------------------------------------------------------------------------
def _order_model():
    from core.sales.models import Order
    from core.payments.models import Payment, PaymentEvent, Refund
    return Order, Payment, PaymentEvent, Refund


def start_payment(order, gateway_code: str):
    """Start collecting what is still due on ``order`` with ``gateway_code``. Commits.

    Returns the :class:`~core.models.Payment` (its ``client_data`` holds what the
    storefront needs). Idempotent per gateway: while a pending payment of the
    same gateway and amount exists it is returned again. Starting with another
    gateway cancels earlier pending payments. Refused for cancelled, refunded
    or fully paid orders (``payment.not_due``, 409).
    """
    from core.db import commit, db, utcnow
    from core.errors import Conflict
    from core.sales import orders
    _, Payment, _, _ = _order_model()
    gateway = get_gateway(gateway_code)
    order = orders._lock_order(order)
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


def _record_event(gateway_code: str, event: GatewayEvent, payment_id, outcome: str) -> bool:
    """Insert the PaymentEvent row; False when (gateway, event_id) was already processed."""
    from sqlalchemy.exc import IntegrityError
    from core.db import db, utcnow
    _, _, PaymentEvent, _ = _order_model()
    row = PaymentEvent(gateway=gateway_code, event_id=event.event_id, external_id=event.external_id,
                       kind=event.kind, amount=event.amount, payment_id=payment_id, outcome=outcome,
                       created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return False
    return True


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
    from sqlalchemy import select
    from core.db import commit, db, utcnow
    from core.errors import NotFound
    from core.sales import orders
    _, Payment, PaymentEvent, Refund = _order_model()
    seen = db.session.execute(select(PaymentEvent.id).where(PaymentEvent.gateway == gateway_code,
                                                            PaymentEvent.event_id == event.event_id)).first()
    if seen:
        return False
    payment = db.session.execute(select(Payment).where(Payment.gateway == gateway_code,
                                                       Payment.external_id == event.external_id)
                                 .order_by(Payment.id.desc())).scalars().first()
    if payment is None:
        raise NotFound("payment", "khoản thanh toán", {"gateway": gateway_code, "external_id": event.external_id})
    order = orders._lock_order(payment.order)
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
        if not _record_event(gateway_code, event, payment.id, outcome):
            db.session.rollback()
            return False
        commit()
    except Exception:
        db.session.rollback()
        raise
    return outcome not in ("ignored", "already_succeeded")


def _apply_refund(order, payment, amount: int, *, actor=None, set_status: bool = True) -> None:
    from core.sales import orders
    payment.refunded_amount = (payment.refunded_amount or 0) + amount
    payment.status = "refunded" if payment.refunded_amount >= payment.amount else "partially_refunded"
    order.refunded_amount += amount
    orders.add_event(order, "refund", actor=actor, data={"payment_id": payment.id, "amount": amount})
    if set_status and order.refunded_amount >= order.paid_amount and order.status in ("paid", "fulfilled",
                                                                                      "completed"):
        if order.status == "paid":
            from core.inventory import ledger
            ledger.release(orders.stock_reference(order), actor=actor, reason="order refunded")
            for line in order.lines:
                line.allocated_quantity = 0
        orders.transition(order, "refunded", actor=actor)


def refund_order(order, amount: int, reason: str | None, *, actor=None, payment_id: int | None = None,
                 set_status: bool = True) -> list:
    """Refund ``amount`` VND of the order's captured payments through their gateways. Does not commit.

    Takes the newest captured payments first (or only ``payment_id``). When
    everything paid is refunded the order becomes ``refunded`` (a paid order
    that had not shipped also releases its stock). Returns the Refund rows.
    """
    from core.db import db, utcnow
    from core.errors import Conflict, invalid
    _, Payment, _, Refund = _order_model()
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
        external_id = get_gateway_for_refund(payment.gateway).refund(payment, part)
        refund = Refund(order_id=order.id, payment_id=payment.id, amount=part, external_id=external_id,
                        reason=reason, status="succeeded", actor_id=getattr(actor, "id", None),
                        created_at=utcnow())
        db.session.add(refund)
        refunds.append(refund)
        _apply_refund(order, payment, part, actor=actor, set_status=set_status)
        left -= part
    return refunds


def get_gateway_for_refund(code: str) -> PaymentGateway:
    """The gateway that captured a payment; a disabled gateway cannot refund (``payment.gateway_unavailable``)."""
    return get_gateway(code)


def refund(user, order_id: int, amount: int, reason: str | None = None, payment_id: int | None = None) -> list:
    """Admin refund of ``amount`` VND on an order in the caller's scope. Commits."""
    from core.db import commit, db
    from core.sales import orders
    order = orders.get_order(order_id)
    orders.require_manage(user, order)
    order = orders._lock_order(order)
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
    from core.db import db
    from core.errors import Conflict, NotFound
    from core.sales import orders
    _, Payment, _, _ = _order_model()
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
        from core.db import commit
        orders.add_event(orders.get_order(order_id), "note", actor=user, message=note,
                         data={"payment_id": payment.id})
        commit()
    return changed
