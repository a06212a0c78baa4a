"""VNPay's signatures: the payment URL / IPN / return query (sorted ``vnp_*`` fields, form-encoded with
space as ``+``, HMAC-SHA512 under the hash secret) and the merchant API's ``|``-joined field lists."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote_plus

HASH_FIELDS = ("vnp_SecureHash", "vnp_SecureHashType")
#: field order signed in merchant-API requests and answers (querydr, refund), as VNPay documents them
QUERYDR_REQUEST = ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef",
                   "vnp_TransactionDate", "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo")
QUERYDR_RESPONSE = ("vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode",
                    "vnp_TxnRef", "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo",
                    "vnp_TransactionType", "vnp_TransactionStatus", "vnp_OrderInfo", "vnp_PromotionCode",
                    "vnp_PromotionAmount")
REFUND_REQUEST = ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TransactionType",
                  "vnp_TxnRef", "vnp_Amount", "vnp_TransactionNo", "vnp_TransactionDate", "vnp_CreateBy",
                  "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo")
REFUND_RESPONSE = QUERYDR_RESPONSE[:-2]


def _quote(value) -> str:
    # PHP's urlencode, which VNPay's reference code uses: space → "+", and "~" encoded too
    return quote_plus(str(value), safe="").replace("~", "%7E")


def hash_data(params: dict) -> str:
    """``k1=v1&k2=v2…`` of the non-empty ``vnp_*`` fields sorted by name, without the hash fields."""
    items = sorted((k, v) for k, v in params.items()
                   if k.startswith("vnp_") and k not in HASH_FIELDS and v not in (None, ""))
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in items)


def hmac_sha512(secret: str, data: str) -> str:
    return hmac.new(secret.encode("utf-8"), data.encode("utf-8"), hashlib.sha512).hexdigest()


def sign(params: dict, secret: str) -> str:
    """``vnp_SecureHash`` of a payment URL, IPN or return query."""
    return hmac_sha512(secret, hash_data(params))


def verify(params: dict, secret: str) -> bool:
    """True when ``params["vnp_SecureHash"]`` signs the other ``vnp_*`` fields (constant-time compare)."""
    given = str(params.get("vnp_SecureHash") or "").lower()
    return len(given) == 128 and hmac.compare_digest(sign(params, secret), given)


def signed_query(params: dict, secret: str) -> str:
    """The query string of a payment URL: the sorted fields and ``vnp_SecureHash`` last."""
    data = hash_data(params)
    return f"{data}&vnp_SecureHash={hmac_sha512(secret, data)}"


def sign_fields(values: dict, order: tuple[str, ...], secret: str) -> str:
    """The merchant API's hash: the fields of ``order`` joined by ``|`` (missing ones empty)."""
    return hmac_sha512(secret, "|".join("" if values.get(k) is None else str(values.get(k)) for k in order))


def verify_fields(values: dict, order: tuple[str, ...], secret: str) -> bool:
    given = str(values.get("vnp_SecureHash") or "").lower()
    return len(given) == 128 and hmac.compare_digest(sign_fields(values, order, secret), given)
