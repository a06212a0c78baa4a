"""Admin: stock locations, stock per location/variant/lot, receipts, adjustments, counts, transfers, the ledger.

Roles (DESIGN §4): ``admin`` everything; ``organiser`` locations of their
province; ``producer`` their own producer's warehouses (and transfers out of
them to shared locations). Object-level checks live in ``core.services.stock``.
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.inventory.models import MOVEMENT_KINDS
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, paginated
from core.accounts.security import current_user, require_roles
from core.inventory import locations
from core.inventory import operations as stock_operations

blp = Blueprint("admin_stock", __name__, url_prefix="/admin/v1", description="Stock locations, stock and ledger")
STOCK_ROLES = ("admin", "organiser", "producer")
ML = {"multiline": True}
REASON = fields.String(required=True, validate=validate.Length(2, 500), metadata=ML)
LOT = fields.String(allow_none=True, validate=validate.Length(1, 60),
                    metadata={"description": "lot number (optional)"})


# --- schemas -------------------------------------------------------------------
class LocationInSchema(BaseSchema):
    kind = fields.String(load_default="producer_warehouse", validate=validate.Length(1, 40),
                         metadata={"description": "a registered stock location kind"})
    name = fields.String(required=True, validate=validate.Length(2, 200))
    producer_id = fields.Integer(allow_none=True, metadata={"description": "producer users: their own (default)"})
    province_code = fields.String(validate=validate.Length(1, 20),
                                  metadata={"description": "defaults to the producer's province"})
    address = fields.String(allow_none=True, validate=validate.Length(max=500))
    active = fields.Boolean()
    external_ref = fields.String(allow_none=True, validate=validate.Length(max=120))


class LocationPatchSchema(BaseSchema):
    name = fields.String(validate=validate.Length(2, 200))
    address = fields.String(allow_none=True, validate=validate.Length(max=500))
    active = fields.Boolean()
    external_ref = fields.String(allow_none=True, validate=validate.Length(max=120))


class LocationOutSchema(OutputSchema):
    id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    producer_id = fields.Integer(allow_none=True)
    province_code = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    active = fields.Boolean()
    external_ref = fields.String(allow_none=True)


class LocationQuerySchema(PageArgsSchema):
    kind = fields.String()
    producer_id = fields.Integer()
    province = fields.String()
    active = fields.Boolean()


class LotOutSchema(OutputSchema):
    id = fields.Integer()
    lot_no = fields.String(attribute="lot_label", allow_none=True)
    best_before = fields.Date(allow_none=True)
    on_hand = fields.Integer()
    allocated = fields.Integer()
    available = fields.Integer()


class StockOutSchema(OutputSchema):
    id = fields.Integer()
    location_id = fields.Integer()
    variant_id = fields.Integer()
    sku = fields.String(attribute="variant.sku")
    name = fields.String(attribute="variant.name")
    on_hand = fields.Integer()
    allocated = fields.Integer()
    available = fields.Integer()
    lots = fields.List(fields.Nested(LotOutSchema))


class StockQuerySchema(PageArgsSchema):
    location_id = fields.Integer()
    variant_id = fields.Integer()
    producer_id = fields.Integer()


class MovementOutSchema(OutputSchema):
    id = fields.Integer()
    stock_id = fields.Integer()
    location_id = fields.Integer(attribute="stock.location_id")
    variant_id = fields.Integer(attribute="stock.variant_id")
    lot_id = fields.Integer(allow_none=True)
    lot_no = fields.Function(lambda m: m.lot.lot_label if m.lot else None)
    best_before = fields.Function(lambda m: m.lot.best_before.isoformat() if m.lot and m.lot.best_before else None)
    kind = fields.String()
    quantity = fields.Integer()
    actor_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    created_at = fields.DateTime()


class MovementQuerySchema(PageArgsSchema):
    location_id = fields.Integer()
    variant_id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(MOVEMENT_KINDS))
    reference = fields.String(validate=validate.Length(1, 120))
    lot_no = fields.String(validate=validate.Length(1, 60))


class ReceiptInSchema(BaseSchema):
    location_id = fields.Integer(required=True, strict=True)
    variant_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000_000))
    kind = fields.String(load_default="receipt", validate=validate.OneOf(("receipt", "return")))
    reason = fields.String(validate=validate.Length(max=500), metadata=ML)
    reference = fields.String(allow_none=True, validate=validate.Length(max=120))
    lot_no = LOT
    best_before = fields.Date(allow_none=True, metadata={"description": "not in the past (stock.best_before_past)"})


class AdjustmentInSchema(BaseSchema):
    location_id = fields.Integer(required=True, strict=True)
    variant_id = fields.Integer(required=True, strict=True)
    delta = fields.Integer(required=True, strict=True, validate=[
        validate.Range(min=-10_000_000, max=10_000_000),
        validate.NoneOf((0,), error="delta must not be 0 (phải khác 0).")])
    reason = REASON
    lot_no = LOT


class CountInSchema(BaseSchema):
    location_id = fields.Integer(required=True, strict=True)
    variant_id = fields.Integer(required=True, strict=True)
    counted = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000_000))
    reason = REASON
    lot_no = LOT


class TransferInSchema(BaseSchema):
    from_location_id = fields.Integer(required=True, strict=True)
    to_location_id = fields.Integer(required=True, strict=True)
    variant_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000_000))
    reason = REASON
    lot_no = LOT


class MovementsOutSchema(OutputSchema):
    movements = fields.List(fields.Nested(MovementOutSchema))


LocationPageSchema = paginated(LocationOutSchema, "StockLocationPage")
StockPageSchema = paginated(StockOutSchema, "StockPage")
MovementPageSchema = paginated(MovementOutSchema, "StockMovementPage")


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
        locations.view_location(current_user(), location_id)
        return locations.list_stock(current_user(), {**args, "location_id": location_id})


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
