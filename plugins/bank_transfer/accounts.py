"""Receiving accounts of sales channels and producers, and the till's VietQR code."""
from __future__ import annotations

from sqlalchemy import select

from core.db import commit, db, utcnow
from core.errors import Conflict, NotFound, invalid
from core.catalogue.models import Producer
from core.sales.models import SalesChannel
from core.payments import vietqr
from plugins.bank_transfer.config import ReceivingAccount, platform_account
from plugins.bank_transfer.gateway import transfer_details
from plugins.bank_transfer.models import BankAccount


def account_view(row: BankAccount) -> dict:
    bank = vietqr.bank_by_bin(row.bank_bin)
    return {"id": row.id, "owner_kind": row.owner_kind, "owner_id": row.owner_id, "bank_bin": row.bank_bin,
            "bank": bank["short_name"] if bank else row.bank_bin, "account_no": row.account_no,
            "account_name": row.account_name, "city": row.city, "active": row.active}


def _require_owner(kind: str, owner_id: int) -> None:
    model = SalesChannel if kind == "channel" else Producer
    if db.session.get(model, owner_id) is None:
        raise NotFound("sales_channel" if kind == "channel" else "producer",
                       "kênh bán" if kind == "channel" else "chủ thể", {"owner_id": owner_id})


def set_account(data: dict) -> dict:
    """Register (or replace) the receiving account of a sales channel or producer. Commits."""
    _require_owner(data["owner_kind"], data["owner_id"])
    if vietqr.bank_by_bin(data["bank_bin"]) is None:
        raise Conflict("bank_transfer.unknown_bank", "Mã BIN ngân hàng không có trong danh sách NAPAS.",
                       "The bank BIN is not in the NAPAS list.", {"bank_bin": data["bank_bin"]})
    row = db.session.execute(select(BankAccount).where(BankAccount.owner_kind == data["owner_kind"],
                                                       BankAccount.owner_id == data["owner_id"])).scalar_one_or_none()
    if row is None:
        row = BankAccount(owner_kind=data["owner_kind"], owner_id=data["owner_id"], created_at=utcnow())
        db.session.add(row)
    row.bank_bin, row.account_no = data["bank_bin"], data["account_no"]
    row.account_name = vietqr.remove_accents(data.get("account_name") or "").upper()
    row.city, row.active = data.get("city") or "", True
    commit()
    return account_view(row)


def list_accounts() -> list[dict]:
    return [account_view(r) for r in db.session.execute(select(BankAccount).order_by(BankAccount.id)).scalars()]


def delete_account(account_id: int) -> None:
    """Remove a receiving account; the channel or producer falls back to the platform account. Commits."""
    row = db.session.get(BankAccount, account_id)
    if row is None:
        raise NotFound("bank_account", "tài khoản nhận")
    db.session.delete(row)
    commit()


def channel_account(channel_id: int) -> ReceivingAccount | None:
    row = db.session.execute(select(BankAccount).where(BankAccount.owner_kind == "channel",
                                                       BankAccount.owner_id == channel_id,
                                                       BankAccount.active.is_(True))).scalar_one_or_none()
    if row is not None:
        return ReceivingAccount(row.bank_bin, row.account_no, row.account_name, row.city, owner=f"channel:{channel_id}")
    return platform_account()


def till_qr(data: dict) -> dict:
    """The VietQR code a till or fair booth shows for one amount; writes nothing."""
    channel = db.session.get(SalesChannel, data["sales_channel_id"])
    if channel is None:
        raise NotFound("sales_channel", "kênh bán", {"sales_channel_id": data["sales_channel_id"]})
    account = channel_account(channel.id)
    if account is None:
        raise Conflict("bank_transfer.not_configured", "Chưa cấu hình tài khoản nhận chuyển khoản.",
                       "No receiving bank account is configured.", {"sales_channel_id": channel.id})
    reference = vietqr.clean_purpose(data["reference"])
    if not reference:
        raise invalid("reference", "nội dung chuyển khoản không còn ký tự hợp lệ",
                      "the reference has no usable characters left", code="bank_transfer.bad_reference")
    details = transfer_details(account, data["amount"], reference)
    details["svg"] = vietqr.render_svg(details["vietqr"]).decode("utf-8")
    return details
