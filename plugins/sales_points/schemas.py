"""Input and output schemas of the sales points API (admin and storefront)."""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, pre_dump, validate, validates_schema

from core.errors import Message
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, paginated
from plugins.sales_points.models import (COUNT_REASONS, LOCATION_KINDS, PAYMENT_METHODS, POINT_STATUSES,
                                         RECEIPT_MODES, WEEKDAYS, PosSale)
from plugins.sales_points.pos import sale_view

ML = {"multiline": True}
_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
RATE_DOC = {"description": "commission in basis points: 1500 = 15 %"}


# --- registry --------------------------------------------------------------------
class SpIntervalSchema(BaseSchema):
    open = fields.String(required=True, validate=validate.Regexp(_HHMM), metadata={"example": "07:30"})
    close = fields.String(required=True, validate=validate.Regexp(_HHMM), metadata={"example": "21:00"})

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("open") and data.get("close") and data["open"] >= data["close"]:
            raise ValidationError(Message("giờ đóng cửa phải sau giờ mở cửa", "close must be after open"), "close")


class SpOpeningHoursSchema(BaseSchema):
    """Opening intervals per weekday (Vietnam time); a missing or empty day means closed."""

    mon = fields.List(fields.Nested(SpIntervalSchema), validate=validate.Length(max=4))
    tue = fields.List(fields.Nested(SpIntervalSchema), validate=validate.Length(max=4))
    wed = fields.List(fields.Nested(SpIntervalSchema), validate=validate.Length(max=4))
    thu = fields.List(fields.Nested(SpIntervalSchema), validate=validate.Length(max=4))
    fri = fields.List(fields.Nested(SpIntervalSchema), validate=validate.Length(max=4))
    sat = fields.List(fields.Nested(SpIntervalSchema), validate=validate.Length(max=4))
    sun = fields.List(fields.Nested(SpIntervalSchema), validate=validate.Length(max=4))
    note = fields.String(validate=validate.Length(max=500))


class SpContactsSchema(BaseSchema):
    contact_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 .-]{8,20}$"))
    email = fields.Email(allow_none=True)


class SpSalesPointInSchema(BaseSchema):
    code = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$"),
                         metadata={"description": "unique code; generated when omitted"})
    name = fields.String(required=True, validate=validate.Length(2, 200))
    location_kind = fields.String(required=True, validate=validate.OneOf(tuple(LOCATION_KINDS)),
                                  metadata={"description": "MoIT 950/QĐ-BCT location criteria"})
    commune_code = fields.String(required=True, validate=validate.Length(1, 20))
    address = fields.String(required=True, validate=validate.Length(3, 500))
    opening_hours = fields.Nested(SpOpeningHoursSchema, allow_none=True)
    contacts = fields.Nested(SpContactsSchema, allow_none=True)
    managing_organisation = fields.String(allow_none=True, validate=validate.Length(max=300))
    recognition_decision_no = fields.String(allow_none=True, validate=validate.Length(max=80))
    recognised_on = fields.Date(allow_none=True)
    status = fields.String(validate=validate.OneOf(POINT_STATUSES))
    allow_unlisted = fields.Boolean(metadata={"description": "sell products whose OCOP certification lapsed"})
    commission_rate_bp = fields.Integer(strict=True, validate=validate.Range(0, 10000), metadata=RATE_DOC)
    low_stock_default = fields.Integer(strict=True, validate=validate.Range(0, 100000))
    near_expiry_days = fields.Integer(strict=True, validate=validate.Range(1, 365))


class SpSalesPointPatchSchema(SpSalesPointInSchema):
    """Every field optional; the code cannot change."""

    class Meta(BaseSchema.Meta):
        exclude = ("code",)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class SpUnitRefSchema(OutputSchema):
    code = fields.String()
    name = fields.String()


class SpSalesPointOutSchema(OutputSchema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    location_kind = fields.String()
    location_kind_name = fields.Function(lambda p: LOCATION_KINDS[p.location_kind][0])
    location_kind_name_en = fields.Function(lambda p: LOCATION_KINDS[p.location_kind][1])
    province = fields.Nested(SpUnitRefSchema)
    commune = fields.Nested(SpUnitRefSchema)
    address = fields.String()
    opening_hours = fields.Raw(allow_none=True)
    contacts = fields.Raw(allow_none=True)
    managing_organisation = fields.String(allow_none=True)
    recognition_decision_no = fields.String(allow_none=True)
    recognised_on = fields.Date(allow_none=True)
    status = fields.String()
    allow_unlisted = fields.Boolean()
    commission_rate_bp = fields.Integer(metadata=RATE_DOC)
    low_stock_default = fields.Integer()
    near_expiry_days = fields.Integer()
    stock_location_id = fields.Integer()
    transit_location_id = fields.Integer()
    sales_channel_id = fields.Integer()
    created_at = fields.DateTime()


SalesPointPageSchema = paginated(SpSalesPointOutSchema, "SalesPointPage")


class SpSalesPointQuerySchema(PageArgsSchema):
    province = fields.String(validate=validate.Length(max=20))
    commune = fields.String(validate=validate.Length(max=20))
    kind = fields.String(validate=validate.OneOf(tuple(LOCATION_KINDS)))
    status = fields.String(validate=validate.OneOf(POINT_STATUSES))
    q = fields.String(validate=validate.Length(max=100))


class SpOperatorBindSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Length(1, 80))
    password = fields.String(validate=validate.Length(8, 200), load_only=True,
                             metadata={"description": "give it to create the operator account"})
    full_name = fields.String(validate=validate.Length(max=200))
    email = fields.Email()


class SpOperatorOutSchema(OutputSchema):
    user_id = fields.Integer()
    username = fields.String()
    full_name = fields.String(allow_none=True)
    bound_at = fields.DateTime()


class SpOperatorListSchema(OutputSchema):
    results = fields.List(fields.Nested(SpOperatorOutSchema))
    total = fields.Integer()
    next = fields.String(allow_none=True)


class SpConsignmentInSchema(BaseSchema):
    producer_id = fields.Integer(required=True)
    commission_rate_bp = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 10000),
                                        metadata={"description": "basis points; null → the point's default"})
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=1000), metadata=ML)

    @validates_schema
    def _dates(self, data, **kwargs):
        if data.get("valid_to") and data.get("valid_from") and data["valid_to"] < data["valid_from"]:
            raise ValidationError(Message("valid_to không được trước valid_from", "valid_to must not be before valid_from"),
                                  "valid_to")


class SpConsignmentEndSchema(BaseSchema):
    valid_to = fields.Date(required=True)


class SpConsignmentOutSchema(OutputSchema):
    id = fields.Integer()
    sales_point_id = fields.Integer()
    producer_id = fields.Integer()
    producer_name = fields.Function(lambda a: a.producer.name)
    commission_rate_bp = fields.Integer(allow_none=True, metadata=RATE_DOC)
    effective_rate_bp = fields.Function(lambda a: a.commission_rate_bp if a.commission_rate_bp is not None
                                        else a.sales_point.commission_rate_bp)
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)
    status = fields.String()
    note = fields.String(allow_none=True)


class SpConsignmentListSchema(OutputSchema):
    results = fields.List(fields.Nested(SpConsignmentOutSchema))
    total = fields.Integer()
    next = fields.String(allow_none=True)


# --- product references ----------------------------------------------------------------
class _VariantRef(BaseSchema):
    """Exactly one of ``variant_id``, ``sku``, ``gtin`` or ``code`` (a scanned barcode: GTIN or SKU)."""

    variant_id = fields.Integer()
    sku = fields.String(validate=validate.Length(1, 64))
    gtin = fields.String(validate=validate.Length(1, 20))
    code = fields.String(validate=validate.Length(1, 64), metadata={"description": "scanned barcode (GTIN) or SKU"})

    @validates_schema
    def _one_ref(self, data, **kwargs):
        given = [k for k in ("variant_id", "sku", "gtin", "code") if data.get(k) not in (None, "")]
        if len(given) != 1:
            raise ValidationError(Message("chỉ ghi một trong variant_id, sku, gtin, code",
                                          "give exactly one of variant_id, sku, gtin, code"), "_schema")


# --- receipts ----------------------------------------------------------------------
class SpReceiptLineInSchema(_VariantRef):
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1_000_000))
    unit_cost = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 1_000_000_000),
                               metadata={"description": "VND per unit"})
    lot_no = fields.String(allow_none=True, validate=validate.Length(1, 60))
    best_before = fields.Date(allow_none=True)


class SpReceiptInSchema(BaseSchema):
    producer_id = fields.Integer(required=True)
    mode = fields.String(validate=validate.OneOf(RECEIPT_MODES),
                         metadata={"description": "default: consignment while an agreement is active, else purchase"})
    received_on = fields.Date(metadata={"description": "default today (Vietnam)"})
    supplier_document = fields.String(allow_none=True, validate=validate.Length(max=120))
    note = fields.String(allow_none=True, validate=validate.Length(max=1000), metadata=ML)
    lines = fields.List(fields.Nested(SpReceiptLineInSchema), required=True, validate=validate.Length(1, 200))


class SpReverseSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(3, 1000), metadata=ML)


class SpDocLineOutSchema(OutputSchema):
    id = fields.Integer()
    variant_id = fields.Integer()
    sku = fields.Function(lambda line: line.variant.sku)
    name = fields.Function(lambda line: f"{line.variant.product.name} – {line.variant.name}")


class SpReceiptLineOutSchema(SpDocLineOutSchema):
    quantity = fields.Integer()
    unit_cost = fields.Integer()
    lot_no = fields.String(allow_none=True)
    best_before = fields.Date(allow_none=True)


class SpReceiptOutSchema(OutputSchema):
    id = fields.Integer()
    number = fields.String()
    sales_point_id = fields.Integer()
    producer_id = fields.Integer()
    mode = fields.String()
    status = fields.String()
    received_on = fields.Date()
    supplier_document = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    total_cost = fields.Function(lambda r: sum(line.quantity * line.unit_cost for line in r.lines))
    created_at = fields.DateTime()
    reversed_at = fields.DateTime(allow_none=True)
    reversal_reason = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(SpReceiptLineOutSchema))


ReceiptPageSchema = paginated(SpReceiptOutSchema, "SalesPointReceiptPage")


class SpTransferQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(("dispatched", "received")))


class SpDocQuerySchema(PageArgsSchema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    producer_id = fields.Integer()


# --- transfers -----------------------------------------------------------------------
class SpTransferLineInSchema(_VariantRef):
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1_000_000))
    lot_no = fields.String(allow_none=True, validate=validate.Length(0, 60),
                           metadata={"description": "send this lot; omitted: first-expiry-first-out"})


class SpTransferInSchema(BaseSchema):
    to_sales_point_id = fields.Integer(metadata={"description": "destination point (or to_location_id)"})
    to_location_id = fields.Integer(metadata={"description": "destination stock location, e.g. a producer warehouse"})
    note = fields.String(allow_none=True, validate=validate.Length(max=1000), metadata=ML)
    lines = fields.List(fields.Nested(SpTransferLineInSchema), required=True, validate=validate.Length(1, 200))

    @validates_schema
    def _destination(self, data, **kwargs):
        if (data.get("to_sales_point_id") is None) == (data.get("to_location_id") is None):
            raise ValidationError(Message("chọn một nơi nhận: to_sales_point_id hoặc to_location_id",
                                          "give to_sales_point_id or to_location_id"), "_schema")


class SpTransferReceiveLineSchema(BaseSchema):
    line_id = fields.Integer(required=True)
    quantity_received = fields.Integer(required=True, strict=True, validate=validate.Range(0, 1_000_000))
    discrepancy_reason = fields.String(allow_none=True, validate=validate.Length(max=500))


class SpTransferReceiveSchema(BaseSchema):
    lines = fields.List(fields.Nested(SpTransferReceiveLineSchema),
                        metadata={"description": "only lines that differ from what was sent; omitted: all received"})
    note = fields.String(allow_none=True, validate=validate.Length(max=1000), metadata=ML)


class SpTransferLineOutSchema(SpDocLineOutSchema):
    lot_no = fields.String(allow_none=True)
    best_before = fields.Date(allow_none=True)
    quantity_sent = fields.Integer()
    quantity_received = fields.Integer(allow_none=True)
    discrepancy = fields.Function(lambda line: None if line.quantity_received is None
                                  else line.quantity_sent - line.quantity_received)
    discrepancy_reason = fields.String(allow_none=True)


class SpTransferOutSchema(OutputSchema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    from_location_id = fields.Integer()
    transit_location_id = fields.Integer()
    to_location_id = fields.Integer()
    from_point_id = fields.Integer(allow_none=True)
    to_point_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    dispatched_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    receive_note = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(SpTransferLineOutSchema))


TransferPageSchema = paginated(SpTransferOutSchema, "SalesPointTransferPage")


# --- counts ----------------------------------------------------------------------------
class SpCountLineInSchema(_VariantRef):
    lot_no = fields.String(allow_none=True, validate=validate.Length(0, 60),
                           metadata={"description": "required when the stock holds several lots"})
    counted = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                             metadata={"description": "physically counted quantity (≥ 0)"})
    reason = fields.String(allow_none=True, validate=validate.OneOf(COUNT_REASONS),
                           metadata={"description": "required when the count differs from the books"})
    note = fields.String(allow_none=True, validate=validate.Length(max=500))


class SpCountInSchema(BaseSchema):
    note = fields.String(allow_none=True, validate=validate.Length(max=1000), metadata=ML)
    lines = fields.List(fields.Nested(SpCountLineInSchema), required=True, validate=validate.Length(1, 500))


class SpCountLineOutSchema(SpDocLineOutSchema):
    lot_no = fields.String(allow_none=True)
    expected = fields.Integer()
    counted = fields.Integer()
    variance = fields.Integer()
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class SpCountOutSchema(OutputSchema):
    id = fields.Integer()
    number = fields.String()
    sales_point_id = fields.Integer()
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(SpCountLineOutSchema))


CountPageSchema = paginated(SpCountOutSchema, "SalesPointCountPage")


# --- returns to producers ---------------------------------------------------------------
class SpProducerReturnLineInSchema(_VariantRef):
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1_000_000))
    lot_no = fields.String(allow_none=True, validate=validate.Length(0, 60))


class SpProducerReturnInSchema(BaseSchema):
    producer_id = fields.Integer(required=True)
    reason = fields.String(required=True, validate=validate.Length(3, 1000), metadata=ML)
    lines = fields.List(fields.Nested(SpProducerReturnLineInSchema), required=True, validate=validate.Length(1, 200))


class SpProducerReturnLineOutSchema(SpDocLineOutSchema):
    lot_no = fields.String(allow_none=True)
    quantity = fields.Integer()


class SpProducerReturnOutSchema(OutputSchema):
    id = fields.Integer()
    number = fields.String()
    sales_point_id = fields.Integer()
    producer_id = fields.Integer()
    returned_on = fields.Date()
    reason = fields.String()
    lines = fields.List(fields.Nested(SpProducerReturnLineOutSchema))


# --- stock, thresholds, alerts ---------------------------------------------------------------
class SpStockQuerySchema(PageArgsSchema):
    producer_id = fields.Integer()
    q = fields.String(validate=validate.Length(max=100))


class SpLotOutSchema(OutputSchema):
    lot_no = fields.String(allow_none=True)
    best_before = fields.Date(allow_none=True)
    on_hand = fields.Integer()
    allocated = fields.Integer()


class SpStockRowSchema(OutputSchema):
    sales_point_id = fields.Integer()
    variant_id = fields.Integer()
    sku = fields.String()
    gtin = fields.String(allow_none=True)
    name = fields.String()
    product_id = fields.Integer()
    producer_id = fields.Integer()
    price = fields.Integer()
    on_hand = fields.Integer()
    allocated = fields.Integer()
    available = fields.Integer()
    threshold = fields.Integer()
    low = fields.Boolean()
    lots = fields.List(fields.Nested(SpLotOutSchema))


StockPageSchema = paginated(SpStockRowSchema, "SalesPointStockPage")


class SpThresholdInSchema(_VariantRef):
    min_quantity = fields.Integer(required=True, strict=True, validate=validate.Range(0, 100000))


class SpThresholdsInSchema(BaseSchema):
    thresholds = fields.List(fields.Nested(SpThresholdInSchema), required=True, validate=validate.Length(0, 500))


class SpThresholdOutSchema(OutputSchema):
    variant_id = fields.Integer()
    sku = fields.String()
    min_quantity = fields.Integer()


class SpThresholdListSchema(OutputSchema):
    results = fields.List(fields.Nested(SpThresholdOutSchema))
    total = fields.Integer()
    next = fields.String(allow_none=True)


class SpAlertQuerySchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf(("low_stock", "near_expiry", "expired")))
    include_acknowledged = fields.Boolean(load_default=False)


class SpAlertOutSchema(OutputSchema):
    id = fields.Integer()
    sales_point_id = fields.Integer()
    kind = fields.String()
    variant_id = fields.Integer()
    sku = fields.Function(lambda a: a.variant.sku)
    name = fields.Function(lambda a: f"{a.variant.product.name} – {a.variant.name}")
    lot_no = fields.String(allow_none=True)
    best_before = fields.Date(allow_none=True)
    quantity = fields.Integer()
    threshold = fields.Integer(allow_none=True)
    raised_on = fields.Date()
    acknowledged_at = fields.DateTime(allow_none=True)


AlertPageSchema = paginated(SpAlertOutSchema, "SalesPointAlertPage")


# --- POS ---------------------------------------------------------------------------------
class SpLookupQuerySchema(BaseSchema):
    code = fields.String(required=True, validate=validate.Length(1, 64),
                         metadata={"description": "scanned barcode (GTIN) or SKU"})


class SpLookupOutSchema(OutputSchema):
    variant_id = fields.Integer()
    sku = fields.String()
    gtin = fields.String(allow_none=True)
    name = fields.String()
    price = fields.Integer(metadata={"description": "VND, what one unit costs here now (core price resolver)"})
    available = fields.Integer()
    listed = fields.Boolean()
    sellable = fields.Boolean()
    stars = fields.Integer(allow_none=True)


class SpSaleLineInSchema(_VariantRef):
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10000))


class SpSaleInSchema(BaseSchema):
    client_ref = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9._:-]{1,80}$"),
                               metadata={"description": "idempotency key from the till: a retry returns the first sale"})
    payment_method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHODS))
    payment_reference = fields.String(allow_none=True, validate=validate.Length(max=120),
                                      metadata={"description": "card slip or bank transfer reference"})
    amount_tendered = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 10_000_000_000),
                                     metadata={"description": "cash handed over (VND), for the change"})
    lines = fields.List(fields.Nested(SpSaleLineInSchema), required=True, validate=validate.Length(1, 100))


class SpSaleLineOutSchema(OutputSchema):
    id = fields.Integer()
    variant_id = fields.Integer()
    sku = fields.String()
    gtin = fields.String(allow_none=True)
    name = fields.String()
    unit_price = fields.Integer()
    quantity = fields.Integer()
    line_total = fields.Integer()
    returned_quantity = fields.Integer()
    lots = fields.Raw()


class SpSaleReturnLineOutSchema(OutputSchema):
    sale_line_id = fields.Integer(attribute="order_line_id", metadata={"description": "the sale's (order) line"})
    quantity = fields.Integer()
    amount = fields.Integer()


class SpSaleReturnOutSchema(OutputSchema):
    id = fields.Integer()
    number = fields.String()
    reason = fields.String()
    restock = fields.Boolean()
    refund_amount = fields.Integer()
    refund_method = fields.String()
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(SpSaleReturnLineOutSchema))


class SpReceiptPrintSchema(OutputSchema):
    """What a receipt printer needs (header, lines, totals, payment)."""

    title = fields.String()
    title_en = fields.String()
    point_name = fields.String()
    point_address = fields.String()
    point_phone = fields.String(allow_none=True)
    number = fields.String()
    sold_at_local = fields.String()
    cashier = fields.String(allow_none=True)
    lines = fields.List(fields.Dict())
    total = fields.Integer()
    payment_method = fields.String()
    payment_method_name = fields.String()
    amount_tendered = fields.Integer(allow_none=True)
    change_due = fields.Integer(allow_none=True)
    footer = fields.String()


class SpSaleOutSchema(OutputSchema):
    id = fields.Integer()
    number = fields.String()
    sales_point_id = fields.Integer()
    sales_channel_id = fields.Integer()
    order_id = fields.Integer(allow_none=True)
    client_ref = fields.String(allow_none=True)
    status = fields.String()
    payment_method = fields.String()
    payment_reference = fields.String(allow_none=True)
    total = fields.Integer()
    refunded = fields.Integer()
    amount_tendered = fields.Integer(allow_none=True)
    change_due = fields.Integer(allow_none=True)
    sold_at = fields.DateTime()
    voided_at = fields.DateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(SpSaleLineOutSchema))
    returns = fields.List(fields.Nested(SpSaleReturnOutSchema))
    receipt = fields.Nested(SpReceiptPrintSchema)

    @pre_dump
    def _view(self, sale, **kwargs):
        """A till receipt is shown with its core order's lines, payment and totals."""
        return sale_view(sale) if isinstance(sale, PosSale) else sale


SalePageSchema = paginated(SpSaleOutSchema, "SalesPointSalePage")


class SpVoidSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(3, 500), metadata=ML)


class SpSaleReturnLineInSchema(BaseSchema):
    sale_line_id = fields.Integer(required=True)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10000))


class SpSaleReturnInSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(3, 500), metadata=ML)
    restock = fields.Boolean(load_default=True,
                             metadata={"description": "false: the goods are damaged and not put back on sale"})
    refund_method = fields.String(validate=validate.OneOf(PAYMENT_METHODS),
                                  metadata={"description": "default: the sale's payment method"})
    lines = fields.List(fields.Nested(SpSaleReturnLineInSchema), required=True, validate=validate.Length(1, 100))


# --- settlement and reports ------------------------------------------------------------------
class SpPeriodSchema(BaseSchema):
    date_from = fields.Date(data_key="from", required=True)
    date_to = fields.Date(data_key="to", required=True)

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError(Message("ngày kết thúc (to) không được trước ngày bắt đầu (from)",
                                          "'to' must not be before 'from'"), "to")


class SpSettlementQuerySchema(SpPeriodSchema):
    producer_id = fields.Integer(metadata={"description": "required unless the caller is a producer user"})
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")))


class SpSettlementLineSchema(OutputSchema):
    variant_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    unit_price = fields.Integer()
    opening = fields.Integer()
    received = fields.Integer()
    transferred_in = fields.Integer()
    transferred_out = fields.Integer()
    sold = fields.Integer()
    customer_returns = fields.Integer()
    returned_to_producer = fields.Integer()
    adjustments = fields.Integer()
    other = fields.Integer()
    closing = fields.Integer()
    sales_value = fields.Integer()


class SpSettlementSchema(OutputSchema):
    sales_point = fields.Dict()
    producer = fields.Dict()
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    agreement_id = fields.Integer(allow_none=True)
    commission_rate_bp = fields.Integer(metadata=RATE_DOC)
    lines = fields.List(fields.Nested(SpSettlementLineSchema))
    totals = fields.Dict()
    commission = fields.Integer()
    amount_owed = fields.Integer()
    balanced = fields.Boolean()


class SpSalesReportQuerySchema(SpPeriodSchema):
    by = fields.String(load_default="product", validate=validate.OneOf(("product", "producer", "group")))


class SpSlowMoverQuerySchema(BaseSchema):
    days = fields.Integer(load_default=30, validate=validate.Range(1, 365))
    max_sold = fields.Integer(load_default=0, validate=validate.Range(0, 100000))


class SpNearExpiryQuerySchema(BaseSchema):
    days = fields.Integer(validate=validate.Range(0, 365), metadata={"description": "default: the point's setting"})


class SpProvinceReportQuerySchema(SpPeriodSchema):
    province = fields.String(validate=validate.Length(1, 20), metadata={"description": "default: your province"})


class SpProducerStockQuerySchema(PageArgsSchema):
    producer_id = fields.Integer(metadata={"description": "required unless the caller is a producer user"})


class SpProducerSalesQuerySchema(SpPeriodSchema):
    producer_id = fields.Integer(metadata={"description": "required unless the caller is a producer user"})


# --- storefront ------------------------------------------------------------------------------
class SpPublicPointQuerySchema(PageArgsSchema):
    province = fields.String(validate=validate.Length(1, 20))
    commune = fields.String(validate=validate.Length(1, 20))
    kind = fields.String(validate=validate.OneOf(tuple(LOCATION_KINDS)))


class SpPublicPointSchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    location_kind = fields.String()
    location_kind_name = fields.Function(lambda p: LOCATION_KINDS[p.location_kind][0])
    location_kind_name_en = fields.Function(lambda p: LOCATION_KINDS[p.location_kind][1])
    province = fields.Nested(SpUnitRefSchema)
    commune = fields.Nested(SpUnitRefSchema)
    address = fields.String()
    opening_hours = fields.Raw(allow_none=True)
    phone = fields.Function(lambda p: (p.contacts or {}).get("phone"))
    managing_organisation = fields.String(allow_none=True)
    recognition_decision_no = fields.String(allow_none=True)


PublicPointPageSchema = paginated(SpPublicPointSchema, "PublicSalesPointPage")


class SpPublicStockSchema(OutputSchema):
    sku = fields.String()
    name = fields.String()
    price = fields.Integer()
    available = fields.Integer()


class SpPublicPointStockSchema(SpPublicPointSchema):
    variants = fields.List(fields.Nested(SpPublicStockSchema))


class SpPublicPointStockListSchema(OutputSchema):
    results = fields.List(fields.Nested(SpPublicPointStockSchema))
    total = fields.Integer()
    next = fields.String(allow_none=True)


WEEKDAY_KEYS = WEEKDAYS
