"""VNPay settlement: the IPN state machine, ``querydr`` for payments no IPN settled, the return page.

A VNPay transaction goes ``pending`` → ``succeeded`` or ``failed`` once, by
the IPN or by ``querydr``, whichever comes first; everything after that is a
replay and changes nothing. Money is applied to the order by the core
payments service with the event id ``<vnp_TxnRef>:succeeded``, so the IPN and
``querydr`` can never both count it.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import select

from core.db import commit, db, utcnow
from core.errors import DomainError, NotFound
from core.sales import orders
from core.sales import order_payments
from core.payments.gateways import GatewayEvent
from plugins.vnpay import api, config, signing
from plugins.vnpay.gateway import CODE, VnpayGateway
from plugins.vnpay.models import VnpayTransaction

log = logging.getLogger(__name__)

#: VNPay's IPN answers (RspCode → Message), as its integration guide lists them
IPN_ANSWERS = {"00": "Confirm Success", "01": "Order not found", "02": "Order already confirmed",
               "04": "Invalid amount", "97": "Invalid signature", "99": "Unknow error"}
#: vnp_ResponseCode of the payment page → what the shopper is told (vi, en)
RESULT_TEXTS = {
    "00": ("Giao dịch thành công", "Payment successful"),
    "07": ("Trừ tiền thành công, giao dịch đang được kiểm tra", "Money taken; the transaction is being checked"),
    "09": ("Thẻ chưa đăng ký Internet Banking", "The card is not registered for internet banking"),
    "11": ("Hết hạn chờ thanh toán", "The payment window expired"),
    "12": ("Thẻ bị khoá", "The card is locked"),
    "24": ("Khách hàng huỷ giao dịch", "You cancelled the payment"),
    "51": ("Tài khoản không đủ số dư", "Insufficient balance"),
    "65": ("Vượt hạn mức giao dịch trong ngày", "Daily limit exceeded"),
    "75": ("Ngân hàng đang bảo trì", "The bank is under maintenance"),
}
OTHER_RESULT = ("Giao dịch không thành công", "Payment failed")


def settings() -> config.VnpaySettings | None:
    return config.load(public_base_url=current_app.config["OCOP"].public_base_url)


def configured_gateway() -> VnpayGateway:
    """The VNPay gateway, or ``payment.gateway_unavailable`` (404) when ``OCOP_VNPAY_*`` is not set."""
    found = settings()
    if found is None:
        raise DomainError("payment.gateway_unavailable", "Cổng thanh toán VNPay chưa được bật.",
                          "The VNPay gateway is not enabled.", {"gateway": CODE}, status=404)
    return VnpayGateway(found)


def _answer(code: str) -> dict:
    return {"RspCode": code, "Message": IPN_ANSWERS[code]}


def _find(txn_ref) -> VnpayTransaction | None:
    if not isinstance(txn_ref, str) or not txn_ref:
        return None
    return db.session.execute(select(VnpayTransaction).where(VnpayTransaction.txn_ref == txn_ref)).scalar_one_or_none()


def handle_ipn(params: dict) -> dict:
    """Answer one IPN call with VNPay's ``{"RspCode", "Message"}``; commits what it settles.

    97 bad signature (or another terminal), 01 unknown ``vnp_TxnRef``, 04
    ``vnp_Amount`` ≠ amount × 100, 02 already settled (replays, late or
    out-of-order calls) or the payment no longer awaited, 00 recorded
    (success or failure), 99 anything unexpected. Only 00 changes anything.
    """
    found = settings()
    if found is None:
        return _answer("99")
    try:
        if not signing.verify(params, found.hash_secret) or params.get("vnp_TmnCode") != found.tmn_code:
            return _answer("97")
        txn = _find(params.get("vnp_TxnRef"))
        if txn is None:
            return _answer("01")
        raw_amount = str(params.get("vnp_Amount") or "")
        if not raw_amount.isdigit() or int(raw_amount) != txn.amount * 100:
            return _answer("04")
        success = params.get("vnp_ResponseCode") == "00" and params.get("vnp_TransactionStatus") == "00"
        return _answer(settle(txn, params, success, via="ipn"))
    except Exception:
        db.session.rollback()
        log.exception("VNPay IPN failed")
        return _answer("99")


def settle(txn: VnpayTransaction, fields: dict, success: bool, *, via: str) -> str:
    """Move a pending transaction to its result and tell the core; ``"00"`` when settled now, ``"02"`` if not."""
    payment = txn.payment
    order = orders.lock_order(payment.order)
    db.session.refresh(txn)
    db.session.refresh(payment)
    if txn.status != "pending":
        db.session.rollback()
        return "02"
    txn.status = "succeeded" if success else "failed"
    txn.transaction_no = str(fields.get("vnp_TransactionNo") or "")[:40] or None
    txn.bank_code = str(fields.get("vnp_BankCode") or "")[:40] or None
    txn.response_code = str(fields.get("vnp_ResponseCode") or "")[:4] or None
    txn.transaction_status = str(fields.get("vnp_TransactionStatus") or "")[:4] or None
    txn.pay_date = str(fields.get("vnp_PayDate") or "")[:14] or None
    txn.settled_by = via
    if via == "ipn":
        txn.ipn_count = (txn.ipn_count or 0) + 1
    awaited = payment.status in ("pending", "authorised") and order.status not in ("cancelled", "refunded") \
        and order.paid_amount < order.total
    if success and not awaited:
        # VNPay took the money but the order no longer waits for it: a person refunds it
        orders.add_event(order, "vnpay_refund_needed", actor=False,
                         data={"payment_id": payment.id, "txn_ref": txn.txn_ref, "amount": txn.amount,
                               "order_status": order.status, "payment_status": payment.status})
        commit()
        return "02"
    if not awaited:
        commit()
        return "02"
    order_payments.handle_gateway_event(CODE, GatewayEvent(
        event_id=f"{txn.txn_ref}:{'succeeded' if success else 'failed'}", external_id=txn.txn_ref,
        kind="succeeded" if success else "failed", amount=txn.amount), actor=False)
    return "00"


def query_pending(now: dt.datetime | None = None) -> dict:
    """Ask VNPay (``querydr``) about transactions still pending after their payment window. Commits each.

    Returns counts: ``succeeded``, ``failed``, ``still_pending``, ``errors``.
    """
    found = settings()
    counts = {"succeeded": 0, "failed": 0, "still_pending": 0, "errors": 0}
    if found is None:
        return counts
    now = now or utcnow()
    cutoff = now - dt.timedelta(minutes=found.pending_minutes)
    refs = db.session.execute(select(VnpayTransaction.txn_ref).where(VnpayTransaction.status == "pending",
                                                                     VnpayTransaction.created_at <= cutoff)
                              .order_by(VnpayTransaction.id)).scalars().all()
    for ref in refs:
        txn = _find(ref)
        try:
            answer = api.querydr(found, txn.txn_ref, txn.create_date)
        except DomainError:
            counts["errors"] += 1
            continue
        try:
            txn.query_count = (txn.query_count or 0) + 1
            txn.last_queried_at = utcnow()
            outcome = _query_outcome(txn, answer, now, found)
            if outcome in ("succeeded", "failed"):
                settle(txn, answer, outcome == "succeeded", via="querydr")
            else:
                commit()
            counts[outcome] += 1
        except Exception:
            db.session.rollback()
            log.exception("VNPay querydr of %s failed", ref)
            counts["errors"] += 1
    return counts


def _query_outcome(txn: VnpayTransaction, answer: dict, now: dt.datetime, found) -> str:
    code, status = answer.get("vnp_ResponseCode"), answer.get("vnp_TransactionStatus")
    expired_long_ago = now - txn.created_at > dt.timedelta(minutes=2 * found.pending_minutes)
    if code == "00":
        if str(answer.get("vnp_Amount")) != str(txn.amount * 100) or answer.get("vnp_TxnRef") != txn.txn_ref:
            log.warning("VNPay querydr of %s answered another amount or reference", txn.txn_ref)
            return "errors"
        if status == "00":
            return "succeeded"
        if status == "01" and not expired_long_ago:  # VNPay: not finished yet
            return "still_pending"
        return "failed"
    if code == "91" and expired_long_ago:  # VNPay never saw the shopper pay
        return "failed"
    return "still_pending" if code == "91" else "errors"


def return_view(params: dict) -> dict:
    """What the shopper sees back from VNPay's page; verifies the signature, writes nothing."""
    found = settings()
    if found is None:
        raise NotFound("vnpay", "cổng VNPay")
    if not signing.verify(params, found.hash_secret):
        raise DomainError("payment.bad_signature", "Chữ ký VNPay không hợp lệ.", "Invalid VNPay signature.",
                          {"gateway": CODE}, status=400)
    txn = _find(params.get("vnp_TxnRef"))
    if txn is None:
        raise NotFound("payment", "khoản thanh toán", {"txn_ref": params.get("vnp_TxnRef")})
    code = str(params.get("vnp_ResponseCode") or "")
    text_vi, text_en = RESULT_TEXTS.get(code, OTHER_RESULT)
    order = txn.payment.order
    return {"txn_ref": txn.txn_ref, "success": code == "00" and params.get("vnp_TransactionStatus") == "00",
            "response_code": code, "message": text_vi, "message_en": text_en, "amount": txn.amount,
            "order": {"number": order.number, "token": order.token, "status": order.status,
                      "payment_status": orders.payment_status(order)},
            "note": "Kết quả cuối cùng do VNPay xác nhận qua IPN. / The final result is the one VNPay confirms by IPN."}
