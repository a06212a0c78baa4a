"""Admin routes of bank transfers: statement import, the transaction queue, refund-due records,
receiving accounts and the till's VietQR code."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from core.errors import invalid
from core.pagination import paginate
from core.payments import vietqr
from core.accounts.security import current_user, require_roles
from plugins.bank_transfer import accounts, reconciliation, services
from plugins.bank_transfer.models import BankTransaction, RefundDue
from plugins.bank_transfer.schemas import (AccountInSchema, AccountSchema, AssignSchema, BankSchema,
                                           CloseRefundSchema, DismissSchema, RefundDuePageSchema,
                                           RefundDueQuerySchema, RefundDueSchema, StatementReportSchema,
                                           TillQrInSchema, TillQrSchema, TransactionPageSchema,
                                           TransactionQuerySchema, TransactionSchema)

blp = Blueprint("bank_transfer", __name__, url_prefix="/admin/v1/payments/bank-transfer",
                description="Bank transfers (VietQR): statement import, reconciliation queue, refund-due, accounts")


@blp.route("/statements")
class Statements(MethodView):
    @require_roles("admin")
    @blp.response(200, StatementReportSchema)
    @blp.doc(requestBody={"content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string",
                                                                                          "format": "binary"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                     "format": "binary"}}}}}})
    def post(self):
        """Import a bank statement (CSV or XLSX body, or multipart ``file``). Credit lines whose reference
        matches a bank-transfer payment pay it (partly, fully, or become refund-due); the rest join the
        unmatched queue. Importing the same statement again changes nothing."""
        upload = request.files.get("file")
        raw = upload.read() if upload is not None else request.get_data()
        if not raw.strip():
            raise invalid("file", "tệp rỗng", "the file is empty", code="bank_transfer.bad_statement")
        return services.import_statement(raw, actor=current_user())


@blp.route("/transactions")
class Transactions(MethodView):
    @require_roles("admin")
    @blp.arguments(TransactionQuerySchema, location="query")
    @blp.response(200, TransactionPageSchema)
    def get(self, args):
        """Incoming transfers, newest first; ``status=unmatched`` is the queue waiting for a person."""
        stmt = select(BankTransaction).order_by(BankTransaction.id.desc())
        if args.get("status"):
            stmt = stmt.where(BankTransaction.status == args["status"])
        if args.get("order_id"):
            stmt = stmt.where(BankTransaction.order_id == args["order_id"])
        return paginate(stmt, args["page"], args["limit"])


@blp.route("/transactions/<int:transaction_pk>/assign")
class AssignTransaction(MethodView):
    @require_roles("admin", "organiser")
    @blp.arguments(AssignSchema)
    @blp.response(200, TransactionSchema)
    def post(self, data, transaction_pk):
        """Match an unmatched transfer to a pending bank-transfer payment (organisers: orders in scope)."""
        return reconciliation.assign(current_user(), transaction_pk, data["payment_id"], data.get("note"))


@blp.route("/transactions/<int:transaction_pk>/dismiss")
class DismissTransaction(MethodView):
    @require_roles("admin")
    @blp.arguments(DismissSchema)
    @blp.response(200, TransactionSchema)
    def post(self, data, transaction_pk):
        """Set an unmatched transfer aside with a note (not ours, sent back by hand…)."""
        return reconciliation.dismiss(current_user(), transaction_pk, data["note"])


@blp.route("/refunds-due")
class RefundsDue(MethodView):
    @require_roles("admin")
    @blp.arguments(RefundDueQuerySchema, location="query")
    @blp.response(200, RefundDuePageSchema)
    def get(self, args):
        """Money that must go back (late money on cancelled orders, overpayments), newest first."""
        stmt = select(RefundDue).order_by(RefundDue.id.desc())
        if args.get("status"):
            stmt = stmt.where(RefundDue.status == args["status"])
        return paginate(stmt, args["page"], args["limit"])


@blp.route("/refunds-due/<int:refund_pk>/close")
class CloseRefundDue(MethodView):
    @require_roles("admin")
    @blp.arguments(CloseRefundSchema)
    @blp.response(200, RefundDueSchema)
    def post(self, data, refund_pk):
        """Record that the money went back (``refunded``) or needs no refund (``dismissed``)."""
        return reconciliation.close_refund(current_user(), refund_pk, data["status"], data.get("note"))


@blp.route("/accounts")
class Accounts(MethodView):
    @require_roles("admin")
    @blp.response(200, AccountSchema(many=True))
    def get(self):
        """Receiving accounts of sales channels and producers (the platform's comes from OCOP_BANK_*)."""
        return accounts.list_accounts()

    @require_roles("admin")
    @blp.arguments(AccountInSchema)
    @blp.response(200, AccountSchema)
    def put(self, data):
        """Set the account a sales channel's (till, booth) or a producer's transfers go to."""
        return accounts.set_account(data)


@blp.route("/accounts/<int:account_id>")
class AccountItem(MethodView):
    @require_roles("admin")
    @blp.response(204)
    def delete(self, account_id):
        """Remove a receiving account (its owner falls back to the platform account)."""
        accounts.delete_account(account_id)


@blp.route("/till-qr")
class TillQr(MethodView):
    @require_roles("admin", "organiser", "operator")
    @blp.arguments(TillQrInSchema)
    @blp.response(200, TillQrSchema)
    def post(self, data):
        """The VietQR code a sales-point till or fair booth shows for one amount (writes nothing)."""
        return accounts.till_qr(data)


@blp.route("/banks")
class Banks(MethodView):
    @require_roles("admin", "organiser", "operator", "producer")
    @blp.response(200, BankSchema(many=True))
    def get(self):
        """The NAPAS bank list (BIN, short name) VietQR codes may name."""
        return list(vietqr.banks())


