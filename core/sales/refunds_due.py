"""Money that arrived for a cancelled payment or a closed order: the refund-due queue a person works through.

A gateway event that pays a cancelled payment, or any payment of a cancelled or refunded order, never
counts towards ``paid_amount`` (:mod:`core.sales.order_payments`): it becomes a
:class:`~core.payments.models.PaymentRefundDue` row, ``open`` until an admin records what was done with
the money — ``refunded`` (sent back to the payer outside the system) or ``dismissed`` (kept, with a
reason, e.g. the shopper asked to apply it to a new order). Closing is a conditional update, so two
admins closing the same record at once get one success and one 409.
"""
from __future__ import annotations

from sqlalchemy import select, update

from core.db import db, utcnow
from core.errors import Conflict, NotFound
from core.pagination import paginate
from core.payments.models import PaymentRefundDue
from core.sales import orders
from core.sales.models import Order

OUTCOMES = ("refunded", "dismissed")


def list_refunds_due(args: dict) -> dict:
    """A page of refund-due records, newest first (``status`` filter optional)."""
    stmt = select(PaymentRefundDue).order_by(PaymentRefundDue.id.desc())
    if args.get("status"):
        stmt = stmt.where(PaymentRefundDue.status == args["status"])
    if args.get("order_id"):
        stmt = stmt.where(PaymentRefundDue.order_id == args["order_id"])
    return paginate(stmt, args["page"], args["limit"])


def close_refund_due(actor, due_id: int, data: dict) -> PaymentRefundDue:
    """Record what was done with the money (``refunded`` or ``dismissed``, with a note); once only."""
    due = db.session.get(PaymentRefundDue, due_id)
    if due is None:
        raise NotFound("refund_due", "khoản tiền cần hoàn")
    now = utcnow()
    closed = db.session.execute(
        update(PaymentRefundDue)
        .where(PaymentRefundDue.id == due_id, PaymentRefundDue.status == "open")
        .values(status=data["outcome"], resolved_at=now)
        .execution_options(synchronize_session=False))
    if closed.rowcount != 1:
        db.session.refresh(due)
        raise Conflict("refund_due.closed", f"Khoản tiền này đã được xử lý ({due.status}).",
                       f"This refund-due record is already closed ({due.status}).")
    db.session.refresh(due)
    order = db.session.get(Order, due.order_id)
    orders.add_event(order, f"payment_refund_due_{data['outcome']}", actor=actor,
                     data={"refund_due_id": due.id, "payment_id": due.payment_id, "amount": due.amount,
                           "note": data["note"]})
    return due
