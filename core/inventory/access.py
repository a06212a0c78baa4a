"""Who may see or change which stock locations (object-level checks used by every inventory service).

* ``admin``: every location.
* ``organiser``: locations in their province.
* ``producer``: their own producer's locations; they may also transfer out to a
  shared location (one without a producer: a sales point, a fair booth).
"""
from __future__ import annotations

from core.accounts.models import User
from core.errors import Forbidden
from core.inventory.models import StockLocation


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
    """Raise 403 unless ``user`` may manage ``location``."""
    if not can_manage_location(user, location):
        raise Forbidden("auth.out_of_scope", "Kho hàng này nằm ngoài phạm vi của bạn.",
                        "This stock location is outside your scope.", {"location_id": location.id})


def require_transfer_target(user: User, target: StockLocation) -> None:
    """A transfer goes to a location the caller manages, or to a shared one (no producer); 403 otherwise."""
    if target.producer_id is not None:
        require_location_access(user, target)


def producer_for_new_location(user: User, producer_id: int | None) -> int | None:
    """The producer a new location belongs to: producer users create locations for their own producer only."""
    if user.role != "producer":
        return producer_id
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
