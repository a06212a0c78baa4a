"""The inventory ledger's verbs: receive, adjust, count, transfer, sell now, allocate, release, deduct.

Every change appends :class:`~core.inventory.models.StockMovement` rows and fires ``stock_changed`` after
commit; no verb commits. Allocation lives in :mod:`~core.inventory.allocation`, reading in
:mod:`~core.inventory.stock_levels`, the row-level building blocks (locks, lots, FEFO) in
:mod:`~core.inventory.stock_rows`; this module names every verb in one place.
"""
from __future__ import annotations

import datetime as dt
import uuid

from core import clock
from core.db import db
from core.errors import DomainError, invalid
from core.catalogue.models import Variant
from core.inventory.allocation import Allocation, allocate, deduct_allocated, release
from core.inventory.models import NO_LOT, Stock, StockLot, StockMovement
from core.inventory.stock_levels import stock_level, verify_ledger
from core.inventory.stock_rows import (ONLINE_STORE, PRODUCER_WAREHOUSE, announce_stock_change, apply_change,
                                       change_and_record,
                                       check_stockable, find_stock, insufficient, lock_stock, lock_stocks, lot_for,
                                       lot_key, lots_in_fefo_order, pick_free, record_movement, require_positive,
                                       resolve_location, resolve_variant, stock_for)

__all__ = ["ONLINE_STORE", "PRODUCER_WAREHOUSE", "RECEIPT_KINDS", "Allocation", "adjust", "allocate",
           "check_stockable", "count", "deduct_allocated", "insufficient", "pick_fefo", "receive", "release",
           "resolve_location", "resolve_variant", "sell_now", "stock_level", "transfer", "verify_ledger"]

RECEIPT_KINDS = ("receipt", "return")


def pick_fefo(location, variant, quantity: int, *, include_expired: bool = False) -> list[tuple[StockLot, int]]:
    """First-expiry-first-out: ``[(lot, qty), …]`` covering ``quantity`` from free (unallocated) stock.

    Lots are taken earliest best-before first, lots without a date last,
    oldest lot first among equals; expired lots are skipped unless
    ``include_expired``. Reads only — call it after locking the stock (as the
    writing operations here do) when the answer will be acted on. Raises
    ``stock.insufficient`` (409) when the free quantity is too small.
    """
    location, variant = resolve_location(location), resolve_variant(variant)
    require_positive("quantity", quantity)
    stock = find_stock(location.id, variant.id)
    if stock is None:
        raise insufficient(variant, quantity, 0, location.id)
    picked, got = pick_free(lots_in_fefo_order(stock.id), quantity, include_expired=include_expired)
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
    require_positive("quantity", quantity)
    if kind not in RECEIPT_KINDS:
        raise invalid("kind", "loại nhập kho phải là receipt hoặc return", "kind must be receipt or return")
    check_stockable(location, variant)
    if best_before is not None and kind == "receipt" and best_before < clock.today():
        raise DomainError("stock.best_before_past", "Hạn sử dụng đã qua, không thể nhập kho.",
                          "The best-before date is in the past; the goods cannot be received.",
                          {"best_before": best_before.isoformat()}, status=422)
    stock = lock_stock(stock_for(location, variant).id)
    lot = lot_for(stock, lot_key(lot_no, best_before), best_before)
    movement = change_and_record(stock, lot, kind, quantity, d_on_hand=quantity, actor=actor, reason=reason,
                                 reference=reference)
    announce_stock_change(variant)
    return [movement]


def _remove_free(stock: Stock, variant: Variant, quantity: int, lot_no: str | None, *, include_expired: bool,
                 kind: str, actor, reason, reference) -> list[StockMovement]:
    """Take ``quantity`` of free stock (a named lot, or FEFO) off on hand with ``kind`` movements."""
    if lot_no is not None:
        lot = lot_for(stock, lot_key(lot_no), None, create=False)
        if lot.available < quantity:
            raise insufficient(variant, quantity, lot.available, stock.location_id)
        picked = [(lot, quantity)]
    else:
        picked, got = pick_free(lots_in_fefo_order(stock.id), quantity, include_expired=include_expired)
        if got < quantity:
            raise insufficient(variant, quantity, got, stock.location_id)
    movements = []
    for lot, qty in picked:
        movements.append(change_and_record(stock, lot, kind, -qty, d_on_hand=-qty, actor=actor, reason=reason,
                                           reference=reference))
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
    stock = lock_stock(stock_for(location, variant).id)
    if delta > 0:
        lot = lot_for(stock, lot_key(lot_no), None)
        apply_change(stock, lot, d_on_hand=delta)
        movements = [record_movement(stock, lot, "adjustment", delta, actor=actor, reason=reason)]
    else:
        if stock.on_hand + delta < 0:
            raise DomainError("stock.negative", "Tồn kho không thể âm.", "Stock on hand cannot become negative.",
                              {"variant": variant.id, "on_hand": stock.on_hand, "delta": delta}, status=422)
        movements = _remove_free(stock, variant, -delta, lot_no, include_expired=True, kind="adjustment",
                                 actor=actor, reason=reason, reference=None)
    announce_stock_change(variant)
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
    stock = lock_stock(stock_for(location, variant).id)
    if lot_no is not None:
        lot = lot_for(stock, lot_key(lot_no), None, create=counted > 0)
    else:
        lots = [lot for lot in lots_in_fefo_order(stock.id) if lot.on_hand > 0]
        if len(lots) > 1:
            raise invalid("lot_no", "kho có nhiều lô: hãy ghi số lô khi kiểm kê",
                          "the stock holds several lots: give the lot number", code="stock.lot_required")
        lot = lots[0] if lots else lot_for(stock, NO_LOT, None)
    if counted < lot.allocated:
        raise DomainError("stock.below_allocated", "Số đếm thấp hơn số đã giữ cho đơn hàng.",
                          "The count is below the quantity allocated to orders.",
                          {"counted": counted, "allocated": lot.allocated}, status=409)
    delta = counted - lot.on_hand
    movements = []
    if delta:
        apply_change(stock, lot, d_on_hand=delta)
        movements.append(record_movement(stock, lot, "count", delta, actor=actor, reason=reason))
        announce_stock_change(variant)
    return movements


def transfer(from_location, to_location, variant, quantity: int, *, actor, reason: str,
             lot_no: str | None = None, reference: str | None = None) -> list[StockMovement]:
    """Move free stock between locations (FEFO, or one named lot), keeping lot numbers and dates. Does not commit.

    Writes ``transfer_out`` at the source and ``transfer_in`` at the
    destination per lot, linked by ``reference`` (generated when omitted).
    """
    source, target, variant = resolve_location(from_location), resolve_location(to_location), resolve_variant(variant)
    require_positive("quantity", quantity)
    if source.id == target.id:
        raise invalid("to_location_id", "kho nhận phải khác kho gửi", "destination must differ from the source")
    check_stockable(source, variant)
    check_stockable(target, variant)
    reference = reference or f"transfer:{uuid.uuid4().hex[:12]}"
    src_id, dst_id = stock_for(source, variant).id, stock_for(target, variant).id
    locked = lock_stocks([src_id, dst_id])
    src, dst = locked[src_id], locked[dst_id]
    outs = _remove_free(src, variant, quantity, lot_no, include_expired=True, kind="transfer_out",
                        actor=actor, reason=reason, reference=reference)
    movements = list(outs)
    for out in outs:
        lot = db.session.get(StockLot, out.lot_id)
        dest_lot = lot_for(dst, lot.lot_no, lot.best_before)
        apply_change(dst, dest_lot, d_on_hand=-out.quantity)
        movements.append(record_movement(dst, dest_lot, "transfer_in", -out.quantity, actor=actor, reason=reason,
                                 reference=reference))
    announce_stock_change(variant)
    return movements


def sell_now(location, variant, quantity: int, *, reference: str | None, actor,
             reason: str | None = None) -> list[StockMovement]:
    """Counter sale at a location: take free stock off on hand FEFO by lot, without allocation. Does not commit."""
    location, variant = resolve_location(location), resolve_variant(variant)
    require_positive("quantity", quantity)
    check_stockable(location, variant)
    stock = find_stock(location.id, variant.id)
    if stock is None:
        raise insufficient(variant, quantity, 0, location.id)
    stock = lock_stock(stock.id)
    movements = _remove_free(stock, variant, quantity, None, include_expired=False, kind="sale",
                             actor=actor, reason=reason, reference=reference)
    announce_stock_change(variant)
    return movements
