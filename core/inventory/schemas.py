"""Input and output schemas of stock locations, stock rows, lots and ledger movements (admin API)."""
from __future__ import annotations

from marshmallow import fields, validate

from core.errors import Message
from core.inventory.models import MOVEMENT_KINDS
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, paginated

ML = {"multiline": True}
REASON = fields.String(required=True, validate=validate.Length(2, 500), metadata=ML)
LOT = fields.String(allow_none=True, validate=validate.Length(1, 60),
                    metadata={"description": "lot number (optional)"})


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
        validate.NoneOf((0,), error=Message("delta phải khác 0.", "delta must not be 0."))])
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
