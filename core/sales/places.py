"""Where shoppers can buy in person: active stock locations behind an active counter sales channel
(a sales point, a fair booth …). Producer warehouses and in-transit locations have no counter: they are
not places a shopper can walk into.
"""
from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.geo.models import AdministrativeUnit
from core.inventory.models import Stock, StockLocation
from core.inventory.stock_rows import ONLINE_STORE
from core.sales.models import SalesChannel


def _public():
    counter = select(SalesChannel.location_id).where(SalesChannel.active.is_(True),
                                                     SalesChannel.kind != ONLINE_STORE,
                                                     SalesChannel.location_id.is_not(None))
    return StockLocation.active.is_(True) & StockLocation.id.in_(counter)


def _place(location: StockLocation, province_name: str | None) -> dict:
    return {"id": location.id, "name": location.name, "kind": location.kind, "address": location.address,
            "province": {"code": location.province_code, "name": province_name} if location.province_code else None}


def places_holding(variant_ids) -> list[dict]:
    """Public places with free stock of any of ``variant_ids`` now, each with ``available`` per variant id."""
    variant_ids = list(variant_ids)
    if not variant_ids:
        return []
    rows = db.session.execute(
        select(StockLocation, AdministrativeUnit.name, Stock.variant_id, Stock.on_hand - Stock.allocated)
        .join(Stock, Stock.location_id == StockLocation.id)
        .outerjoin(AdministrativeUnit, AdministrativeUnit.code == StockLocation.province_code)
        .where(_public(), Stock.variant_id.in_(variant_ids), Stock.on_hand - Stock.allocated > 0)
        .order_by(StockLocation.province_code, StockLocation.name, StockLocation.id)).all()
    places: dict[int, dict] = {}
    for location, province_name, variant_id, free in rows:
        place = places.setdefault(location.id, {**_place(location, province_name), "available": {}})
        place["available"][variant_id] = int(free)
    return list(places.values())


def public_places(province_code: str | None = None) -> list[dict]:
    """Every public place (optionally in one province), by province then name."""
    stmt = (select(StockLocation, AdministrativeUnit.name)
            .outerjoin(AdministrativeUnit, AdministrativeUnit.code == StockLocation.province_code).where(_public()))
    if province_code:
        stmt = stmt.where(StockLocation.province_code == province_code)
    return [_place(location, name) for location, name in
            db.session.execute(stmt.order_by(StockLocation.province_code, StockLocation.name, StockLocation.id))]
