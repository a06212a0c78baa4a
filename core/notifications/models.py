"""Stored notifications (emailed when SMTP is configured, kept for the admin API)."""
from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow


class Notification(db.Model):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producer.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    email: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    data = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at = mapped_column(UTCDateTime, nullable=True)
    # a delivery claims the row (status ``sending``) before it sends: see core.notifications.delivery.deliver
    claim_token: Mapped[str | None] = mapped_column(String(64))
    claimed_at = mapped_column(UTCDateTime, nullable=True)
