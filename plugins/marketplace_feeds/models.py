"""Tables of the marketplace_feeds plugin (component ``marketplace_feeds``, migrations in ``migrations/versions``).

Marketplace orders are core orders on the marketplace's channel; this plugin keeps only the link from the
marketplace's order id to the core order (unique per marketplace) and the import reports.
"""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, component_table_args, db, utcnow

COMPONENT = "marketplace_feeds"
MARKETPLACE_KIND = "marketplace"  # the core sales channel kind
KINDS = ("google_merchant", "meta", "tiktok_shop", "shopee", "lazada", "postmart", "voso", "custom")
PARTICIPATION = ("active", "withdrawn")


def _args(*extra):
    return component_table_args(COMPONENT, *extra)


class Marketplace(db.Model):
    """One marketplace or ad catalogue the platform publishes to (sales channel ``marketplace:<code>``)."""

    __tablename__ = "marketplace"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    product_url_template: Mapped[str] = mapped_column(String(500))
    fallback_image_url: Mapped[str | None] = mapped_column(String(1000))
    category_map = mapped_column(JSON, nullable=False)  # {product set or group code: {"google": id, "category": …}}
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)
    webhook_secret: Mapped[str] = mapped_column(String(80))
    sales_channel_id: Mapped[int | None] = mapped_column(ForeignKey("sales_channel.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow)  # also moved by opt-ins: part of the feed state

    producers = relationship("MarketplaceProducer", back_populates="marketplace", order_by="MarketplaceProducer.id",
                             cascade="all, delete-orphan")

    @property
    def channel(self) -> str:
        """The core sales channel (and pricing channel) code: ``marketplace:<code>``."""
        return f"{MARKETPLACE_KIND}:{self.code}"


class MarketplaceProducer(db.Model):
    """A producer's presence on a marketplace (its opt-in); only active producers' products are published."""

    __tablename__ = "marketplace_producer"
    __table_args__ = _args(UniqueConstraint("marketplace_id", "producer_id", name="uq_marketplace_producer"))

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    shop_url: Mapped[str | None] = mapped_column(String(500))
    joined_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow)

    marketplace = relationship("Marketplace", back_populates="producers")
    producer = relationship("Producer")


class FeedBuild(db.Model):
    """One generated feed file (gzip, in the instance storage) with its validation report."""

    __tablename__ = "marketplace_feed_build"
    __table_args__ = _args(Index("ix_marketplace_feed_build_latest", "marketplace_id", "format", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(30))
    state_key: Mapped[str] = mapped_column(String(300))
    etag: Mapped[str] = mapped_column(String(80))
    storage_key: Mapped[str] = mapped_column(String(300))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    problems = mapped_column(JSON, nullable=False)  # [{"item_id", "field", "rule", "message"}]
    build_ms: Mapped[int] = mapped_column(Integer, default=0)
    built_at = mapped_column(UTCDateTime, default=utcnow)


class MarketplaceOrder(db.Model):
    """The marketplace's order id → the core order it became (unique per marketplace: re-imports create nothing)."""

    __tablename__ = "marketplace_order"
    __table_args__ = _args(UniqueConstraint("marketplace_id", "external_id", name="uq_marketplace_order_external"))

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(120))
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # new, shipped, delivered, cancelled, returned
    source: Mapped[str] = mapped_column(String(20))  # csv, xlsx, webhook
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow)


class OrderImport(db.Model):
    """An applied order file or webhook call and its per-row report (a refused file is not stored: 4xx)."""

    __tablename__ = "marketplace_order_import"
    __table_args__ = _args()

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str | None] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rows = mapped_column(JSON, nullable=False)  # [{"row", "order_id", "outcome", "reason"}]
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=utcnow)
