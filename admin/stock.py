"""Admin: stock locations, stock per location/variant/lot, receipts, adjustments, counts, transfers, the ledger.

Roles (DESIGN §4): ``admin`` everything; ``organiser`` locations of their
province; ``producer`` their own producer's warehouses (and transfers out of
them to shared locations). Object-level checks live in ``core.inventory.access``.
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.inventory.schemas import (AdjustmentInSchema, CountInSchema, LocationInSchema, LocationOutSchema,
                                    LocationPageSchema, LocationPatchSchema, LocationQuerySchema, MovementPageSchema,
                                    MovementQuerySchema, MovementsOutSchema, ReceiptInSchema, StockPageSchema,
                                    StockQuerySchema, TransferInSchema)
from core.schemas import PageArgsSchema
from core.accounts.security import current_user, require_roles
from core.inventory import locations
from core.inventory import operations as stock_operations

blp = Blueprint("admin_stock", __name__, url_prefix="/admin/v1", description="Stock locations, stock and ledger")
STOCK_ROLES = ("admin", "organiser", "producer")


def _movements(result):
    return {"movements": result}


# --- locations -----------------------------------------------------------------
@blp.route("/stock-locations")
class Locations(MethodView):
    @require_roles(*STOCK_ROLES)
    @blp.arguments(LocationQuerySchema, location="query")
    @blp.response(200, LocationPageSchema)
    def get(self, args):
        """Stock locations in the caller's scope."""
        return locations.list_locations(current_user(), args)

    @require_roles(*STOCK_ROLES)
    @blp.arguments(LocationInSchema)
    @blp.response(201, LocationOutSchema)
    def post(self, data):
        """Create a location (producers: their own warehouses; organisers: in their province)."""
        return locations.create_location(current_user(), data)


@blp.route("/stock-locations/<int:location_id>")
class LocationItem(MethodView):
    @require_roles(*STOCK_ROLES)
    @blp.response(200, LocationOutSchema)
    def get(self, location_id):
        """One location in the caller's scope."""
        return locations.view_location(current_user(), location_id)

    @require_roles(*STOCK_ROLES)
    @blp.arguments(LocationPatchSchema)
    @blp.response(200, LocationOutSchema)
    def patch(self, data, location_id):
        """Rename, re-address or (de)activate a location."""
        return locations.update_location(current_user(), locations.get_location(location_id), data)

    @require_roles(*STOCK_ROLES)
    @blp.response(204)
    def delete(self, location_id):
        """Delete a location that never held stock (otherwise 409 ``stock_location.in_use``: deactivate it)."""
        locations.delete_location(current_user(), locations.get_location(location_id))


@blp.route("/stock-locations/<int:location_id>/stock")
class LocationStock(MethodView):
    @require_roles(*STOCK_ROLES)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, StockPageSchema)
    def get(self, args, location_id):
        """Stock per variant (with lots) at one location."""
        return locations.list_location_stock(current_user(), location_id, args)


# --- stock and operations ------------------------------------------------------
@blp.route("/stock")
class StockList(MethodView):
    @require_roles(*STOCK_ROLES)
    @blp.arguments(StockQuerySchema, location="query")
    @blp.response(200, StockPageSchema)
    def get(self, args):
        """Stock rows (per location × variant, with lots) in the caller's scope."""
        return locations.list_stock(current_user(), args)


@blp.route("/stock/receipts")
class Receipts(MethodView):
    @require_roles(*STOCK_ROLES)
    @blp.arguments(ReceiptInSchema)
    @blp.response(201, MovementsOutSchema)
    def post(self, data):
        """Receive goods (or a customer return) into a location, optionally by lot and best-before date."""
        return _movements(stock_operations.receive_for(current_user(), data))


@blp.route("/stock/adjustments")
class Adjustments(MethodView):
    @require_roles(*STOCK_ROLES)
    @blp.arguments(AdjustmentInSchema)
    @blp.response(201, MovementsOutSchema)
    def post(self, data):
        """Correct on-hand stock by a signed delta (``stock.negative``, ``stock.insufficient`` when allocated)."""
        return _movements(stock_operations.adjust_for(current_user(), data))


@blp.route("/stock/counts")
class Counts(MethodView):
    @require_roles(*STOCK_ROLES)
    @blp.arguments(CountInSchema)
    @blp.response(201, MovementsOutSchema)
    def post(self, data):
        """Record a physical count; the difference is written to the ledger."""
        return _movements(stock_operations.count_for(current_user(), data))


@blp.route("/stock/transfers")
class Transfers(MethodView):
    @require_roles(*STOCK_ROLES)
    @blp.arguments(TransferInSchema)
    @blp.response(201, MovementsOutSchema)
    def post(self, data):
        """Move free stock between locations (FEFO by lot); destination: own or a shared location."""
        return _movements(stock_operations.transfer_for(current_user(), data))


@blp.route("/stock/movements")
class Movements(MethodView):
    @require_roles(*STOCK_ROLES)
    @blp.arguments(MovementQuerySchema, location="query")
    @blp.response(200, MovementPageSchema)
    def get(self, args):
        """The movement ledger in the caller's scope, newest first."""
        return locations.list_movements(current_user(), args)
