"""Request and response schemas of the bank_transfer plugin's routes."""
from __future__ import annotations

from marshmallow import fields, validate

from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, paginated
from plugins.bank_transfer.models import OWNER_KINDS, TRANSACTION_STATUSES


class TransferAnswerSchema(OutputSchema):
    transaction_id = fields.String()
    outcome = fields.String(metadata={"description": "paid, partial, overpaid, refund_due, unmatched, "
                                                     "already_processed, skipped"})
    amount = fields.Integer(allow_none=True, metadata={"description": "VND"})
    reference = fields.String(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    refund_due = fields.Integer(metadata={"description": "VND that must go back"})


class StatementLineSchema(TransferAnswerSchema):
    line = fields.Integer()


class StatementReportSchema(OutputSchema):
    paid = fields.Integer()
    partial = fields.Integer()
    overpaid = fields.Integer()
    refund_due = fields.Integer()
    already_processed = fields.Integer()
    unmatched = fields.Integer()
    skipped = fields.Integer()
    lines = fields.List(fields.Nested(StatementLineSchema))


class WebhookAnswerSchema(OutputSchema):
    success = fields.Boolean()
    results = fields.List(fields.Nested(TransferAnswerSchema))


class TransactionSchema(OutputSchema):
    id = fields.Integer()
    transaction_id = fields.String()
    source = fields.String()
    account_no = fields.String(allow_none=True)
    amount = fields.Integer()
    currency = fields.String()
    description = fields.String()
    occurred_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime()
    status = fields.String()
    reason = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    payment_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    applied_amount = fields.Integer()
    resolved_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)


TransactionPageSchema = paginated(TransactionSchema, "BankTransactionPage")


class TransactionQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(TRANSACTION_STATUSES))
    order_id = fields.Integer()


class AssignSchema(BaseSchema):
    payment_id = fields.Integer(required=True, strict=True)
    note = fields.String(validate=validate.Length(max=500))


class DismissSchema(BaseSchema):
    note = fields.String(required=True, validate=validate.Length(1, 500))


class RefundDueSchema(OutputSchema):
    id = fields.Integer()
    bank_transaction_id = fields.Integer()
    order_id = fields.Integer(allow_none=True)
    amount = fields.Integer(metadata={"description": "VND"})
    reason = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)


RefundDuePageSchema = paginated(RefundDueSchema, "BankRefundDuePage")


class RefundDueQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(("open", "refunded", "dismissed")))


class CloseRefundSchema(BaseSchema):
    status = fields.String(required=True, validate=validate.OneOf(("refunded", "dismissed")))
    note = fields.String(validate=validate.Length(max=500))


class AccountInSchema(BaseSchema):
    owner_kind = fields.String(required=True, validate=validate.OneOf(OWNER_KINDS))
    owner_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    bank_bin = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$"))
    account_no = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9]{1,19}$"))
    account_name = fields.String(load_default="", validate=validate.Length(max=100))
    city = fields.String(load_default="", validate=validate.Length(max=60))


class AccountSchema(OutputSchema):
    id = fields.Integer()
    owner_kind = fields.String()
    owner_id = fields.Integer()
    bank_bin = fields.String()
    bank = fields.String()
    account_no = fields.String()
    account_name = fields.String()
    city = fields.String()
    active = fields.Boolean()


class TillQrInSchema(BaseSchema):
    sales_channel_id = fields.Integer(required=True, strict=True)
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10**12))
    reference = fields.String(required=True, validate=validate.Length(1, 60),
                              metadata={"description": "e.g. the till's sale number; cleaned to ≤ 25 characters"})


class TillQrSchema(OutputSchema):
    reference = fields.String()
    amount = fields.Integer()
    amount_text = fields.String()
    currency = fields.String()
    bank = fields.String()
    bank_bin = fields.String()
    account_no = fields.String()
    account_name = fields.String()
    vietqr = fields.String(metadata={"description": "the VietQR payload"})
    svg = fields.String(metadata={"description": "the QR code as an SVG document"})
    instructions = fields.String()
    instructions_en = fields.String()


class BankSchema(OutputSchema):
    bin = fields.String()
    code = fields.String()
    short_name = fields.String()
    name = fields.String()
