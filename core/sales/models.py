"""Checkouts, orders, fulfilments, payments, refunds and the order history.

A shopper builds a :class:`Checkout` (anonymous, addressed by an unguessable
token); completing it places an :class:`Order` and allocates stock in the same
transaction. Lines keep a snapshot of product name, SKU and unit price. Each
:class:`OrderLine` belongs to one producer, who fulfils only its own lines
(:class:`Fulfilment`). :class:`Payment` rows are owned by the core; gateways
only talk to the outside world. :class:`PaymentEvent` (gateway, event_id) is
unique, which makes webhooks and statement imports idempotent.
"""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow

ORDER_STATUSES = ("unconfirmed", "confirmed", "paid", "fulfilled", "completed", "cancelled", "refunded")
CHECKOUT_STATUSES = ("open", "completed")


class ContactAndDelivery:
    """Columns a checkout and its order share: contact, street, note, delivery choice, gateway, VND totals.

    The unit codes of the address are declared by each class (foreign keys on the checkout, a plain
    snapshot on the order). :data:`COPIED_TO_ORDER` names what placing an order copies from the checkout.
    """

    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    full_name: Mapped[str | None] = mapped_column(String(200))
    street: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(String(1000))
    delivery_method: Mapped[str | None] = mapped_column(String(60))
    delivery_name: Mapped[str | None] = mapped_column(String(200))
    pickup_location_id: Mapped[int | None] = mapped_column(ForeignKey("stock_location.id"))
    payment_gateway: Mapped[str | None] = mapped_column(String(40))
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)

    COPIED_TO_ORDER = ("email", "phone", "full_name", "province_code", "district_code", "commune_code", "street",
                       "note", "delivery_method", "pickup_location_id", "payment_gateway")


class Checkout(ContactAndDelivery, db.Model):
    """A shopper's cart with contact, Vietnamese shipping address and delivery choice (totals in VND)."""

    __tablename__ = "checkout"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("sales_channel.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    province_code: Mapped[str | None] = mapped_column(ForeignKey("administrative_unit.code"))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("administrative_unit.code"))
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("administrative_unit.code"))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    voucher_codes = mapped_column(JSON, nullable=True)  # codes the shopper entered (core.pricing checks them)
    #: where the shopper came from, ``{source: data}`` noted by plugins (``checkout.note_referral``), read back
    #: with the checkout when the order is placed; NULL = no claim
    referral = mapped_column(JSON, nullable=True)

    lines = relationship("CheckoutLine", back_populates="checkout", order_by="CheckoutLine.id",
                         cascade="all, delete-orphan")


class CheckoutLine(db.Model):
    __tablename__ = "checkout_line"
    __table_args__ = (
        UniqueConstraint("checkout_id", "variant_id", name="uq_checkout_line_checkout_variant"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkout_id: Mapped[int] = mapped_column(ForeignKey("checkout.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    checkout = relationship("Checkout", back_populates="lines")
    variant = relationship("Variant")


class OrderNumberCounter(db.Model):
    """Per-year counter behind ``OCOP-<year>-<n>`` numbers (atomic upsert-increment of the year's row)."""

    __tablename__ = "order_number_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Order(ContactAndDelivery, db.Model):
    __tablename__ = "order"
    __table_args__ = (Index("ix_order_status_created", "status", "created_at"),
                      Index("uq_order_channel_client_ref", "channel_id", "client_ref", unique=True))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("sales_channel.id"), index=True)
    checkout_id: Mapped[int | None] = mapped_column(Integer, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="unconfirmed")
    # a snapshot: no foreign keys, the order keeps the codes it was placed with
    province_code: Mapped[str | None] = mapped_column(String(20))
    district_code: Mapped[str | None] = mapped_column(String(20))
    commune_code: Mapped[str | None] = mapped_column(String(20))
    paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    attribution = mapped_column(JSON, nullable=True)
    # from core.pricing: what the lines' discounts add up to, and the voucher codes used (filled by checkout)
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    voucher_codes = mapped_column(JSON, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    confirmed_at = mapped_column(UTCDateTime, nullable=True)
    paid_at = mapped_column(UTCDateTime, nullable=True)
    fulfilled_at = mapped_column(UTCDateTime, nullable=True)
    completed_at = mapped_column(UTCDateTime, nullable=True)
    cancelled_at = mapped_column(UTCDateTime, nullable=True)
    client_ref: Mapped[str | None] = mapped_column(String(120))  # counter sales: the till's key, unique per channel

    lines = relationship("OrderLine", back_populates="order", order_by="OrderLine.id")
    payments = relationship("Payment", back_populates="order", order_by="Payment.id")
    fulfilments = relationship("Fulfilment", back_populates="order", order_by="Fulfilment.id")
    events = relationship("OrderEvent", back_populates="order", order_by="OrderEvent.id")


class OrderLine(db.Model):
    __tablename__ = "order_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),
                      Index("ix_order_line_producer_order", "producer_id", "order_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)
    product_id: Mapped[int] = mapped_column(Integer)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"))
    product_name: Mapped[str] = mapped_column(String(300))
    variant_name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(64))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total: Mapped[int] = mapped_column(BigInteger)
    is_service: Mapped[bool] = mapped_column(default=False)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("stock_location.id"))
    allocations = mapped_column(JSON, nullable=True)  # [{"location_id", "quantity", "lot_id"}] as allocated
    allocated_quantity: Mapped[int] = mapped_column(Integer, default=0)
    fulfilled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    # units refunded: taken back (counter returns, refunds after shipping) or never shipped (refunded before)
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0)
    # price snapshot from core.pricing (filled by checkout / counter sales): base price, discount, its sources
    base_unit_price: Mapped[int | None] = mapped_column(BigInteger)
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    discounts = mapped_column(JSON, nullable=True)  # core.pricing.resolver.LinePrice.snapshot()

    order = relationship("Order", back_populates="lines")

    @property
    def to_ship(self) -> int:
        """Units still to ship: none once the line has shipped (a line ships at once), else those not refunded."""
        return 0 if self.fulfilled_quantity else max(0, self.quantity - (self.returned_quantity or 0))


class Fulfilment(db.Model):
    """One producer's shipment of some of an order's lines (deducts their stock)."""

    __tablename__ = "fulfilment"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(100))
    tracking_no: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="shipped")
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    order = relationship("Order", back_populates="fulfilments")
    lines = relationship("FulfilmentLine", back_populates="fulfilment", order_by="FulfilmentLine.id")


class FulfilmentLine(db.Model):
    __tablename__ = "fulfilment_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    fulfilment_id: Mapped[int] = mapped_column(ForeignKey("fulfilment.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)

    fulfilment = relationship("Fulfilment", back_populates="lines")
    order_line = relationship("OrderLine")


class OrderEvent(db.Model):
    """The order's history: placed, confirmed, payment started/succeeded, fulfilled, cancelled, refunded…"""

    __tablename__ = "order_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    status_before: Mapped[str | None] = mapped_column(String(20))
    status_after: Mapped[str | None] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str | None] = mapped_column(String(80))
    producer_id: Mapped[int | None] = mapped_column(Integer)
    data = mapped_column(JSON, nullable=True)
    message: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    order = relationship("Order", back_populates="events")


class SalesChannel(db.Model):
    """Where an order was sold: the online store (core) or a plugin kind (sales point, fair booth, …)."""

    __tablename__ = "sales_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("stock_location.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    location = relationship("StockLocation", backref="channels")
