"""VNPay's merchant API (``querydr``, ``refund``): signed JSON over HTTPS, signed answers checked."""
from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import urllib.error
import urllib.request

from core.clock import VN_TZ
from core.errors import DomainError
from plugins.vnpay import signing
from plugins.vnpay.config import VnpaySettings

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 30


def vn_time(value: dt.datetime | None = None) -> str:
    """``yyyyMMddHHmmss`` in Vietnam time (VNPay's date format)."""
    return (value or dt.datetime.now(dt.timezone.utc)).astimezone(VN_TZ).strftime("%Y%m%d%H%M%S")


def _unavailable(action: str, reason: str) -> DomainError:
    log.warning("VNPay %s failed: %s", action, reason)
    return DomainError("payment.gateway_unavailable", "Không kết nối được cổng thanh toán VNPay.",
                       "The VNPay gateway could not be reached.", {"gateway": "vnpay", "action": action,
                                                                  "reason": reason}, status=502)


def call(settings: VnpaySettings, body: dict, response_fields: tuple[str, ...], action: str) -> dict:
    """POST ``body`` to the merchant API and return its answer once its signature checks out."""
    request = urllib.request.Request(settings.api_url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            answer = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _unavailable(action, f"{type(exc).__name__}: {exc}") from None
    if not isinstance(answer, dict):
        raise _unavailable(action, "answer is not a JSON object")
    # VNPay does not sign answers to requests it refused before signing (e.g. 97 bad request signature)
    if answer.get("vnp_SecureHash") and not signing.verify_fields(answer, response_fields, settings.hash_secret):
        raise _unavailable(action, "answer signature does not match")
    if not answer.get("vnp_SecureHash") and answer.get("vnp_ResponseCode") == "00":
        raise _unavailable(action, "unsigned success answer")
    return answer


def _base(settings: VnpaySettings, command: str, txn_ref: str, ip: str) -> dict:
    return {"vnp_RequestId": secrets.token_hex(16), "vnp_Version": settings.version, "vnp_Command": command,
            "vnp_TmnCode": settings.tmn_code, "vnp_TxnRef": txn_ref, "vnp_CreateDate": vn_time(), "vnp_IpAddr": ip}


def querydr(settings: VnpaySettings, txn_ref: str, transaction_date: str, ip: str = "127.0.0.1") -> dict:
    """Ask VNPay what became of ``txn_ref`` (created at ``transaction_date``, VNPay format)."""
    body = {**_base(settings, "querydr", txn_ref, ip), "vnp_TransactionDate": transaction_date,
            "vnp_OrderInfo": f"Truy van giao dich {txn_ref}"}
    body["vnp_SecureHash"] = signing.sign_fields(body, signing.QUERYDR_REQUEST, settings.hash_secret)
    return call(settings, body, signing.QUERYDR_RESPONSE, "querydr")


def refund(settings: VnpaySettings, *, txn_ref: str, amount: int, full: bool, transaction_no: str | None,
           transaction_date: str, created_by: str, ip: str = "127.0.0.1") -> dict:
    """Refund ``amount`` VND of a paid transaction (``02`` full, ``03`` partial)."""
    body = {**_base(settings, "refund", txn_ref, ip), "vnp_TransactionType": "02" if full else "03",
            "vnp_Amount": amount * 100, "vnp_TransactionNo": transaction_no or "",
            "vnp_TransactionDate": transaction_date, "vnp_CreateBy": created_by,
            "vnp_OrderInfo": f"Hoan tien giao dich {txn_ref}"}
    body["vnp_SecureHash"] = signing.sign_fields(body, signing.REFUND_REQUEST, settings.hash_secret)
    return call(settings, body, signing.REFUND_RESPONSE, "refund")
