"""Vouchers: codes shoppers enter at checkout (single or multi use, per-customer limit, minimum subtotal).

A code matches case-insensitively after NFC normalisation ("tết2026" finds
"TẾT2026"). Checking a code raises a 4xx with the error envelope: unknown
(422 ``voucher.invalid``), not started / ended / wrong channel / below the
minimum (422), used up or the customer's limit reached (409).
"""
from __future__ import annotations

import re

from sqlalchemy import func, select

from core.accounts.models import User
from core.db import db
from core.errors import Conflict, DomainError, NotFound, invalid
from core.pricing import access, offers
from core.pricing.models import Voucher, VoucherUsage
from core.pricing.rules import ChannelRef, lifecycle, on_channel
from core.text import nfc

CODE_PATTERN = re.compile(r"^[^\W_][\w-]{2,63}$")  # letters (Vietnamese too), digits, "_" and "-"


def code_key(code: str) -> str | None:
    """What a code is matched by: NFC, trimmed, case-folded; None when it cannot be a code."""
    if not isinstance(code, str):
        return None
    text = nfc(code).strip()
    key = nfc(text.casefold())
    return key if CODE_PATTERN.match(text) and len(key) <= 64 else None


def get_voucher(voucher_id: int) -> Voucher:
    voucher = db.session.get(Voucher, voucher_id)
    if voucher is None:
        raise NotFound("voucher", "mã giảm giá")
    return voucher


def view_voucher(user: User, voucher_id: int) -> Voucher:
    voucher = get_voucher(voucher_id)
    access.require_view(user, voucher)
    return voucher


def list_vouchers(user: User, args: dict) -> dict:
    return offers.list_offers(user, Voucher, args)


def create_voucher(user: User, data: dict) -> Voucher:
    """A draft voucher owned by ``user``; its code is unique whatever its case (409 ``voucher.code_taken``)."""
    data = dict(data)
    data["code_key"] = _free_key(data["code"])
    data["code"] = nfc(data["code"]).strip()
    voucher = Voucher(uses=0)
    offers.create(user, voucher, data)
    return voucher


def update_voucher(user: User, voucher: Voucher, data: dict) -> Voucher:
    data = dict(data)
    if "code" in data:
        data["code_key"] = _free_key(data["code"], voucher.id)
        data["code"] = nfc(data["code"]).strip()
    if data.get("max_uses") is not None and data["max_uses"] < voucher.uses:
        raise invalid("max_uses", "giới hạn thấp hơn số lần đã dùng", "limit below the uses so far",
                      code="voucher.limit_below_usage")
    offers.update(user, voucher, data)
    return voucher


def activate_voucher(user: User, voucher: Voucher) -> Voucher:
    offers.activate(user, voucher)
    return voucher


def end_voucher(user: User, voucher: Voucher) -> Voucher:
    offers.end(user, voucher)
    return voucher


def delete_voucher(user: User, voucher: Voucher) -> None:
    offers.delete(user, voucher)


def report(user: User, voucher: Voucher) -> dict:
    """Uses, orders, discount cost and GMV of a voucher (orders not cancelled)."""
    access.require_view(user, voucher)
    orders, discount, gmv = db.session.execute(select(
        func.count(), func.coalesce(func.sum(VoucherUsage.discount_amount), 0),
        func.coalesce(func.sum(VoucherUsage.gross_amount), 0)).where(
        VoucherUsage.voucher_id == voucher.id, VoucherUsage.released_at.is_(None))).one()
    return {"voucher_id": voucher.id, "code": voucher.code, "uses": voucher.uses, "orders": int(orders),
            "discount": int(discount), "gmv": int(gmv)}


def _free_key(code: str, voucher_id: int | None = None) -> str:
    key = code_key(code)
    if key is None:
        raise invalid("code", "mã chỉ gồm chữ, số, '-' và '_' (3–64 ký tự)",
                      "a code has 3–64 letters, digits, '-' or '_'", code="voucher.invalid_code")
    taken = db.session.execute(select(Voucher.id).where(Voucher.code_key == key)).scalar_one_or_none()
    if taken is not None and taken != voucher_id:
        raise Conflict("voucher.code_taken", "Mã giảm giá đã tồn tại.", "This voucher code already exists.",
                       {"code": code})
    return key


# --- checking a code a shopper entered -----------------------------------------------------------
def find_voucher(code: str) -> Voucher:
    """The published voucher for ``code`` (any case), else 422 ``voucher.invalid``."""
    key = code_key(code)
    voucher = None if key is None else db.session.execute(
        select(Voucher).where(Voucher.code_key == key)).scalar_one_or_none()
    if voucher is None or voucher.status == "draft":
        raise DomainError("voucher.invalid", "Mã giảm giá không đúng.", "This voucher code is not valid.",
                          {"code": code if isinstance(code, str) else None}, status=422)
    return voucher


def check_usable(voucher: Voucher, channel: ChannelRef, at, customer_key: str | None) -> None:
    """Raise the 4xx telling the shopper why ``voucher`` cannot be used here and now (by this customer)."""
    details = {"code": voucher.code}
    state = lifecycle(voucher, at)
    if state == "scheduled":
        raise DomainError("voucher.not_started", "Mã giảm giá chưa đến thời gian áp dụng.",
                          "This voucher is not valid yet.", {**details, "starts_at": voucher.starts_at.isoformat()},
                          status=422)
    if state != "active":
        raise DomainError("voucher.expired", "Mã giảm giá đã hết hạn.", "This voucher has expired.", details,
                          status=422)
    if not on_channel(voucher, channel):
        raise DomainError("voucher.wrong_channel", "Mã giảm giá không áp dụng cho kênh bán này.",
                          "This voucher cannot be used on this sales channel.", {**details, "channel": channel.code},
                          status=422)
    if voucher.max_uses is not None and voucher.uses >= voucher.max_uses:
        raise used_up(voucher)
    if customer_key and voucher.per_customer_limit and \
            customer_uses(voucher, customer_key) >= voucher.per_customer_limit:
        raise customer_limit(voucher)


def usable_vouchers(vouchers, channel: ChannelRef, at, customer_key: str | None) -> list[Voucher]:
    """Codes or Voucher rows → checked vouchers, exclusive first; at most one non-stackable voucher."""
    chosen: dict[int, Voucher] = {}
    for item in vouchers:
        voucher = item if isinstance(item, Voucher) else find_voucher(item)
        check_usable(voucher, channel, at, customer_key)
        chosen[voucher.id] = voucher
    exclusive = [v for v in chosen.values() if not v.stackable]
    if len(exclusive) > 1:
        raise DomainError("voucher.not_combinable", "Chỉ được dùng một mã giảm giá không cộng dồn.",
                          "Only one non-stackable voucher can be used.", {"codes": [v.code for v in exclusive]},
                          status=422)
    return sorted(chosen.values(), key=lambda v: (v.stackable, v.id))


def customer_uses(voucher: Voucher, customer_key: str, except_order: str | None = None) -> int:
    stmt = select(func.count()).select_from(VoucherUsage).where(
        VoucherUsage.voucher_id == voucher.id, VoucherUsage.customer_key == customer_key,
        VoucherUsage.released_at.is_(None))
    if except_order:
        stmt = stmt.where(VoucherUsage.order_ref != except_order)
    return db.session.execute(stmt).scalar_one()


def not_applicable(voucher: Voucher) -> DomainError:
    return DomainError("voucher.not_applicable", "Mã giảm giá không áp dụng cho sản phẩm nào trong giỏ hàng.",
                       "This voucher applies to none of the products in the cart.", {"code": voucher.code},
                       status=422)


def below_minimum(voucher: Voucher, subtotal: int) -> DomainError:
    return DomainError("voucher.min_subtotal", f"Đơn hàng cần tối thiểu {voucher.min_subtotal:,} ₫ để dùng mã này."
                       .replace(",", "."), f"This voucher needs a subtotal of at least {voucher.min_subtotal:,} VND.",
                       {"code": voucher.code, "min_subtotal": voucher.min_subtotal, "subtotal": subtotal}, status=422)


def used_up(voucher: Voucher) -> Conflict:
    return Conflict("voucher.used_up", "Mã giảm giá đã hết lượt sử dụng.", "This voucher has been used up.",
                    {"code": voucher.code})


def customer_limit(voucher: Voucher) -> Conflict:
    return Conflict("voucher.customer_limit", "Bạn đã dùng hết số lần cho phép của mã giảm giá này.",
                    "You have already used this voucher as many times as allowed.", {"code": voucher.code})
