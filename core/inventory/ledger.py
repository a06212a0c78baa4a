"""Inventory service: receipts, adjustments, counts, transfers, allocation, fulfilment, FEFO and the ledger.

Transactions
    None of the stock operations commit: the caller owns the transaction, so a
    checkout can allocate stock and create its order atomically. The
    ``*_for(user, data)`` wrappers at the end (used by the admin routes) check
    permissions, call the operation and commit.

Ledger
    Every change writes :class:`~core.models.StockMovement` rows (append-only).
    ``allocation``/``release`` movements change ``allocated``; all other kinds
    change ``on_hand``. Fulfilment (:func:`deduct_allocated`) therefore writes
    two rows per lot: a ``release`` (allocated −q) and a ``sale`` (on hand −q).
    :func:`verify_ledger` checks that every stock and lot figure equals the sum
    of its ledger and that lots sum to their stock.

Lots
    Every stock quantity lives in a :class:`~core.models.StockLot`. Goods
    received without a lot number go to the stock's unnamed lot (``lot_no``
    ``""``, shown as null); goods received without a lot number but with a
    best-before date go to the synthetic lot ``BB-<date>``. Lot numbers and
    best-before dates are optional for every product group (small household
    producers often have no lot system); a receipt whose best-before date is
    in the past is refused (``stock.best_before_past``).

FEFO
    :func:`pick_fefo` picks free quantity (on hand − allocated) lot by lot,
    earliest best-before first, lots without a date last, oldest lot first
    among equals. Expired lots (best-before before today) are never allocated
    or sold; they can still be adjusted, counted or transferred away.

Allocation strategy (``allocate(..., location=None)``)
    Candidates are the *active producer warehouses of the product's producer*
    that stock the variant. The one with the most free quantity that can
    cover the whole line is chosen (one line = one location, never split);
    ties go to the older location. If none can, ``stock.insufficient`` (409)
    reports the largest single-location free quantity as ``available``.

Concurrency
    Every operation first locks the Stock rows it touches: on PostgreSQL
    ``SELECT … FOR UPDATE`` (rows are locked in id order within one call); on
    SQLite a no-op ``UPDATE`` which takes the database write lock (the same
    effect as ``BEGIN IMMEDIATE``: writers serialise). The default allocation
    strategy locks all candidate stocks of the variant with their lots in one
    statement (stocks by ascending id, each before its lots; every writer
    locks a stock before changing its lots). Figures are then
    changed by *conditional* UPDATEs (``… WHERE on_hand - allocated >= :q``)
    whose row count is checked, so even a caller that forgot a lock cannot
    oversell; CHECK constraints are the last line. Callers allocating several
    variants in one transaction should do so in ascending variant id order to
    avoid lock-order deadlocks on PostgreSQL.

Hooks
    Every movement calls ``stock_changed(stock, movement)`` after commit and,
    inside the transaction, publishes ``inventory.stock_changed`` (the search
    outbox re-indexes the in-stock flag) — an allocation only when it empties
    the stock it drew on, the only way an allocation can change whether the
    variant is in stock.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import Integer, bindparam, case, func, select, text, update
from sqlalchemy.orm import attributes

from core import clock
from core.db import add_as_loaded, db, insert_ignoring_conflicts, is_postgres, on_commit, publish, utcnow
from core.errors import Conflict, DomainError, NotFound, invalid
from core.catalogue.models import Variant
from core.inventory.models import ALLOCATION_KINDS, MOVEMENT_KINDS, NO_LOT, ON_HAND_KINDS, Stock, StockLocation, StockLot, StockMovement
from core.plugins import hooks

PRODUCER_WAREHOUSE = "producer_warehouse"
ONLINE_STORE = "online_store"
RECEIPT_KINDS = ("receipt", "return")


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


# --- small helpers -------------------------------------------------------------
def _actor_id(actor) -> int | None:
    if actor is None:
        return None
    return actor if isinstance(actor, int) else getattr(actor, "id", None)


def resolve_variant(value) -> Variant:
    """The variant ``value`` (a Variant or its id); 404 when unknown."""
    if isinstance(value, Variant):
        return value
    variant = db.session.get(Variant, value)
    if variant is None:
        raise NotFound("variant", "biến thể")
    return variant


def resolve_location(value) -> StockLocation:
    """The stock location ``value`` (a StockLocation or its id); 404 when unknown."""
    if isinstance(value, StockLocation):
        return value
    location = db.session.get(StockLocation, value)
    if location is None:
        raise NotFound("stock_location", "kho hàng")
    return location


def _positive(field: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise invalid(field, "số lượng phải là số nguyên dương", "quantity must be a positive integer")
    return value


def insufficient(variant: Variant, requested: int, available: int, location_id: int | None = None) -> DomainError:
    """The ``stock.insufficient`` (409) error with details ``{variant, sku, requested, available, location}``."""
    return DomainError("stock.insufficient",
                       f"Không đủ hàng cho {variant.sku}: cần {requested}, còn {max(available, 0)}.",
                       f"Not enough stock for {variant.sku}: requested {requested}, available {max(available, 0)}.",
                       {"variant": variant.id, "sku": variant.sku, "requested": requested,
                        "available": max(available, 0), "location": location_id}, status=409)


def _norm_lot(lot_no: str | None, best_before: dt.date | None = None) -> str:
    lot_no = (lot_no or "").strip()
    if not lot_no and best_before is not None:
        return f"BB-{best_before.isoformat()}"
    return lot_no


def check_stockable(location: StockLocation, variant: Variant) -> None:
    """Refuse services, inactive locations and another producer's goods in a producer warehouse."""
    if variant.is_service:
        raise DomainError("stock.not_stocked", "Dịch vụ không quản lý tồn kho.",
                          "Services have no stock.", {"variant": variant.id}, status=422)
    if not location.active:
        raise DomainError("stock.location_inactive", "Kho hàng đã ngừng hoạt động.",
                          "The stock location is inactive.", {"location": location.id}, status=422)
    if location.kind == PRODUCER_WAREHOUSE and location.producer_id is not None \
            and variant.product.producer_id != location.producer_id:
        raise DomainError("stock.variant_not_allowed",
                          "Kho của chủ thể chỉ chứa sản phẩm của chính chủ thể đó.",
                          "A producer warehouse only holds its own producer's products.",
                          {"location": location.id, "variant": variant.id}, status=422)


# --- rows, locks and conditional updates ---------------------------------------
def _find_stock(location_id: int, variant_id: int) -> Stock | None:
    return db.session.execute(select(Stock).where(Stock.location_id == location_id,
                                                  Stock.variant_id == variant_id)).scalar_one_or_none()


def _stock_for(location: StockLocation, variant: Variant) -> Stock:
    """The Stock row of ``variant`` at ``location``, created (race-safely) when missing."""
    stock = _find_stock(location.id, variant.id)
    if stock is None:
        table = Stock.__table__
        db.session.execute(insert_ignoring_conflicts(table).values(variant_id=variant.id, location_id=location.id, on_hand=0,
                                                 allocated=0, updated_at=utcnow())
                           .on_conflict_do_nothing(index_elements=["variant_id", "location_id"]))
        stock = _find_stock(location.id, variant.id)
    return stock


def _lock(stock_id: int) -> Stock:
    """Lock a Stock row until the transaction ends and return it with fresh figures."""
    if is_postgres():
        stmt = select(Stock).where(Stock.id == stock_id).with_for_update()
    else:
        table = Stock.__table__
        db.session.execute(update(table).where(table.c.id == stock_id).values(on_hand=table.c.on_hand))
        stmt = select(Stock).where(Stock.id == stock_id)
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()


def _lock_many(stock_ids: Iterable[int]) -> dict[int, Stock]:
    return {sid: _lock(sid) for sid in sorted(set(stock_ids))}


def _lots(stock_id: int) -> list[StockLot]:
    """Lots of a stock in FEFO order (earliest best-before first, undated last), fresh from the database."""
    stmt = (select(StockLot).where(StockLot.stock_id == stock_id)
            .order_by(StockLot.best_before.is_(None), StockLot.best_before, StockLot.id)
            .execution_options(populate_existing=True))
    return list(db.session.execute(stmt).scalars())


def _lot_for(stock: Stock, lot_no: str, best_before: dt.date | None, create: bool = True) -> StockLot | None:
    """The lot ``lot_no`` of a (locked) stock; created when missing; a different best-before is a conflict."""
    lot = db.session.execute(select(StockLot).where(StockLot.stock_id == stock.id, StockLot.lot_no == lot_no)
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    if lot is None:
        if not create:
            raise NotFound("stock_lot", "lô hàng", {"lot_no": lot_no or None})
        lot = StockLot(stock_id=stock.id, lot_no=lot_no, best_before=best_before, on_hand=0, allocated=0)
        db.session.add(lot)
        db.session.flush()
    elif best_before is not None and lot.best_before != best_before:
        if lot.best_before is None and lot.on_hand == 0:
            lot.best_before = best_before
        else:
            raise Conflict("stock.lot_mismatch", "Lô hàng đã có hạn sử dụng khác.",
                           "This lot already has a different best-before date.",
                           {"lot_no": lot_no or None, "best_before": lot.best_before.isoformat()
                            if lot.best_before else None})
    return lot


def _conditional_update(table, with_timestamp: bool):
    c = table.c
    d_on_hand, d_allocated = bindparam("d_on_hand", type_=Integer), bindparam("d_allocated", type_=Integer)
    values = {"on_hand": c.on_hand + d_on_hand, "allocated": c.allocated + d_allocated}
    if with_timestamp:
        values["updated_at"] = bindparam("now", type_=c.updated_at.type)
    return (update(table)
            .where(c.id == bindparam("row_id", type_=Integer), c.on_hand + d_on_hand >= 0,
                   c.allocated + d_allocated >= 0, (c.on_hand + d_on_hand) - (c.allocated + d_allocated) >= 0)
            .values(**values))


# built once: constructing the statements on every call showed up in the checkout profile
_UPDATE_STOCK = _conditional_update(Stock.__table__, True)
_UPDATE_LOT = _conditional_update(StockLot.__table__, False)


# PostgreSQL: both conditional UPDATEs in one round trip (the lot is only changed if the stock was); fewer
# round trips while the stock row is locked means a shorter hold on a hot row.
_UPDATE_BOTH_PG = text(
    "WITH s AS (UPDATE stock SET on_hand = on_hand + :d_on_hand, allocated = allocated + :d_allocated, "
    "updated_at = :now WHERE id = :stock_id AND on_hand + :d_on_hand >= 0 AND allocated + :d_allocated >= 0 "
    "AND (on_hand + :d_on_hand) - (allocated + :d_allocated) >= 0 RETURNING id) "
    "UPDATE stock_lot SET on_hand = on_hand + :d_on_hand, allocated = allocated + :d_allocated "
    "WHERE id = :lot_id AND on_hand + :d_on_hand >= 0 AND allocated + :d_allocated >= 0 "
    "AND (on_hand + :d_on_hand) - (allocated + :d_allocated) >= 0 AND EXISTS (SELECT 1 FROM s)"
).bindparams(bindparam("now", type_=Stock.__table__.c.updated_at.type), bindparam("stock_id", type_=Integer),
             bindparam("lot_id", type_=Integer), bindparam("d_on_hand", type_=Integer),
             bindparam("d_allocated", type_=Integer))


def _apply(stock: Stock, lot: StockLot, d_on_hand: int = 0, d_allocated: int = 0) -> None:
    """Conditional UPDATE of a stock and one of its lots; refuses anything breaking 0 ≤ allocated ≤ on hand.

    A refusal raises ``stock.insufficient``; the caller must roll back (the stock row may have changed).
    """
    if is_postgres():
        result = db.session.execute(_UPDATE_BOTH_PG, {"stock_id": stock.id, "lot_id": lot.id, "now": utcnow(),
                                                      "d_on_hand": d_on_hand, "d_allocated": d_allocated})
        if result.rowcount != 1:
            variant = db.session.get(Variant, stock.variant_id)
            free = min(stock.on_hand - stock.allocated, lot.on_hand - lot.allocated)
            raise insufficient(variant, abs(d_on_hand or d_allocated), free, stock.location_id)
        for obj in (stock, lot):  # we hold the row lock, so the in-memory figures can follow without a re-read
            attributes.set_committed_value(obj, "on_hand", obj.on_hand + d_on_hand)
            attributes.set_committed_value(obj, "allocated", obj.allocated + d_allocated)
        return
    for obj, stmt in ((stock, _UPDATE_STOCK), (lot, _UPDATE_LOT)):
        params = {"row_id": obj.id, "d_on_hand": d_on_hand, "d_allocated": d_allocated}
        if stmt is _UPDATE_STOCK:
            params["now"] = utcnow()
        result = db.session.execute(stmt, params)
        if result.rowcount != 1:
            variant = db.session.get(Variant, stock.variant_id)
            raise insufficient(variant, abs(d_on_hand or d_allocated), obj.on_hand - obj.allocated,
                               stock.location_id)
        # we hold the row lock, so the in-memory figures can follow without a re-read
        attributes.set_committed_value(obj, "on_hand", obj.on_hand + d_on_hand)
        attributes.set_committed_value(obj, "allocated", obj.allocated + d_allocated)


# one INSERT per movement, written at once (the unit of work cost more than the statement on the checkout path)
_INSERT_MOVEMENT = StockMovement.__table__.insert().returning(StockMovement.__table__.c.id)


def _record(stock: Stock, lot: StockLot, kind: str, quantity: int, *, actor=None, reason=None,
            reference=None) -> StockMovement:
    """Append a ledger row and queue the after-commit ``stock_changed`` hook."""
    assert kind in MOVEMENT_KINDS and quantity != 0
    values = {"stock_id": stock.id, "lot_id": lot.id, "kind": kind, "quantity": quantity,
              "actor_id": _actor_id(actor), "reason": reason, "reference": reference, "created_at": utcnow()}
    movement_id = db.session.execute(_INSERT_MOVEMENT, values).scalar_one()
    movement = add_as_loaded(StockMovement(id=movement_id, **values))
    attributes.set_committed_value(movement, "stock", stock)
    attributes.set_committed_value(movement, "lot", lot)

    def fire(stock=stock, movement=movement):
        hooks().stock_changed(stock=stock, movement=movement)
    on_commit(fire)
    return movement


def _touch(variant: Variant) -> None:
    """Tell subscribers (the search outbox) that the variant's stock changed, inside the transaction."""
    publish("inventory.stock_changed", variant=variant, reason="stock")


def _touch_if_emptied(variant: Variant, stock: Stock) -> None:
    """After an allocation from ``stock``: only emptying it can change whether the variant is in stock."""
    if stock.on_hand - stock.allocated <= 0:
        _touch(variant)


# --- FEFO ----------------------------------------------------------------------
def _fefo(lots: list[StockLot], quantity: int, *, include_expired: bool) -> tuple[list[tuple[StockLot, int]], int]:
    today = clock.today()
    picked, need, free_total = [], quantity, 0
    for lot in lots:
        if not include_expired and lot.best_before is not None and lot.best_before < today:
            continue
        free = lot.on_hand - lot.allocated
        if free <= 0:
            continue
        free_total += free
        if need > 0:
            take = min(free, need)
            picked.append((lot, take))
            need -= take
    return picked, (free_total if need > 0 else quantity)


def pick_fefo(location, variant, quantity: int, *, include_expired: bool = False) -> list[tuple[StockLot, int]]:
    """First-expiry-first-out: ``[(lot, qty), …]`` covering ``quantity`` from free (unallocated) stock.

    Lots are taken earliest best-before first, lots without a date last,
    oldest lot first among equals; expired lots are skipped unless
    ``include_expired``. Reads only — call it after locking the stock (as the
    writing operations here do) when the answer will be acted on. Raises
    ``stock.insufficient`` (409) when the free quantity is too small.
    """
    location, variant = resolve_location(location), resolve_variant(variant)
    _positive("quantity", quantity)
    stock = _find_stock(location.id, variant.id)
    if stock is None:
        raise insufficient(variant, quantity, 0, location.id)
    picked, got = _fefo(_lots(stock.id), quantity, include_expired=include_expired)
    if got < quantity:
        raise insufficient(variant, quantity, got, location.id)
    return picked


# --- on-hand operations --------------------------------------------------------
def receive(location, variant, quantity: int, *, actor, reason: str | None, reference: str | None = None,
            lot_no: str | None = None, best_before: dt.date | None = None,
            kind: str = "receipt") -> list[StockMovement]:
    """Add ``quantity`` to on hand (a ``receipt``, or a ``return`` from a customer). Does not commit.

    ``lot_no``/``best_before`` are optional; a receipt with a best-before date
    in the past is refused (``stock.best_before_past``). Returns the movement(s).
    """
    location, variant = resolve_location(location), resolve_variant(variant)
    _positive("quantity", quantity)
    if kind not in RECEIPT_KINDS:
        raise invalid("kind", "loại nhập kho phải là receipt hoặc return", "kind must be receipt or return")
    check_stockable(location, variant)
    if best_before is not None and kind == "receipt" and best_before < clock.today():
        raise DomainError("stock.best_before_past", "Hạn sử dụng đã qua, không thể nhập kho.",
                          "The best-before date is in the past; the goods cannot be received.",
                          {"best_before": best_before.isoformat()}, status=422)
    stock = _lock(_stock_for(location, variant).id)
    lot = _lot_for(stock, _norm_lot(lot_no, best_before), best_before)
    _apply(stock, lot, d_on_hand=quantity)
    movement = _record(stock, lot, kind, quantity, actor=actor, reason=reason, reference=reference)
    _touch(variant)
    return [movement]


def _remove_free(stock: Stock, variant: Variant, quantity: int, lot_no: str | None, *, include_expired: bool,
                 kind: str, actor, reason, reference) -> list[StockMovement]:
    """Take ``quantity`` of free stock (a named lot, or FEFO) off on hand with ``kind`` movements."""
    if lot_no is not None:
        lot = _lot_for(stock, _norm_lot(lot_no), None, create=False)
        if lot.available < quantity:
            raise insufficient(variant, quantity, lot.available, stock.location_id)
        picked = [(lot, quantity)]
    else:
        picked, got = _fefo(_lots(stock.id), quantity, include_expired=include_expired)
        if got < quantity:
            raise insufficient(variant, quantity, got, stock.location_id)
    movements = []
    for lot, qty in picked:
        _apply(stock, lot, d_on_hand=-qty)
        movements.append(_record(stock, lot, kind, -qty, actor=actor, reason=reason, reference=reference))
    return movements


def adjust(location, variant, delta: int, *, actor, reason: str, lot_no: str | None = None) -> list[StockMovement]:
    """Correct on hand by a signed ``delta`` (damage, shrinkage, found goods). Does not commit.

    A positive delta goes to ``lot_no`` (or the unnamed lot); a negative one
    comes out of ``lot_no`` or FEFO (expired lots first). Errors:
    ``stock.negative`` (422) when on hand would drop below zero,
    ``stock.insufficient`` (409) when the goods are allocated to orders.
    """
    location, variant = resolve_location(location), resolve_variant(variant)
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise invalid("delta", "chênh lệch phải là số nguyên khác 0", "delta must be a non-zero integer")
    check_stockable(location, variant)
    stock = _lock(_stock_for(location, variant).id)
    if delta > 0:
        lot = _lot_for(stock, _norm_lot(lot_no), None)
        _apply(stock, lot, d_on_hand=delta)
        movements = [_record(stock, lot, "adjustment", delta, actor=actor, reason=reason)]
    else:
        if stock.on_hand + delta < 0:
            raise DomainError("stock.negative", "Tồn kho không thể âm.", "Stock on hand cannot become negative.",
                              {"variant": variant.id, "on_hand": stock.on_hand, "delta": delta}, status=422)
        movements = _remove_free(stock, variant, -delta, lot_no, include_expired=True, kind="adjustment",
                                 actor=actor, reason=reason, reference=None)
    _touch(variant)
    return movements


def count(location, variant, counted: int, *, actor, reason: str, lot_no: str | None = None) -> list[StockMovement]:
    """Record a physical count: on hand (of ``lot_no``, or of the only lot) becomes ``counted``. Does not commit.

    Writes one ``count`` movement with the difference (nothing when the count
    agrees). ``lot_no`` is required when the stock holds several lots
    (``stock.lot_required``); a count below the allocated quantity is refused
    (``stock.below_allocated``, 409).
    """
    location, variant = resolve_location(location), resolve_variant(variant)
    if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
        raise DomainError("stock.negative", "Số đếm phải là số nguyên không âm.",
                          "The counted quantity must be a non-negative integer.", {"counted": counted}, status=422)
    check_stockable(location, variant)
    stock = _lock(_stock_for(location, variant).id)
    if lot_no is not None:
        lot = _lot_for(stock, _norm_lot(lot_no), None, create=counted > 0)
    else:
        lots = [lot for lot in _lots(stock.id) if lot.on_hand > 0]
        if len(lots) > 1:
            raise invalid("lot_no", "kho có nhiều lô: hãy ghi số lô khi kiểm kê",
                          "the stock holds several lots: give the lot number", code="stock.lot_required")
        lot = lots[0] if lots else _lot_for(stock, NO_LOT, None)
    if counted < lot.allocated:
        raise DomainError("stock.below_allocated", "Số đếm thấp hơn số đã giữ cho đơn hàng.",
                          "The count is below the quantity allocated to orders.",
                          {"counted": counted, "allocated": lot.allocated}, status=409)
    delta = counted - lot.on_hand
    movements = []
    if delta:
        _apply(stock, lot, d_on_hand=delta)
        movements.append(_record(stock, lot, "count", delta, actor=actor, reason=reason))
        _touch(variant)
    return movements


def transfer(from_location, to_location, variant, quantity: int, *, actor, reason: str,
             lot_no: str | None = None, reference: str | None = None) -> list[StockMovement]:
    """Move free stock between locations (FEFO, or one named lot), keeping lot numbers and dates. Does not commit.

    Writes ``transfer_out`` at the source and ``transfer_in`` at the
    destination per lot, linked by ``reference`` (generated when omitted).
    """
    source, target, variant = resolve_location(from_location), resolve_location(to_location), resolve_variant(variant)
    _positive("quantity", quantity)
    if source.id == target.id:
        raise invalid("to_location_id", "kho nhận phải khác kho gửi", "destination must differ from the source")
    check_stockable(source, variant)
    check_stockable(target, variant)
    reference = reference or f"transfer:{uuid.uuid4().hex[:12]}"
    src_id, dst_id = _stock_for(source, variant).id, _stock_for(target, variant).id
    locked = _lock_many([src_id, dst_id])
    src, dst = locked[src_id], locked[dst_id]
    outs = _remove_free(src, variant, quantity, lot_no, include_expired=True, kind="transfer_out",
                        actor=actor, reason=reason, reference=reference)
    movements = list(outs)
    for out in outs:
        lot = db.session.get(StockLot, out.lot_id)
        dest_lot = _lot_for(dst, lot.lot_no, lot.best_before)
        _apply(dst, dest_lot, d_on_hand=-out.quantity)
        movements.append(_record(dst, dest_lot, "transfer_in", -out.quantity, actor=actor, reason=reason,
                                 reference=reference))
    _touch(variant)
    return movements


def sell_now(location, variant, quantity: int, *, reference: str | None, actor,
             reason: str | None = None) -> list[StockMovement]:
    """Counter sale at a location: take free stock off on hand FEFO by lot, without allocation. Does not commit."""
    location, variant = resolve_location(location), resolve_variant(variant)
    _positive("quantity", quantity)
    check_stockable(location, variant)
    stock = _find_stock(location.id, variant.id)
    if stock is None:
        raise insufficient(variant, quantity, 0, location.id)
    stock = _lock(stock.id)
    movements = _remove_free(stock, variant, quantity, None, include_expired=False, kind="sale",
                             actor=actor, reason=reason, reference=reference)
    _touch(variant)
    return movements


# --- allocation ----------------------------------------------------------------
def _allocate_at(stock: Stock, variant: Variant, quantity: int, reference: str, actor,
                 lots: list[StockLot] | None = None) -> list[Allocation] | None:
    """Allocate on a locked stock (``lots``: its lots in FEFO order, read after the lock); None when too little."""
    picked, got = _fefo(_lots(stock.id) if lots is None else lots, quantity, include_expired=False)
    if got < quantity:
        return None
    result = []
    for lot, qty in picked:
        _apply(stock, lot, d_allocated=qty)
        _record(stock, lot, "allocation", qty, actor=actor, reason=None, reference=reference)
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
    _positive("quantity", quantity)
    if not reference:
        raise invalid("reference", "thiếu tham chiếu", "reference is required")
    if variant.is_service:
        raise DomainError("stock.not_stocked", "Dịch vụ không quản lý tồn kho.",
                          "Services have no stock.", {"variant": variant.id}, status=422)
    if location is not None:
        location = resolve_location(location)
        check_stockable(location, variant)
        stock = _find_stock(location.id, variant.id)
        if stock is None:
            raise insufficient(variant, quantity, 0, location.id)
        stock = _lock(stock.id)
        allocations = _allocate_at(stock, variant, quantity, reference, actor)
        if allocations is None:
            _, got = _fefo(_lots(stock.id), quantity, include_expired=False)
            raise insufficient(variant, quantity, got, location.id)
        _touch_if_emptied(variant, stock)
        return allocations

    producer_id = variant.product.producer_id  # loaded with the variant by callers (identity map otherwise)
    allocations = _allocate_fast(variant, producer_id, quantity, reference, actor)
    if allocations is not None:
        _touch_if_emptied(variant, db.session.get(Stock, allocations[0].stock_id))  # locked, in the identity map
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
        stock = _lock(stock_id)  # the figures may have moved since the candidate query
        allocations = _allocate_at(stock, variant, quantity, reference, actor)
        if allocations is not None:
            _touch_if_emptied(variant, stock)
            return allocations
        best = max(best, _fefo(_lots(stock.id), quantity, include_expired=False)[1])
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
    stocks = _lock_many(s for _, s, _ in wanted)
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
            _apply(stock, lot, d_allocated=-qty)
            movements.append(_record(stock, lot, "release", -qty, actor=actor, reason=reason, reference=reference))
            variants.add(stock.variant_id)
    for variant_id in variants:
        _touch(db.session.get(Variant, variant_id))
    return movements


def deduct_allocated(variant, quantity: int, location, *, reference: str, actor,
                     reason: str | None = None) -> list[StockMovement]:
    """Fulfilment: ship ``quantity`` allocated under ``reference`` at ``location``. Does not commit.

    Per lot (FEFO among the reference's allocated lots): a ``release``
    movement (allocated −q) and a ``sale`` movement (on hand −q). Raises
    ``stock.not_allocated`` (409) when less than ``quantity`` is allocated.
    """
    variant, location = resolve_variant(variant), resolve_location(location)
    _positive("quantity", quantity)
    stock = _find_stock(location.id, variant.id)
    outstanding = {}
    if stock is not None:
        stock = _lock(stock.id)
        outstanding = {lot: q for (_, lot), q in _outstanding(reference, [stock.id]).items()}
    total = sum(outstanding.values())
    if total < quantity:
        raise DomainError("stock.not_allocated", "Số lượng giao vượt quá số đã giữ cho đơn hàng.",
                          "More than the allocated quantity would be shipped.",
                          {"variant": variant.id, "reference": reference, "requested": quantity,
                           "allocated": total}, status=409)
    need, movements = quantity, []
    for lot in _lots(stock.id):
        if need == 0:
            break
        qty = min(outstanding.get(lot.id, 0), need)
        if qty <= 0:
            continue
        _apply(stock, lot, d_on_hand=-qty, d_allocated=-qty)
        movements.append(_record(stock, lot, "release", -qty, actor=actor, reason=reason or "fulfilment",
                                 reference=reference))
        movements.append(_record(stock, lot, "sale", -qty, actor=actor, reason=reason, reference=reference))
        need -= qty
    _touch(variant)
    return movements


# --- reading -------------------------------------------------------------------
def stock_level(variant, location=None, *, kinds: Iterable[str] | None = None) -> dict:
    """``{variant, on_hand, allocated, available}`` at ``location``, or summed over active locations (of ``kinds``)."""
    variant = resolve_variant(variant)
    stmt = (select(func.coalesce(func.sum(Stock.on_hand), 0), func.coalesce(func.sum(Stock.allocated), 0))
            .join(StockLocation, StockLocation.id == Stock.location_id).where(Stock.variant_id == variant.id))
    if location is not None:
        stmt = stmt.where(Stock.location_id == resolve_location(location).id)
    else:
        stmt = stmt.where(StockLocation.active.is_(True))
        if kinds:
            stmt = stmt.where(StockLocation.kind.in_(list(kinds)))
    on_hand, allocated = db.session.execute(stmt).one()
    return {"variant": variant.id, "on_hand": int(on_hand), "allocated": int(allocated),
            "available": int(on_hand) - int(allocated)}


def verify_ledger() -> list[dict]:
    """Mismatches between figures and ledger (empty list = consistent).

    Checks every Stock and StockLot against the sum of its movements
    (on-hand kinds → ``on_hand``, allocation kinds → ``allocated``), that the
    lots of each stock sum to its figures, and that each movement's lot
    belongs to its stock.
    """
    m = StockMovement
    on_hand_sum = func.coalesce(func.sum(case((m.kind.in_(ON_HAND_KINDS), m.quantity), else_=0)), 0)
    alloc_sum = func.coalesce(func.sum(case((m.kind.in_(ALLOCATION_KINDS), m.quantity), else_=0)), 0)
    problems = []
    by_stock = dict(((sid, (int(a), int(b))) for sid, a, b in db.session.execute(
        select(m.stock_id, on_hand_sum, alloc_sum).group_by(m.stock_id))))
    by_lot = dict(((lid, (int(a), int(b))) for lid, a, b in db.session.execute(
        select(m.lot_id, on_hand_sum, alloc_sum).group_by(m.lot_id))))
    lot_sums = dict(((sid, (int(a), int(b))) for sid, a, b in db.session.execute(
        select(StockLot.stock_id, func.sum(StockLot.on_hand), func.sum(StockLot.allocated))
        .group_by(StockLot.stock_id))))
    for sid, on_hand, allocated in db.session.execute(select(Stock.id, Stock.on_hand, Stock.allocated)):
        ledger = by_stock.get(sid, (0, 0))
        if (on_hand, allocated) != ledger:
            problems.append({"check": "stock_vs_ledger", "stock": sid, "figures": [on_hand, allocated],
                             "ledger": list(ledger)})
        lots = lot_sums.get(sid, (0, 0))
        if (on_hand, allocated) != lots:
            problems.append({"check": "stock_vs_lots", "stock": sid, "figures": [on_hand, allocated],
                             "lots": list(lots)})
        if not 0 <= allocated <= on_hand:
            problems.append({"check": "allocated_within_on_hand", "stock": sid, "figures": [on_hand, allocated]})
    for lid, on_hand, allocated in db.session.execute(select(StockLot.id, StockLot.on_hand, StockLot.allocated)):
        ledger = by_lot.get(lid, (0, 0))
        if (on_hand, allocated) != ledger:
            problems.append({"check": "lot_vs_ledger", "lot": lid, "figures": [on_hand, allocated],
                             "ledger": list(ledger)})
    stray = db.session.execute(select(m.id).join(StockLot, StockLot.id == m.lot_id)
                               .where(StockLot.stock_id != m.stock_id)).scalars().all()
    stray += db.session.execute(select(m.id).where(m.lot_id.is_(None))).scalars().all()
    for mid in stray:
        problems.append({"check": "movement_lot", "movement": mid})
    return problems


