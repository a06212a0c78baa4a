"""Tables of the livestream plugin (component ``livestream``, migrations in ``migrations/versions``).

A session owns one core sales channel (kind ``livestream``); its orders are core orders. Held stock
is never stored here: it is a core allocation under the reference ``livestream:<id>:<variant id>``.
"""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, component_table_args, db, utcnow

COMPONENT = "livestream"
PLATFORMS = ("facebook", "tiktok", "youtube", "zalo", "shopee")
SESSION_STATUSES = ("scheduled", "live", "ended")
DRAFT_STATUSES = ("open", "confirmed", "rejected")


def _args(*extra):
    return component_table_args(COMPONENT, *extra)


class LivestreamSession(db.Model):
    """One live selling session on a platform, hosted by one or more producers."""

    __tablename__ = "livestream_session"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(300))
    stream_url: Mapped[str | None] = mapped_column(String(1000))
    scheduled_at = mapped_column(UTCDateTime, nullable=False)
    started_at = mapped_column(UTCDateTime, nullable=True)
    ended_at = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="scheduled")
    province_code: Mapped[str | None] = mapped_column(String(20), index=True)  # of the first host
    tracking_code: Mapped[str] = mapped_column(String(40), unique=True)
    # a core voucher code (core.pricing) given out in the session: storefront orders using it are credited to it
    voucher_code: Mapped[str | None] = mapped_column(String(60))
    voucher_code_key: Mapped[str | None] = mapped_column(String(60), index=True)
    webhook_secret: Mapped[str] = mapped_column(String(80))
    sales_channel_id: Mapped[int | None] = mapped_column(ForeignKey("sales_channel.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    hosts = relationship("LivestreamHost", back_populates="session", order_by="LivestreamHost.id",
                         cascade="all, delete-orphan")
    items = relationship("ShowcaseItem", back_populates="session", order_by="ShowcaseItem.id",
                         cascade="all, delete-orphan")


class LivestreamHost(db.Model):
    __tablename__ = "livestream_host"
    __table_args__ = _args(UniqueConstraint("session_id", "producer_id", name="uq_livestream_host_session_producer"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("livestream_session.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)

    session = relationship("LivestreamSession", back_populates="hosts")
    producer = relationship("Producer")


class ShowcaseItem(db.Model):
    """A product pinned in a session under a short code (``A1``), unique in the session."""

    __tablename__ = "livestream_showcase_item"
    __table_args__ = _args(UniqueConstraint("session_id", "code_key", name="uq_livestream_item_code"),
                           UniqueConstraint("session_id", "product_id", name="uq_livestream_item_product"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("livestream_session.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(10))
    code_key: Mapped[str] = mapped_column(String(10))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)

    session = relationship("LivestreamSession", back_populates="items")
    product = relationship("Product")
    variants = relationship("ShowcaseVariant", back_populates="item", order_by="ShowcaseVariant.id",
                            cascade="all, delete-orphan")
    pins = relationship("PinWindow", back_populates="item", order_by="PinWindow.id", cascade="all, delete-orphan")


class ShowcaseVariant(db.Model):
    """A variant offered under an item: the words viewers use for it, a session price, stock held."""

    __tablename__ = "livestream_showcase_variant"
    __table_args__ = _args(UniqueConstraint("item_id", "variant_id", name="uq_livestream_variant_item_variant"))

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("livestream_showcase_item.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"))
    words: Mapped[str] = mapped_column(String(200))
    session_price: Mapped[int | None] = mapped_column(BigInteger)  # plain override until the core price resolver
    hold_quantity: Mapped[int] = mapped_column(Integer, default=0)

    item = relationship("ShowcaseItem", back_populates="variants")
    variant = relationship("Variant")


class PinWindow(db.Model):
    """When an item was on screen."""

    __tablename__ = "livestream_pin_window"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("livestream_showcase_item.id", ondelete="CASCADE"), index=True)
    started_at = mapped_column(UTCDateTime, nullable=False)
    ended_at = mapped_column(UTCDateTime, nullable=True)

    item = relationship("ShowcaseItem", back_populates="pins")


class LivestreamComment(db.Model):
    """A viewer's comment with its parse result; keyed by the platform's comment id."""

    __tablename__ = "livestream_comment"
    __table_args__ = _args(UniqueConstraint("session_id", "platform_comment_id", name="uq_livestream_comment_id"),
                           Index("ix_livestream_comment_session_author", "session_id", "author_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("livestream_session.id", ondelete="CASCADE"), index=True)
    platform_comment_id: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    written_at = mapped_column(UTCDateTime, nullable=True)
    received_at = mapped_column(UTCDateTime, default=utcnow)
    intent: Mapped[str] = mapped_column(String(20), index=True)
    lines = mapped_column(JSON, nullable=True)  # [{"code", "quantity", "variant_sku", "stated"}]
    additive: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(String(300))


class DraftOrder(db.Model):
    """One viewer's order in the making during a session; becomes one core order when confirmed."""

    __tablename__ = "livestream_draft"
    __table_args__ = _args(UniqueConstraint("session_id", "author_id", name="uq_livestream_draft_author"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("livestream_session.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str | None] = mapped_column(String(200))
    lines = mapped_column(JSON, nullable=False)  # [{"code", "variant_sku", "quantity"}]
    phone: Mapped[str | None] = mapped_column(String(30))
    to_review = mapped_column(JSON, nullable=False)  # platform ids of comments a person should look at
    comment_ids = mapped_column(JSON, nullable=False)
    edited: Mapped[bool] = mapped_column(Boolean, default=False)  # the seller's lines win over the comments
    status: Mapped[str] = mapped_column(String(20), index=True, default="open")
    checkout_token: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MetricSample(db.Model):
    """Platform figures at a moment of the session."""

    __tablename__ = "livestream_metric"
    __table_args__ = _args(UniqueConstraint("session_id", "at", name="uq_livestream_metric_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("livestream_session.id", ondelete="CASCADE"), index=True)
    at = mapped_column(UTCDateTime, nullable=False)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    peak_viewers: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    shares: Mapped[int] = mapped_column(BigInteger, default=0)
    comments: Mapped[int] = mapped_column(BigInteger, default=0)


class LivestreamEvent(db.Model):
    """The live screen's event log (comments, parse results, orders), read by the SSE stream in id order."""

    __tablename__ = "livestream_event"
    __table_args__ = _args(Index("ix_livestream_event_session_id", "session_id", "id"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("livestream_session.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    data = mapped_column(JSON, nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow)


class CheckoutTag(db.Model):
    """A storefront checkout that arrived through a session's link (``?ls=<code>``)."""

    __tablename__ = "livestream_checkout_tag"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    checkout_id: Mapped[int] = mapped_column(ForeignKey("checkout.id", ondelete="CASCADE"), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("livestream_session.id", ondelete="CASCADE"), index=True)
    tagged_at = mapped_column(UTCDateTime, default=utcnow)
