"""Counter sales (POS) at a sales point: look-up, sale, receipt data, void, customer return.

A sale is a core order on the point's sales channel, recorded by
``core.sales.counter.record_counter_sale``: paid and handed over at once, stock
leaving the point first-expiry-first-out (expired lots never sold, two tills
never sell the same last unit), ``order_created``/``order_paid`` fired after
commit. The till keeps its receipt (:class:`PosSale`: number, cashier, till
status) and its return slips. Products no longer listed as OCOP products are
refused (``sales_point.product_not_listed``) unless the point sets
``allow_unlisted``. Services flush, never commit: the request owns the transaction.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import clock
from core.accounts.models import User
from core.audit import trail as audit
from core.catalogue.models import Variant
from core.db import db, utcnow
from core.errors import Conflict, DomainError, NotFound, invalid
from core.inventory import ledger
from core.pagination import paginate
from core.sales import counter
from core.sales.models import Order, SalesChannel
from plugins.sales_points import access
from plugins.sales_points.models import PAYMENT_METHODS, PosReturn, PosReturnLine, PosSale, SalesPoint
from plugins.sales_points.operations import _resolve_lines, is_listed_now, require_listed, require_open
from plugins.sales_points.services import find_variant

PAYMENT_NAMES = {"cash": ("Tiền mặt", "Cash"), "card": ("Thẻ", "Card"),
                 "bank_transfer_qr": ("Chuyển khoản QR", "Bank transfer (QR)")}
#: the till's payment methods → the core's counter payment methods
COUNTER_METHODS = {"cash": "cash", "card": "card", "bank_transfer_qr": "transfer"}
TILL_METHOD_OF_GATEWAY = {counter.COUNTER_GATEWAYS[core]: till for till, core in COUNTER_METHODS.items()}
#: core refusals the till answers with its own (long-standing) error codes
TILL_ERROR_CODES = {"counter_sale.insufficient_payment": "sales_point.insufficient_payment",
                    "counter_sale.return_exceeds_sale": "sales_point.return_exceeds_sale",
                    "counter_sale.variant_inactive": "sales_point.variant_inactive"}
assert set(PAYMENT_NAMES) == set(PAYMENT_METHODS) == set(COUNTER_METHODS)


def _channel(point: SalesPoint) -> SalesChannel:
    return db.session.get(SalesChannel, point.sales_channel_id)


def lookup(user: User, point: SalesPoint, code: str) -> dict:
    """What the till shows after a scan: product, price, free quantity here, whether it may be sold."""
    access.require_operate(user, point)
    variant = find_variant({"code": code})
    level = ledger.stock_level(variant, point.stock_location_id)
    listed = is_listed_now(variant.product)
    cert = variant.product.current_certification()
    price = counter.price(_channel(point), variant)
    return {"variant_id": variant.id, "sku": variant.sku, "gtin": variant.gtin,
            "name": f"{variant.product.name} – {variant.name}", "price": price.unit_price,
            "available": level["available"], "listed": listed,
            "sellable": bool((listed or point.allow_unlisted) and variant.active and not variant.is_service),
            "stars": cert.stars if (cert and listed) else None}


def _till_error(exc: DomainError) -> DomainError:
    exc.code = TILL_ERROR_CODES.get(exc.code, exc.code)
    return exc


# --- sale ---------------------------------------------------------------------------------------
def _existing(point: SalesPoint, client_ref: str | None) -> PosSale | None:
    if not client_ref:
        return None
    return db.session.execute(select(PosSale).join(Order, Order.id == PosSale.order_id)
                              .where(Order.channel_id == point.sales_channel_id, Order.client_ref == client_ref)
                              ).scalar_one_or_none()


def create_sale(user: User, point: SalesPoint, data: dict) -> tuple[PosSale, bool]:
    """Record a counter sale (a core order, stock FEFO) and its till receipt; returns ``(sale, created)``.

    ``client_ref`` makes the call idempotent: a retry with the same key — also
    a concurrent one — returns the first sale (``created`` False). Errors:
    ``sales_point.unknown_code`` (422), ``sales_point.product_not_listed``
    (422), ``stock.insufficient`` (409), ``sales_point.insufficient_payment``
    (422 when cash tendered is below the total); the request then rolls back
    and nothing is written. Does not commit.
    """
    access.require_operate(user, point)
    found = _existing(point, data.get("client_ref"))
    if found is not None:
        return found, False
    require_open(point)
    lines = []
    for i, (line, variant) in enumerate(_resolve_lines(data["lines"])):
        if not variant.active:
            raise DomainError("sales_point.variant_inactive", "Sản phẩm đã ngừng bán.", "This variant is not on sale.",
                              {"line": i, "sku": variant.sku}, status=422)
        require_listed(point, variant, f"lines[{i}]")
        lines.append(counter.CounterLine(variant.id, line["quantity"]))
    method = data["payment_method"]
    payment = counter.CounterPayment(method=COUNTER_METHODS[method], reference=data.get("payment_reference"),
                                     tendered=data.get("amount_tendered") if method == "cash" else None)
    try:
        order, created = counter.record_counter_sale(_channel(point), point.stock_location_id, lines, [payment],
                                                     user, client_ref=data.get("client_ref"))
    except DomainError as exc:
        raise _till_error(exc)
    if not created:  # the same till retried while the first attempt was being recorded
        sale = db.session.execute(select(PosSale).where(PosSale.order_id == order.id)).scalar_one_or_none()
        if sale is not None:
            return sale, False
    sale = PosSale(sales_point_id=point.id, order_id=order.id, order=order, status="completed", sold_by_id=user.id,
                   sold_at=order.created_at, sold_on=clock.today())
    db.session.add(sale)
    db.session.flush()
    sale.number = f"POS-{point.code}-{sale.id:06d}"
    audit.record("sales_point.sale", sale, actor=user, province_code=point.province_code)
    return sale, created


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
    stmt = stmt.options(selectinload(PosSale.order).selectinload(Order.lines),
                        selectinload(PosSale.order).selectinload(Order.payments),
                        selectinload(PosSale.returns).selectinload(PosReturn.lines))
    return paginate(stmt.order_by(PosSale.id.desc()), args["page"], args["limit"])


# --- void and returns -----------------------------------------------------------------------------
def void_sale(user: User, sale: PosSale, reason: str) -> PosSale:
    """Void a whole sale on the day it was made (wrong item keyed, payment failed): stock goes back to its
    lots and the payment is refunded (the core order becomes ``refunded``). Does not commit.

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
    before = audit.snapshot(sale)
    counter.void_counter_sale(sale.order, user, f"{sale.number}: {reason}")
    sale.status = "voided"
    sale.voided_at = utcnow()
    sale.voided_on = clock.today()
    sale.voided_by_id = user.id
    sale.void_reason = reason
    audit.record("sales_point.sale_voided", sale, before=before, actor=user, province_code=point.province_code)
    return sale


def return_items(user: User, sale: PosSale, data: dict) -> PosReturn:
    """A customer brings back part of a sale: refund at the sold price, restock unless damaged. Does not commit.

    ``sale_line_id`` names a line of the sale (the core order line). Refused:
    a voided sale (``sales_point.sale_voided``, 409), a line of another sale
    (422), more than sold less earlier returns (``sales_point.return_exceeds_sale``, 422).
    """
    point = sale.sales_point
    access.require_operate(user, point)
    if sale.status != "completed":
        raise Conflict("sales_point.sale_voided", "Hoá đơn đã bị huỷ.", "The sale was voided.", {"sale": sale.number})
    line_ids = {line.id for line in sale.order.lines}
    for i, row in enumerate(data["lines"]):
        if row["sale_line_id"] not in line_ids:
            raise invalid(f"lines[{i}].sale_line_id", "dòng không thuộc hoá đơn", "line is not on this sale")
    refund_method = data.get("refund_method") or till_method(sale.order)
    ret = PosReturn(sale_id=sale.id, sale=sale, reason=data["reason"], restock=data.get("restock", True),
                    refund_method=refund_method, refund_amount=0, created_by_id=user.id, returned_on=clock.today())
    db.session.add(ret)
    db.session.flush()
    ret.number = f"RET-{point.code}-{ret.id:06d}"
    try:
        result = counter.return_counter_sale(
            sale.order, [counter.ReturnLine(row["sale_line_id"], row["quantity"]) for row in data["lines"]], user,
            f"{ret.number}: {data['reason']}", restock=ret.restock, refund_method=COUNTER_METHODS[refund_method])
    except DomainError as exc:
        raise _till_error(exc)
    for line, quantity, amount in result.lines:
        ret.lines.append(PosReturnLine(order_line_id=line.id, quantity=quantity, amount=amount))
    ret.refund_amount = result.amount
    audit.record("sales_point.sale_return", ret, actor=user, province_code=point.province_code)
    return ret


# --- what the till shows and prints -----------------------------------------------------------------
def till_method(order: Order) -> str:
    """The till's payment method of a counter order (its first payment)."""
    return TILL_METHOD_OF_GATEWAY.get(order.payments[0].gateway, "cash") if order.payments else "cash"


def _lines_view(order: Order) -> list[dict]:
    gtins = dict(db.session.execute(select(Variant.id, Variant.gtin)
                                    .where(Variant.id.in_([line.variant_id for line in order.lines]))).all())
    return [{"id": line.id, "variant_id": line.variant_id, "sku": line.sku, "gtin": gtins.get(line.variant_id),
             "name": f"{line.product_name} – {line.variant_name}", "unit_price": line.unit_price,
             "quantity": line.quantity, "line_total": line.line_total, "returned_quantity": line.returned_quantity,
             "lots": [{"lot_no": lot["lot_no"] or None, "best_before": lot["best_before"], "quantity": lot["quantity"]}
                      for lot in line.allocations or []]}
            for line in order.lines]


def sale_view(sale: PosSale) -> dict:
    """The till's view of a sale: its receipt fields with the core order's lines, payment and totals."""
    order = sale.order
    payment = order.payments[0] if order.payments else None
    cash = (payment.client_data or {}) if payment is not None else {}
    return {"id": sale.id, "number": sale.number, "sales_point_id": sale.sales_point_id,
            "sales_channel_id": order.channel_id, "order_id": order.id, "client_ref": order.client_ref,
            "status": sale.status, "payment_method": till_method(order),
            "payment_reference": payment.external_id if payment is not None else None, "total": order.total,
            "refunded": sum(r.refund_amount for r in sale.returns), "amount_tendered": cash.get("tendered"),
            "change_due": cash.get("change"), "sold_at": sale.sold_at, "voided_at": sale.voided_at,
            "void_reason": sale.void_reason, "lines": _lines_view(order), "returns": list(sale.returns),
            "receipt": receipt_data(sale)}


def receipt_data(sale: PosSale) -> dict:
    """Printable receipt (hoá đơn bán lẻ): header, lines, totals and payment, times in Vietnam."""
    point, order = sale.sales_point, sale.order
    method = till_method(order)
    name_vi, name_en = PAYMENT_NAMES[method]
    payment = order.payments[0] if order.payments else None
    cash = (payment.client_data or {}) if payment is not None else {}
    cashier = db.session.get(User, sale.sold_by_id) if sale.sold_by_id else None
    return {
        "title": "HOÁ ĐƠN BÁN LẺ – ĐIỂM GIỚI THIỆU VÀ BÁN SẢN PHẨM OCOP",
        "title_en": "Sales receipt – OCOP showcase and sales point",
        "point_name": point.name, "point_address": point.address,
        "point_phone": (point.contacts or {}).get("phone"),
        "number": sale.number, "sold_at_local": clock.local(sale.sold_at),
        "cashier": (cashier.full_name or cashier.username) if cashier else None,
        "lines": [{"sku": line.sku, "name": f"{line.product_name} – {line.variant_name}",
                   "quantity": line.quantity, "unit_price": line.unit_price, "line_total": line.line_total}
                  for line in order.lines],
        "total": order.total, "payment_method": method,
        "payment_method_name": f"{name_vi} / {name_en}",
        "amount_tendered": cash.get("tendered"), "change_due": cash.get("change"),
        "footer": "Cảm ơn quý khách! Sản phẩm OCOP – Mỗi xã một sản phẩm. / Thank you!",
    }
