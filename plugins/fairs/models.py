"""Tables of the fairs plugin (component ``fairs``, migrations in ``migrations/versions``, revisions ``fr…``).

Stock quantities are never stored here: goods at a booth sit in a core stock
location of kind ``fair_booth`` and every change is a core ``StockMovement``;
sales at a booth are core counter-sale orders (``FairSale`` only links them).
A booth is never double-booked: ``(booth_id, slot)`` is unique, and a booth
offers ``capacity`` slots (1, or several for a shared provincial pavilion).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, component_table_args, db, utcnow

COMPONENT = "fairs"

EVENT_KINDS = {
    "fair": ("Hội chợ", "Fair"),
    "exhibition": ("Triển lãm", "Exhibition"),
    "ocop_week": ("Tuần lễ OCOP", "OCOP week"),
    "supply_demand": ("Hội nghị kết nối cung – cầu", "Supply–demand connection conference"),
    "market_day": ("Phiên chợ", "Market day"),
}
#: the lifecycle, in order; each status may move only to the next one
STATUSES = ("draft", "open", "allocating", "published", "running", "closed", "reported")
FEE_POLICIES = ("free", "subsidised", "paid")
BOOTH_TYPES = {
    "standard": ("Gian tiêu chuẩn", "Standard booth"),
    "corner": ("Gian góc", "Corner booth"),
    "premium": ("Gian cao cấp", "Premium booth"),
    "pavilion": ("Gian chung của tỉnh", "Shared provincial pavilion"),
    "outdoor": ("Gian ngoài trời", "Outdoor booth"),
}
BOOTH_SERVICES = ("power", "fridge", "water")
APPLICATION_STATUSES = ("submitted", "approved", "rejected", "waitlisted", "withdrawn")
RULE_KINDS = ("stars", "newly_certified", "first_time", "group_mix", "quota")
DEAL_KINDS = ("contract", "mou")
DEAL_STATUSES = ("signed", "in_progress", "delivered", "lapsed")
PAYMENT_METHODS = ("bank_transfer", "desk", "cash", "card")


def _args(*extra):
    return component_table_args(COMPONENT, *extra)


class FairEvent(db.Model):
    """A fair, exhibition, OCOP week, supply–demand conference or market day run by a province's organiser."""

    __tablename__ = "fair_event"
    __table_args__ = _args(CheckConstraint("subsidy_share_bp >= 0 AND subsidy_share_bp <= 10000",
                                           name="subsidy_share_range"),
                           CheckConstraint("map_width > 0 AND map_height > 0", name="map_size_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("administrative_unit.code"), index=True)
    venue_unit_code: Mapped[str] = mapped_column(ForeignKey("administrative_unit.code"))
    venue_address: Mapped[str] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    starts_on: Mapped[dt.date] = mapped_column(Date, index=True)
    ends_on: Mapped[dt.date] = mapped_column(Date, index=True)
    opening_hours = mapped_column(JSON, nullable=True)  # {"open": "08:00", "close": "21:00"} Vietnam time
    applications_open_on: Mapped[dt.date] = mapped_column(Date)
    applications_close_on: Mapped[dt.date] = mapped_column(Date)
    fee_policy: Mapped[str] = mapped_column(String(20), default="free")
    subsidy_share_bp: Mapped[int] = mapped_column(Integer, default=0)  # 5000 = the province pays 50 %
    open_to_other_provinces: Mapped[bool] = mapped_column(Boolean, default=False)
    map_width: Mapped[int] = mapped_column(Integer, default=100)
    map_height: Mapped[int] = mapped_column(Integer, default=60)
    sales_channel_id: Mapped[int] = mapped_column(ForeignKey("sales_channel.id"), unique=True)
    transit_location_id: Mapped[int] = mapped_column(ForeignKey("stock_location.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    zones = relationship("FairZone", back_populates="event", order_by="FairZone.code", cascade="all, delete-orphan")
    booths = relationship("FairBooth", back_populates="event", order_by="FairBooth.code",
                          cascade="all, delete-orphan")
    sales_channel = relationship("SalesChannel")


class FairZone(db.Model):
    """A zone of the map (e.g. "A – Thực phẩm"), a rectangle on the event's map plane."""

    __tablename__ = "fair_zone"
    __table_args__ = _args(UniqueConstraint("event_id", "code", name="uq_fair_zone_code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    product_group: Mapped[str | None] = mapped_column(String(40))
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    w: Mapped[int] = mapped_column(Integer)
    h: Mapped[int] = mapped_column(Integer)

    event = relationship("FairEvent", back_populates="zones")


class FairBooth(db.Model):
    """A booth: code, size, type, price (VND), services and its rectangle on the map."""

    __tablename__ = "fair_booth"
    __table_args__ = _args(UniqueConstraint("event_id", "code", name="uq_fair_booth_code"),
                           CheckConstraint("capacity >= 1", name="capacity_positive"),
                           CheckConstraint("price >= 0", name="price_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("fair_zone.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    booth_type: Mapped[str] = mapped_column(String(20))
    size_m2: Mapped[float] = mapped_column(Float)
    price: Mapped[int] = mapped_column(BigInteger, default=0)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    services = mapped_column(JSON, default=list)
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    w: Mapped[int] = mapped_column(Integer)
    h: Mapped[int] = mapped_column(Integer)

    event = relationship("FairEvent", back_populates="booths")
    zone = relationship("FairZone")
    assignments = relationship("FairAssignment", back_populates="booth", order_by="FairAssignment.slot")


class FairApplication(db.Model):
    """A producer's application for a booth: products to show, preferences, needs, contact; reviewed by the organiser."""

    __tablename__ = "fair_application"
    __table_args__ = _args(UniqueConstraint("event_id", "producer_id", name="uq_fair_application_producer"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="submitted", index=True)
    product_ids = mapped_column(JSON, default=list)
    booth_type: Mapped[str | None] = mapped_column(String(20))
    zone_code: Mapped[str | None] = mapped_column(String(20))
    needs = mapped_column(JSON, default=list)  # subset of BOOTH_SERVICES
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_phone: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(String(1000))
    decision_reason: Mapped[str | None] = mapped_column(String(1000))
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event = relationship("FairEvent")
    producer = relationship("Producer")
    assignment = relationship("FairAssignment", back_populates="application", uselist=False)


class FairAssignment(db.Model):
    """One exhibitor on one slot of a booth; owns the exhibitor's ``fair_booth`` stock location."""

    __tablename__ = "fair_assignment"
    __table_args__ = _args(UniqueConstraint("booth_id", "slot", name="uq_fair_assignment_booth_slot"),
                           UniqueConstraint("application_id", name="uq_fair_assignment_application"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    booth_id: Mapped[int] = mapped_column(ForeignKey("fair_booth.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer, default=1)
    application_id: Mapped[int] = mapped_column(ForeignKey("fair_application.id"))
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    stock_location_id: Mapped[int] = mapped_column(ForeignKey("stock_location.id"), unique=True)
    assigned_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    booth = relationship("FairBooth", back_populates="assignments")
    application = relationship("FairApplication", back_populates="assignment")
    producer = relationship("Producer")
    stock_location = relationship("StockLocation")
    fee = relationship("FairFeeLine", back_populates="assignment", uselist=False)


class FairBoothStaff(db.Model):
    """An ``operator`` account limited to one exhibitor's booth: receives goods and sells there, nothing else."""

    __tablename__ = "fair_booth_staff"
    __table_args__ = _args(UniqueConstraint("assignment_id", "user_id", name="uq_fair_booth_staff_pair"))

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("fair_assignment.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User")


class FairFeeLine(db.Model):
    """The invoice line of an assignment: the booth's share of price, the subsidy, what the exhibitor owes."""

    __tablename__ = "fair_fee_line"
    __table_args__ = _args(UniqueConstraint("assignment_id", name="uq_fair_fee_line_assignment"),
                           CheckConstraint("amount >= 0 AND subsidy >= 0 AND subsidy <= amount", name="subsidy_range"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("fair_assignment.id", ondelete="SET NULL"))
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    booth_code: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    subsidy: Mapped[int] = mapped_column(BigInteger)
    due: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="unpaid")  # unpaid / paid / waived / cancelled
    paid_method: Mapped[str | None] = mapped_column(String(20))
    paid_reference: Mapped[str | None] = mapped_column(String(120))
    paid_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    assignment = relationship("FairAssignment", back_populates="fee")


class FairRule(db.Model):
    """A priority rule of the automatic allocation, kept as data (kind, weight, parameters)."""

    __tablename__ = "fair_rule"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    weight: Mapped[int] = mapped_column(Integer, default=0)
    params = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)


class FairStockMove(db.Model):
    """A two-step transfer to a booth (``in``: warehouse → transit → booth) or back (``out``: booth → transit → warehouse)."""

    __tablename__ = "fair_stock_move"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("fair_assignment.id"), index=True)
    direction: Mapped[str] = mapped_column(String(10))  # in / out
    status: Mapped[str] = mapped_column(String(20), default="dispatched")  # dispatched / received
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("stock_location.id"))
    lines = mapped_column(JSON, default=list)  # [{"variant_id", "quantity", "received"}]
    reference: Mapped[str | None] = mapped_column(String(60), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    received_at = mapped_column(UTCDateTime, nullable=True)

    assignment = relationship("FairAssignment")


class FairSale(db.Model):
    """A sale at a booth: a core counter-sale order on the event's ``fair_booth`` channel."""

    __tablename__ = "fair_sale"
    __table_args__ = _args(UniqueConstraint("order_id", name="uq_fair_sale_order"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("fair_assignment.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"))
    sold_by_id: Mapped[int | None] = mapped_column(Integer)
    sold_on: Mapped[dt.date] = mapped_column(Date, index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    order = relationship("Order")
    assignment = relationship("FairAssignment")


class FairSettlement(db.Model):
    """The end-of-fair settlement of one exhibitor: moved in − sold − returned = on hand, and the discrepancies."""

    __tablename__ = "fair_settlement"
    __table_args__ = _args(UniqueConstraint("assignment_id", name="uq_fair_settlement_assignment"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("fair_assignment.id"))
    lines = mapped_column(JSON, default=list)
    sales_value: Mapped[int] = mapped_column(BigInteger, default=0)
    settled_by_id: Mapped[int | None] = mapped_column(Integer)
    settled_at = mapped_column(UTCDateTime, default=utcnow)


class FairVisitorCount(db.Model):
    """Visitors counted at a gate on a day (posted by a gate device or typed in); entries add up."""

    __tablename__ = "fair_visitor_count"
    __table_args__ = _args(CheckConstraint("visitors > 0", name="visitors_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    gate: Mapped[str] = mapped_column(String(40))
    visitors: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default="typed")  # typed / device
    device_ref: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)


class FairDeal(db.Model):
    """A B2B contract or MoU signed at the event."""

    __tablename__ = "fair_deal"
    __table_args__ = _args(CheckConstraint("value >= 0", name="value_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    buyer_name: Mapped[str] = mapped_column(String(300))
    product_ids = mapped_column(JSON, default=list)
    value: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="signed")
    signed_on: Mapped[dt.date] = mapped_column(Date)
    follow_up_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    producer = relationship("Producer")


class FairMeeting(db.Model):
    """A scheduled buyer–producer meeting at a supply–demand conference: one table, one time slot."""

    __tablename__ = "fair_meeting"
    __table_args__ = _args(UniqueConstraint("event_id", "table_code", "starts_at", name="uq_fair_meeting_table"),
                           UniqueConstraint("event_id", "producer_id", "starts_at", name="uq_fair_meeting_producer"),
                           UniqueConstraint("event_id", "buyer_key", "starts_at", name="uq_fair_meeting_buyer"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("fair_event.id", ondelete="CASCADE"), index=True)
    table_code: Mapped[str] = mapped_column(String(20))
    starts_at = mapped_column(UTCDateTime)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    buyer_name: Mapped[str] = mapped_column(String(300))
    buyer_key: Mapped[str] = mapped_column(String(300))  # the buyer's name, folded: one buyer per slot
    created_at = mapped_column(UTCDateTime, default=utcnow)

    producer = relationship("Producer")
