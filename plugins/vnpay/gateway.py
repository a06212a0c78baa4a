"""The VNPay gateway: a signed payment URL per payment, refunds through the merchant API.

``vnp_Amount`` is VND × 100 (VNPay's convention, although VND has no minor
unit). ``vnp_TxnRef`` is ``OCOP<payment id>T<yyMMddHHmmss>``: unique per
payment, hence never reused on one day, as VNPay requires.
"""
from __future__ import annotations

import datetime as dt

from flask import has_request_context, request

from core.db import db, utcnow
from core.errors import DomainError
from core.payments.money import format_vnd
from core.payments.gateways import PaymentGateway, PaymentStart
from plugins.vnpay import api, signing
from plugins.vnpay.config import VnpaySettings
from plugins.vnpay.models import VnpayTransaction

CODE = "vnpay"


def client_ip() -> str:
    """The shopper's address for ``vnp_IpAddr`` (127.0.0.1 outside a request)."""
    if has_request_context():
        return (request.remote_addr or "127.0.0.1")[:45]
    return "127.0.0.1"


def txn_ref_for(payment_id: int, created: dt.datetime) -> str:
    return f"OCOP{payment_id}T{api.vn_time(created)[2:]}"


class VnpayGateway(PaymentGateway):
    """``code = "vnpay"``: the shopper pays on VNPay's page; the IPN (or ``querydr``) settles it."""

    code = CODE
    name = "Thanh toán qua VNPay (thẻ ATM, QR, ví)"
    name_en = "VNPay (domestic cards, QR, wallets)"

    def __init__(self, settings: VnpaySettings):
        self.settings = settings

    def payment_params(self, order, txn: VnpayTransaction) -> dict:
        """The ``vnp_*`` fields of the payment URL (unsigned)."""
        return {"vnp_Version": self.settings.version, "vnp_Command": "pay", "vnp_TmnCode": self.settings.tmn_code,
                "vnp_Amount": str(txn.amount * 100), "vnp_CurrCode": "VND", "vnp_TxnRef": txn.txn_ref,
                "vnp_OrderInfo": f"Thanh toan don hang {order.number}", "vnp_OrderType": "other",
                "vnp_Locale": "vn", "vnp_ReturnUrl": self.settings.return_url, "vnp_IpAddr": client_ip(),
                "vnp_CreateDate": txn.create_date, "vnp_ExpireDate": txn.expire_date}

    def start(self, order, payment) -> PaymentStart:
        """Record the VNPay transaction and hand the storefront its signed payment URL."""
        if isinstance(payment.amount, bool) or not isinstance(payment.amount, int) or payment.amount <= 0:
            raise DomainError("payment.invalid_amount", "Số tiền thanh toán phải là số nguyên dương (VND).",
                              "The payment amount must be a positive whole number of VND.",
                              {"amount": payment.amount})
        now = utcnow()
        txn = VnpayTransaction(txn_ref=txn_ref_for(payment.id, now), payment_id=payment.id, amount=payment.amount,
                               create_date=api.vn_time(now),
                               expire_date=api.vn_time(now + dt.timedelta(minutes=self.settings.pending_minutes)),
                               status="pending", created_at=now)
        db.session.add(txn)
        db.session.flush()
        url = f"{self.settings.pay_url}?{signing.signed_query(self.payment_params(order, txn), self.settings.hash_secret)}"
        return PaymentStart(status="pending", external_id=txn.txn_ref,
                            client_data={"payment_url": url, "txn_ref": txn.txn_ref, "amount": payment.amount,
                                         "amount_text": format_vnd(payment.amount), "currency": "VND",
                                         "expires_at": txn.expire_date})

    def refund(self, payment, amount: int) -> str:
        """Refund ``amount`` VND through VNPay's refund API; returns VNPay's refund transaction number."""
        txn = db.session.query(VnpayTransaction).filter_by(payment_id=payment.id).one_or_none()
        if txn is None or txn.status not in ("succeeded", "partially_refunded"):
            raise DomainError("payment.not_refundable", "Giao dịch VNPay chưa được thanh toán.",
                              "The VNPay transaction has not been paid.", {"payment_id": payment.id})
        answer = api.refund(self.settings, txn_ref=txn.txn_ref, amount=amount,
                            full=amount == txn.amount and not txn.refunded_amount,
                            transaction_no=txn.transaction_no, transaction_date=txn.create_date,
                            created_by="ocop-commerce", ip=client_ip())
        if answer.get("vnp_ResponseCode") != "00":
            raise DomainError("payment.refund_failed", "VNPay không thực hiện được việc hoàn tiền.",
                              "VNPay could not refund the payment.",
                              {"response_code": answer.get("vnp_ResponseCode"), "message": answer.get("vnp_Message")},
                              status=422)
        txn.refunded_amount = (txn.refunded_amount or 0) + amount
        txn.status = "refunded" if txn.refunded_amount >= txn.amount else "partially_refunded"
        return f"vnpay-refund-{answer.get('vnp_TransactionNo') or answer.get('vnp_ResponseId')}"
