"""Stock operations on behalf of a user (admin API): the permission check, then one ledger verb (flushes only)."""
from __future__ import annotations

from core.accounts.models import User
from core.plugins import plugin_manager
from core.inventory import ledger
from core.inventory.access import require_own_goods, require_posting, require_transfer_target
from core.inventory.models import StockLocation, StockMovement


def _accessible(user: User, location_id: int, variant_id) -> StockLocation:
    """The location, once ``user`` may post there (its kind's rule) and book this variant."""
    location = ledger.resolve_location(location_id)
    require_posting(user, location)
    require_own_goods(user, ledger.resolve_variant(variant_id))
    return location


def receive_for(user: User, data: dict) -> list[StockMovement]:
    """Admin receipt (or customer return) into a location in the caller's scope."""
    location = _accessible(user, data["location_id"], data["variant_id"])
    return ledger.receive(location, data["variant_id"], data["quantity"], actor=user, reason=data.get("reason"),
                          reference=data.get("reference"), lot_no=data.get("lot_no"),
                          best_before=data.get("best_before"), kind=data.get("kind", "receipt"))


def adjust_for(user: User, data: dict) -> list[StockMovement]:
    """Admin adjustment at a location in the caller's scope."""
    location = _accessible(user, data["location_id"], data["variant_id"])
    return ledger.adjust(location, data["variant_id"], data["delta"], actor=user, reason=data["reason"],
                         lot_no=data.get("lot_no"))


def count_for(user: User, data: dict) -> list[StockMovement]:
    """Admin stock count at a location in the caller's scope."""
    location = _accessible(user, data["location_id"], data["variant_id"])
    return ledger.count(location, data["variant_id"], data["counted"], actor=user, reason=data["reason"],
                        lot_no=data.get("lot_no"))


def transfer_for(user: User, data: dict) -> list[StockMovement]:
    """Admin transfer. The caller must manage the source; the destination must be theirs or a shared
    location (one without a producer, e.g. a sales point or fair booth)."""
    source = _accessible(user, data["from_location_id"], data["variant_id"])
    target = ledger.resolve_location(data["to_location_id"])
    require_transfer_target(user, target)
    if plugin_manager().stock_location_kinds.posting_rule(target.kind) is not None:
        require_posting(user, target)
    return ledger.transfer(source, target, data["variant_id"], data["quantity"], actor=user, reason=data["reason"],
                           lot_no=data.get("lot_no"))
