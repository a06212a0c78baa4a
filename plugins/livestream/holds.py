"""Stock held for a live session: core allocations under ``livestream:<session id>:<variant id>``.

A showcase variant's ``hold_quantity`` is reserved from its producer's warehouse while the session
is live, less what confirmed orders took; everything still held is released when the session ends.
"""
from __future__ import annotations

from sqlalchemy import func, select

from core.db import db
from core.errors import DomainError
from core.inventory import ledger
from core.inventory.models import ALLOCATION_KINDS, StockMovement
from plugins.livestream.models import DraftOrder


def reference(session_id: int, variant_id: int) -> str:
    """The ledger reference of a session's hold on one variant."""
    return f"livestream:{session_id}:{variant_id}"


def held(session_id: int, variant_id: int) -> int:
    """What the ledger still holds for the session on ``variant_id``."""
    total = db.session.execute(select(func.coalesce(func.sum(StockMovement.quantity), 0))
                               .where(StockMovement.reference == reference(session_id, variant_id),
                                      StockMovement.kind.in_(ALLOCATION_KINDS))).scalar_one()
    return max(int(total), 0)


def _ordered(session_id: int, variant_sku: str) -> int:
    drafts = db.session.execute(select(DraftOrder.lines).where(DraftOrder.session_id == session_id,
                                                               DraftOrder.status == "confirmed")).scalars()
    return sum(line["quantity"] for lines in drafts for line in lines if line.get("variant_sku") == variant_sku)


def top_up(session, offered, actor=None) -> int:
    """Bring the hold on one showcase variant to ``hold_quantity`` less confirmed orders; returns what is held.

    Holds only while the session is live; a shortfall of free stock holds what there is.
    """
    if session.status != "live" or offered.variant.is_service:
        return 0
    target = max(offered.hold_quantity - _ordered(session.id, offered.variant.sku), 0)
    ref, current = reference(session.id, offered.variant_id), held(session.id, offered.variant_id)
    if current > target:
        ledger.release(ref, actor=actor, reason="livestream hold")
        current = 0
    missing = target - current
    while missing > 0:
        try:
            ledger.allocate(offered.variant, missing, reference=ref, actor=actor)
            break
        except DomainError as error:  # stock.insufficient: hold what is free
            available = (error.details or {}).get("available") or 0
            if error.code != "stock.insufficient" or available <= 0 or available >= missing:
                break
            missing = available
    return held(session.id, offered.variant_id)


def release(session, variant_id: int, actor=None) -> None:
    """Let go of the hold on one variant (before an order takes that stock)."""
    ledger.release(reference(session.id, variant_id), actor=actor, reason="livestream hold")


def hold_all(session, actor=None) -> None:
    for item in session.items:
        for offered in item.variants:
            top_up(session, offered, actor)


def release_all(session, actor=None) -> None:
    for item in session.items:
        for offered in item.variants:
            release(session, offered.variant_id, actor)
