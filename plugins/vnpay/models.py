"""Tables of the vnpay plugin (component ``vnpay``): one row per VNPay transaction (``vnp_TxnRef``)."""
from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, component_table_args, db, utcnow

COMPONENT = "vnpay"
#: pending → succeeded | failed (IPN or querydr); a succeeded one may become (partially_)refunded
STATUSES = ("pending", "succeeded", "failed", "refunded", "partially_refunded")


class VnpayTransaction(db.Model):
    __tablename__ = "vnpay_transaction"
    __table_args__ = component_table_args(COMPONENT, Index("ix_vnpay_transaction_status_created",
                                                           "status", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    txn_ref: Mapped[str] = mapped_column(String(100), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)               # VND (VNPay's vnp_Amount is this × 100)
    create_date: Mapped[str] = mapped_column(String(14))          # yyyyMMddHHmmss, Vietnam time
    expire_date: Mapped[str] = mapped_column(String(14))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    transaction_no: Mapped[str | None] = mapped_column(String(40))
    bank_code: Mapped[str | None] = mapped_column(String(40))
    response_code: Mapped[str | None] = mapped_column(String(4))
    transaction_status: Mapped[str | None] = mapped_column(String(4))
    pay_date: Mapped[str | None] = mapped_column(String(14))
    settled_by: Mapped[str | None] = mapped_column(String(10))    # ipn or querydr
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    ipn_count: Mapped[int] = mapped_column(Integer, default=0)
    query_count: Mapped[int] = mapped_column(Integer, default=0)
    last_queried_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    payment = relationship("Payment")
