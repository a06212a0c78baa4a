"""Payment models: payments of an order (or of a plugin's payable debt) through a gateway, their events and refunds."""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow

PAYMENT_STATUSES = ("pending", "authorised", "succeeded", "failed", "cancelled", "refunded",
                    "partially_refunded")


#: statuses of a payment that holds captured money; a payable has at most one such payment at a time
CAPTURED_STATUSES = ("succeeded", "partially_refunded")


class Payment(db.Model):
    """Money for an order, or for a *payable*: a plugin's debt outside orders (``payable_kind`` +
    ``payable_id``, e.g. a fair's booth fee, :mod:`core.payments.payables`); exactly one of the two is set."""

    __tablename__ = "payment"
    __table_args__ = (
        Index("ix_payment_gateway_external", "gateway", "external_id"),
        Index("ix_payment_payable", "payable_kind", "payable_id"),
        Index("uq_payment_payable_captured", "payable_kind", "payable_id", unique=True,
              sqlite_where=text("status IN ('succeeded', 'partially_refunded') AND payable_kind IS NOT NULL"),
              postgresql_where=text("status IN ('succeeded', 'partially_refunded') AND payable_kind IS NOT NULL")),
        CheckConstraint("(order_id IS NULL) <> (payable_kind IS NULL) "
                        "AND (payable_kind IS NULL) = (payable_id IS NULL)", name="order_or_payable"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    payable_kind: Mapped[str | None] = mapped_column(String(40))
    payable_id: Mapped[int | None] = mapped_column(Integer)
    gateway: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(24), default="pending", index=True)
    external_id: Mapped[str | None] = mapped_column(String(200))
    transfer_reference: Mapped[str | None] = mapped_column(String(40), unique=True)
    client_data = mapped_column(JSON, nullable=True)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    succeeded_at = mapped_column(UTCDateTime, nullable=True)

    order = relationship("Order", back_populates="payments")


class PaymentEvent(db.Model):
    """A processed gateway notification; (gateway, event_id) is unique so replays change nothing."""

    __tablename__ = "payment_event"
    __table_args__ = (UniqueConstraint("gateway", "event_id", name="uq_payment_event_gateway_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(40))
    created_at = mapped_column(UTCDateTime, default=utcnow)


class Refund(db.Model):
    __tablename__ = "refund"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    external_id: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="succeeded")
    actor_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow)


class PaymentRefundDue(db.Model):
    """Money a gateway reports for a cancelled payment or a closed order: never counted as paid, it waits
    here for a person to hand it back (``open`` → ``resolved``)."""

    __tablename__ = "payment_refund_due"
    __table_args__ = (UniqueConstraint("gateway", "event_id", name="uq_payment_refund_due_gateway_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    resolved_at = mapped_column(UTCDateTime, nullable=True)
