"""Admin: orders (multi-producer views), confirmation, fulfilment, cancellation, payments, refunds, history."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.sales.models import ORDER_STATUSES
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, paginated
from core.accounts.security import current_user, require_roles
from core.sales import orders
from core.sales import order_payments
from core.sales.schemas import (AddressOutSchema, ContactSchema, DeliverySchema, FulfilmentOutSchema,
                                     OrderLineOutSchema, PaymentOutSchema, RefundInSchema)

blp = Blueprint("admin_orders", __name__, url_prefix="/admin/v1",
                description="Orders: admins and organisers see whole orders, producers only their own lines")
VIEWERS = ("admin", "organiser", "producer")
MANAGERS = ("admin", "organiser")


class OrderQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    number = fields.String(validate=validate.Length(1, 32))
    producer_id = fields.Integer()
    created_from = fields.AwareDateTime(default_timezone=None)
    created_to = fields.AwareDateTime(default_timezone=None)
    channel = fields.String(validate=validate.Length(1, 80),
                            metadata={"description": "sales channel code, e.g. online_store, sales_point:SP-75-001"})
    channel_id = fields.Integer()


class AdminOrderSchema(OutputSchema):
    id = fields.Integer()
    number = fields.String()
    token = fields.String(allow_none=True, metadata={"description": "hidden from producers"})
    status = fields.String()
    payment_status = fields.String()
    payment_gateway = fields.String(allow_none=True)
    channel_id = fields.Integer()
    created_at = fields.DateTime()
    contact = fields.Nested(ContactSchema)
    shipping_address = fields.Nested(AddressOutSchema, allow_none=True)
    delivery = fields.Nested(DeliverySchema)
    lines = fields.List(fields.Nested(OrderLineOutSchema),
                        metadata={"description": "producers see only their own lines"})
    lines_total = fields.Integer(metadata={"description": "sum of the visible lines, VND"})
    subtotal = fields.Integer(allow_none=True)
    discount_amount = fields.Integer(allow_none=True)
    voucher_codes = fields.List(fields.String(), allow_none=True)
    shipping_fee = fields.Integer(allow_none=True)
    total = fields.Integer(allow_none=True)
    paid_amount = fields.Integer(allow_none=True)
    refunded_amount = fields.Integer(allow_none=True)
    currency = fields.String()
    attribution = fields.Dict(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    payments = fields.List(fields.Nested(PaymentOutSchema))
    fulfilments = fields.List(fields.Nested(FulfilmentOutSchema))


AdminOrderPageSchema = paginated(AdminOrderSchema, "AdminOrderPageSchema")


class OrderEventSchema(OutputSchema):
    id = fields.Integer()
    kind = fields.String()
    status_before = fields.String(allow_none=True)
    status_after = fields.String(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    actor_username = fields.String(allow_none=True)
    producer_id = fields.Integer(allow_none=True)
    data = fields.Dict(allow_none=True)
    message = fields.String(allow_none=True)
    created_at = fields.DateTime()


class CancelSchema(BaseSchema):
    reason = fields.String(validate=validate.Length(1, 500), metadata={"multiline": True})


class FulfilSchema(BaseSchema):
    carrier = fields.String(required=True, validate=validate.Length(1, 100),
                            metadata={"description": "e.g. Viettel Post, GHN, VNPost"})
    tracking_no = fields.String(required=True, validate=validate.Length(1, 100))
    line_ids = fields.List(fields.Integer(strict=True), validate=validate.Length(min=1),
                           metadata={"description": "producers: default all their unshipped lines"})


class MarkPaidSchema(BaseSchema):
    note = fields.String(validate=validate.Length(1, 500))


class RefundOutSchema(OutputSchema):
    id = fields.Integer()
    payment_id = fields.Integer()
    amount = fields.Integer()
    external_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()


class RefundResultSchema(OutputSchema):
    refunds = fields.List(fields.Nested(RefundOutSchema))
    order = fields.Nested(AdminOrderSchema)


class MarkPaidResultSchema(OutputSchema):
    changed = fields.Boolean(metadata={"description": "false when the payment was already recorded"})
    order = fields.Nested(AdminOrderSchema)


@blp.route("/orders")
class Orders(MethodView):
    @require_roles(*VIEWERS)
    @blp.arguments(OrderQuerySchema, location="query")
    @blp.response(200, AdminOrderPageSchema)
    def get(self, args):
        """Orders in the caller's scope: admin all; organiser orders with a line of a producer in their
        province; producer orders with its lines (and only those lines). ``channel`` (code) or
        ``channel_id`` selects one sales channel — a sales point's counter sales, say."""
        return orders.list_for(current_user(), args)


@blp.route("/orders/<int:order_id>")
class OrderItem(MethodView):
    @require_roles(*VIEWERS)
    @blp.response(200, AdminOrderSchema)
    def get(self, order_id):
        """One order as the caller may see it."""
        return orders.view_for(current_user(), order_id)


@blp.route("/orders/<int:order_id>/events")
class OrderEvents(MethodView):
    @require_roles(*VIEWERS)
    @blp.response(200, OrderEventSchema(many=True))
    def get(self, order_id):
        """The order's history (who did what, when; status before and after)."""
        return orders.history_for(current_user(), order_id)


@blp.route("/orders/<int:order_id>/confirm")
class ConfirmOrder(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, AdminOrderSchema)
    def post(self, order_id):
        """Confirm an unconfirmed order."""
        return orders.confirm(current_user(), order_id)


@blp.route("/orders/<int:order_id>/cancel")
class CancelOrder(MethodView):
    @require_roles(*MANAGERS)
    @blp.arguments(CancelSchema)
    @blp.response(200, AdminOrderSchema)
    def post(self, data, order_id):
        """Cancel an order that has not shipped: releases its stock allocations, refunds captured payments."""
        return order_payments.cancel_order(current_user(), order_id, data.get("reason"))


@blp.route("/orders/<int:order_id>/complete")
class CompleteOrder(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, AdminOrderSchema)
    def post(self, order_id):
        """Mark a fulfilled and fully paid order as completed (delivered)."""
        return orders.complete_order(current_user(), order_id)


@blp.route("/orders/<int:order_id>/fulfilments")
class Fulfilments(MethodView):
    @require_roles(*VIEWERS)
    @blp.arguments(FulfilSchema)
    @blp.response(201, AdminOrderSchema)
    def post(self, data, order_id):
        """Ship lines of one producer with a carrier and tracking number (producers: their own lines);
        deducts the allocated stock and writes the ledger."""
        return orders.fulfil(current_user(), order_id, data)


@blp.route("/orders/<int:order_id>/payments/<int:payment_id>/mark-paid")
class MarkPaid(MethodView):
    @require_roles(*MANAGERS)
    @blp.arguments(MarkPaidSchema)
    @blp.response(200, MarkPaidResultSchema)
    def post(self, data, order_id, payment_id):
        """Record that an offline payment (bank transfer, cash on delivery) was received. Idempotent."""
        user = current_user()
        changed = order_payments.mark_paid(user, order_id, payment_id, data.get("note"))
        return {"changed": changed, "order": orders.view_for(user, order_id)}


@blp.route("/orders/<int:order_id>/refunds")
class Refunds(MethodView):
    @require_roles(*MANAGERS)
    @blp.arguments(RefundInSchema)
    @blp.response(201, RefundResultSchema)
    def post(self, data, order_id):
        """Refund (part of) what was paid, through the gateway that captured it: an ``amount`` (VND), or
        units of order ``lines`` at what they were charged (discounts pro-rated, their promotion and
        voucher budget given back; errors ``order.refund_exceeds_line`` 422, ``order.not_refundable`` 409)."""
        user = current_user()
        refunds = order_payments.refund(user, order_id, data.get("amount"), data.get("reason"), data.get("payment_id"),
                                        data.get("lines"))
        return {"refunds": refunds, "order": orders.view_for(user, order_id)}
