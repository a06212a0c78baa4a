"""Certification model: a council's OCOP result for a product (stars, score, level, validity, status)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow

CERTIFICATION_STATUSES = ("active", "expired", "withdrawn", "superseded")
CERTIFICATION_LEVELS = ("district", "province", "central")


class Certification(db.Model):
    __tablename__ = "certification"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    score = mapped_column(Numeric(5, 2), nullable=False)
    level: Mapped[str] = mapped_column(String(20))
    criteria_set: Mapped[str] = mapped_column(String(20))
    council: Mapped[str | None] = mapped_column(String(300))
    issuing_unit_code: Mapped[str | None] = mapped_column(ForeignKey("administrative_unit.code"))
    decision_no: Mapped[str | None] = mapped_column(String(80))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    status_reason: Mapped[str | None] = mapped_column(String(1000))
    status_changed_at = mapped_column(UTCDateTime, nullable=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certification.id"))
    expiry_warned_at = mapped_column(UTCDateTime, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(Integer)  # user id
    created_at = mapped_column(UTCDateTime, default=utcnow)

    product = relationship("Product", back_populates="certifications")
    issuing_unit = relationship("AdministrativeUnit")
