"""Bank transfer gateway: the shopper scans a VietQR code (or types the account) and writes a reference.

The reference is ``OCOP`` + the payment id (at least five digits) + one Luhn
check digit (``OCOP001236``), short and plain enough that every bank keeps it
in the transfer text, and a mistyped one matches nobody. ``client_data``
carries the receiving account, the amount (also as ``126.000 ₫``), the
VietQR payload and the URLs of its SVG and PNG images. The gateway is
offered only while a platform account is configured (:mod:`.config`).
"""
from __future__ import annotations

import re
import secrets

from sqlalchemy import select

from core.db import db
from core.errors import Conflict
from core.payments import vietqr
from core.payments.money import format_vnd
from core.payments.gateways import PaymentGateway, PaymentStart
from plugins.bank_transfer.config import ReceivingAccount, platform_account
from plugins.bank_transfer.models import BankAccount

PREFIX = "OCOP"
# banks lower-case the text, add spaces or dots, glue the reference to other words or to a phone number
REFERENCE_RE = re.compile(r"OCOP[\s\-_.:]*((?:\d[\s.\-_]?){6,})", re.IGNORECASE)
QR_PATH = "/storefront/v1/payments/bank-transfer/orders/{token}/qr.{kind}"


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
    """``OCOP`` + zero-padded payment id + check digit, e.g. payment 123 → ``OCOP001230``."""
    body = f"{payment_id:05d}"
    return f"{PREFIX}{body}{luhn_digit(body)}"


def find_references(text: str) -> list[str]:
    """Every reference with a valid check digit in free text (a statement line, a notification).

    Digits glued to the reference (``OCOP0012360912345678``) give several
    candidates, shortest first; the caller keeps the one a payment carries.
    """
    found: list[str] = []
    for match in REFERENCE_RE.finditer(text or ""):
        digits = re.sub(r"\D", "", match.group(1))
        for end in range(6, len(digits) + 1):
            candidate = digits[:end]
            if luhn_digit(candidate[:-1]) == candidate[-1]:
                ref = f"{PREFIX}{candidate}"
                if ref not in found:
                    found.append(ref)
    return found


def account_for(order) -> ReceivingAccount | None:
    """Where ``order``'s money goes: its sales channel's account, else its only producer's, else the platform's."""
    producers = {line.producer_id for line in order.lines}
    owners = [("channel", order.channel_id)] + ([("producer", producers.pop())] if len(producers) == 1 else [])
    for kind, owner_id in owners:
        row = db.session.execute(select(BankAccount).where(BankAccount.owner_kind == kind,
                                                           BankAccount.owner_id == owner_id,
                                                           BankAccount.active.is_(True))).scalar_one_or_none()
        if row is not None:
            return ReceivingAccount(row.bank_bin, row.account_no, row.account_name, row.city,
                                    owner=f"{kind}:{owner_id}")
    return platform_account()


def transfer_details(account: ReceivingAccount, amount: int, reference: str) -> dict:
    """Account, amount and VietQR payload for one transfer (what a shopper or a till shows)."""
    payload = vietqr.build_payload(account.bank_bin, account.account_no, amount=amount, purpose=reference,
                                   merchant_name=account.account_name, merchant_city=account.city)
    amount_text = format_vnd(amount)
    return {"reference": reference, "amount": amount, "amount_text": amount_text, "currency": "VND",
            "bank": account.bank["short_name"], "bank_bin": account.bank_bin, "account_no": account.account_no,
            "account_name": account.account_name, "vietqr": payload,
            "instructions": f"Chuyển khoản đúng {amount_text}, ghi nội dung: {reference}",
            "instructions_en": f"Transfer exactly {amount_text} with the reference {reference}"}


class BankTransferGateway(PaymentGateway):
    """``code = "bank_transfer"``: offline; paid by a statement line, a bank notification or an admin."""

    code = "bank_transfer"
    name = "Chuyển khoản ngân hàng"
    name_en = "Bank transfer"
    offline = True

    def start(self, order, payment) -> PaymentStart:
        """Give the shopper the account, the exact amount, the reference and a VietQR code for them."""
        account = account_for(order)
        if account is None:
            raise Conflict("bank_transfer.not_configured", "Chưa cấu hình tài khoản nhận chuyển khoản.",
                           "No receiving bank account is configured.", {"order": order.number})
        reference = reference_for(payment.id)
        data = transfer_details(account, payment.amount, reference)
        data["qr_svg_url"] = QR_PATH.format(token=order.token, kind="svg")
        data["qr_png_url"] = data["qr_image_url"] = QR_PATH.format(token=order.token, kind="png")
        return PaymentStart(status="pending", external_id=reference, client_data=data, transfer_reference=reference)

    def start_payable(self, payable, payment) -> PaymentStart:
        """A payable (a booth fee…): the platform's receiving account, the reference and its VietQR code."""
        account = platform_account()
        if account is None:
            raise Conflict("bank_transfer.not_configured", "Chưa cấu hình tài khoản nhận chuyển khoản.",
                           "No receiving bank account is configured.", {"payable": payable.kind})
        reference = reference_for(payment.id)
        data = transfer_details(account, payment.amount, reference)
        return PaymentStart(status="pending", external_id=reference, client_data=data, transfer_reference=reference)

    def refund(self, payment, amount: int) -> str:
        """Money goes back by a manual transfer; the refund is only recorded."""
        return f"manual-transfer-{payment.id}-{secrets.token_hex(4)}"
