"""Request and response schemas of the fairs API (dates in Vietnam, times answered in +07:00, money in VND)."""
from __future__ import annotations

from marshmallow import ValidationError, fields, pre_dump, validate, validates_schema

from core import clock
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, PartialMixin, paginated
from plugins.fairs import fees
from plugins.fairs.models import (APPLICATION_STATUSES, BOOTH_SERVICES, BOOTH_TYPES, DEAL_KINDS, DEAL_STATUSES,
                                  EVENT_KINDS, FEE_POLICIES, PAYMENT_METHODS, RULE_KINDS, STATUSES)

MONEY = validate.Range(0, 100_000_000_000)
CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$", error="1–20 letters, digits, '.', '_' or '-'")
HHMM = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="HH:MM")
GRID = validate.Range(0, 10_000)
SIDE = validate.Range(1, 10_000)
ID = validate.Range(1, 2_147_483_647, error="a positive id")


class LocalDateTime(fields.DateTime):
    """A UTC datetime answered in Vietnam time (ISO 8601 with +07:00)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return clock.local(value)


# --- events ------------------------------------------------------------------------------------
class FairHoursSchema(BaseSchema):
    open = fields.String(required=True, validate=HHMM)
    close = fields.String(required=True, validate=HHMM)


class FairEventInSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(1, 300))
    slug = fields.String(validate=validate.Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$", error="lowercase-words-with-dashes"))
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    venue_unit_code = fields.String(required=True, validate=validate.Length(1, 20),
                                    metadata={"description": "commune of the venue (its province is the event's)"})
    venue_address = fields.String(required=True, validate=validate.Length(1, 500))
    latitude = fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(-180, 180))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    opening_hours = fields.Nested(FairHoursSchema, allow_none=True, metadata={"description": "Vietnam time"})
    applications_open_on = fields.Date(required=True)
    applications_close_on = fields.Date(required=True)
    fee_policy = fields.String(validate=validate.OneOf(FEE_POLICIES))
    subsidy_share_bp = fields.Integer(validate=validate.Range(0, 10000),
                                      metadata={"description": "share of the booth price the province pays (bp)"})
    open_to_other_provinces = fields.Boolean()
    map_width = fields.Integer(validate=SIDE)
    map_height = fields.Integer(validate=SIDE)


class FairEventPatchSchema(PartialMixin, BaseSchema):
    name = fields.String(validate=validate.Length(1, 300))
    venue_address = fields.String(validate=validate.Length(1, 500))
    latitude = fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(-180, 180))
    starts_on = fields.Date()
    ends_on = fields.Date()
    opening_hours = fields.Nested(FairHoursSchema, allow_none=True)
    applications_open_on = fields.Date()
    applications_close_on = fields.Date()
    fee_policy = fields.String(validate=validate.OneOf(FEE_POLICIES))
    subsidy_share_bp = fields.Integer(validate=validate.Range(0, 10000))
    open_to_other_provinces = fields.Boolean()
    map_width = fields.Integer(validate=SIDE)
    map_height = fields.Integer(validate=SIDE)


class FairEventQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    province = fields.String(validate=validate.Length(1, 20))


class FairPublicEventQuerySchema(PageArgsSchema):
    province = fields.String(validate=validate.Length(1, 20))
    kind = fields.String(validate=validate.OneOf(EVENT_KINDS))
    date_from = fields.Date()
    date_to = fields.Date()


class FairTransitionSchema(BaseSchema):
    to = fields.String(required=True, validate=validate.OneOf(STATUSES))


class FairEventOutSchema(OutputSchema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    kind = fields.String()
    kind_name = fields.Function(lambda e: EVENT_KINDS[e.kind][0])
    kind_name_en = fields.Function(lambda e: EVENT_KINDS[e.kind][1])
    status = fields.String()
    province_code = fields.String()
    venue_unit_code = fields.String()
    venue_address = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    starts_on = fields.Date()
    ends_on = fields.Date()
    opening_hours = fields.Raw(allow_none=True)
    applications_open_on = fields.Date()
    applications_close_on = fields.Date()
    fee_policy = fields.String()
    subsidy_share_bp = fields.Integer()
    open_to_other_provinces = fields.Boolean()
    map_width = fields.Integer()
    map_height = fields.Integer()
    sales_channel_code = fields.Function(lambda e: e.sales_channel.code)
    booths = fields.Function(lambda e: len(e.booths))


FairEventPageSchema = paginated(FairEventOutSchema, "FairEventPage")


class FairPublicEventSchema(OutputSchema):
    slug = fields.String()
    name = fields.String()
    kind = fields.String()
    kind_name = fields.Function(lambda e: EVENT_KINDS[e.kind][0])
    kind_name_en = fields.Function(lambda e: EVENT_KINDS[e.kind][1])
    status = fields.String()
    province_code = fields.String()
    venue_address = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    starts_on = fields.Date()
    ends_on = fields.Date()
    opening_hours = fields.Raw(allow_none=True)
    map_svg = fields.Function(lambda e: f"/storefront/v1/fairs/{e.slug}/map.svg")


FairPublicEventPageSchema = paginated(FairPublicEventSchema, "PublicFairEventPage")


# --- the map -------------------------------------------------------------------------------------
class FairZoneInSchema(BaseSchema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    product_group = fields.String(allow_none=True, validate=validate.Length(1, 40))
    x = fields.Integer(required=True, validate=GRID)
    y = fields.Integer(required=True, validate=GRID)
    w = fields.Integer(required=True, validate=SIDE)
    h = fields.Integer(required=True, validate=SIDE)


class FairBoothInSchema(BaseSchema):
    code = fields.String(required=True, validate=CODE)
    zone_code = fields.String(required=True, validate=CODE)
    booth_type = fields.String(required=True, validate=validate.OneOf(BOOTH_TYPES))
    size_m2 = fields.Float(required=True, validate=validate.Range(0.5, 10_000))
    price = fields.Integer(validate=MONEY, metadata={"description": "VND for the whole event"})
    capacity = fields.Integer(validate=validate.Range(1, 50), metadata={"description": ">1: shared pavilion only"})
    services = fields.List(fields.String(validate=validate.OneOf(BOOTH_SERVICES)), validate=validate.Length(max=3))
    x = fields.Integer(required=True, validate=GRID)
    y = fields.Integer(required=True, validate=GRID)
    w = fields.Integer(required=True, validate=SIDE)
    h = fields.Integer(required=True, validate=SIDE)


class FairBoothPatchSchema(PartialMixin, BaseSchema):
    """What the map editor changes on a booth: position, size, zone, type, area, price, services."""

    zone_code = fields.String(validate=CODE)
    booth_type = fields.String(validate=validate.OneOf(BOOTH_TYPES))
    size_m2 = fields.Float(validate=validate.Range(0.5, 10_000))
    price = fields.Integer(validate=MONEY)
    services = fields.List(fields.String(validate=validate.OneOf(BOOTH_SERVICES)), validate=validate.Length(max=3))
    x = fields.Integer(validate=GRID)
    y = fields.Integer(validate=GRID)
    w = fields.Integer(validate=SIDE)
    h = fields.Integer(validate=SIDE)


class FairBoothsInSchema(BaseSchema):
    booths = fields.List(fields.Nested(FairBoothInSchema), required=True, validate=validate.Length(1, 500))


class FairMapSchema(OutputSchema):
    slug = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    zones = fields.List(fields.Dict())
    booths = fields.List(fields.Dict())


class FairZoneOutSchema(OutputSchema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    product_group = fields.String(allow_none=True)
    x = fields.Integer()
    y = fields.Integer()
    w = fields.Integer()
    h = fields.Integer()


class FairBoothOutSchema(OutputSchema):
    id = fields.Integer()
    code = fields.String()
    zone_code = fields.Function(lambda b: b.zone.code)
    booth_type = fields.String()
    size_m2 = fields.Float()
    price = fields.Integer()
    capacity = fields.Integer()
    services = fields.List(fields.String())
    x = fields.Integer()
    y = fields.Integer()
    w = fields.Integer()
    h = fields.Integer()


class FairBoothListSchema(OutputSchema):
    results = fields.List(fields.Nested(FairBoothOutSchema))


# --- applications ----------------------------------------------------------------------------------
class FairApplicationInSchema(BaseSchema):
    producer_id = fields.Integer(metadata={"description": "producers: their own (default)"})
    product_ids = fields.List(fields.Integer(validate=ID), required=True, validate=validate.Length(1, 30))
    booth_type = fields.String(allow_none=True, validate=validate.OneOf(BOOTH_TYPES))
    zone_code = fields.String(allow_none=True, validate=CODE)
    needs = fields.List(fields.String(validate=validate.OneOf(BOOTH_SERVICES)), validate=validate.Length(max=3))
    contact_name = fields.String(required=True, validate=validate.Length(1, 200))
    contact_phone = fields.String(required=True, validate=validate.Regexp(r"^\+?[0-9 .-]{8,20}$",
                                                                           error="a phone number"))
    note = fields.String(allow_none=True, validate=validate.Length(max=1000), metadata={"multiline": True})


class FairReviewSchema(BaseSchema):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject", "waitlist")))
    reason = fields.String(allow_none=True, validate=validate.Length(max=1000), metadata={"multiline": True})


class FairApplicationQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(APPLICATION_STATUSES))


class FairApplicationOutSchema(OutputSchema):
    id = fields.Integer()
    event_id = fields.Integer()
    producer_id = fields.Integer()
    producer_name = fields.Function(lambda a: a.producer.name)
    status = fields.String()
    product_ids = fields.List(fields.Integer())
    booth_type = fields.String(allow_none=True)
    zone_code = fields.String(allow_none=True)
    needs = fields.List(fields.String())
    contact_name = fields.String()
    contact_phone = fields.String()
    note = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    decided_at = LocalDateTime(allow_none=True)
    booth_code = fields.Function(lambda a: a.assignment.booth.code if a.assignment else None)
    created_at = LocalDateTime()


FairApplicationPageSchema = paginated(FairApplicationOutSchema, "FairApplicationPage")


# --- allocation and fees ---------------------------------------------------------------------------
class FairAssignInSchema(BaseSchema):
    application_id = fields.Integer(required=True, validate=ID)
    booth_id = fields.Integer(required=True, validate=ID)


class FairAcceptInSchema(BaseSchema):
    items = fields.List(fields.Nested(FairAssignInSchema), required=True, validate=validate.Length(1, 1000))


class FairFeeOutSchema(OutputSchema):
    """A fee line with its payment status (``paid`` from its captured core payment)."""

    id = fields.Integer()
    assignment_id = fields.Integer(allow_none=True)
    producer_id = fields.Integer()
    booth_code = fields.String()
    amount = fields.Integer()
    subsidy = fields.Integer()
    due = fields.Integer()
    status = fields.String()
    paid_method = fields.String(allow_none=True)
    paid_reference = fields.String(allow_none=True)
    paid_at = LocalDateTime(allow_none=True)
    payment = fields.Nested(lambda: FairFeePaymentSchema(), allow_none=True)
    transfer = fields.Nested(lambda: FairFeePaymentSchema(), allow_none=True)

    @pre_dump
    def _with_payments(self, fee, **kwargs):
        return fee if isinstance(fee, fees.FeeView) else fees.view(fee)


class FairFeePaymentSchema(OutputSchema):
    """A fee's core payment: the captured one, or the bank transfer waiting (reference + VietQR payload)."""

    id = fields.Integer()
    gateway = fields.String()
    status = fields.String()
    amount = fields.Integer()
    transfer_reference = fields.String(allow_none=True)
    vietqr = fields.String(allow_none=True)
    bank = fields.String(allow_none=True)
    account_no = fields.String(allow_none=True)
    account_name = fields.String(allow_none=True)
    instructions = fields.String(allow_none=True)
    instructions_en = fields.String(allow_none=True)
    succeeded_at = LocalDateTime(allow_none=True)


class FairAssignmentOutSchema(OutputSchema):
    id = fields.Integer()
    event_id = fields.Integer()
    booth_id = fields.Integer()
    booth_code = fields.Function(lambda a: a.booth.code)
    slot = fields.Integer()
    application_id = fields.Integer()
    producer_id = fields.Integer()
    producer_name = fields.Function(lambda a: a.producer.name)
    stock_location_id = fields.Integer()
    fee = fields.Nested(FairFeeOutSchema, allow_none=True)


class FairAssignmentListSchema(OutputSchema):
    results = fields.List(fields.Nested(FairAssignmentOutSchema))


class FairFeeListSchema(OutputSchema):
    results = fields.List(fields.Nested(FairFeeOutSchema))


class FairPayInSchema(BaseSchema):
    method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHODS))
    reference = fields.String(allow_none=True, validate=validate.Length(1, 120))


class FairRuleSchema(BaseSchema):
    kind = fields.String(required=True, validate=validate.OneOf(RULE_KINDS))
    weight = fields.Integer(validate=validate.Range(-1000, 1000))
    params = fields.Dict(keys=fields.String(validate=validate.Length(1, 40)), values=fields.Raw(),
                         validate=validate.Length(max=5))


class FairRulesInSchema(BaseSchema):
    rules = fields.List(fields.Nested(FairRuleSchema), required=True, validate=validate.Length(0, 20))


class FairRulesOutSchema(OutputSchema):
    rules = fields.List(fields.Dict())


class FairProposalSchema(OutputSchema):
    rules = fields.List(fields.Dict())
    items = fields.List(fields.Dict())
    unplaced = fields.List(fields.Dict())


# --- booth stock and sales -------------------------------------------------------------------------
class FairStaffInSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9._-]{2,79}$",
                                                                     error="3–80 lowercase letters, digits, . _ -"))
    password = fields.String(validate=validate.Length(8, 200), metadata={"description": "creates the account"})
    full_name = fields.String(validate=validate.Length(1, 200))


class FairStaffOutSchema(OutputSchema):
    user_id = fields.Integer()
    username = fields.Function(lambda s: s.user.username)
    full_name = fields.Function(lambda s: s.user.full_name)
    assignment_id = fields.Integer()


class FairStaffListSchema(OutputSchema):
    results = fields.List(fields.Nested(FairStaffOutSchema))


class FairMoveLineInSchema(BaseSchema):
    variant_id = fields.Integer(required=True, validate=ID)
    quantity = fields.Integer(required=True, validate=validate.Range(1, 1_000_000))


class FairMoveInSchema(BaseSchema):
    direction = fields.String(required=True, validate=validate.OneOf(("in", "out")))
    warehouse_id = fields.Integer(metadata={"description": "default: the exhibitor's first warehouse"})
    lines = fields.List(fields.Nested(FairMoveLineInSchema), required=True, validate=validate.Length(1, 100))

    @validates_schema
    def _distinct(self, data, **kwargs):
        ids = [line["variant_id"] for line in data.get("lines", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError({"lines": ["one line per variant"]})


class FairReceivedLineSchema(BaseSchema):
    variant_id = fields.Integer(required=True, validate=ID)
    received = fields.Integer(required=True, validate=validate.Range(0, 1_000_000))


class FairReceiveInSchema(BaseSchema):
    lines = fields.List(fields.Nested(FairReceivedLineSchema), validate=validate.Length(max=100),
                        metadata={"description": "omitted lines: everything arrived"})


class FairMoveOutSchema(OutputSchema):
    id = fields.Integer()
    assignment_id = fields.Integer()
    direction = fields.String()
    status = fields.String()
    reference = fields.String()
    warehouse_id = fields.Integer()
    lines = fields.List(fields.Dict())
    created_at = LocalDateTime()
    received_at = LocalDateTime(allow_none=True)


class FairMoveListSchema(OutputSchema):
    results = fields.List(fields.Nested(FairMoveOutSchema))


class FairSaleLineInSchema(BaseSchema):
    variant_id = fields.Integer(required=True, validate=ID)
    quantity = fields.Integer(required=True, validate=validate.Range(1, 10_000))


class FairSaleInSchema(BaseSchema):
    lines = fields.List(fields.Nested(FairSaleLineInSchema), required=True, validate=validate.Length(1, 100))
    payment_method = fields.String(required=True, validate=validate.OneOf(("cash", "card", "bank_transfer_qr")))
    amount_tendered = fields.Integer(validate=MONEY)
    payment_reference = fields.String(validate=validate.Length(1, 200))
    client_ref = fields.String(validate=validate.Length(1, 80))


class FairOrderLineOutSchema(OutputSchema):
    id = fields.Integer()
    variant_id = fields.Integer()
    sku = fields.String()
    product_name = fields.String()
    quantity = fields.Integer()
    returned_quantity = fields.Integer()
    unit_price = fields.Integer()
    line_total = fields.Integer()


class FairSaleOutSchema(OutputSchema):
    id = fields.Integer()
    assignment_id = fields.Integer()
    order_id = fields.Integer()
    order_number = fields.Function(lambda s: s.order.number)
    status = fields.Function(lambda s: s.order.status)
    total = fields.Function(lambda s: s.order.total)
    refunded_amount = fields.Function(lambda s: s.order.refunded_amount)
    lines = fields.Function(lambda s: FairOrderLineOutSchema(many=True).dump(s.order.lines))
    sold_on = fields.Date()


class FairSaleListSchema(OutputSchema):
    results = fields.List(fields.Nested(FairSaleOutSchema))


class FairReturnLineInSchema(BaseSchema):
    order_line_id = fields.Integer(required=True, validate=ID)
    quantity = fields.Integer(required=True, validate=validate.Range(1, 10_000))


class FairReturnInSchema(BaseSchema):
    lines = fields.List(fields.Nested(FairReturnLineInSchema), required=True, validate=validate.Length(1, 100))
    reason = fields.String(required=True, validate=validate.Length(1, 300))
    refund_method = fields.String(validate=validate.OneOf(("cash", "card", "transfer")))


class FairCountInSchema(BaseSchema):
    variant_id = fields.Integer(required=True, validate=ID)
    counted = fields.Integer(required=True, validate=validate.Range(0, 1_000_000))
    lot_no = fields.String(validate=validate.Length(1, 60))


class FairSettleInSchema(BaseSchema):
    counts = fields.List(fields.Nested(FairCountInSchema), validate=validate.Length(max=200))


class FairFormatQuerySchema(BaseSchema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")))


class FairSettlementSchema(OutputSchema):
    event = fields.Dict()
    booth_code = fields.String()
    assignment_id = fields.Integer()
    producer = fields.Dict()
    lines = fields.List(fields.Dict())
    totals = fields.Dict()
    balanced = fields.Boolean()
    settled_at = LocalDateTime(allow_none=True)


# --- visitors, deals, meetings ---------------------------------------------------------------------
class FairVisitorsInSchema(BaseSchema):
    day = fields.Date(required=True)
    gate = fields.String(required=True, validate=validate.Length(1, 40))
    visitors = fields.Integer(required=True, validate=validate.Range(1, 1_000_000))
    device_ref = fields.String(validate=validate.Length(1, 120),
                               metadata={"description": "a gate device's idempotency key"})


class FairVisitorCountOutSchema(OutputSchema):
    id = fields.Integer()
    day = fields.Date()
    gate = fields.String()
    visitors = fields.Integer()
    source = fields.String()


class FairVisitorsOutSchema(OutputSchema):
    items = fields.List(fields.Dict())
    total = fields.Integer()


class FairDealInSchema(BaseSchema):
    producer_id = fields.Integer(metadata={"description": "producers: their own (default)"})
    kind = fields.String(required=True, validate=validate.OneOf(DEAL_KINDS))
    buyer_name = fields.String(required=True, validate=validate.Length(1, 300))
    product_ids = fields.List(fields.Integer(validate=ID), validate=validate.Length(max=30))
    value = fields.Integer(required=True, validate=MONEY)
    quantity = fields.Integer(allow_none=True, validate=validate.Range(1, 100_000_000))
    signed_on = fields.Date()
    follow_up_on = fields.Date(allow_none=True)


class FairDealPatchSchema(PartialMixin, BaseSchema):
    status = fields.String(validate=validate.OneOf(DEAL_STATUSES))
    follow_up_on = fields.Date(allow_none=True)


class FairDealOutSchema(OutputSchema):
    id = fields.Integer()
    event_id = fields.Integer()
    producer_id = fields.Integer()
    producer_name = fields.Function(lambda d: d.producer.name)
    kind = fields.String()
    buyer_name = fields.String()
    product_ids = fields.List(fields.Integer())
    value = fields.Integer()
    quantity = fields.Integer(allow_none=True)
    status = fields.String()
    signed_on = fields.Date()
    follow_up_on = fields.Date(allow_none=True)


class FairDealListSchema(OutputSchema):
    results = fields.List(fields.Nested(FairDealOutSchema))


class FairMeetingInSchema(BaseSchema):
    table_code = fields.String(required=True, validate=CODE)
    starts_at = fields.AwareDateTime(required=True, default_timezone=clock.VN_TZ,
                                     metadata={"description": "ISO 8601; without offset: Vietnam time"})
    producer_id = fields.Integer(required=True, validate=ID)
    buyer_name = fields.String(required=True, validate=validate.Length(1, 300))


class FairMeetingOutSchema(OutputSchema):
    id = fields.Integer()
    table_code = fields.String()
    starts_at = LocalDateTime()
    producer_id = fields.Integer()
    buyer_name = fields.String()


class FairMeetingListSchema(OutputSchema):
    results = fields.List(fields.Nested(FairMeetingOutSchema))


# --- storefront and reports -----------------------------------------------------------------------
class FairPublicDetailSchema(FairPublicEventSchema):
    exhibitors = fields.List(fields.Dict())
    map = fields.Dict()


class FairWhereQuerySchema(BaseSchema):
    product = fields.String(required=True, validate=validate.Length(1, 160))


class FairWhereSchema(OutputSchema):
    product = fields.Dict()
    booth_codes = fields.List(fields.String())


class FairReportSchema(OutputSchema):
    class Meta:
        ordered = True

    event_id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    status = fields.String()
    exhibitors = fields.Integer()
    booths = fields.Integer()
    booths_filled = fields.Integer()
    gmv = fields.Integer()
    orders = fields.Integer()
    sales_by_group = fields.List(fields.Dict())
    sales_by_producer = fields.List(fields.Dict())
    visitors = fields.Integer()
    deals = fields.Integer()
    deals_value = fields.Integer()


class FairProvinceQuerySchema(BaseSchema):
    province = fields.String(validate=validate.Length(1, 20))
    year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    target = fields.Integer(validate=validate.Range(1, 100_000))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")))


class FairProvinceReportSchema(OutputSchema):
    province_code = fields.String()
    year = fields.Integer()
    events = fields.Integer()
    booth_rounds = fields.Integer()
    target = fields.Integer(allow_none=True)
    target_reached = fields.Boolean(allow_none=True)
    producers = fields.Integer()
    gmv = fields.Integer()
    items = fields.List(fields.Dict())
