"""Public routes of bank transfers: the order's VietQR image and the bank-notification webhook."""
from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from core.errors import DomainError, NotFound
from core.payments import vietqr
from core.sales import orders
from plugins.bank_transfer import casso, config, reconciliation
from plugins.bank_transfer.gateway import BankTransferGateway
from plugins.bank_transfer.schemas import WebhookAnswerSchema

blp = Blueprint("bank_transfer_storefront", __name__, url_prefix="/storefront/v1/payments/bank-transfer",
                description="Bank transfers (VietQR): QR images for shoppers, bank-notification webhook")

IMAGE_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def pending_payload(token: str) -> str:
    """The VietQR payload of the order's pending bank-transfer payment (404 when there is none)."""
    order = orders.get_by_token(token)
    for payment in sorted(order.payments, key=lambda p: -p.id):
        if payment.gateway == BankTransferGateway.code and payment.status in ("pending", "authorised"):
            payload = (payment.client_data or {}).get("vietqr")
            if payload:
                return payload
    raise NotFound("vietqr", "mã VietQR", {"reason": "no pending bank transfer on this order"})


@blp.route("/orders/<token>/qr.<any(svg, png):kind>")
class OrderQr(MethodView):
    @blp.response(200, content_type="image/png", description="the QR code (PNG or SVG)")
    @blp.alt_response(404, description="`order.not_found` or `vietqr.not_found` (no pending bank transfer)")
    def get(self, token, kind):
        """The VietQR code of the order's pending bank transfer, as an image (``qr.svg`` or ``qr.png``)."""
        payload = pending_payload(token)
        body = vietqr.render_svg(payload) if kind == "svg" else vietqr.render_png(payload)
        return Response(body, mimetype=IMAGE_TYPES[kind], headers={"Cache-Control": "private, max-age=300"})


@blp.route("/webhooks/casso")
class CassoWebhook(MethodView):
    @blp.response(200, WebhookAnswerSchema)
    @blp.alt_response(400, description="`bank_transfer.bad_signature`: missing, wrong, stale or tampered "
                                       "signature (error envelope; nothing changed)")
    @blp.alt_response(503, description="`bank_transfer.webhook_not_configured`: OCOP_BANK_WEBHOOK_SECRET unset")
    @blp.doc(parameters=[{"in": "header", "name": "X-Casso-Signature", "required": True,
                          "schema": {"type": "string"}, "description": "`t=<unix ms>,v1=<HMAC-SHA512 hex>`"}],
             requestBody={"required": True, "description": "Casso webhook v2 body, verified before use",
                          "content": {"application/json": {"schema": {"type": "object"}}}})
    def post(self):
        """Receive incoming-transfer notifications from Casso (called by Casso, not by shoppers).

        Each transfer is applied once by its bank reference: a replay answers
        200 ``already_processed`` and changes nothing.
        """
        secret = config.webhook_secret()
        if not secret:
            raise DomainError("bank_transfer.webhook_not_configured",
                              "Chưa cấu hình khoá bí mật webhook ngân hàng (OCOP_BANK_WEBHOOK_SECRET).",
                              "The bank webhook secret (OCOP_BANK_WEBHOOK_SECRET) is not configured.", status=503)
        body = casso.verify(request.get_data(cache=False), request.headers.get("X-Casso-Signature"), secret)
        results = [reconciliation.record_transfer(t) for t in casso.transfers(body)]
        return {"success": True, "results": results}
