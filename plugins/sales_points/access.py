"""Who may see or change what at a sales point (object-level checks used by every service).

* ``admin``: everything.
* ``organiser``: every point of their province (the registry, reports, settlements); read-only on
  operations, which belong to the point's operators.
* ``operator``: only the points they are bound to (stock, receipts, transfers, counts, sales).
* ``producer``: stock and sales of their own products at every point, nothing else.
"""
from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.errors import Forbidden
from core.accounts.models import User
from plugins.sales_points.models import SalesPoint, SalesPointOperator

READ_ROLES = ("admin", "organiser", "operator", "producer")
OPERATE_ROLES = ("admin", "operator")
REGISTRY_ROLES = ("admin", "organiser")


def out_of_scope(point_id=None, **details) -> Forbidden:
    """The 403 answered when a user touches a point (or product) outside their scope."""
    if point_id is not None:
        details["sales_point_id"] = point_id
    return Forbidden("sales_point.out_of_scope", "Điểm bán này nằm ngoài phạm vi của bạn.",
                     "This sales point is outside your scope.", details)


def operated_point_ids(user: User) -> set[int]:
    """Ids of the points ``user`` is bound to as operator."""
    return set(db.session.execute(select(SalesPointOperator.sales_point_id)
                                  .where(SalesPointOperator.user_id == user.id)).scalars())


def is_operator_of(user: User, point: SalesPoint) -> bool:
    return user.role == "operator" and db.session.execute(
        select(SalesPointOperator.id).where(SalesPointOperator.user_id == user.id,
                                            SalesPointOperator.sales_point_id == point.id)).first() is not None


def can_manage_registry(user: User, province_code: str | None) -> bool:
    """admin anywhere; organiser in their own province."""
    return user.role == "admin" or (user.role == "organiser" and user.province_code == province_code)


def require_registry(user: User, province_code: str | None) -> None:
    """403 unless ``user`` manages the registry of ``province_code``."""
    if not can_manage_registry(user, province_code):
        raise Forbidden("sales_point.out_of_scope", "Tỉnh này nằm ngoài phạm vi của bạn.",
                        "This province is outside your scope.", {"province_code": province_code})


def can_see_point(user: User, point: SalesPoint) -> bool:
    """Full view of a point's stock and documents (not the producer's filtered view)."""
    if user.role == "admin":
        return True
    if user.role == "organiser":
        return user.province_code == point.province_code
    if user.role == "operator":
        return is_operator_of(user, point)
    return False


def require_view(user: User, point: SalesPoint) -> None:
    """403 unless ``user`` sees this point in full."""
    if not can_see_point(user, point):
        raise out_of_scope(point.id)


def require_view_or_producer(user: User, point: SalesPoint) -> int | None:
    """Allow a full viewer (returns None) or a producer user (returns the producer id to filter by)."""
    if user.role == "producer" and user.producer_id:
        return user.producer_id
    require_view(user, point)
    return None


def require_operate(user: User, point: SalesPoint) -> None:
    """403 unless ``user`` may change this point's stock and sales (its operators, or admin)."""
    if user.role == "admin" or is_operator_of(user, point):
        return
    raise out_of_scope(point.id)


def visible_points_filter(user: User):
    """A WHERE clause restricting ``SalesPoint`` rows to those ``user`` sees (None: no restriction)."""
    if user.role == "admin" or user.role == "producer":
        return None
    if user.role == "organiser":
        return SalesPoint.province_code == user.province_code
    if user.role == "operator":
        return SalesPoint.id.in_(select(SalesPointOperator.sales_point_id)
                                 .where(SalesPointOperator.user_id == user.id))
    return SalesPoint.id.is_(None)  # nobody else sees any point


def require_stock_posting(user: User, location) -> None:
    """The posting rule of the ``sales_point`` and ``sales_point_transit`` location kinds: only the point's
    operators (or admin) post stock there, through the plugin's endpoints and the core stock API alike."""
    point = db.session.execute(select(SalesPoint).where(
        (SalesPoint.stock_location_id == location.id) | (SalesPoint.transit_location_id == location.id))
    ).scalar_one_or_none()
    if point is None:
        if user.role == "admin":
            return
        raise out_of_scope(location_id=location.id)
    require_operate(user, point)
