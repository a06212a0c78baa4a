"""Reconciliation: incoming transfers (statement lines, bank notifications) become payments without a person.

:func:`record_transfer` is the one entry point. A transfer is stored once per
bank transaction id (a replay answers ``already_processed`` and changes
nothing), then matched by the payment reference in its text, its amount and
its currency:

* less than what is still due on the payment → ``partial`` (counted, shown in the order's history);
* enough → the core payments service captures the payment once; any excess becomes a refund-due record;
* for a cancelled or refunded order, or one already paid → the whole amount is refund-due;
* no reference, an unknown one, another currency → the ``unmatched`` queue for a person.

Each call commits (it owns its transaction, like the core payments service).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.db import commit, db, utcnow
from core.errors import Conflict, NotFound
from core.payments import payables
from core.payments.models import Payment
from core.sales import orders
from core.sales import order_payments
from core.payments.gateways import GatewayEvent
from plugins.bank_transfer.gateway import BankTransferGateway, find_references
from plugins.bank_transfer.models import BankTransaction, RefundDue

GATEWAY = BankTransferGateway.code
CLOSED_ORDER = ("cancelled", "refunded")
CAPTURED = ("succeeded", "refunded", "partially_refunded")


@dataclass
class IncomingTransfer:
    """What a bank told us about money that arrived."""

    transaction_id: str | None
    amount: int | None
    description: str
    source: str
    currency: str = "VND"
    account_no: str | None = None
    occurred_at: dt.datetime | None = None
    raw: dict[str, Any] | None = field(default=None, repr=False)

    def key(self) -> str:
        """The bank's transaction id, else a hash of date, amount and text (statements without ids)."""
        if self.transaction_id:
            return str(self.transaction_id).strip()[:120]
        stamp = self.occurred_at.isoformat() if self.occurred_at else ""
        digest = hashlib.sha256(f"{stamp}|{self.amount}|{self.description}".encode()).hexdigest()
        return f"h:{digest[:32]}"


def _answer(row: BankTransaction | None, outcome: str, transfer: IncomingTransfer, refund: RefundDue | None = None):
    return {"transaction_id": transfer.key(), "outcome": outcome, "amount": transfer.amount,
            "reference": row.reference if row else None, "order_id": row.order_id if row else None,
            "refund_due": refund.amount if refund else 0}


def record_transfer(transfer: IncomingTransfer, *, actor=None) -> dict:
    """Store and apply one incoming transfer exactly once. Commits.

    Returns ``{"transaction_id", "outcome", "amount", "reference", "order_id", "refund_due"}`` where
    ``outcome`` is ``paid``, ``partial``, ``overpaid``, ``refund_due``, ``unmatched``,
    ``already_processed`` or ``skipped`` (not money in: zero, negative or unreadable amount).
    """
    if transfer.amount is None or transfer.amount <= 0:
        return _answer(None, "skipped", transfer)
    key = transfer.key()
    if db.session.execute(select(BankTransaction.id).where(BankTransaction.transaction_id == key)).first():
        return _answer(None, "already_processed", transfer)
    row = BankTransaction(transaction_id=key, source=transfer.source, account_no=transfer.account_no,
                          amount=transfer.amount, currency=(transfer.currency or "VND").upper()[:3],
                          description=(transfer.description or "")[:1000], occurred_at=transfer.occurred_at,
                          received_at=utcnow(), status="unmatched", raw=transfer.raw)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:  # the same transaction delivered twice at once
        db.session.rollback()
        return _answer(None, "already_processed", transfer)
    try:
        outcome, refund = _match(row, actor)
        commit()
    except Exception:
        db.session.rollback()
        raise
    return _answer(row, outcome, transfer, refund)


def _match(row: BankTransaction, actor) -> tuple[str, RefundDue | None]:
    if row.currency != "VND":
        row.reason = "currency"
        return "unmatched", None
    for candidate in find_references(row.description):
        payment = db.session.execute(select(Payment).where(Payment.gateway == GATEWAY,
                                                           Payment.transfer_reference == candidate)
                                     ).scalar_one_or_none()
        if payment is not None:
            row.reference = candidate
            return apply_to_payment(row, payment, actor)
    row.reason = "no_reference"
    return "unmatched", None


def _refund_due(row: BankTransaction, order, amount: int, reason: str, actor) -> RefundDue:
    refund = RefundDue(bank_transaction_id=row.id, order_id=order.id, amount=amount, reason=reason,
                       status="open", created_at=utcnow())
    db.session.add(refund)
    orders.add_event(order, "bank_transfer_refund_due", actor=actor,
                     data={"transaction_id": row.transaction_id, "amount": amount, "reason": reason})
    return refund


def received_so_far(payment_id: int) -> int:
    """What partial transfers have brought towards ``payment_id`` so far."""
    total = db.session.execute(select(func.coalesce(func.sum(BankTransaction.applied_amount), 0))
                               .where(BankTransaction.payment_id == payment_id,
                                      BankTransaction.status == "partial")).scalar_one()
    return int(total)  # PostgreSQL sums BIGINT as NUMERIC (Decimal)


def apply_to_payment(row: BankTransaction, payment, actor) -> tuple[str, RefundDue | None]:
    """Apply ``row`` to a bank-transfer ``payment`` (matched by reference, or chosen by a person). Flushes."""
    if payment.order_id is None:
        return _apply_to_payable(row, payment, actor)
    order = orders.lock_order(payment.order)
    db.session.refresh(payment)
    row.payment_id, row.order_id = payment.id, order.id
    if order.status in CLOSED_ORDER:
        row.status, row.reason = "refund_due", f"order_{order.status}"
        return "refund_due", _refund_due(row, order, row.amount, "order_cancelled", actor)
    if payment.status in CAPTURED or order.paid_amount >= order.total:
        row.status, row.reason = "refund_due", "already_paid"
        return "refund_due", _refund_due(row, order, row.amount, "already_paid", actor)
    if payment.status not in ("pending", "authorised"):  # the shopper switched to another gateway meanwhile
        row.status, row.reason = "unmatched", "payment_not_pending"
        return "unmatched", None
    received = received_so_far(payment.id) + row.amount
    if received < payment.amount:
        row.status, row.applied_amount = "partial", row.amount
        orders.add_event(order, "bank_transfer_partial", actor=actor,
                         data={"payment_id": payment.id, "transaction_id": row.transaction_id,
                               "amount": row.amount, "received": received, "expected": payment.amount})
        db.session.flush()
        return "partial", None
    excess = received - payment.amount
    row.applied_amount = row.amount - excess
    row.status = "overpaid" if excess else "paid"
    refund = _refund_due(row, order, excess, "overpayment", actor) if excess else None
    db.session.flush()
    # the core captures the payment once (event id per bank transaction); it commits
    order_payments.handle_gateway_event(GATEWAY, GatewayEvent(
        event_id=f"banktxn:{row.transaction_id}", external_id=payment.external_id, kind="succeeded",
        amount=payment.amount), actor=actor)
    return row.status, refund


def _apply_to_payable(row: BankTransaction, payment, actor) -> tuple[str, RefundDue | None]:
    """A transfer for a plugin's payable (a booth fee): captured through the core payables service once
    covered; money for a payable already paid, or beyond what is due, waits as refund-due."""
    payment = db.session.execute(select(Payment).where(Payment.id == payment.id).with_for_update()
                                 .execution_options(populate_existing=True)).scalar_one()
    row.payment_id = payment.id
    if payment.status in CAPTURED or payables.captured_payment(payment.payable_kind, payment.payable_id):
        row.status, row.reason = "refund_due", "already_paid"
        return "refund_due", _payable_refund_due(row, row.amount, "already_paid")
    if payment.status not in ("pending", "authorised"):
        row.status, row.reason = "unmatched", "payment_not_pending"
        return "unmatched", None
    received = received_so_far(payment.id) + row.amount
    if received < payment.amount:
        row.status, row.applied_amount = "partial", row.amount
        db.session.flush()
        return "partial", None
    excess = received - payment.amount
    row.applied_amount, row.status = row.amount - excess, "overpaid" if excess else "paid"
    refund = _payable_refund_due(row, excess, "overpayment") if excess else None
    db.session.flush()
    payables.capture(payment, event_id=f"banktxn:{row.transaction_id}", actor=actor)
    return row.status, refund


def _payable_refund_due(row: BankTransaction, amount: int, reason: str) -> RefundDue:
    refund = RefundDue(bank_transaction_id=row.id, order_id=None, amount=amount, reason=reason, status="open",
                       created_at=utcnow())
    db.session.add(refund)
    return refund


# --- the queue: what a person looks at and decides ---------------------------------------------
def get_transaction(transaction_pk: int) -> BankTransaction:
    row = db.session.get(BankTransaction, transaction_pk)
    if row is None:
        raise NotFound("bank_transaction", "giao dịch ngân hàng")
    return row


def _require_unmatched(row: BankTransaction) -> None:
    if row.status != "unmatched":
        raise Conflict("bank_transfer.not_unmatched", "Giao dịch này đã được xử lý.",
                       "This transaction has already been handled.", {"status": row.status})


def assign(user, transaction_pk: int, payment_id: int, note: str | None = None) -> BankTransaction:
    """A person matches an unmatched transfer to a pending bank-transfer payment. Commits."""
    row = get_transaction(transaction_pk)
    _require_unmatched(row)
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.gateway != GATEWAY:
        raise NotFound("payment", "khoản thanh toán chuyển khoản", {"payment_id": payment_id})
    if payment.order_id is None:  # a plugin's payable: matched by hand by an admin only
        if user.role != "admin":
            raise NotFound("payment", "khoản thanh toán chuyển khoản", {"payment_id": payment_id})
    else:
        orders.require_manage(user, payment.order)
    if payment.status not in ("pending", "authorised"):
        raise Conflict("payment.not_pending", "Khoản thanh toán không còn chờ.", "The payment is not pending.",
                       {"status": payment.status})
    if row.currency != "VND":
        raise Conflict("bank_transfer.currency", "Giao dịch không phải bằng đồng Việt Nam.",
                       "The transfer is not in Vietnamese dong.", {"currency": row.currency})
    try:
        row.reference, row.reason = payment.transfer_reference, None
        row.resolved_at, row.resolved_by_id, row.note = utcnow(), user.id, note
        apply_to_payment(row, payment, user)
        commit()
    except Exception:
        db.session.rollback()
        raise
    return get_transaction(transaction_pk)


def dismiss(user, transaction_pk: int, note: str) -> BankTransaction:
    """A person sets an unmatched transfer aside (not ours, returned by hand…) with a note. Commits."""
    row = get_transaction(transaction_pk)
    _require_unmatched(row)
    row.status, row.resolved_at, row.resolved_by_id, row.note = "dismissed", utcnow(), user.id, note
    commit()
    return row


def close_refund(user, refund_pk: int, status: str, note: str | None = None) -> RefundDue:
    """A person records that refund-due money went back (``refunded``) or needs none (``dismissed``). Commits."""
    refund = db.session.get(RefundDue, refund_pk)
    if refund is None:
        raise NotFound("refund_due", "khoản cần hoàn")
    if refund.status != "open":
        raise Conflict("bank_transfer.refund_closed", "Khoản cần hoàn này đã được xử lý.",
                       "This refund-due record is already closed.", {"status": refund.status})
    refund.status, refund.resolved_at, refund.resolved_by_id, refund.note = status, utcnow(), user.id, note
    if refund.order_id:
        orders.add_event(orders.get_order(refund.order_id), f"bank_transfer_refund_{status}", actor=user,
                         data={"refund_due_id": refund.id, "amount": refund.amount})
    commit()
    return refund
