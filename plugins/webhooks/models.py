"""Tables of the webhooks plugin (component ``webhooks``, migrations in ``migrations/versions``)."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, component_table_args, db, utcnow

COMPONENT = "webhooks"
#: pending → delivering → succeeded | pending (retry later) | failed (attempts exhausted, subscription off)
DELIVERY_STATUSES = ("pending", "delivering", "succeeded", "failed")


class WebhookSubscription(db.Model):
    """An integrator's endpoint and the event types it receives."""

    __tablename__ = "webhook_subscription"
    __table_args__ = component_table_args(COMPONENT)

    id: Mapped[int] = mapped_column(primary_key=True)
    integrator: Mapped[str] = mapped_column(String(120), index=True)
    description: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(2000))
    events = mapped_column(JSON)  # list of event type names, or ["*"]
    secret: Mapped[str] = mapped_column(String(100))  # whsec_<base64>; needed in clear to sign
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    disabled_at = mapped_column(UTCDateTime, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookDelivery(db.Model):
    """One event for one subscription: the exact body sent, its state and the next attempt's time."""

    __tablename__ = "webhook_delivery"
    __table_args__ = component_table_args(COMPONENT, Index("ix_webhook_delivery_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscription.id", ondelete="CASCADE"),
                                                 index=True)
    event_id: Mapped[str] = mapped_column(String(40), index=True)  # the webhook-id header, kept by replays
    event_type: Mapped[str] = mapped_column(String(80), index=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at = mapped_column(UTCDateTime, nullable=True)
    locked_until = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    replay_of_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_delivery.id"))
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)
    delivered_at = mapped_column(UTCDateTime, nullable=True)

    subscription = relationship(WebhookSubscription, lazy="joined")
    attempt_log = relationship("WebhookAttempt", order_by="WebhookAttempt.id", lazy="selectin",
                               cascade="all, delete-orphan")


class WebhookAttempt(db.Model):
    """The log of one HTTP attempt of a delivery."""

    __tablename__ = "webhook_attempt"
    __table_args__ = component_table_args(COMPONENT)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(String(1000))
