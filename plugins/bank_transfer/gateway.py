"""Bank transfer gateway: the shopper transfers the amount writing a reference such as ``OCOP001236``.

The reference is ``OCOP`` + the payment id (at least five digits) + one Luhn
check digit, so a mistyped reference on a statement line does not match
another shopper's payment. The bank account shown to shoppers comes from
``OCOP_BANK_TRANSFER_BANK`` (bank name), ``OCOP_BANK_TRANSFER_ACCOUNT``
(account number), ``OCOP_BANK_TRANSFER_ACCOUNT_NAME`` and, optionally,
``OCOP_BANK_TRANSFER_BANK_BIN`` (the NAPAS bank id, which adds a VietQR image
link to the client data).
"""
from __future__ import annotations

import os
import re
import secrets
from urllib.parse import quote

from core.payments.gateways import PaymentGateway, PaymentStart

PREFIX = "OCOP"
REFERENCE_RE = re.compile(r"OCOP[\s\-_.]*(\d{6,})", re.IGNORECASE)


def luhn_digit(digits: str) -> str:
    """The Luhn check digit for ``digits``."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def reference_for(payment_id: int) -> str:
    """``OCOP`` + zero-padded payment id + check digit, e.g. payment 123 → ``OCOP001236``."""
    body = f"{payment_id:05d}"
    return f"{PREFIX}{body}{luhn_digit(body)}"


def find_references(text: str) -> list[str]:
    """Valid references (check digit correct) in free text such as a statement line's description."""
    found = []
    for match in REFERENCE_RE.finditer(text or ""):
        digits = match.group(1)
        if luhn_digit(digits[:-1]) == digits[-1]:
            ref = f"{PREFIX}{digits}"
            if ref not in found:
                found.append(ref)
    return found


def bank_account() -> dict:
    """The receiving account from the environment (empty strings when not configured)."""
    return {"bank": os.environ.get("OCOP_BANK_TRANSFER_BANK", ""),
            "account_no": os.environ.get("OCOP_BANK_TRANSFER_ACCOUNT", ""),
            "account_name": os.environ.get("OCOP_BANK_TRANSFER_ACCOUNT_NAME", "")}


class BankTransferGateway(PaymentGateway):
    """``code = "bank_transfer"``: offline; marked paid by an admin or a statement import."""

    code = "bank_transfer"
    name = "Chuyển khoản ngân hàng"
    name_en = "Bank transfer"
    offline = True

    def start(self, order, payment) -> PaymentStart:
        """Give the shopper the account, the exact amount and the reference to write on the transfer."""
        reference = reference_for(payment.id)
        account = bank_account()
        data = {"reference": reference, "amount": payment.amount, "currency": "VND", **account,
                "instructions": f"Chuyển khoản đúng {payment.amount} đồng, ghi nội dung: {reference}",
                "instructions_en": f"Transfer exactly {payment.amount} VND with the reference {reference}"}
        bin_ = os.environ.get("OCOP_BANK_TRANSFER_BANK_BIN")
        if bin_ and account["account_no"]:
            data["qr_image_url"] = (f"https://img.vietqr.io/image/{bin_}-{account['account_no']}-compact.png"
                                    f"?amount={payment.amount}&addInfo={quote(reference)}"
                                    f"&accountName={quote(account['account_name'])}")
        return PaymentStart(status="pending", external_id=reference, client_data=data, transfer_reference=reference)

    def refund(self, payment, amount: int) -> str:
        """Money goes back by a manual transfer; the refund is only recorded."""
        return f"manual-transfer-{payment.id}-{secrets.token_hex(4)}"
