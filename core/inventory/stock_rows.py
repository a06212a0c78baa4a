"""Stock and lot rows of the inventory ledger: lookup, locks, conditional updates, movement rows, FEFO.

The building blocks of the verbs in :mod:`core.inventory.ledger` and
:mod:`core.inventory.allocation`; nothing else should touch stock rows.

Lots
    Every stock quantity lives in a :class:`~core.inventory.models.StockLot`.
    Goods received without a lot number go to the stock's unnamed lot
    (``lot_no`` ``""``, shown as null); goods received without a lot number
    but with a best-before date go to the synthetic lot ``BB-<date>``.

FEFO
    :func:`pick_free` picks free quantity (on hand − allocated) lot by lot,
    earliest best-before first, lots without a date last, oldest lot first
    among equals. Expired lots (best-before before today) are never allocated
    or sold; they can still be adjusted, counted or transferred away.

Locks
    Every operation first locks the Stock rows it touches: on PostgreSQL
    ``SELECT … FOR UPDATE`` (rows are locked in id order within one call); on
    SQLite a no-op ``UPDATE`` which takes the database write lock (writers
    serialise). Figures are then changed by *conditional* UPDATEs (``… WHERE
    on_hand - allocated >= :q``) whose row count is checked, so even a caller
    that forgot a lock cannot oversell; CHECK constraints are the last line.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import Integer, String, bindparam, select, text, update
from sqlalchemy.orm import attributes

from core import clock
from core.catalogue.models import Variant
from core.db import (add_as_loaded, db, insert_ignoring_conflicts, is_postgres, keep_loaded, on_commit, publish,
                     utcnow)
from core.errors import Conflict, DomainError, NotFound, invalid
from core.inventory.models import MOVEMENT_KINDS, Stock, StockLocation, StockLot, StockMovement
from core.plugins import hooks

PRODUCER_WAREHOUSE = "producer_warehouse"
ONLINE_STORE = "online_store"


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


def require_positive(field: str, value) -> int:
    """``value`` when it is a positive integer; 422 ``validation.invalid`` on ``field`` otherwise."""
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


def lot_key(lot_no: str | None, best_before: dt.date | None = None) -> str:
    """The stored lot number: the given one, ``BB-<date>`` for a dated unnamed lot, else ``""``."""
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
def find_stock(location_id: int, variant_id: int) -> Stock | None:
    """The Stock row of a variant at a location, or None (not locked)."""
    return db.session.execute(select(Stock).where(Stock.location_id == location_id,
                                                  Stock.variant_id == variant_id)).scalar_one_or_none()


def stock_for(location: StockLocation, variant: Variant) -> Stock:
    """The Stock row of ``variant`` at ``location``, created (race-safely) when missing."""
    stock = find_stock(location.id, variant.id)
    if stock is None:
        table = Stock.__table__
        db.session.execute(insert_ignoring_conflicts(table).values(variant_id=variant.id, location_id=location.id, on_hand=0,
                                                 allocated=0, updated_at=utcnow())
                           .on_conflict_do_nothing(index_elements=["variant_id", "location_id"]))
        stock = find_stock(location.id, variant.id)
    return stock


def lock_stock(stock_id: int) -> Stock:
    """Lock a Stock row until the transaction ends and return it with fresh figures."""
    if is_postgres():
        stmt = select(Stock).where(Stock.id == stock_id).with_for_update()
    else:
        table = Stock.__table__
        db.session.execute(update(table).where(table.c.id == stock_id).values(on_hand=table.c.on_hand))
        stmt = select(Stock).where(Stock.id == stock_id)
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()


def lock_stocks(stock_ids: Iterable[int]) -> dict[int, Stock]:
    """Lock several Stock rows in ascending id order (no lock-order deadlocks); ``{id: stock}``."""
    return {sid: lock_stock(sid) for sid in sorted(set(stock_ids))}


def lots_in_fefo_order(stock_id: int) -> list[StockLot]:
    """Lots of a stock in FEFO order (earliest best-before first, undated last), fresh from the database."""
    stmt = (select(StockLot).where(StockLot.stock_id == stock_id)
            .order_by(StockLot.best_before.is_(None), StockLot.best_before, StockLot.id)
            .execution_options(populate_existing=True))
    return list(db.session.execute(stmt).scalars())


def lot_for(stock: Stock, lot_no: str, best_before: dt.date | None, create: bool = True) -> StockLot | None:
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


# PostgreSQL: the conditional UPDATEs of a stock row and one of its lots, as CTE parts (the lot is only changed
# if the stock was); fewer round trips while the stock row is locked means a shorter hold on a hot row.
_STOCK_CHANGE = ("UPDATE stock SET on_hand = on_hand + :d_on_hand, allocated = allocated + :d_allocated, "
                 "updated_at = :now WHERE id = :stock_id AND on_hand + :d_on_hand >= 0 "
                 "AND allocated + :d_allocated >= 0 AND (on_hand + :d_on_hand) - (allocated + :d_allocated) >= 0 "
                 "RETURNING id")
_LOT_CHANGE = ("UPDATE stock_lot SET on_hand = on_hand + :d_on_hand, allocated = allocated + :d_allocated "
               "WHERE id = :lot_id AND on_hand + :d_on_hand >= 0 AND allocated + :d_allocated >= 0 "
               "AND (on_hand + :d_on_hand) - (allocated + :d_allocated) >= 0 AND EXISTS (SELECT 1 FROM s)")
_CHANGE_PARAMS = (bindparam("now", type_=Stock.__table__.c.updated_at.type), bindparam("stock_id", type_=Integer),
                  bindparam("lot_id", type_=Integer), bindparam("d_on_hand", type_=Integer),
                  bindparam("d_allocated", type_=Integer))
_UPDATE_BOTH_PG = text(f"WITH s AS ({_STOCK_CHANGE}) {_LOT_CHANGE}").bindparams(*_CHANGE_PARAMS)


def _refused(stock: Stock, lot: StockLot, d_on_hand: int, d_allocated: int):
    """The ``stock.insufficient`` error of a conditional change that matched no row."""
    variant = db.session.get(Variant, stock.variant_id)
    free = min(stock.on_hand - stock.allocated, lot.on_hand - lot.allocated)
    return insufficient(variant, abs(d_on_hand or d_allocated), free, stock.location_id)


def _follow(objs, d_on_hand: int, d_allocated: int) -> None:
    """We hold the row locks, so the in-memory figures can follow without a re-read."""
    for obj in objs:
        attributes.set_committed_value(obj, "on_hand", obj.on_hand + d_on_hand)
        attributes.set_committed_value(obj, "allocated", obj.allocated + d_allocated)


def apply_change(stock: Stock, lot: StockLot, d_on_hand: int = 0, d_allocated: int = 0) -> None:
    """Conditional UPDATE of a stock and one of its lots; refuses anything breaking 0 ≤ allocated ≤ on hand.

    A refusal raises ``stock.insufficient``; the caller must roll back (the stock row may have changed).
    """
    if is_postgres():
        result = db.session.execute(_UPDATE_BOTH_PG, {"stock_id": stock.id, "lot_id": lot.id, "now": utcnow(),
                                                      "d_on_hand": d_on_hand, "d_allocated": d_allocated})
        if result.rowcount != 1:
            raise _refused(stock, lot, d_on_hand, d_allocated)
        _follow((stock, lot), d_on_hand, d_allocated)
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
        _follow((obj,), d_on_hand, d_allocated)


# one INSERT per movement, written at once (the unit of work cost more than the statement on the checkout path)
_INSERT_MOVEMENT = StockMovement.__table__.insert().returning(StockMovement.__table__.c.id)


# PostgreSQL: the conditional UPDATEs of stock and lot and the ledger INSERT in ONE round trip (the movement is
# only written if both rows changed): the hot stock row is held for one statement less per line.
_CHANGE_AND_RECORD_PG = text(
    f"WITH s AS ({_STOCK_CHANGE}), l AS ({_LOT_CHANGE} RETURNING id) "
    "INSERT INTO stock_movement (stock_id, lot_id, kind, quantity, actor_id, reason, reference, created_at) "
    "SELECT :stock_id, l.id, :kind, :quantity, :actor_id, :reason, :reference, :now FROM l RETURNING id"
).bindparams(*_CHANGE_PARAMS, bindparam("kind", type_=String), bindparam("quantity", type_=Integer),
             bindparam("actor_id", type_=Integer), bindparam("reason", type_=String),
             bindparam("reference", type_=String))


def change_and_record(stock: Stock, lot: StockLot, kind: str, quantity: int, *, d_on_hand: int = 0,
                      d_allocated: int = 0, actor=None, reason=None, reference=None) -> StockMovement:
    """:func:`apply_change` then :func:`record_movement`, in one statement on PostgreSQL (same guarantees)."""
    if not is_postgres():
        apply_change(stock, lot, d_on_hand=d_on_hand, d_allocated=d_allocated)
        return record_movement(stock, lot, kind, quantity, actor=actor, reason=reason, reference=reference)
    assert kind in MOVEMENT_KINDS and quantity != 0
    values = {"stock_id": stock.id, "lot_id": lot.id, "kind": kind, "quantity": quantity,
              "actor_id": _actor_id(actor), "reason": reason, "reference": reference, "created_at": utcnow()}
    params = {key: value for key, value in values.items() if key != "created_at"}
    movement_id = db.session.execute(_CHANGE_AND_RECORD_PG, {**params, "now": values["created_at"],
                                                             "d_on_hand": d_on_hand, "d_allocated": d_allocated}
                                     ).scalar()
    if movement_id is None:
        raise _refused(stock, lot, d_on_hand, d_allocated)
    _follow((stock, lot), d_on_hand, d_allocated)
    return _movement_written(stock, lot, movement_id, values)


def record_movement(stock: Stock, lot: StockLot, kind: str, quantity: int, *, actor=None, reason=None,
                    reference=None) -> StockMovement:
    """Append a ledger row and queue the after-commit ``stock_changed`` hook."""
    assert kind in MOVEMENT_KINDS and quantity != 0
    values = {"stock_id": stock.id, "lot_id": lot.id, "kind": kind, "quantity": quantity,
              "actor_id": _actor_id(actor), "reason": reason, "reference": reference, "created_at": utcnow()}
    movement_id = db.session.execute(_INSERT_MOVEMENT, values).scalar_one()
    return _movement_written(stock, lot, movement_id, values)


def _movement_written(stock: Stock, lot: StockLot, movement_id: int, values: dict) -> StockMovement:
    """The ORM object of a ledger row just written, with the after-commit ``stock_changed`` hook queued."""
    movement = add_as_loaded(StockMovement, {"id": movement_id, **values})
    attributes.set_committed_value(movement, "stock", stock)
    attributes.set_committed_value(movement, "lot", lot)

    def fire(stock=stock, movement=movement):
        hooks().stock_changed(stock=stock, movement=movement)
    on_commit(fire)
    keep_loaded(stock, movement)  # the hook reads them as committed, without a query
    return movement


def announce_stock_change(variant: Variant) -> None:
    """Tell subscribers (the search outbox) that the variant's stock changed, inside the transaction."""
    publish("inventory.stock_changed", variant=variant, reason="stock")


def announce_if_emptied(variant: Variant, stock: Stock) -> None:
    """After an allocation from ``stock``: only emptying it can change whether the variant is in stock."""
    if stock.on_hand - stock.allocated <= 0:
        announce_stock_change(variant)



# --- FEFO ----------------------------------------------------------------------
def pick_free(lots: list[StockLot], quantity: int, *, include_expired: bool) -> tuple[list[tuple[StockLot, int]], int]:
    """FEFO over ``lots`` (already in FEFO order): ``(picked [(lot, qty)…], quantity got)``; got < quantity when short."""
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
