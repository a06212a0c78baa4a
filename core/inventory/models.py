"""Inventory: stock locations, stock per variant × location, lots, the movement ledger, sales channels.

Ledger rules (checked by :func:`core.services.stock.verify_ledger`):

* ``StockMovement`` rows are append-only; nothing updates or deletes them.
* Movements of kind ``allocation`` and ``release`` change ``allocated``
  (``quantity`` > 0 reserves, < 0 releases). Every other kind (``receipt``,
  ``transfer_out``, ``transfer_in``, ``sale``, ``return``, ``adjustment``,
  ``count``) changes ``on_hand`` by its signed ``quantity``.
* For every ``Stock``: ``on_hand`` = Σ quantity of its on-hand movements and
  ``allocated`` = Σ quantity of its allocation movements; the same holds per
  ``StockLot`` and the lots of a stock sum to the stock's figures.
* ``0 ≤ allocated ≤ on_hand`` (database CHECK constraints, per stock and per lot).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow

#: Movement kinds that change ``on_hand``.
ON_HAND_KINDS = ("receipt", "transfer_out", "transfer_in", "sale", "return", "adjustment", "count")
#: Movement kinds that change ``allocated``.
ALLOCATION_KINDS = ("allocation", "release")
MOVEMENT_KINDS = ON_HAND_KINDS + ALLOCATION_KINDS

#: Lot number used for stock received without a lot (shown as ``null`` in the API).
NO_LOT = ""


class StockLocation(db.Model):
    """A place that holds stock: a producer warehouse (core) or a plugin kind (sales point, fair booth…)."""

    __tablename__ = "stock_location"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producer.id"), index=True)
    province_code: Mapped[str | None] = mapped_column(ForeignKey("administrative_unit.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    external_ref: Mapped[str | None] = mapped_column(String(120), index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    producer = relationship("Producer")


class Stock(db.Model):
    """Quantity of one variant at one location: ``on_hand`` (physically there) and ``allocated`` (reserved)."""

    __tablename__ = "stock"
    __table_args__ = (
        UniqueConstraint("variant_id", "location_id", name="uq_stock_variant_location"),
        CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
        CheckConstraint("allocated >= 0 AND allocated <= on_hand", name="allocated_within_on_hand"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_location.id"), index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    variant = relationship("Variant")
    location = relationship("StockLocation")
    lots = relationship("StockLot", back_populates="stock", order_by="StockLot.id")

    @property
    def available(self) -> int:
        """Free quantity: on hand and not allocated."""
        return self.on_hand - self.allocated


class StockLot(db.Model):
    """Per-lot part of a ``Stock`` (lot number and best-before date); lots sum to the stock figures."""

    __tablename__ = "stock_lot"
    __table_args__ = (
        UniqueConstraint("stock_id", "lot_no", name="uq_stock_lot_stock_lot_no"),
        CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
        CheckConstraint("allocated >= 0 AND allocated <= on_hand", name="allocated_within_on_hand"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_id: Mapped[int] = mapped_column(ForeignKey("stock.id"), index=True)
    lot_no: Mapped[str] = mapped_column(String(60), default=NO_LOT)
    best_before: Mapped[dt.date | None] = mapped_column(Date)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    stock = relationship("Stock", back_populates="lots")

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated

    @property
    def lot_label(self) -> str | None:
        """The lot number, or None for stock received without one."""
        return self.lot_no or None


class StockMovement(db.Model):
    """One append-only ledger row. See the module docstring for which figure each kind changes."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_non_zero"),
        Index("ix_stock_movement_stock_created", "stock_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_id: Mapped[int] = mapped_column(ForeignKey("stock.id"))  # indexed by ix_stock_movement_stock_created
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("stock_lot.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # user id, kept after user deletion
    reason: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(120), index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)

    stock = relationship("Stock")
    lot = relationship("StockLot")

