"""Admin: the refund-due queue — money that arrived for a cancelled payment or a closed order."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.accounts.security import current_user, require_roles
from core.sales import refunds_due
from core.sales.schemas import ClosePaymentRefundDueSchema, PaymentRefundDuePageSchema, PaymentRefundDueQuerySchema, PaymentRefundDueSchema

blp = Blueprint("admin_refunds_due", __name__, url_prefix="/admin/v1", description="Refund-due queue")


@blp.route("/payment-refunds-due")
class RefundsDue(MethodView):
    @require_roles("admin")
    @blp.arguments(PaymentRefundDueQuerySchema, location="query")
    @blp.response(200, PaymentRefundDuePageSchema)
    def get(self, args):
        """Money a gateway reported for a cancelled payment or a cancelled/refunded order (never counted as paid).

        Roles: admin. Filter with `status` (`open`, `refunded`, `dismissed`) and `order_id`.
        """
        return refunds_due.list_refunds_due(args)


@blp.route("/payment-refunds-due/<int:due_id>/close")
class CloseRefundDue(MethodView):
    @require_roles("admin")
    @blp.arguments(ClosePaymentRefundDueSchema)
    @blp.response(200, PaymentRefundDueSchema)
    def post(self, data, due_id):
        """Record what was done with the money: `refunded` (sent back) or `dismissed` (kept, with a note).

        Roles: admin. Errors: `refund_due.not_found` (404), `refund_due.closed` (409, already closed).
        """
        return refunds_due.close_refund_due(current_user(), due_id, data)
