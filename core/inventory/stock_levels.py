"""Reading stock: levels per variant (and location), and the check that every figure equals its ledger."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import case, func, select

from core.db import db
from core.inventory.models import ALLOCATION_KINDS, ON_HAND_KINDS, Stock, StockLocation, StockLot, StockMovement
from core.inventory.stock_rows import resolve_location, resolve_variant


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
