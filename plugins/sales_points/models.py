"""Tables of the sales points plugin (component ``sales_points``, migrations in ``migrations/versions``).

Stock quantities are never stored here: every quantity change is a core
``StockMovement`` posted through ``core.inventory.ledger``; the documents below
(receipts, transfers, counts) record *why* and reference the movements by their
``reference`` string (``<document number>``). Counter sales are core orders
(``core.sales.counter``); the till keeps only its receipt and return slips.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, component_table_args, db, utcnow

COMPONENT = "sales_points"

#: Location kinds of the Ministry of Industry and Trade criteria (Decision 950/QĐ-BCT, 2023).
LOCATION_KINDS = {
    "station_airport": ("Nhà ga, sân bay", "Station or airport"),
    "highway_stop": ("Trạm dừng nghỉ đường cao tốc", "Highway stop"),
    "mall_supermarket_market": ("Trung tâm thương mại, siêu thị, chợ", "Mall, supermarket or market"),
    "tourist_site_hotel_restaurant": ("Khu du lịch, khách sạn, nhà hàng", "Tourist site, hotel or restaurant"),
    "craft_village": ("Làng nghề", "Craft village"),
    "trade_centre": ("Trung tâm xúc tiến thương mại", "Trade centre"),
    "fair_centre": ("Trung tâm hội chợ, triển lãm", "Fair and exhibition centre"),
    "post_office": ("Bưu điện", "Post office"),
    "standalone": ("Điểm độc lập", "Standalone shop"),
}
POINT_STATUSES = ("planned", "active", "suspended", "closed")
RECEIPT_MODES = ("consignment", "purchase")
PAYMENT_METHODS = ("cash", "card", "bank_transfer_qr")
COUNT_REASONS = ("damaged", "expired", "lost", "theft", "found", "data_entry", "other")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _args(*extra):
    return component_table_args(COMPONENT, *extra)


class SalesPoint(db.Model):
    """An OCOP showcase and sales point; owns one core stock location and one core sales channel."""

    __tablename__ = "sales_point"
    __table_args__ = _args(CheckConstraint("commission_rate_bp >= 0 AND commission_rate_bp <= 10000",
                                           name="commission_rate_range"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    location_kind: Mapped[str] = mapped_column(String(40), index=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("administrative_unit.code"), index=True)
    commune_code: Mapped[str] = mapped_column(ForeignKey("administrative_unit.code"), index=True)
    address: Mapped[str] = mapped_column(String(500))
    opening_hours = mapped_column(JSON, nullable=True)  # {"mon": [["07:30", "21:00"]], …, "note": "…"}
    contacts = mapped_column(JSON, nullable=True)  # {"contact_name", "phone", "email"}
    managing_organisation: Mapped[str | None] = mapped_column(String(300))
    recognition_decision_no: Mapped[str | None] = mapped_column(String(80))
    recognised_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    allow_unlisted: Mapped[bool] = mapped_column(Boolean, default=False)
    commission_rate_bp: Mapped[int] = mapped_column(Integer, default=0)  # basis points: 1500 = 15 %
    low_stock_default: Mapped[int] = mapped_column(Integer, default=3)
    near_expiry_days: Mapped[int] = mapped_column(Integer, default=30)
    stock_location_id: Mapped[int] = mapped_column(ForeignKey("stock_location.id"), unique=True)
    sales_channel_id: Mapped[int] = mapped_column(ForeignKey("sales_channel.id"), unique=True)
    # goods dispatched to this point wait here (kind ``sales_point_transit``) until received
    transit_location_id: Mapped[int] = mapped_column(ForeignKey("stock_location.id"), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    province = relationship("AdministrativeUnit", foreign_keys=[province_code])
    commune = relationship("AdministrativeUnit", foreign_keys=[commune_code])
    stock_location = relationship("StockLocation", foreign_keys=[stock_location_id])
    transit_location = relationship("StockLocation", foreign_keys=[transit_location_id])
    sales_channel = relationship("SalesChannel", foreign_keys=[sales_channel_id])
    operators = relationship("SalesPointOperator", back_populates="sales_point", cascade="all, delete-orphan")


class SalesPointOperator(db.Model):
    """Binding of an ``operator`` user to a sales point (a user may run several points)."""

    __tablename__ = "sales_point_operator"
    __table_args__ = _args(UniqueConstraint("sales_point_id", "user_id", name="uq_sales_point_operator_pair"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_point_id: Mapped[int] = mapped_column(ForeignKey("sales_point.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    sales_point = relationship("SalesPoint", back_populates="operators")
    user = relationship("User")


class ConsignmentAgreement(db.Model):
    """A producer consigns goods to a point; the point keeps ``commission_rate_bp`` of the sales value."""

    __tablename__ = "sales_point_consignment"
    __table_args__ = _args(CheckConstraint("commission_rate_bp >= 0 AND commission_rate_bp <= 10000",
                                           name="commission_rate_range"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_point_id: Mapped[int] = mapped_column(ForeignKey("sales_point.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    commission_rate_bp: Mapped[int | None] = mapped_column(Integer)  # None → the point's default rate
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active / ended
    note: Mapped[str | None] = mapped_column(String(1000))
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    sales_point = relationship("SalesPoint")
    producer = relationship("Producer")


class GoodsReceipt(db.Model):
    """Goods receipt note (phiếu nhập kho) from one producer; posted at once, corrected only by reversal."""

    __tablename__ = "sales_point_receipt"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(60), unique=True)
    sales_point_id: Mapped[int] = mapped_column(ForeignKey("sales_point.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="posted")  # posted / reversed
    received_on: Mapped[dt.date] = mapped_column(Date, index=True)
    supplier_document: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(String(1000))
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)
    reversed_at = mapped_column(UTCDateTime, nullable=True)
    reversed_on: Mapped[dt.date | None] = mapped_column(Date)
    reversed_by_id: Mapped[int | None] = mapped_column(Integer)
    reversal_reason: Mapped[str | None] = mapped_column(String(1000))

    sales_point = relationship("SalesPoint")
    producer = relationship("Producer")
    lines = relationship("GoodsReceiptLine", back_populates="receipt", order_by="GoodsReceiptLine.id",
                         cascade="all, delete-orphan")


class GoodsReceiptLine(db.Model):
    __tablename__ = "sales_point_receipt_line"
    __table_args__ = _args(CheckConstraint("quantity > 0", name="quantity_positive"),
                           CheckConstraint("unit_cost >= 0", name="unit_cost_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("sales_point_receipt.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cost: Mapped[int] = mapped_column(BigInteger, default=0)  # VND
    lot_no: Mapped[str | None] = mapped_column(String(60))
    best_before: Mapped[dt.date | None] = mapped_column(Date)

    receipt = relationship("GoodsReceipt", back_populates="lines")
    variant = relationship("Variant")


class Transfer(db.Model):
    """Two-step transfer between stock locations: dispatched (stock leaves) → received (stock arrives)."""

    __tablename__ = "sales_point_transfer"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(60), unique=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("stock_location.id"), index=True)
    transit_location_id: Mapped[int] = mapped_column(ForeignKey("stock_location.id"), index=True)
    to_location_id: Mapped[int] = mapped_column(ForeignKey("stock_location.id"), index=True)
    from_point_id: Mapped[int | None] = mapped_column(ForeignKey("sales_point.id"), index=True)
    to_point_id: Mapped[int | None] = mapped_column(ForeignKey("sales_point.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="dispatched")  # dispatched / received
    note: Mapped[str | None] = mapped_column(String(1000))
    dispatched_by_id: Mapped[int | None] = mapped_column(Integer)
    dispatched_at = mapped_column(UTCDateTime, default=utcnow)
    dispatched_on: Mapped[dt.date] = mapped_column(Date, index=True)  # business dates (Vietnam)
    received_by_id: Mapped[int | None] = mapped_column(Integer)
    received_at = mapped_column(UTCDateTime, nullable=True)
    received_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    receive_note: Mapped[str | None] = mapped_column(String(1000))

    lines = relationship("TransferLine", back_populates="transfer", order_by="TransferLine.id",
                         cascade="all, delete-orphan")
    from_point = relationship("SalesPoint", foreign_keys=[from_point_id])
    to_point = relationship("SalesPoint", foreign_keys=[to_point_id])


class TransferLine(db.Model):
    __tablename__ = "sales_point_transfer_line"
    __table_args__ = _args(CheckConstraint("quantity_sent > 0", name="quantity_sent_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("sales_point_transfer.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)
    lot_no: Mapped[str | None] = mapped_column(String(60))
    best_before: Mapped[dt.date | None] = mapped_column(Date)
    quantity_sent: Mapped[int] = mapped_column(Integer)
    quantity_received: Mapped[int | None] = mapped_column(Integer)
    discrepancy_reason: Mapped[str | None] = mapped_column(String(500))

    transfer = relationship("Transfer", back_populates="lines")
    variant = relationship("Variant")


class StockCount(db.Model):
    """A stock count (kiểm kê): counted quantities per variant and lot; variances posted with a reason."""

    __tablename__ = "sales_point_count"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(60), unique=True)
    sales_point_id: Mapped[int] = mapped_column(ForeignKey("sales_point.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(1000))
    counted_by_id: Mapped[int | None] = mapped_column(Integer)
    counted_on: Mapped[dt.date] = mapped_column(Date, index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)

    lines = relationship("StockCountLine", back_populates="count", order_by="StockCountLine.id",
                         cascade="all, delete-orphan")


class StockCountLine(db.Model):
    __tablename__ = "sales_point_count_line"
    __table_args__ = _args(CheckConstraint("counted >= 0", name="counted_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    count_id: Mapped[int] = mapped_column(ForeignKey("sales_point_count.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)
    lot_no: Mapped[str | None] = mapped_column(String(60))
    expected: Mapped[int] = mapped_column(Integer)
    counted: Mapped[int] = mapped_column(Integer)
    variance: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))

    count = relationship("StockCount", back_populates="lines")
    variant = relationship("Variant")


class ProducerReturn(db.Model):
    """Goods handed back to their producer (unsold consignment stock, recalls)."""

    __tablename__ = "sales_point_producer_return"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(60), unique=True)
    sales_point_id: Mapped[int] = mapped_column(ForeignKey("sales_point.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    returned_on: Mapped[dt.date] = mapped_column(Date, index=True)
    reason: Mapped[str] = mapped_column(String(1000))
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    lines = relationship("ProducerReturnLine", back_populates="producer_return",
                         order_by="ProducerReturnLine.id", cascade="all, delete-orphan")


class ProducerReturnLine(db.Model):
    __tablename__ = "sales_point_producer_return_line"
    __table_args__ = _args(CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_return_id: Mapped[int] = mapped_column(
        ForeignKey("sales_point_producer_return.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)
    lot_no: Mapped[str | None] = mapped_column(String(60))
    quantity: Mapped[int] = mapped_column(Integer)

    producer_return = relationship("ProducerReturn", back_populates="lines")
    variant = relationship("Variant")


class PosSale(db.Model):
    """A till's receipt for a counter sale: point, cashier, receipt number, till status.

    The sale itself — lines with their price snapshot and lots, payments, refunds, stock
    movements, the till's idempotency key — is the core order ``order_id`` (``core.sales.counter``).
    """

    __tablename__ = "sales_point_sale"
    __table_args__ = _args(Index("ix_sales_point_sale_point_sold", "sales_point_id", "sold_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(60), unique=True)  # receipt number POS-<point>-<n>
    sales_point_id: Mapped[int] = mapped_column(ForeignKey("sales_point.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="completed")  # completed / voided
    sold_by_id: Mapped[int | None] = mapped_column(Integer)  # the cashier
    sold_at = mapped_column(UTCDateTime, default=utcnow)
    sold_on: Mapped[dt.date] = mapped_column(Date, index=True)  # business date (Vietnam)
    voided_at = mapped_column(UTCDateTime, nullable=True)
    voided_on: Mapped[dt.date | None] = mapped_column(Date)
    voided_by_id: Mapped[int | None] = mapped_column(Integer)
    void_reason: Mapped[str | None] = mapped_column(String(500))

    sales_point = relationship("SalesPoint")
    order = relationship("Order")
    returns = relationship("PosReturn", back_populates="sale", order_by="PosReturn.id")


class PosReturn(db.Model):
    """A till's customer-return slip (part of a sale, with a reason); the refund and restock are the core order's."""

    __tablename__ = "sales_point_sale_return"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(60), unique=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales_point_sale.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    restock: Mapped[bool] = mapped_column(Boolean, default=True)
    refund_amount: Mapped[int] = mapped_column(BigInteger)
    refund_method: Mapped[str] = mapped_column(String(20))  # how the till paid the money back
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)
    returned_on: Mapped[dt.date] = mapped_column(Date, index=True)

    sale = relationship("PosSale", back_populates="returns")
    lines = relationship("PosReturnLine", back_populates="pos_return", order_by="PosReturnLine.id",
                         cascade="all, delete-orphan")


class PosReturnLine(db.Model):
    __tablename__ = "sales_point_sale_return_line"
    __table_args__ = _args(CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("sales_point_sale_return.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)

    pos_return = relationship("PosReturn", back_populates="lines")
    order_line = relationship("OrderLine")


class StockThreshold(db.Model):
    """Low-stock threshold for one variant at one point (overrides the point's default)."""

    __tablename__ = "sales_point_threshold"
    __table_args__ = _args(UniqueConstraint("sales_point_id", "variant_id", name="uq_sales_point_threshold_pair"),
                           CheckConstraint("min_quantity >= 0", name="min_quantity_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_point_id: Mapped[int] = mapped_column(ForeignKey("sales_point.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)
    min_quantity: Mapped[int] = mapped_column(Integer)


class StockAlert(db.Model):
    """Low-stock or near-expiry alert raised by the daily task; shown to the point's operators."""

    __tablename__ = "sales_point_alert"
    __table_args__ = _args(UniqueConstraint("dedupe_key", name="uq_sales_point_alert_dedupe_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_point_id: Mapped[int] = mapped_column(ForeignKey("sales_point.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # low_stock / near_expiry / expired
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"))
    lot_no: Mapped[str | None] = mapped_column(String(60))
    best_before: Mapped[dt.date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int | None] = mapped_column(Integer)
    raised_on: Mapped[dt.date] = mapped_column(Date, index=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    acknowledged_at = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(Integer)
    resolved_at = mapped_column(UTCDateTime, nullable=True)  # the condition cleared (restocked, sold, removed)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    variant = relationship("Variant")
