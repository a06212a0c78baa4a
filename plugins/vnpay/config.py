"""VNPay settings from the environment; the gateway is off unless the three required ones are set.

``OCOP_VNPAY_TMN_CODE`` (terminal code), ``OCOP_VNPAY_HASH_SECRET``, ``OCOP_VNPAY_URL`` (payment page,
e.g. ``https://sandbox.vnpayment.vn/paymentv2/vpcpay.html``); optional ``OCOP_VNPAY_API_URL`` (merchant
API; default: the same host's ``/merchant_webapi/api/transaction``), ``OCOP_VNPAY_RETURN_URL`` (default:
``OCOP_PUBLIC_BASE_URL`` + the plugin's return route) and ``OCOP_VNPAY_PENDING_MINUTES`` (15: payment
link lifetime, after which ``querydr`` asks VNPay about a payment no IPN settled).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

RETURN_PATH = "/storefront/v1/payments/vnpay/return"
API_PATH = "/merchant_webapi/api/transaction"


@dataclass(frozen=True)
class VnpaySettings:
    tmn_code: str
    hash_secret: str
    pay_url: str
    api_url: str
    return_url: str
    pending_minutes: int = 15
    version: str = "2.1.0"


def load(environ=None, public_base_url: str = "http://127.0.0.1:5000") -> VnpaySettings | None:
    """The configured settings, or None when the terminal code, hash secret or payment URL is missing."""
    env = os.environ if environ is None else environ
    tmn, secret, url = (env.get(k, "").strip() for k in
                        ("OCOP_VNPAY_TMN_CODE", "OCOP_VNPAY_HASH_SECRET", "OCOP_VNPAY_URL"))
    if not (tmn and secret and url):
        return None
    parts = urlsplit(url)
    api = env.get("OCOP_VNPAY_API_URL", "").strip() or f"{parts.scheme}://{parts.netloc}{API_PATH}"
    base = (env.get("OCOP_PUBLIC_BASE_URL") or public_base_url).rstrip("/")
    try:
        minutes = max(1, int(env.get("OCOP_VNPAY_PENDING_MINUTES") or 15))
    except ValueError:
        minutes = 15
    return VnpaySettings(tmn_code=tmn, hash_secret=secret, pay_url=url, api_url=api,
                         return_url=env.get("OCOP_VNPAY_RETURN_URL", "").strip() or base + RETURN_PATH,
                         pending_minutes=minutes)
