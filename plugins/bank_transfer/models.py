"""Tables of the bank_transfer plugin (component ``bank_transfer``, migrations in ``migrations/versions``).

``BankTransaction`` is every incoming transfer we were told about (statement
line or webhook), unique by the bank's transaction id so that a replay
changes nothing; an unmatched one waits in the queue for a person.
``RefundDue`` is money that must go back (late money on a cancelled order,
overpayment). ``ReceivingAccount`` rows send a channel's or producer's
money to their own account.
"""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, component_table_args, db, utcnow

COMPONENT = "bank_transfer"
OWNER_KINDS = ("channel", "producer")
#: paid: completed its payment; partial: counted towards it; overpaid: completed it, the excess is refund-due;
#: refund_due: the whole amount must go back; unmatched: waits for a person; dismissed: a person set it aside
TRANSACTION_STATUSES = ("paid", "partial", "overpaid", "refund_due", "unmatched", "dismissed")
REFUND_REASONS = ("order_cancelled", "already_paid", "overpayment", "manual")
REFUND_STATUSES = ("open", "refunded", "dismissed")


class BankAccount(db.Model):
    """A receiving account of a sales channel (till, booth) or a producer."""

    __tablename__ = "bank_transfer_account"
    __table_args__ = component_table_args(COMPONENT, UniqueConstraint("owner_kind", "owner_id",
                                                                      name="uq_bank_transfer_account_owner"))

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int] = mapped_column(Integer)
    bank_bin: Mapped[str] = mapped_column(String(6))
    account_no: Mapped[str] = mapped_column(String(19))
    account_name: Mapped[str] = mapped_column(String(100), default="")
    city: Mapped[str] = mapped_column(String(60), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BankTransaction(db.Model):
    """One incoming transfer, applied at most once (``transaction_id`` is unique)."""

    __tablename__ = "bank_transaction"
    __table_args__ = component_table_args(COMPONENT, Index("ix_bank_transaction_status_received",
                                                           "status", "received_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(120), unique=True)
    source: Mapped[str] = mapped_column(String(40))
    account_no: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    description: Mapped[str] = mapped_column(String(1000), default="")
    occurred_at = mapped_column(UTCDateTime, nullable=True)
    received_at = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(60))
    reference: Mapped[str | None] = mapped_column(String(40))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    applied_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    raw = mapped_column(JSON, nullable=True)
    resolved_at = mapped_column(UTCDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))


class RefundDue(db.Model):
    """Money received that must go back to the sender; a person refunds it and closes the record."""

    __tablename__ = "bank_refund_due"
    __table_args__ = component_table_args(COMPONENT)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_transaction_id: Mapped[int] = mapped_column(ForeignKey("bank_transaction.id"), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    resolved_at = mapped_column(UTCDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))

    transaction = relationship("BankTransaction")
