"""Counter sales (POS) at a sales point: sale, receipt data, void, customer return.

A sale is paid and handed over at once: stock leaves the point through
``core.services.stock.sell_now`` (first-expiry-first-out by lot, expired lots
never sold, rows locked so two tills can never sell the same last unit).
Products no longer listed as OCOP products are refused
(``sales_point.product_not_listed``) unless the point sets ``allow_unlisted``.

Core orders: the core orders service offers no function to record an
already-paid, already-handed-over counter sale, so POS sales live in this
plugin's tables (``sales_point_sale``) with the point's sales channel id;
``order_id`` stays empty until such a function exists.
"""
from __future__ import annotations

import datetime as dt
from collections import OrderedDict

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.db import commit, db, utcnow
from core.errors import Conflict, DomainError, NotFound, invalid
from core.inventory.models import StockLot
from core.accounts.models import User
from core.pagination import paginate
from core.audit import trail as audit
from core.inventory import ledger
from plugins.sales_points import access
from plugins.sales_points.models import PAYMENT_METHODS, PosReturn, PosReturnLine, PosSale, PosSaleLine, SalesPoint
from plugins.sales_points.operations import _resolve_lines, is_listed_now, require_listed, require_open
from plugins.sales_points.services import find_variant

PAYMENT_NAMES = {"cash": ("Tiền mặt", "Cash"), "card": ("Thẻ", "Card"),
                 "bank_transfer_qr": ("Chuyển khoản QR", "Bank transfer (QR)")}
assert set(PAYMENT_NAMES) == set(PAYMENT_METHODS)


def lookup(user: User, point: SalesPoint, code: str) -> dict:
    """What the till shows after a scan: product, price, free quantity here, whether it may be sold."""
    access.require_operate(user, point)
    variant = find_variant({"code": code})
    level = ledger.stock_level(variant, point.stock_location_id)
    listed = is_listed_now(variant.product)
    cert = variant.product.current_certification()
    return {"variant_id": variant.id, "sku": variant.sku, "gtin": variant.gtin,
            "name": f"{variant.product.name} – {variant.name}", "price": variant.price,
            "available": level["available"], "listed": listed,
            "sellable": bool((listed or point.allow_unlisted) and variant.active and not variant.is_service),
            "stars": cert.stars if (cert and listed) else None}


def _existing(point: SalesPoint, client_ref: str | None) -> PosSale | None:
    if not client_ref:
        return None
    return db.session.execute(select(PosSale).where(PosSale.sales_point_id == point.id,
                                                    PosSale.client_ref == client_ref)).scalar_one_or_none()


def create_sale(user: User, point: SalesPoint, data: dict) -> tuple[PosSale, bool]:
    """Record a counter sale, deduct stock FEFO and commit; returns ``(sale, created)``.

    ``client_ref`` makes the call idempotent: a retry with the same key
    returns the first sale (``created`` False). Errors (nothing written):
    ``sales_point.unknown_code`` (422), ``sales_point.product_not_listed``
    (422), ``stock.insufficient`` (409), ``sales_point.insufficient_payment``
    (422 when cash tendered is below the total).
    """
    access.require_operate(user, point)
    found = _existing(point, data.get("client_ref"))
    if found is not None:
        return found, False
    try:
        sale = _sell(user, point, data)
        commit()
        return sale, True
    except IntegrityError:
        db.session.rollback()
        found = _existing(point, data.get("client_ref"))  # the same till retried concurrently
        if found is None:
            raise
        return found, False
    except Exception:
        db.session.rollback()
        raise


def _sell(user: User, point: SalesPoint, data: dict) -> PosSale:
    require_open(point)
    merged: "OrderedDict[int, list]" = OrderedDict()
    for i, (line, variant) in enumerate(_resolve_lines(data["lines"])):
        if not variant.active:
            raise DomainError("sales_point.variant_inactive", "Sản phẩm đã ngừng bán.", "This variant is not on sale.",
                              {"line": i, "sku": variant.sku}, status=422)
        require_listed(point, variant, f"lines[{i}]")
        if variant.id in merged:
            merged[variant.id][1] += line["quantity"]
        else:
            merged[variant.id] = [variant, line["quantity"]]
    total = sum(variant.price * qty for variant, qty in merged.values())
    method = data["payment_method"]
    tendered = data.get("amount_tendered")
    change = None
    if method == "cash":
        if tendered is None:
            tendered = total
        if tendered < total:
            raise DomainError("sales_point.insufficient_payment", "Số tiền khách đưa ít hơn tổng tiền.",
                              "The cash tendered is less than the total.",
                              {"total": total, "amount_tendered": tendered}, status=422)
        change = tendered - total
    else:
        tendered = None
    sale = PosSale(sales_point_id=point.id, sales_channel_id=point.sales_channel_id,
                   client_ref=data.get("client_ref"), status="completed", payment_method=method,
                   payment_reference=data.get("payment_reference"), total=total, amount_tendered=tendered,
                   change_due=change, sold_by_id=user.id, sold_at=utcnow(), sold_on=clock.today())
    db.session.add(sale)
    db.session.flush()
    sale.number = f"POS-{point.code}-{sale.id:06d}"
    # lock rows in ascending variant id order (no deadlocks between two tills)
    for variant, qty in sorted(merged.values(), key=lambda pair: pair[0].id):
        movements = ledger.sell_now(point.stock_location_id, variant, qty, reference=sale.number, actor=user,
                                        reason=f"{sale.number}: bán tại quầy / counter sale")
        lots = []
        for m in movements:
            lot = db.session.get(StockLot, m.lot_id)
            lots.append({"lot_no": lot.lot_no or None,
                         "best_before": lot.best_before.isoformat() if lot.best_before else None,
                         "quantity": -m.quantity})
        product = variant.product
        sale.lines.append(PosSaleLine(variant_id=variant.id, product_id=product.id, producer_id=product.producer_id,
                                      group_code=product.group_code, sku=variant.sku, gtin=variant.gtin,
                                      name=f"{product.name} – {variant.name}", unit_price=variant.price,
                                      quantity=qty, line_total=variant.price * qty, returned_quantity=0, lots=lots))
    audit.record("sales_point.sale", sale, actor=user, province_code=point.province_code)
    return sale


def get_sale(user: User, sale_id: int) -> PosSale:
    """A sale seen by the point's operators and registry managers."""
    sale = db.session.get(PosSale, sale_id)
    if sale is None:
        raise NotFound("sales_point_sale", "hoá đơn")
    access.require_view(user, sale.sales_point)
    return sale


def list_sales(user: User, point: SalesPoint, args: dict) -> dict:
    """Sales of a point, newest first (filters: from, to)."""
    access.require_view(user, point)
    stmt = select(PosSale).where(PosSale.sales_point_id == point.id)
    if args.get("date_from"):
        stmt = stmt.where(PosSale.sold_on >= args["date_from"])
    if args.get("date_to"):
        stmt = stmt.where(PosSale.sold_on <= args["date_to"])
    return paginate(stmt.order_by(PosSale.id.desc()), args["page"], args["limit"])


def _restock(user: User, point: SalesPoint, line: PosSaleLine, quantity: int, reference: str, reason: str) -> None:
    """Put ``quantity`` of a sold line back into the lots it came from (latest-expiry lots first)."""
    remaining = quantity
    lots = sorted(line.lots or [], key=lambda lot: (lot["best_before"] is None, lot["best_before"] or ""),
                  reverse=True)
    already = line.returned_quantity  # returned earlier: taken from the same end of the list
    for lot in lots:
        take_back = lot["quantity"]
        if already:
            skip = min(already, take_back)
            already -= skip
            take_back -= skip
        qty = min(take_back, remaining)
        if qty <= 0:
            continue
        best_before = dt.date.fromisoformat(lot["best_before"]) if lot["best_before"] else None
        ledger.receive(point.stock_location_id, line.variant_id, qty, actor=user, reason=reason,
                           reference=reference, lot_no=lot["lot_no"] or "", best_before=best_before, kind="return")
        remaining -= qty
        if remaining == 0:
            break


def void_sale(user: User, sale: PosSale, reason: str) -> PosSale:
    """Void a whole sale on the day it was made (wrong item keyed, payment failed); stock goes back. Commits.

    Later corrections are customer returns. A sale with returns cannot be voided.
    """
    point = sale.sales_point
    access.require_operate(user, point)
    if sale.status != "completed":
        raise Conflict("sales_point.sale_voided", "Hoá đơn đã bị huỷ.", "The sale was already voided.",
                       {"sale": sale.number})
    if sale.returns:
        raise Conflict("sales_point.sale_has_returns", "Hoá đơn đã có hàng trả lại, không thể huỷ.",
                       "The sale has returns and can no longer be voided.", {"sale": sale.number})
    if sale.sold_on != clock.today():
        raise DomainError("sales_point.void_window", "Chỉ huỷ được hoá đơn trong ngày; hãy lập phiếu trả hàng.",
                          "Only same-day sales can be voided; record a return instead.",
                          {"sale": sale.number, "sold_on": sale.sold_on.isoformat()}, status=409)
    try:
        before = audit.snapshot(sale)
        for line in sorted(sale.lines, key=lambda ln: ln.variant_id):
            _restock(user, point, line, line.quantity, sale.number, f"{sale.number}: huỷ hoá đơn / void: {reason}")
        sale.status = "voided"
        sale.voided_at = utcnow()
        sale.voided_on = clock.today()
        sale.voided_by_id = user.id
        sale.void_reason = reason
        audit.record("sales_point.sale_voided", sale, before=before, actor=user, province_code=point.province_code)
        commit()
    except Exception:
        db.session.rollback()
        raise
    return sale


def return_items(user: User, sale: PosSale, data: dict) -> PosReturn:
    """A customer brings back part of a sale: refund at the sold price, restock unless damaged. Commits."""
    point = sale.sales_point
    access.require_operate(user, point)
    if sale.status != "completed":
        raise Conflict("sales_point.sale_voided", "Hoá đơn đã bị huỷ.", "The sale was voided.", {"sale": sale.number})
    lines = {line.id: line for line in sale.lines}
    wanted: dict[int, int] = {}
    for i, row in enumerate(data["lines"]):
        if row["sale_line_id"] not in lines:
            raise invalid(f"lines[{i}].sale_line_id", "dòng không thuộc hoá đơn", "line is not on this sale")
        wanted[row["sale_line_id"]] = wanted.get(row["sale_line_id"], 0) + row["quantity"]
    for line_id, qty in wanted.items():
        line = lines[line_id]
        if qty > line.quantity - line.returned_quantity:
            raise DomainError("sales_point.return_exceeds_sale", "Số trả lại vượt quá số đã bán.",
                              "More returned than was sold (less earlier returns).",
                              {"sale_line_id": line_id, "sold": line.quantity,
                               "already_returned": line.returned_quantity, "requested": qty}, status=422)
    try:
        ret = PosReturn(sale_id=sale.id, reason=data["reason"], restock=data.get("restock", True),
                        refund_method=data.get("refund_method") or sale.payment_method, refund_amount=0,
                        created_by_id=user.id, returned_on=clock.today())
        db.session.add(ret)
        db.session.flush()
        ret.number = f"RET-{point.code}-{ret.id:06d}"
        for line_id, qty in sorted(wanted.items(), key=lambda kv: lines[kv[0]].variant_id):
            line = lines[line_id]
            if ret.restock:
                _restock(user, point, line, qty, ret.number, f"{ret.number}: khách trả hàng / customer return: "
                                                             f"{data['reason']}")
            line.returned_quantity += qty
            amount = line.unit_price * qty
            ret.lines.append(PosReturnLine(sale_line_id=line.id, quantity=qty, amount=amount))
            ret.refund_amount += amount
        audit.record("sales_point.sale_return", ret, actor=user, province_code=point.province_code)
        commit()
    except Exception:
        db.session.rollback()
        raise
    return ret


def receipt_data(sale: PosSale) -> dict:
    """Printable receipt (hoá đơn bán lẻ): header, lines, totals and payment, times in Vietnam."""
    point = sale.sales_point
    name_vi, name_en = PAYMENT_NAMES[sale.payment_method]
    cashier = db.session.get(User, sale.sold_by_id) if sale.sold_by_id else None
    return {
        "title": "HOÁ ĐƠN BÁN LẺ – ĐIỂM GIỚI THIỆU VÀ BÁN SẢN PHẨM OCOP",
        "title_en": "Sales receipt – OCOP showcase and sales point",
        "point_name": point.name, "point_address": point.address,
        "point_phone": (point.contacts or {}).get("phone"),
        "number": sale.number, "sold_at_local": clock.local(sale.sold_at),
        "cashier": (cashier.full_name or cashier.username) if cashier else None,
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity, "unit_price": line.unit_price,
                   "line_total": line.line_total} for line in sale.lines],
        "total": sale.total, "payment_method": sale.payment_method,
        "payment_method_name": f"{name_vi} / {name_en}",
        "amount_tendered": sale.amount_tendered, "change_due": sale.change_due,
        "footer": "Cảm ơn quý khách! Sản phẩm OCOP – Mỗi xã một sản phẩm. / Thank you!",
    }
