"""Recording what an order took from promotions and vouchers: concurrency-safe, flush-only.

Each limited counter changes in ONE conditional UPDATE (``… WHERE uses <
max_uses``, ``… WHERE discount_used + :d <= budget``). On PostgreSQL the
updated row stays locked until the order's transaction ends, so concurrent
orders on the same offer queue there, and the per-customer counts read after
it see every committed use; on SQLite the write lock does the same. A refused
reservation raises 409 and the caller rolls back: nothing half-recorded.
Offers are locked in ascending id order (promotions, then vouchers), so two
orders can never wait on each other.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select, update

from core import clock
from core.db import db
from core.errors import Conflict, invalid
from core.pricing import version
from core.pricing import vouchers as voucher_rules
from core.pricing.models import Promotion, PromotionUsage, Voucher, VoucherUsage
from core.pricing.resolver import CartPrice


@dataclass(frozen=True)
class Reservation:
    order_ref: str
    promotions: tuple[PromotionUsage, ...]
    vouchers: tuple[VoucherUsage, ...]


def reserve_cart(cart: CartPrice, order_ref: str, customer_key: str | None = None) -> Reservation:
    """Record every promotion and voucher ``cart`` used for ``order_ref`` (e.g. ``order:OCOP-2026-000123``).

    Raises 409 ``promotion.limit_reached`` / ``promotion.customer_limit`` /
    ``voucher.used_up`` / ``voucher.customer_limit`` when a limit was reached
    meanwhile: re-price the cart and show the shopper the new total.
    """
    customer_key = customer_key or cart.customer_key
    by_promotion: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    by_voucher: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for line in cart.lines:
        for d in line.discounts:
            if d.source == "promotion":
                part = by_promotion[d.id][line.producer_id]
                part[0] += d.units
                part[1] += d.amount
                part[2] += line.line_total
            elif d.source == "voucher":
                by_voucher[d.id][0] += d.amount
                by_voucher[d.id][1] += line.line_total
    promotions = []
    for promotion_id in sorted(by_promotion):
        promotion = db.session.get(Promotion, promotion_id)
        for producer_id, (units, discount, gross) in sorted(by_promotion[promotion_id].items()):
            promotions.append(record_promotion_usage(promotion, order_ref, units, discount, producer_id=producer_id,
                                                     gross_amount=gross, customer_key=customer_key))
    used = []
    for voucher_id in sorted(by_voucher):
        discount, gross = by_voucher[voucher_id]
        used.append(reserve_voucher_use(db.session.get(Voucher, voucher_id), customer_key, order_ref,
                                        discount_amount=discount, gross_amount=gross))
    return Reservation(order_ref, tuple(promotions), tuple(used))


def record_promotion_usage(promotion: Promotion, order_ref: str, units: int, discount_amount: int, *,
                           producer_id: int, gross_amount: int = 0,
                           customer_key: str | None = None) -> PromotionUsage:
    """Count ``units`` and ``discount_amount`` (VND) of one producer's lines against ``promotion``. Idempotent.

    Locks the promotion row only when it has limits (total units, budget, uses
    per customer); an unlimited campaign records a usage row and takes no lock.
    """
    _check_amounts(units, discount_amount, gross_amount)
    usage = db.session.execute(select(PromotionUsage).where(
        PromotionUsage.promotion_id == promotion.id, PromotionUsage.order_ref == order_ref,
        PromotionUsage.producer_id == producer_id)).scalar_one_or_none()
    if usage is not None and usage.released_at is None:
        return usage
    counted = promotion.has_counters
    if counted:
        _take_from_promotion(promotion, units, discount_amount)
        if customer_key and promotion.max_uses_per_customer and \
                _promotion_customer_orders(promotion, customer_key, order_ref) >= promotion.max_uses_per_customer:
            raise Conflict("promotion.customer_limit", "Bạn đã dùng hết số lần được hưởng khuyến mãi này.",
                           "You have already used this promotion as many times as allowed.",
                           {"promotion_id": promotion.id})
    if usage is None:
        usage = PromotionUsage(promotion_id=promotion.id, order_ref=order_ref, producer_id=producer_id)
        db.session.add(usage)
    usage.customer_key, usage.units, usage.discount_amount = customer_key, units, discount_amount
    usage.gross_amount, usage.counted, usage.released_at, usage.created_at = gross_amount, counted, None, clock.now()
    db.session.flush()
    return usage


def reserve_voucher_use(voucher: Voucher, customer_key: str | None, order_ref: str, *, discount_amount: int = 0,
                        gross_amount: int = 0) -> VoucherUsage:
    """Take one use of ``voucher`` for ``order_ref`` (409 when used up or the customer's limit is reached). Idempotent."""
    _check_amounts(0, discount_amount, gross_amount)
    usage = db.session.execute(select(VoucherUsage).where(
        VoucherUsage.voucher_id == voucher.id, VoucherUsage.order_ref == order_ref)).scalar_one_or_none()
    if usage is not None and usage.released_at is None:
        return usage
    if voucher.per_customer_limit and not customer_key:
        raise invalid("phone", "cần số điện thoại hoặc tài khoản để dùng mã này",
                      "a phone number or an account is needed for this voucher", code="voucher.customer_required")
    taken = db.session.execute(
        update(Voucher).where(Voucher.id == voucher.id,
                              (Voucher.max_uses.is_(None)) | (Voucher.uses < Voucher.max_uses))
        .values(uses=Voucher.uses + 1).returning(Voucher.uses)
        .execution_options(synchronize_session=False)).first()
    db.session.expire(voucher, ["uses"])
    if taken is None:
        raise voucher_rules.used_up(voucher)
    if voucher.per_customer_limit and \
            voucher_rules.customer_uses(voucher, customer_key, except_order=order_ref) >= voucher.per_customer_limit:
        raise voucher_rules.customer_limit(voucher)
    if usage is None:
        usage = VoucherUsage(voucher_id=voucher.id, order_ref=order_ref)
        db.session.add(usage)
    usage.customer_key, usage.discount_amount, usage.gross_amount = customer_key, discount_amount, gross_amount
    usage.released_at, usage.created_at = None, clock.now()
    db.session.flush()
    return usage


def release_usage(order_ref: str) -> int:
    """An order was cancelled: give back every use, unit and VND of budget it took. Idempotent; returns rows released."""
    released = 0
    rows = db.session.execute(select(PromotionUsage).where(
        PromotionUsage.order_ref == order_ref, PromotionUsage.released_at.is_(None))
        .order_by(PromotionUsage.promotion_id, PromotionUsage.producer_id)).scalars().all()
    for usage in rows:
        if usage.counted:
            _give_back_to_promotion(usage.promotion_id, usage.units, usage.discount_amount)
        usage.released_at = clock.now()
        released += 1
    for usage in db.session.execute(select(VoucherUsage).where(
            VoucherUsage.order_ref == order_ref, VoucherUsage.released_at.is_(None))
            .order_by(VoucherUsage.voucher_id)).scalars():
        db.session.execute(update(Voucher).where(Voucher.id == usage.voucher_id, Voucher.uses > 0)
                           .values(uses=Voucher.uses - 1).execution_options(synchronize_session=False))
        usage.released_at = clock.now()
        released += 1
    db.session.flush()
    db.session.expire_all()
    return released


def prorate(amount: int, quantity: int, refunded: int, already_refunded: int = 0) -> int:
    """The share of ``amount`` for ``refunded`` of ``quantity`` units, ``already_refunded`` before.

    Rounded down step by step so that refunding every unit, in any number of
    steps, gives back exactly ``amount``.
    """
    if quantity <= 0 or refunded <= 0:
        return 0
    done = min(quantity, already_refunded + refunded)
    return amount * done // quantity - amount * min(quantity, already_refunded) // quantity


def record_refund(order_ref: str, line: dict, refunded: int, already_refunded: int = 0) -> dict:
    """Part of an order line was refunded: pro-rate its discounts, return their units and budget to the promotions.

    ``line`` = ``{"producer_id", "quantity", "line_total", "discounts"}`` as stored
    on the order line (``discounts`` is ``LinePrice.snapshot()``). Returns the
    refund: ``{"amount" (VND to pay back), "discount", "discounts": [{reference, amount}]}``.
    """
    quantity, shares = line["quantity"], []
    for entry in line.get("discounts") or []:
        share = prorate(entry["amount"], quantity, refunded, already_refunded)
        shares.append({"reference": entry["reference"], "amount": share})
        gross = prorate(line["line_total"], quantity, refunded, already_refunded)
        if entry["source"] == "promotion":
            units = prorate(entry["units"], quantity, refunded, already_refunded)
            usage = db.session.execute(select(PromotionUsage).where(
                PromotionUsage.promotion_id == entry["id"], PromotionUsage.order_ref == order_ref,
                PromotionUsage.producer_id == line["producer_id"], PromotionUsage.released_at.is_(None))
            ).scalar_one_or_none()
            if usage is not None:
                units, share = min(units, usage.units), min(share, usage.discount_amount)
                if usage.counted:
                    _give_back_to_promotion(usage.promotion_id, units, share)
                usage.units -= units
                usage.discount_amount -= share
                usage.gross_amount -= min(gross, usage.gross_amount)
        elif entry["source"] == "voucher":
            usage = db.session.execute(select(VoucherUsage).where(
                VoucherUsage.voucher_id == entry["id"], VoucherUsage.order_ref == order_ref,
                VoucherUsage.released_at.is_(None))).scalar_one_or_none()
            if usage is not None:
                usage.discount_amount -= min(share, usage.discount_amount)
                usage.gross_amount -= min(gross, usage.gross_amount)
    db.session.flush()
    return {"amount": prorate(line["line_total"], quantity, refunded, already_refunded),
            "discount": sum(s["amount"] for s in shares), "discounts": shares}


# --- counters ---------------------------------------------------------------------------------
def _take_from_promotion(promotion: Promotion, units: int, discount: int) -> None:
    stmt = update(Promotion).where(Promotion.id == promotion.id)
    if promotion.max_total_units is not None:
        stmt = stmt.where(Promotion.units_used + units <= Promotion.max_total_units)
    if promotion.budget is not None:
        stmt = stmt.where(Promotion.discount_used + discount <= Promotion.budget)
    row = db.session.execute(stmt.values(units_used=Promotion.units_used + units,
                                         discount_used=Promotion.discount_used + discount)
                             .returning(Promotion.units_used, Promotion.discount_used, Promotion.max_total_units,
                                        Promotion.budget)
                             .execution_options(synchronize_session=False)).first()
    db.session.expire(promotion, ["units_used", "discount_used"])
    if row is None:
        raise Conflict("promotion.limit_reached", "Khuyến mãi đã hết số lượng hoặc ngân sách; giá đã thay đổi.",
                       "The promotion has run out of units or budget; prices have changed.",
                       {"promotion_id": promotion.id})
    units_used, discount_used, max_units, budget = row
    if (max_units is not None and units_used >= max_units) or (budget is not None and discount_used >= budget):
        version.bump()  # exhausted: cached sale prices must go


def _give_back_to_promotion(promotion_id: int, units: int, discount: int) -> None:
    row = db.session.execute(
        update(Promotion).where(Promotion.id == promotion_id, Promotion.units_used >= units,
                                Promotion.discount_used >= discount)
        .values(units_used=Promotion.units_used - units, discount_used=Promotion.discount_used - discount)
        .returning(Promotion.units_used, Promotion.discount_used, Promotion.max_total_units, Promotion.budget)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        return
    units_used, discount_used, max_units, budget = row
    if (max_units is not None and units_used + units >= max_units) or \
            (budget is not None and discount_used + discount >= budget):
        version.bump()  # it was exhausted: its sale prices come back


def _promotion_customer_orders(promotion: Promotion, customer_key: str, except_order: str) -> int:
    return db.session.execute(select(func.count(func.distinct(PromotionUsage.order_ref))).where(
        PromotionUsage.promotion_id == promotion.id, PromotionUsage.customer_key == customer_key,
        PromotionUsage.released_at.is_(None), PromotionUsage.order_ref != except_order)).scalar_one()


def _check_amounts(units: int, discount: int, gross: int) -> None:
    for name, value in (("units", units), ("discount_amount", discount), ("gross_amount", gross)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise invalid(name, "phải là số nguyên không âm", "must be a non-negative integer",
                          code="pricing.invalid_amount")
