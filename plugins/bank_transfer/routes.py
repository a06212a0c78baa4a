"""Admin: import a bank statement (CSV) to mark bank transfers paid."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from core.errors import invalid
from core.schemas import OutputSchema
from core.accounts.security import current_user, require_roles
from plugins.bank_transfer import services

blp = Blueprint("bank_transfer", __name__, url_prefix="/admin/v1/payments/bank-transfer",
                description="Bank transfer payments: statement import")


class StatementLineSchema(OutputSchema):
    line = fields.Integer()
    transaction_id = fields.String(allow_none=True)
    amount = fields.Integer(allow_none=True)
    reference = fields.String(allow_none=True)
    outcome = fields.String(metadata={"description": "paid, already_processed, amount_mismatch, unmatched, skipped"})


class StatementReportSchema(OutputSchema):
    paid = fields.Integer()
    already_processed = fields.Integer()
    amount_mismatch = fields.Integer()
    unmatched = fields.Integer()
    skipped = fields.Integer()
    lines = fields.List(fields.Nested(StatementLineSchema))


@blp.route("/statements")
class Statements(MethodView):
    @require_roles("admin")
    @blp.response(200, StatementReportSchema)
    @blp.doc(requestBody={"content": {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                     "format": "binary"}}}}}})
    def post(self):
        """Import a bank statement (CSV body, or multipart ``file``): credit lines whose reference and amount
        match a pending bank transfer mark it paid. Re-importing the same statement changes nothing."""
        upload = request.files.get("file")
        raw = upload.read() if upload is not None else request.get_data()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise invalid("file", "tệp phải là CSV mã hoá UTF-8", "the file must be UTF-8 CSV",
                          code="bank_transfer.bad_statement") from None
        if not text.strip():
            raise invalid("file", "tệp rỗng", "the file is empty", code="bank_transfer.bad_statement")
        return services.import_statement(text, actor=current_user())
