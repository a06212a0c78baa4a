"""Stock locations (producer warehouses and the kinds plugins register) and stock list views."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core.db import db, savepoint
from core.inventory import ledger
from core.inventory.access import (producer_for_new_location, require_location_access, require_new_location_kind,
                                   visible_locations_filter)
from core.inventory.access import can_manage_location  # noqa: F401  (re-exported: plugins/sales_points calls it here)
from core.errors import Conflict, NotFound, invalid
from core.geo.models import AdministrativeUnit
from core.catalogue.models import Producer, Product, Variant
from core.accounts.models import User
from core.inventory.models import Stock, StockLocation, StockLot, StockMovement
from core.audit import trail as audit
from core.pagination import paginate
from core.plugins import plugin_manager


# --- locations --------------------------------------------------------------------
def get_location(location_id: int) -> StockLocation:
    return ledger.resolve_location(location_id)


def view_location(user: User, location_id: int) -> StockLocation:
    """A location in the caller's scope (403 otherwise)."""
    location = ledger.resolve_location(location_id)
    require_location_access(user, location)
    return location


def _location_kinds():
    return plugin_manager().stock_location_kinds


def create_location(user: User, data: dict) -> StockLocation:
    """Create a stock location in the caller's scope.

    Verified producer users create warehouses for their own producer only; organisers
    locations in their province; a ``producer_warehouse`` needs a producer
    and defaults to the producer's province.
    """
    data = dict(data)
    kind = data.get("kind", ledger.PRODUCER_WAREHOUSE)
    if kind not in _location_kinds():
        raise invalid("kind", "loại kho không được hỗ trợ", "unknown stock location kind",
                      code="stock_location.unknown_kind")
    require_new_location_kind(user, kind)
    producer = None
    producer_id = producer_for_new_location(user, data.get("producer_id"))
    if producer_id is not None:
        producer = db.session.get(Producer, producer_id)
        if producer is None:
            raise NotFound("producer", "chủ thể")
    if kind == ledger.PRODUCER_WAREHOUSE and producer is None:
        raise invalid("producer_id", "kho của chủ thể cần mã chủ thể", "a producer warehouse needs producer_id")
    province_code = data.get("province_code") or (producer.province_code if producer else None)
    if province_code is None:
        raise invalid("province_code", "thiếu mã tỉnh", "province_code is required")
    unit = db.session.get(AdministrativeUnit, province_code)
    if unit is None or unit.level != "province":
        raise invalid("province_code", "mã tỉnh không hợp lệ", "unknown province code")
    location = StockLocation(kind=kind, name=data["name"], producer_id=producer_id, province_code=province_code,
                             address=data.get("address"), active=data.get("active", True),
                             external_ref=data.get("external_ref"))
    require_location_access(user, location)
    db.session.add(location)
    db.session.flush()
    audit.record("stock_location.created", location, actor=user, province_code=province_code)
    return location


def update_location(user: User, location: StockLocation, data: dict) -> StockLocation:
    """Rename, re-address or (de)activate a location in the caller's scope."""
    require_location_access(user, location)
    before = audit.snapshot(location)
    for key in ("name", "address", "active", "external_ref"):
        if key in data:
            setattr(location, key, data[key])
    audit.record("stock_location.updated", location, before=before, actor=user,
                 province_code=location.province_code)
    return location


def delete_location(user: User, location: StockLocation) -> None:
    """Delete a location that never held stock; otherwise ``stock_location.in_use`` (deactivate it)."""
    require_location_access(user, location)
    used = db.session.execute(select(Stock.id).where(Stock.location_id == location.id).limit(1)).first()
    if used or location.channels:
        raise Conflict("stock_location.in_use", "Kho đã có tồn kho hoặc kênh bán; hãy ngừng hoạt động thay vì xoá.",
                       "The location holds stock or a channel; deactivate it instead.", {"location_id": location.id})
    before = audit.snapshot(location)
    try:
        with savepoint():  # a plugin's row may still point at it (a fair's transit location, a booth's stock)
            db.session.delete(location)
            db.session.flush()
    except IntegrityError:
        raise Conflict("stock_location.in_use", "Kho đang được dùng ở nơi khác; hãy ngừng hoạt động thay vì xoá.",
                       "The location is still referred to; deactivate it instead.", {"location_id": location.id})
    audit.record("stock_location.deleted", location, before=before, actor=user,
                 province_code=location.province_code, after={})


def _scope_locations(stmt, user: User):
    scope = visible_locations_filter(user)
    return stmt if scope is None else stmt.where(scope)


def list_locations(user: User, args: dict) -> dict:
    """Locations in the caller's scope, paginated (filters: kind, producer_id, province, active)."""
    stmt = _scope_locations(select(StockLocation), user)
    for key, column in (("kind", StockLocation.kind), ("producer_id", StockLocation.producer_id),
                        ("province", StockLocation.province_code)):
        if args.get(key) is not None:
            stmt = stmt.where(column == args[key])
    if "active" in args:
        stmt = stmt.where(StockLocation.active.is_(args["active"]))
    return paginate(stmt.order_by(StockLocation.id), args["page"], args["limit"])


def list_stock(user: User, args: dict) -> dict:
    """Stock rows (with their lots) in the caller's scope, paginated (filters: location_id, variant_id, producer_id)."""
    stmt = _scope_locations(select(Stock).join(StockLocation, StockLocation.id == Stock.location_id), user)
    if args.get("location_id") is not None:
        stmt = stmt.where(Stock.location_id == args["location_id"])
    if args.get("variant_id") is not None:
        stmt = stmt.where(Stock.variant_id == args["variant_id"])
    if args.get("producer_id") is not None:
        stmt = stmt.join(Variant, Variant.id == Stock.variant_id).join(Product, Product.id == Variant.product_id) \
            .where(Product.producer_id == args["producer_id"])
    stmt = stmt.options(selectinload(Stock.lots), selectinload(Stock.variant))
    return paginate(stmt.order_by(Stock.location_id, Stock.variant_id), args["page"], args["limit"])


def list_location_stock(user: User, location_id: int, args: dict) -> dict:
    """Stock rows (with their lots) of one location in the caller's scope (403 outside it), paginated."""
    view_location(user, location_id)
    return list_stock(user, {**args, "location_id": location_id})


def list_movements(user: User, args: dict) -> dict:
    """Ledger rows in the caller's scope, newest first (filters: location_id, variant_id, kind, reference, lot_no)."""
    stmt = _scope_locations(select(StockMovement).join(Stock, Stock.id == StockMovement.stock_id)
                            .join(StockLocation, StockLocation.id == Stock.location_id), user)
    if args.get("location_id") is not None:
        stmt = stmt.where(Stock.location_id == args["location_id"])
    if args.get("variant_id") is not None:
        stmt = stmt.where(Stock.variant_id == args["variant_id"])
    if args.get("kind"):
        stmt = stmt.where(StockMovement.kind == args["kind"])
    if args.get("reference"):
        stmt = stmt.where(StockMovement.reference == args["reference"])
    if args.get("lot_no") is not None:
        stmt = stmt.join(StockLot, StockLot.id == StockMovement.lot_id).where(StockLot.lot_no == args["lot_no"])
    stmt = stmt.options(selectinload(StockMovement.lot), selectinload(StockMovement.stock))
    return paginate(stmt.order_by(StockMovement.id.desc()), args["page"], args["limit"])


