"""Booth fees paid with core payments: each fee line is a *payable* (``fair_fee``, :mod:`core.payments.payables`).

The exhibitor (or the organiser) starts a bank transfer — a reference and a VietQR code that a bank
statement line later matches — or the organiser records money taken at the desk (cash, card), or marks a
transfer paid. A fee line reads ``paid`` from its captured payment; it is paid once (409 ``fair.fee_not_due``).
Flushes only.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.accounts.models import User
from core.audit import trail as audit
from core.db import db, separate_transaction, utcnow
from core.errors import DomainError, NotFound, invalid
from core.payments import payables, vietqr
from core.payments.models import CAPTURED_STATUSES, Payment
from plugins.fairs import access
from plugins.fairs.models import FairEvent, FairFeeLine

PAYABLE_KIND = "fair_fee"
#: ``method`` of ``pay_fee``: what the organiser saw arrive → how it is recorded
DESK_METHODS = {"desk": "cash", "cash": "cash", "card": "card"}


@dataclass
class FeeView:
    """A fee line with what its payments say: ``status`` (paid / unpaid / waived / cancelled), the captured
    payment (``payment``) and the bank transfer waiting for its money (``transfer``: reference, VietQR)."""

    fee: FairFeeLine
    status: str
    payment: dict | None
    transfer: dict | None

    def __getattr__(self, name):  # the fee line's own columns (id, booth_code, due…) for the schemas
        if name == "fee":
            raise AttributeError(name)
        return getattr(self.fee, name)


def payable(fee: FairFeeLine, event: FairEvent | None = None) -> payables.Payable:
    """The fee line as the core payments see it."""
    slug = event.slug if event is not None else str(fee.event_id)
    return payables.Payable(PAYABLE_KIND, fee.id, fee.due, f"Phi gian hang {fee.booth_code} {slug}")


def _status(fee: FairFeeLine, captured: Payment | None) -> str:
    if captured is not None or fee.status == "paid":
        return "paid"
    return fee.status


def view(fee: FairFeeLine, payments: list[Payment] | None = None) -> FeeView:
    """What a fee line shows; ``payments`` (its core payments) are loaded when not given."""
    if payments is None:
        payments = payables.payments_of(PAYABLE_KIND, fee.id)
    captured = next((p for p in payments if p.status in CAPTURED_STATUSES), None)
    waiting = next((p for p in reversed(payments) if p.status in payables.OPEN_STATUSES), None)
    status = _status(fee, captured)
    return FeeView(fee, status, payables.describe(captured),
                   payables.describe(waiting) if status == "unpaid" else None)


def is_paid(fee: FairFeeLine) -> bool:
    """True once money for the fee line was captured (or recorded paid before fees were core payments)."""
    return view(fee).status == "paid"


def list_fees(user: User, event: FairEvent) -> list[FeeView]:
    """The event's fee lines (organiser), or the producer's own, each with its payment status."""
    stmt = select(FairFeeLine).where(FairFeeLine.event_id == event.id).order_by(FairFeeLine.id)
    if not access.can_manage_event(user, event):
        if user.role != "producer":
            raise access.out_of_scope(event_id=event.id)
        stmt = stmt.where(FairFeeLine.producer_id == user.producer_id)
    lines = list(db.session.execute(stmt).scalars())
    by_fee: dict[int, list[Payment]] = {line.id: [] for line in lines}
    if lines:
        rows = db.session.execute(select(Payment).where(Payment.payable_kind == PAYABLE_KIND,
                                                        Payment.payable_id.in_(list(by_fee)))
                                  .order_by(Payment.id)).scalars()
        for payment in rows:
            by_fee[payment.payable_id].append(payment)
    return [view(line, by_fee[line.id]) for line in lines]


def _fee(event: FairEvent, fee_id: int, *, lock: bool = False) -> FairFeeLine:
    stmt = select(FairFeeLine).where(FairFeeLine.id == fee_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    fee = db.session.execute(stmt).scalar_one_or_none()
    if fee is None or fee.event_id != event.id:
        raise NotFound("fair_fee_line", "phí gian hàng")
    return fee


def _require_due(fee: FairFeeLine) -> None:
    status = view(fee).status
    if status != "unpaid":
        raise DomainError("fair.fee_not_due", "Khoản phí không ở trạng thái chờ thanh toán.",
                          "This fee line is not awaiting payment.", {"status": status}, status=409)


def get_fee(user: User, event: FairEvent, fee_id: int) -> FeeView:
    """One fee line for its exhibitor or the organiser."""
    fee = _fee(event, fee_id)
    access.require_exhibitor_or_manager(user, event, fee.producer_id)
    return view(fee)


def start_transfer(user: User, event: FairEvent, fee_id: int) -> FeeView:
    """The exhibitor (or organiser) pays by bank transfer: a pending core payment with its reference and VietQR
    code (the same one again while it waits). 409 ``fair.fee_not_due`` once paid, waived or cancelled."""
    fee = _fee(event, fee_id, lock=True)
    access.require_exhibitor_or_manager(user, event, fee.producer_id)
    _require_due(fee)
    payables.start_bank_transfer(payable(fee, event))
    return view(fee)


def transfer_qr_svg(user: User, event: FairEvent, fee_id: int) -> bytes:
    """The VietQR code (SVG) of the fee's waiting bank transfer (404 when none was started)."""
    current = get_fee(user, event, fee_id).transfer
    if not current or not current.get("vietqr"):
        raise NotFound("fair_fee_transfer", "chuyển khoản phí gian hàng")
    return vietqr.render_svg(current["vietqr"])


def pay_fee(user: User, event: FairEvent, fee_id: int, data: dict) -> FeeView:
    """The organiser records a fee paid: at the desk (``desk``/``cash``, ``card``: a captured desk payment) or a
    bank transfer seen on the account (``bank_transfer`` + the bank's reference: the waiting transfer is marked
    paid). The fee line is locked, so of two concurrent recordings one pays and the other answers 409."""
    access.require_manage(user, event)
    fee = _fee(event, fee_id, lock=True)
    _require_due(fee)
    method, reference = data["method"], data.get("reference")
    if method == "bank_transfer" and not reference:
        raise invalid("reference", "chuyển khoản cần mã giao dịch", "a bank transfer needs its reference",
                      code="fair.reference_required")
    before = audit.snapshot(fee)
    if method == "bank_transfer":
        payment = payables.start_bank_transfer(payable(fee, event))
        payables.mark_paid(payment, actor=user)
    else:
        payment = payables.record_desk_payment(payable(fee, event), DESK_METHODS[method], reference=reference,
                                               actor=user)
    fee.status, fee.paid_method, fee.paid_reference, fee.paid_at = "paid", method, reference, utcnow()
    db.session.flush()
    audit.record("fair.fee_paid", fee, before=before, actor=user, province_code=event.province_code,
                 after={"payment_id": payment.id, "gateway": payment.gateway})
    return view(fee)


def payment_arrived(payable_id: int, payment_id: int) -> None:
    """After commit (``payable_paid``): a fee paid without the organiser (a bank statement line, a notification)
    gets its paid columns written in a transaction of its own."""
    with separate_transaction() as session:
        fee = session.get(FairFeeLine, payable_id)
        payment = session.get(Payment, payment_id)
        if fee is None or payment is None or fee.status == "paid":
            return
        fee.status, fee.paid_at = "paid", payment.succeeded_at or utcnow()
        fee.paid_method = "bank_transfer" if payment.gateway == payables.BANK_TRANSFER else payment.gateway
        fee.paid_reference = payment.transfer_reference or payment.external_id


def producer_fees(user: User) -> list[tuple[FairEvent, FeeView]]:
    """The producer's fee lines across events, newest event first (the console's "my fees")."""
    if user.role != "producer" or user.producer_id is None:
        raise access.out_of_scope(producer_id=None)
    lines = db.session.execute(select(FairFeeLine).where(FairFeeLine.producer_id == user.producer_id)
                               .order_by(FairFeeLine.event_id.desc(), FairFeeLine.id)).scalars()
    return [(db.session.get(FairEvent, line.event_id), view(line)) for line in lines]
