"""Who may see or change which stock locations (object-level checks used by every inventory service).

* ``admin``: every location.
* ``organiser``: locations in their province.
* ``producer``: once verified, their own producer's warehouses, holding only their own
  products; they may also transfer out to a shared location (one without a producer).

Postings into a location of a kind a plugin registered (a sales point) follow that kind's
own rule (:meth:`core.plugins.KindRegistry.posting_rule`), through the core stock API too.
Shoppers pick up only at verified producers' warehouses or shared locations, which only an
organiser or admin can create (:func:`pickup_points_clause`).
"""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from core.accounts.models import User
from core.catalogue.access import require_verified_producer_user
from core.catalogue.models import Producer, Variant
from core.errors import Forbidden
from core.inventory.models import StockLocation
from core.plugins import plugin_manager

PRODUCER_WAREHOUSE = "producer_warehouse"


def can_manage_location(user: User, location: StockLocation) -> bool:
    """admin: all; organiser: locations in their province; producer: their own producer's locations."""
    if user.role == "admin":
        return True
    if user.role == "organiser":
        return location.province_code is not None and location.province_code == user.province_code
    if user.role == "producer":
        return location.producer_id is not None and location.producer_id == user.producer_id
    return False


def require_location_access(user: User, location: StockLocation) -> None:
    """Raise 403 unless ``user`` may manage ``location`` (a producer user: only once verified)."""
    require_verified_producer_user(user, "quản lý kho hàng", "it cannot manage stock")
    if not can_manage_location(user, location):
        raise Forbidden("auth.out_of_scope", "Kho hàng này nằm ngoài phạm vi của bạn.",
                        "This stock location is outside your scope.", {"location_id": location.id})


def require_transfer_target(user: User, target: StockLocation) -> None:
    """A transfer goes to a location the caller manages, or to a shared one (no producer); 403 otherwise."""
    if target.producer_id is not None:
        require_location_access(user, target)


def require_posting(user: User, location: StockLocation) -> None:
    """Raise 403 unless ``user`` may post stock (receipts, adjustments, counts, transfers) at ``location``:
    it manages the location, and the rule of the location's kind (a plugin's, e.g. a sales point's
    operators) allows it; the same rule holds whichever endpoint posts."""
    rule = plugin_manager().stock_location_kinds.posting_rule(location.kind)
    if rule is None:
        require_location_access(user, location)
    else:
        require_verified_producer_user(user, "quản lý kho hàng", "it cannot manage stock")
        rule(user, location)


def require_own_goods(user: User, variant: Variant) -> None:
    """A producer user books only its own producer's products (403 otherwise)."""
    if user.role == "producer" and variant.product.producer_id != user.producer_id:
        raise Forbidden("auth.out_of_scope", "Bạn chỉ nhập, chỉnh hoặc chuyển hàng của chủ thể mình.",
                        "You may only book your own producer's products.", {"variant_id": variant.id})


def require_new_location_kind(user: User, kind: str) -> None:
    """Producer users (once verified) create only warehouses; other kinds (shared locations) are the organiser's."""
    require_verified_producer_user(user, "tạo kho hàng", "it cannot create stock locations")
    if user.role == "producer" and kind != PRODUCER_WAREHOUSE:
        raise Forbidden("auth.out_of_scope", "Chủ thể chỉ tạo kho của chính mình.",
                        "Producers may only create their own warehouses.", {"kind": kind})


def pickup_points_clause():
    """A WHERE clause on ``StockLocation``: where a shopper may collect an order — an active warehouse of
    a verified producer, or an active shared location (no producer: registered by an organiser), of a
    kind registered for pickup (not goods in transit)."""
    verified = select(Producer.id).where(Producer.status == "verified")
    no_pickup = plugin_manager().stock_location_kinds.no_pickup_kinds()
    return and_(StockLocation.active.is_(True), StockLocation.kind.notin_(no_pickup or {""}),
                or_(and_(StockLocation.kind == PRODUCER_WAREHOUSE, StockLocation.producer_id.in_(verified)),
                    and_(StockLocation.kind != PRODUCER_WAREHOUSE, StockLocation.producer_id.is_(None))))


def producer_for_new_location(user: User, producer_id: int | None) -> int | None:
    """The producer a new location belongs to: producer users create locations for their own producer only."""
    if user.role != "producer":
        return producer_id
    require_verified_producer_user(user, "tạo kho hàng", "it cannot create stock locations")
    if producer_id not in (None, user.producer_id):
        raise Forbidden("auth.out_of_scope", "Bạn chỉ quản lý kho của chủ thể mình.",
                        "You may only manage your own producer's locations.", {"producer_id": producer_id})
    return user.producer_id


def visible_locations_filter(user: User):
    """A WHERE clause restricting ``StockLocation`` rows to those ``user`` sees (None: no restriction)."""
    if user.role == "admin":
        return None
    if user.role == "organiser":
        return StockLocation.province_code == user.province_code
    if user.role == "producer":
        return StockLocation.producer_id == (user.producer_id or -1)
    return StockLocation.id.is_(None)  # nobody else sees any location
