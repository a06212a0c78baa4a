"""Pricing models: promotions (campaigns, channel prices), producer opt-ins, vouchers, usage rows, the pricing version.

A promotion's or voucher's *lifecycle* (draft → scheduled → active → ended) is
computed from its stored ``status`` and its window at read time (see
:func:`core.pricing.rules.lifecycle`), so prices return at the window's end
without any job. Limits are enforced by conditional updates of the counters
on the promotion / voucher row (see :mod:`core.pricing.usage`), backed by
CHECK constraints.
"""
from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow

PROMOTION_KINDS = ("percentage", "amount", "fixed_price")
VOUCHER_KINDS = ("percentage", "amount")
#: stored status; the lifecycle shown to callers is computed (rules.lifecycle)
STATUSES = ("draft", "published", "stopped")
LIFECYCLES = ("draft", "scheduled", "active", "ended")
OWNER_KINDS = ("admin", "organiser", "producer")
#: what an offer may be limited to; keys combine with AND, the values of one key with OR
SCOPE_KEYS = ("variants", "products", "producers", "groups", "product_sets", "stars", "provinces")
PARTICIPANT_STATUSES = ("accepted", "withdrawn")
MAX_VALUE = 10**12  # VND; far above any OCOP price, below BIGINT


class _Offer:
    """Columns shared by promotions and vouchers: names, discount, window, channels, scope, owner, status."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[int] = mapped_column(BigInteger)
    starts_at = mapped_column(UTCDateTime, nullable=False)
    ends_at = mapped_column(UTCDateTime, nullable=False)
    channels = mapped_column(JSON, nullable=False, default=list)  # channel kinds or "kind:code"; [] = every channel
    scope = mapped_column(JSON, nullable=False, default=dict)  # {SCOPE_KEY: [values]}; {} = all within reach
    stackable: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_kind: Mapped[str] = mapped_column(String(20))
    province_code: Mapped[str | None] = mapped_column(ForeignKey("administrative_unit.code"), index=True)
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producer.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    activated_at = mapped_column(UTCDateTime, nullable=True)
    stopped_at = mapped_column(UTCDateTime, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(Integer)  # user id, kept after user deletion
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def _offer_checks(table: str) -> tuple:
    return (
        CheckConstraint("ends_at > starts_at", name="window_order"),
        CheckConstraint(f"value > 0 AND value <= {MAX_VALUE}", name="value_range"),
        CheckConstraint("kind <> 'percentage' OR value <= 100", name="percentage_at_most_100"),
        Index(f"ix_{table}_published_starts", "status", "starts_at"),
        Index(f"ix_{table}_published_ends", "status", "ends_at"),
    )


class Promotion(_Offer, db.Model):
    """A discount campaign or channel price: percentage off, amount off (VND per unit) or a fixed unit price."""

    __tablename__ = "promotion"
    __table_args__ = (
        *_offer_checks("promotion"),
        CheckConstraint("units_used >= 0 AND discount_used >= 0", name="usage_not_negative"),
        CheckConstraint("max_total_units IS NULL OR units_used <= max_total_units", name="units_within_limit"),
        CheckConstraint("budget IS NULL OR discount_used <= budget", name="budget_within_limit"),
    )

    requires_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    max_units_per_order: Mapped[int | None] = mapped_column(Integer)
    max_uses_per_customer: Mapped[int | None] = mapped_column(Integer)
    max_total_units: Mapped[int | None] = mapped_column(BigInteger)
    budget: Mapped[int | None] = mapped_column(BigInteger)  # total discount in VND
    units_used: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_used: Mapped[int] = mapped_column(BigInteger, default=0)

    participants = relationship("PromotionParticipant", back_populates="promotion",
                                order_by="PromotionParticipant.id", cascade="all, delete-orphan")

    @property
    def has_counters(self) -> bool:
        """True when a limit needs the counters on this row (and so a conditional update per order)."""
        return any(v is not None for v in (self.max_total_units, self.budget, self.max_uses_per_customer))


class PromotionParticipant(db.Model):
    """A producer's answer to an opt-in campaign: accepted (its products join) or withdrawn."""

    __tablename__ = "promotion_participant"
    __table_args__ = (UniqueConstraint("promotion_id", "producer_id", name="uq_promotion_participant_producer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotion.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    accepted_at = mapped_column(UTCDateTime, nullable=True)
    withdrawn_at = mapped_column(UTCDateTime, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    promotion = relationship("Promotion", back_populates="participants")
    producer = relationship("Producer")


class PromotionUsage(db.Model):
    """What one order took from a promotion, per producer: units, discount (VND) and GMV of those lines."""

    __tablename__ = "promotion_usage"
    __table_args__ = (
        UniqueConstraint("promotion_id", "order_ref", "producer_id", name="uq_promotion_usage_order_producer"),
        Index("ix_promotion_usage_customer", "promotion_id", "customer_key"),
        CheckConstraint("units >= 0 AND discount_amount >= 0 AND gross_amount >= 0", name="amounts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotion.id"), index=True)
    order_ref: Mapped[str] = mapped_column(String(100), index=True)
    producer_id: Mapped[int] = mapped_column(Integer)
    customer_key: Mapped[str | None] = mapped_column(String(120))
    units: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    gross_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # what the discounted lines charged
    counted: Mapped[bool] = mapped_column(Boolean, default=False)  # took from the promotion's counters
    created_at = mapped_column(UTCDateTime, default=utcnow)
    released_at = mapped_column(UTCDateTime, nullable=True)


class Voucher(_Offer, db.Model):
    """A code entered at checkout: percentage or amount (VND) off the eligible subtotal."""

    __tablename__ = "voucher"
    __table_args__ = (
        *_offer_checks("voucher"),
        CheckConstraint("uses >= 0", name="uses_not_negative"),
        CheckConstraint("max_uses IS NULL OR uses <= max_uses", name="uses_within_limit"),
    )

    code: Mapped[str] = mapped_column(String(64))  # as written by its owner (NFC)
    code_key: Mapped[str] = mapped_column(String(64), unique=True)  # NFC + case-folded: what shoppers type matches
    min_subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    max_uses: Mapped[int | None] = mapped_column(Integer)  # 1 = single use; None = unlimited
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)


class VoucherUsage(db.Model):
    """One order's use of a voucher (released when the order is cancelled)."""

    __tablename__ = "voucher_usage"
    __table_args__ = (
        UniqueConstraint("voucher_id", "order_ref", name="uq_voucher_usage_order"),
        Index("ix_voucher_usage_customer", "voucher_id", "customer_key"),
        CheckConstraint("discount_amount >= 0 AND gross_amount >= 0", name="amounts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("voucher.id"), index=True)
    order_ref: Mapped[str] = mapped_column(String(100), index=True)
    customer_key: Mapped[str | None] = mapped_column(String(120))
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    gross_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    released_at = mapped_column(UTCDateTime, nullable=True)


class PricingVersion(db.Model):
    """Bumped in the same transaction as every promotion change; cached price answers are keyed by it."""

    __tablename__ = "pricing_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
