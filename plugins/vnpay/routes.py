"""VNPay's calls into the shop: ``GET /storefront/v1/payments/vnpay/ipn`` and the shopper's ``/return``."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from core.schemas import OutputSchema
from plugins.vnpay import services

blp = Blueprint("vnpay", __name__, url_prefix="/storefront/v1/payments/vnpay",
                description="VNPay: server-to-server IPN and the shopper's return page")

VNP_QUERY = [{"in": "query", "name": "vnp_TxnRef", "schema": {"type": "string"}, "required": False},
             {"in": "query", "name": "vnp_Amount", "schema": {"type": "string"}, "required": False},
             {"in": "query", "name": "vnp_SecureHash", "schema": {"type": "string"}, "required": False,
              "description": "HMAC-SHA512 of the other vnp_* fields; all vnp_* fields VNPay sends are read"}]


class IpnAnswerSchema(OutputSchema):
    RspCode = fields.String(metadata={"description": "00 confirmed, 01 order not found, 02 already confirmed, "
                                                     "04 invalid amount, 97 invalid signature, 99 unknown error"})
    Message = fields.String()


class ReturnOrderSchema(OutputSchema):
    number = fields.String()
    token = fields.String()
    status = fields.String()
    payment_status = fields.String()


class ReturnSchema(OutputSchema):
    txn_ref = fields.String()
    success = fields.Boolean()
    response_code = fields.String()
    message = fields.String()
    message_en = fields.String()
    amount = fields.Integer()
    order = fields.Nested(ReturnOrderSchema)
    note = fields.String()


def _vnp_args() -> dict:
    return {k: v for k, v in request.args.items() if k.startswith("vnp_")}


@blp.route("/ipn")
class Ipn(MethodView):
    @blp.response(200, IpnAnswerSchema)
    @blp.doc(parameters=VNP_QUERY)
    def get(self):
        """VNPay's server-to-server payment notification (IPN). Always 200 with VNPay's ``RspCode``;
        only ``00`` changed something (replays answer ``02``)."""
        return services.handle_ipn(_vnp_args())


@blp.route("/return")
class Return(MethodView):
    @blp.response(200, ReturnSchema)
    @blp.alt_response(400, description="`payment.bad_signature`")
    @blp.alt_response(404, description="`payment.not_found` (unknown vnp_TxnRef) or `vnpay.not_found`")
    @blp.doc(parameters=VNP_QUERY)
    def get(self):
        """Where VNPay sends the shopper back: shows the result (signature checked), changes nothing."""
        return services.return_view(_vnp_args())
