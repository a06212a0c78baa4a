"""Allocation: reserving stock for orders (FEFO by lot), releasing it, and shipping what was reserved.

Strategy (``allocate(..., location=None)``)
    Candidates are the *active producer warehouses of the product's producer*
    that stock the variant. The one with the most free quantity that can
    cover the whole line is chosen (one line = one location, never split);
    ties go to the older location. If none can, ``stock.insufficient`` (409)
    reports the largest single-location free quantity as ``available``.

Concurrency
    The default strategy locks all candidate stocks of the variant with their
    lots in one statement (stocks by ascending id, each before its lots; every
    writer locks a stock before changing its lots); see
    :mod:`core.inventory.stock_rows` for the locks and conditional UPDATEs.
    Callers allocating several variants in one transaction should do so in
    ascending variant id order to avoid lock-order deadlocks on PostgreSQL.
    Nothing here commits: the caller owns the transaction (a checkout
    allocates and creates its order atomically).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import Integer, bindparam, func, select, update

from core.catalogue.models import Variant
from core.db import db, is_postgres
from core.errors import DomainError, invalid
from core.inventory.models import ALLOCATION_KINDS, Stock, StockLocation, StockLot, StockMovement
from core.inventory.stock_rows import (PRODUCER_WAREHOUSE, announce_if_emptied, announce_stock_change, apply_change,
                                       change_and_record, check_stockable,
                                       find_stock, insufficient, lock_stock, lock_stocks, lots_in_fefo_order,
                                       pick_free, record_movement, require_positive, resolve_location,
                                       resolve_variant)


@dataclass(frozen=True)
class Allocation:
    """Quantity of one lot reserved for ``reference`` (e.g. ``"order:OCOP-2026-000123"``)."""

    stock_id: int
    location_id: int
    variant_id: int
    lot_id: int
    quantity: int
    reference: str
    lot_no: str | None = None
    best_before: dt.date | None = None


def _allocate_at(stock: Stock, variant: Variant, quantity: int, reference: str, actor,
                 lots: list[StockLot] | None = None) -> list[Allocation] | None:
    """Allocate on a locked stock (``lots``: its lots in FEFO order, read after the lock); None when too little."""
    picked, got = pick_free(lots_in_fefo_order(stock.id) if lots is None else lots, quantity, include_expired=False)
    if got < quantity:
        return None
    result = []
    for lot, qty in picked:
        change_and_record(stock, lot, "allocation", qty, d_allocated=qty, actor=actor, reference=reference)
        result.append(Allocation(stock.id, stock.location_id, stock.variant_id, lot.id, qty, reference,
                                 lot.lot_label, lot.best_before))
    return result


# The candidate stocks of the default strategy with their lots (FEFO order), in ONE round trip. On
# PostgreSQL the stock rows AND their lot rows are locked (stocks by ascending id, each before its lots —
# every other writer locks the stock before touching its lots), so a row that changed while we waited is
# re-read at its newest version (a lot row that was not locked would keep the statement's older snapshot).
_CANDIDATE_LOTS = (
    select(Stock, StockLot)
    .join(StockLocation, StockLocation.id == Stock.location_id)
    .join(StockLot, StockLot.stock_id == Stock.id)
    .where(Stock.variant_id == bindparam("variant_id", type_=Integer), StockLocation.active.is_(True),
           StockLocation.kind == PRODUCER_WAREHOUSE,
           StockLocation.producer_id == bindparam("producer_id", type_=Integer))
    .order_by(Stock.id, StockLot.best_before.is_(None), StockLot.best_before, StockLot.id)
    .execution_options(populate_existing=True))
_CANDIDATE_LOTS_LOCKED = _CANDIDATE_LOTS.with_for_update(of=[Stock.__table__, StockLot.__table__])
_SQLITE_WRITE_LOCK = (update(Stock.__table__)
                      .where(Stock.__table__.c.variant_id == bindparam("b_variant_id", type_=Integer))
                      .values(on_hand=Stock.__table__.c.on_hand))


def _allocate_fast(variant: Variant, producer_id: int, quantity: int, reference: str,
                   actor) -> list[Allocation] | None:
    """Default strategy on the candidates locked with their lots in one statement; None when none can cover."""
    params = {"variant_id": variant.id, "producer_id": producer_id}
    if is_postgres():
        rows = db.session.execute(_CANDIDATE_LOTS_LOCKED, params).all()
    else:  # SQLite: a no-op UPDATE takes the database write lock (writers serialise), then read
        db.session.execute(_SQLITE_WRITE_LOCK, {"b_variant_id": variant.id})
        rows = db.session.execute(_CANDIDATE_LOTS, params).all()
    lots_of: dict[Stock, list[StockLot]] = {}
    for stock, lot in rows:
        lots_of.setdefault(stock, []).append(lot)
    for stock in sorted(lots_of, key=lambda s: (-(s.on_hand - s.allocated), s.location_id)):
        if stock.on_hand - stock.allocated < quantity:
            break  # sorted by free quantity: no later candidate can cover the line either
        allocations = _allocate_at(stock, variant, quantity, reference, actor, lots_of[stock])
        if allocations is not None:
            return allocations
    return None


def allocate(variant, quantity: int, *, location=None, reference: str, actor=None) -> list[Allocation]:
    """Reserve ``quantity`` of ``variant`` for ``reference`` (FEFO by lot). Does not commit.

    With ``location`` the stock there is used; without, the location is
    chosen by the strategy in the module docstring (the product's producer
    warehouses, most free stock first, one location per call). Raises
    ``stock.insufficient`` (409, details ``{variant, requested, available}``).

    Without ``location`` the usual case costs one locking statement (the
    candidate stocks and their lots, locked by ascending stock id), the
    conditional UPDATEs and the ledger/outbox INSERTs; only when that finds no
    candidate able to cover the line is the slower per-candidate path run
    (fresh reads after each lock), which also computes ``available``.
    """
    variant = resolve_variant(variant)
    require_positive("quantity", quantity)
    if not reference:
        raise invalid("reference", "thiếu tham chiếu", "reference is required")
    if variant.is_service:
        raise DomainError("stock.not_stocked", "Dịch vụ không quản lý tồn kho.",
                          "Services have no stock.", {"variant": variant.id}, status=422)
    if location is not None:
        location = resolve_location(location)
        check_stockable(location, variant)
        stock = find_stock(location.id, variant.id)
        if stock is None:
            raise insufficient(variant, quantity, 0, location.id)
        stock = lock_stock(stock.id)
        allocations = _allocate_at(stock, variant, quantity, reference, actor)
        if allocations is None:
            _, got = pick_free(lots_in_fefo_order(stock.id), quantity, include_expired=False)
            raise insufficient(variant, quantity, got, location.id)
        announce_if_emptied(variant, stock)
        return allocations

    producer_id = variant.product.producer_id  # loaded with the variant by callers (identity map otherwise)
    allocations = _allocate_fast(variant, producer_id, quantity, reference, actor)
    if allocations is not None:
        announce_if_emptied(variant, db.session.get(Stock, allocations[0].stock_id))  # locked, in the identity map
        return allocations
    # Nothing could cover the line in that snapshot (a lot received while we waited for the lock is not
    # in it): re-check candidate by candidate with fresh reads, and find the best ``available``.
    free = (Stock.on_hand - Stock.allocated)
    candidates = db.session.execute(
        select(Stock.id, free)
        .join(StockLocation, StockLocation.id == Stock.location_id)
        .where(Stock.variant_id == variant.id, StockLocation.active.is_(True),
               StockLocation.kind == PRODUCER_WAREHOUSE, StockLocation.producer_id == producer_id)
        .order_by(free.desc(), StockLocation.id)).all()
    best = 0
    for stock_id, _free in candidates:
        if _free < quantity:
            best = max(best, _free)
            continue
        stock = lock_stock(stock_id)  # the figures may have moved since the candidate query
        allocations = _allocate_at(stock, variant, quantity, reference, actor)
        if allocations is not None:
            announce_if_emptied(variant, stock)
            return allocations
        best = max(best, pick_free(lots_in_fefo_order(stock.id), quantity, include_expired=False)[1])
    raise insufficient(variant, quantity, best, None)


def _outstanding(reference: str, stock_ids: Iterable[int] | None = None) -> dict[tuple[int, int], int]:
    """Allocated-and-not-yet-released quantity per ``(stock_id, lot_id)`` for ``reference``, from the ledger."""
    stmt = (select(StockMovement.stock_id, StockMovement.lot_id, func.sum(StockMovement.quantity))
            .where(StockMovement.reference == reference, StockMovement.kind.in_(ALLOCATION_KINDS))
            .group_by(StockMovement.stock_id, StockMovement.lot_id))
    if stock_ids is not None:
        stmt = stmt.where(StockMovement.stock_id.in_(list(stock_ids)))
    return {(s, lot): q for s, lot, q in db.session.execute(stmt) if q and q > 0}


def release(allocations_or_reference, *, actor=None, reason: str | None = None) -> list[StockMovement]:
    """Release allocations (a list of :class:`Allocation`, or every outstanding one of a reference). Does not commit.

    Idempotent: only what is still allocated under the reference (per the
    ledger) is released, so releasing twice, or after fulfilment, is harmless.
    """
    if isinstance(allocations_or_reference, str):
        wanted = {(allocations_or_reference, s, lot): q
                  for (s, lot), q in _outstanding(allocations_or_reference).items()}
    else:
        wanted = defaultdict(int)
        for a in allocations_or_reference:
            wanted[(a.reference, a.stock_id, a.lot_id)] += a.quantity
    if not wanted:
        return []
    stocks = lock_stocks(s for _, s, _ in wanted)
    movements = []
    variants = set()
    for reference in sorted({r for r, _, _ in wanted}):
        outstanding = _outstanding(reference, stocks.keys())
        for (ref, stock_id, lot_id), qty in sorted(wanted.items()):
            if ref != reference:
                continue
            qty = min(qty, outstanding.get((stock_id, lot_id), 0))
            if qty <= 0:
                continue
            stock = stocks[stock_id]
            lot = db.session.execute(select(StockLot).where(StockLot.id == lot_id)
                                     .execution_options(populate_existing=True)).scalar_one()
            apply_change(stock, lot, d_allocated=-qty)
            movements.append(record_movement(stock, lot, "release", -qty, actor=actor, reason=reason, reference=reference))
            variants.add(stock.variant_id)
    for variant_id in variants:
        announce_stock_change(db.session.get(Variant, variant_id))
    return movements


def deduct_allocated(variant, quantity: int, location, *, reference: str, actor,
                     reason: str | None = None) -> list[StockMovement]:
    """Fulfilment: ship ``quantity`` allocated under ``reference`` at ``location``. Does not commit.

    Per lot (FEFO among the reference's allocated lots): a ``release``
    movement (allocated −q) and a ``sale`` movement (on hand −q). Raises
    ``stock.not_allocated`` (409) when less than ``quantity`` is allocated.
    """
    variant, location = resolve_variant(variant), resolve_location(location)
    require_positive("quantity", quantity)
    stock = find_stock(location.id, variant.id)
    outstanding = {}
    if stock is not None:
        stock = lock_stock(stock.id)
        outstanding = {lot: q for (_, lot), q in _outstanding(reference, [stock.id]).items()}
    total = sum(outstanding.values())
    if total < quantity:
        raise DomainError("stock.not_allocated", "Số lượng giao vượt quá số đã giữ cho đơn hàng.",
                          "More than the allocated quantity would be shipped.",
                          {"variant": variant.id, "reference": reference, "requested": quantity,
                           "allocated": total}, status=409)
    need, movements = quantity, []
    for lot in lots_in_fefo_order(stock.id):
        if need == 0:
            break
        qty = min(outstanding.get(lot.id, 0), need)
        if qty <= 0:
            continue
        apply_change(stock, lot, d_on_hand=-qty, d_allocated=-qty)
        movements.append(record_movement(stock, lot, "release", -qty, actor=actor, reason=reason or "fulfilment",
                                 reference=reference))
        movements.append(record_movement(stock, lot, "sale", -qty, actor=actor, reason=reason, reference=reference))
        need -= qty
    announce_stock_change(variant)
    return movements
