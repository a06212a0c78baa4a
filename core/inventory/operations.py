"""Stock operations on behalf of a user (admin API): permission check, then one ledger verb."""
from __future__ import annotations



from core.db import commit, db
from core.inventory import ledger, locations
from core.accounts.models import User
from core.inventory.models import StockLocation, StockMovement


# --- committing wrappers for the admin API -------------------------------------------
def _run(operation, *args, **kwargs):
    """Run a stock operation and commit; roll back on any error so nothing is half-written."""
    try:
        result = operation(*args, **kwargs)
        commit()
        return result
    except Exception:
        db.session.rollback()
        raise


def _accessible(user: User, location_id: int) -> StockLocation:
    location = ledger.resolve_location(location_id)
    locations.require_location_access(user, location)
    return location


def receive_for(user: User, data: dict) -> list[StockMovement]:
    """Admin receipt (or customer return) into a location in the caller's scope. Commits."""
    location = _accessible(user, data["location_id"])
    return _run(ledger.receive, location, data["variant_id"], data["quantity"], actor=user, reason=data.get("reason"),
                reference=data.get("reference"), lot_no=data.get("lot_no"), best_before=data.get("best_before"),
                kind=data.get("kind", "receipt"))


def adjust_for(user: User, data: dict) -> list[StockMovement]:
    """Admin adjustment at a location in the caller's scope. Commits."""
    location = _accessible(user, data["location_id"])
    return _run(ledger.adjust, location, data["variant_id"], data["delta"], actor=user, reason=data["reason"],
                lot_no=data.get("lot_no"))


def count_for(user: User, data: dict) -> list[StockMovement]:
    """Admin stock count at a location in the caller's scope. Commits."""
    location = _accessible(user, data["location_id"])
    return _run(ledger.count, location, data["variant_id"], data["counted"], actor=user, reason=data["reason"],
                lot_no=data.get("lot_no"))


def transfer_for(user: User, data: dict) -> list[StockMovement]:
    """Admin transfer. The caller must manage the source; the destination must be theirs or a shared
    location (one without a producer, e.g. a sales point or fair booth). Commits."""
    source = _accessible(user, data["from_location_id"])
    target = ledger.resolve_location(data["to_location_id"])
    if not locations.can_manage_location(user, target) and target.producer_id is not None:
        locations.require_location_access(user, target)
    return _run(ledger.transfer, source, target, data["variant_id"], data["quantity"], actor=user, reason=data["reason"],
                lot_no=data.get("lot_no"))
