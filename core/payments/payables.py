"""Payables: a plugin's debt outside orders (a fair's booth fee…) paid with ordinary core payments.

A payable is named by ``kind`` (the plugin's word, e.g. ``fair_fee``) and ``id``; its ``Payment`` rows carry
``payable_kind``/``payable_id`` instead of an order. :func:`start_bank_transfer` asks the bank-transfer gateway
for a reference and a VietQR code; :func:`record_desk_payment` records cash or card taken at a desk;
:func:`capture` (a statement line, a gateway event, a person marking it paid) captures a pending one. A payable
holds at most one captured payment (a partial unique index), so paying twice answers 409
``payment.payable_paid``; the ``payable_paid`` hook tells the plugin after commit. Nothing here commits.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.db import db, on_commit, utcnow
from core.errors import Conflict, NotFound, invalid
from core.payments.gateways import GatewayEvent, get_gateway, gateways, record_gateway_event
from core.payments.models import CAPTURED_STATUSES, Payment
from core.plugins import hooks

BANK_TRANSFER = "bank_transfer"
#: desk payment method → gateway code of its Payment rows (money taken by a person; no gateway object)
DESK_GATEWAYS = {"cash": "desk_cash", "card": "desk_card"}
OPEN_STATUSES = ("pending", "authorised")


@dataclass(frozen=True)
class Payable:
    """What a plugin owes-to-be-paid: its kind and id, the amount due (VND) and a label for people."""

    kind: str
    id: int
    amount: int
    label: str = ""


def payments_of(kind: str, payable_id: int) -> list[Payment]:
    """Every payment of the payable, oldest first."""
    return list(db.session.execute(select(Payment).where(Payment.payable_kind == kind,
                                                         Payment.payable_id == payable_id)
                                   .order_by(Payment.id)).scalars())


def captured_payment(kind: str, payable_id: int) -> Payment | None:
    """The payment holding the payable's money, if it is paid."""
    return next((p for p in payments_of(kind, payable_id) if p.status in CAPTURED_STATUSES), None)


def open_payment(kind: str, payable_id: int) -> Payment | None:
    """The newest pending payment (a bank transfer waiting for its money), if any."""
    return next((p for p in reversed(payments_of(kind, payable_id)) if p.status in OPEN_STATUSES), None)


def _already_paid(payable_kind: str, payable_id: int, payment: Payment | None = None) -> Conflict:
    return Conflict("payment.payable_paid", "Khoản này đã được thanh toán.", "This has already been paid.",
                    {"payable_kind": payable_kind, "payable_id": payable_id,
                     "payment_id": payment.id if payment is not None else None})


def _require_due(payable: Payable) -> None:
    if payable.amount <= 0:
        raise Conflict("payment.not_due", "Không có khoản nào cần thanh toán.", "Nothing is due.",
                       {"payable_kind": payable.kind, "payable_id": payable.id})
    paid = captured_payment(payable.kind, payable.id)
    if paid is not None:
        raise _already_paid(payable.kind, payable.id, paid)


def _cancel_open(payable: Payable, keep: Payment | None = None) -> None:
    for payment in payments_of(payable.kind, payable.id):
        if payment.status in OPEN_STATUSES and payment is not keep:
            payment.status = "cancelled"


def start_bank_transfer(payable: Payable) -> Payment:
    """A pending bank-transfer payment of ``payable`` with its reference and VietQR code. Flushes.

    The gateway's ``start_payable`` fills ``client_data`` (account, amount, reference, VietQR payload) and
    ``transfer_reference``, which a statement line then matches. Idempotent: a pending transfer of the same
    amount is returned again (another amount cancels it). 409 ``payment.payable_paid`` once paid; 422
    ``payment.gateway_unavailable`` while no bank-transfer gateway is enabled.
    """
    gateway = get_gateway(BANK_TRANSFER)
    _require_due(payable)
    current = open_payment(payable.kind, payable.id)
    if current is not None and current.gateway == gateway.code and current.amount == payable.amount:
        return current
    _cancel_open(payable)
    payment = Payment(gateway=gateway.code, amount=payable.amount, status="pending", payable_kind=payable.kind,
                      payable_id=payable.id, refunded_amount=0, created_at=utcnow())
    db.session.add(payment)
    db.session.flush()
    started = gateway.start_payable(payable, payment)
    payment.external_id = started.external_id
    payment.client_data = started.client_data or {}
    payment.transfer_reference = started.transfer_reference
    db.session.flush()
    return payment


def record_desk_payment(payable: Payable, method: str, *, reference: str | None = None, actor=None) -> Payment:
    """Money for ``payable`` taken at a desk (``cash`` or ``card``): a captured payment. Flushes.

    A pending bank transfer of the payable is cancelled (money still arriving for it is not counted).
    409 ``payment.payable_paid`` when already paid — also when another desk records it at the same moment.
    """
    gateway = DESK_GATEWAYS.get(method)
    if gateway is None:
        raise invalid("method", "hình thức thanh toán tại quầy phải là tiền mặt hoặc thẻ",
                      "a desk payment is cash or card", code="payment.bad_method")
    _require_due(payable)
    now = utcnow()
    payment = Payment(gateway=gateway, amount=payable.amount, status="succeeded", external_id=reference,
                      payable_kind=payable.kind, payable_id=payable.id, refunded_amount=0,
                      client_data={"actor_id": getattr(actor, "id", None)}, created_at=now, succeeded_at=now)
    try:
        with db.session.begin_nested():
            _cancel_open(payable)
            db.session.add(payment)
            db.session.flush()
    except IntegrityError:  # another desk captured it meanwhile (uq_payment_payable_captured)
        raise _already_paid(payable.kind, payable.id) from None
    _after_commit_paid(payment)
    return payment


def get_payment(kind: str, payable_id: int, payment_id: int) -> Payment:
    """The payable's payment ``payment_id`` (404 ``payment.not_found`` for another's)."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.payable_kind != kind or payment.payable_id != payable_id:
        raise NotFound("payment", "khoản thanh toán", {"payment_id": payment_id})
    return payment


def mark_paid(payment: Payment, *, actor=None) -> Payment:
    """A person confirms that an offline payment (a bank transfer) arrived: :func:`capture` with the event
    ``manual:<payment id>``. Flushes. 409 ``payment.payable_paid`` when it (or another) was captured already,
    ``payment.not_offline`` for an online gateway, ``payment.not_pending`` for a cancelled or failed one."""
    gateway = gateways().get(payment.gateway)
    if gateway is None or not getattr(gateway, "offline", False):
        raise Conflict("payment.not_offline", "Chỉ khoản thanh toán ngoại tuyến mới được đánh dấu thủ công.",
                       "Only offline payments (bank transfer) can be marked paid by hand.",
                       {"gateway": payment.gateway})
    if not capture(payment, event_id=f"manual:{payment.id}", actor=actor):
        raise _already_paid(payment.payable_kind, payment.payable_id, payment)
    return payment


def capture(payment: Payment, *, event_id: str, amount: int | None = None, actor=None) -> bool:
    """Capture a pending payable payment exactly once (its row is locked). Flushes.

    Returns False when nothing changed: the payment was captured already or ``event_id`` was seen before.
    Raises 409 ``payment.not_pending`` for a cancelled or failed payment, ``payment.amount_mismatch`` when
    ``amount`` differs, ``payment.payable_paid`` when another payment of the payable holds its money.
    ``payable_paid`` fires after commit.
    """
    payment = db.session.execute(select(Payment).where(Payment.id == payment.id).with_for_update()
                                 .execution_options(populate_existing=True)).scalar_one()
    if payment.status in CAPTURED_STATUSES or payment.status == "refunded":
        return False
    if payment.status not in OPEN_STATUSES:
        raise Conflict("payment.not_pending", "Khoản thanh toán không còn chờ.", "The payment is not pending.",
                       {"status": payment.status})
    if amount is not None and amount != payment.amount:
        raise Conflict("payment.amount_mismatch", "Số tiền nhận được không khớp.", "The amount received differs.",
                       {"expected": payment.amount, "received": amount})
    event = GatewayEvent(event_id=event_id, external_id=payment.external_id or "", kind="succeeded",
                         amount=payment.amount)
    try:
        with db.session.begin_nested():
            if not record_gateway_event(payment.gateway, event, payment.id, "succeeded"):
                return False
            payment.status, payment.succeeded_at = "succeeded", utcnow()
            db.session.flush()
    except IntegrityError:  # another payment of the payable was captured meanwhile
        raise _already_paid(payment.payable_kind, payment.payable_id) from None
    _after_commit_paid(payment)
    return True


def apply_gateway_event(payment: Payment, event: GatewayEvent, *, actor=None) -> bool:
    """A verified gateway notification for a payable payment (from ``handle_gateway_event``). Flushes.

    ``succeeded`` captures it (:func:`capture`; money for a payable paid otherwise is refused with 409);
    ``failed`` fails a pending one; anything else is ignored. Returns True when something changed.
    """
    if event.kind == "succeeded":
        return capture(payment, event_id=event.event_id, amount=event.amount, actor=actor)
    if event.kind == "failed" and payment.status in OPEN_STATUSES:
        if record_gateway_event(payment.gateway, event, payment.id, "failed"):
            payment.status = "failed"
            db.session.flush()
            return True
    return False


def _after_commit_paid(payment: Payment) -> None:
    kind, payable_id, payment_id = payment.payable_kind, payment.payable_id, payment.id

    def fire():
        hooks().payable_paid(kind=kind, payable_id=payable_id, payment=db.session.get(Payment, payment_id))
    on_commit(fire)


def describe(payment: Payment | None) -> dict | None:
    """What a page or an API answer shows of a payable payment (status, method, reference, VietQR payload)."""
    if payment is None:
        return None
    data = payment.client_data or {}
    return {"id": payment.id, "gateway": payment.gateway, "status": payment.status, "amount": payment.amount,
            "transfer_reference": payment.transfer_reference, "external_id": payment.external_id,
            "vietqr": data.get("vietqr"), "bank": data.get("bank"), "account_no": data.get("account_no"),
            "account_name": data.get("account_name"), "instructions": data.get("instructions"),
            "instructions_en": data.get("instructions_en"), "succeeded_at": payment.succeeded_at}
