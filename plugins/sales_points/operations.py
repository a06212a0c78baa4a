"""Stock documents at a sales point: receipts, reversals, two-step transfers, counts, returns to producers,
stock views, low-stock thresholds and the daily alerts.

Every quantity change goes through :mod:`core.inventory.ledger` (which locks
the stock rows and writes the ledger); these functions validate first, write
their document and call the core. They flush, never commit: the request (or
the CLI command, the Celery task) commits, or rolls back on any error, so
nothing is half-written.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select

from core import clock
from core.text import contains_text
from core.db import db, utcnow
from core.errors import Conflict, DomainError, invalid, Message, NotFound, ValidationFailed
from core.catalogue.listing import is_listed
from core.catalogue.models import Product, Variant
from core.inventory.models import StockLocation, StockLot
from core.accounts.models import User
from core.inventory.models import Stock
from core.pagination import paginate
from core.audit import trail as audit
from core.inventory import ledger
from core.inventory import locations
from plugins.sales_points import access
from plugins.sales_points.models import (GoodsReceipt, GoodsReceiptLine, ProducerReturn, ProducerReturnLine,
                                         SalesPoint, StockAlert, StockCount, StockCountLine, StockThreshold,
                                         Transfer, TransferLine)
from plugins.sales_points.services import agreement_on, find_variant, get_point, get_producer
from core.inventory.models import StockMovement
from core.pagination import next_link
from core.pricing import resolver
from core.sales.models import SalesChannel

#: product groups whose goods must be received with a lot number and a best-before date
DATED_GROUPS = ("food", "beverages")
OPEN_STATUSES = ("active",)


def is_listed_now(product: Product) -> bool:
    """Listed in the OCOP catalogue today (active with a valid 3+ star certification)."""
    return is_listed(product, clock.today())


def require_listed(point: SalesPoint, variant: Variant, field: str) -> None:
    """Refuse products that are not (or no longer) listed, unless the point allows unlisted products."""
    if point.allow_unlisted or is_listed_now(variant.product):
        return
    raise DomainError("sales_point.product_not_listed",
                      f"Sản phẩm {variant.product.name} không còn là sản phẩm OCOP được công nhận "
                      "(chứng nhận hết hạn hoặc bị thu hồi), không được bán như sản phẩm OCOP.",
                      f"{variant.product.name} is not a listed OCOP product (certification expired or withdrawn) "
                      "and cannot be sold as one.",
                      {"field": field, "sku": variant.sku, "product_id": variant.product_id}, status=422)


def require_open(point: SalesPoint) -> None:
    """Stock and sales operations need an active point."""
    if point.status not in OPEN_STATUSES:
        raise DomainError("sales_point.not_active", "Điểm bán không hoạt động.", "The sales point is not active.",
                          {"sales_point_id": point.id, "status": point.status}, status=409)


def _resolve_lines(lines: list[dict]) -> list[tuple[dict, Variant]]:
    """Resolve every line's variant reference; unknown codes → 422 ``sales_point.unknown_code`` (line index)."""
    out = []
    for i, line in enumerate(lines):
        try:
            variant = find_variant(line, field=f"lines[{i}]")
        except DomainError as exc:
            exc.status = 422
            exc.details["line"] = i
            raise
        if variant.is_service:
            raise DomainError("stock.not_stocked", "Dịch vụ không quản lý tồn kho.", "Services have no stock.",
                              {"line": i, "sku": variant.sku}, status=422)
        out.append((line, variant))
    return out


def _lot_label(movement) -> str | None:
    lot = db.session.get(StockLot, movement.lot_id)
    return (lot.lot_no or None) if lot else None


def _numbered(doc, prefix: str, point_code: str) -> str:
    db.session.flush()
    doc.number = f"{prefix}-{point_code}-{doc.id:06d}"
    return doc.number


# --- receipts --------------------------------------------------------------------------
def create_receipt(user: User, point: SalesPoint, data: dict) -> GoodsReceipt:
    """Post a goods receipt note from one producer (the point's operators). Does not commit.

    Rules: every line is the producer's own, listed product (unless the point
    allows unlisted ones); food and beverages need ``lot_no`` and
    ``best_before``; a best-before date in the past is refused
    (``sales_point.best_before_past``); the mode defaults to consignment while
    a consignment agreement is in force and must match it.
    """
    access.require_operate(user, point)
    require_open(point)
    producer = get_producer(data["producer_id"])
    today = clock.today()
    received_on = data.get("received_on") or today
    if received_on > today:
        raise invalid("received_on", "ngày nhận không được ở tương lai", "received_on cannot be in the future")
    agreement = agreement_on(point, producer.id, received_on)
    mode = data.get("mode") or ("consignment" if agreement else "purchase")
    if (mode == "consignment") != (agreement is not None):
        raise DomainError("sales_point.receipt_mode_mismatch",
                          "Hình thức nhập không khớp hợp đồng ký gửi với chủ thể này.",
                          "The receipt mode does not match the consignment agreement with this producer "
                          "(consignment needs an agreement in force; purchase is refused while one is).",
                          {"mode": mode, "agreement_id": agreement.id if agreement else None}, status=422)
    resolved = _resolve_lines(data["lines"])
    for i, (line, variant) in enumerate(resolved):
        if variant.product.producer_id != producer.id:
            raise DomainError("sales_point.wrong_producer", "Sản phẩm không thuộc chủ thể giao hàng.",
                              "The product does not belong to the delivering producer.",
                              {"line": i, "sku": variant.sku}, status=422)
        require_listed(point, variant, f"lines[{i}]")
        if variant.product.group_code in DATED_GROUPS and not (line.get("lot_no") and line.get("best_before")):
            raise DomainError("sales_point.lot_required",
                              "Thực phẩm và đồ uống phải có số lô và hạn sử dụng.",
                              "Food and beverages need a lot number and a best-before date.",
                              {"line": i, "sku": variant.sku}, status=422)
        if line.get("best_before") and line["best_before"] < today:
            raise DomainError("sales_point.best_before_past", "Hạn sử dụng đã qua, không thể nhập kho.",
                              "The best-before date is in the past; the goods cannot be received.",
                              {"line": i, "sku": variant.sku, "best_before": line["best_before"].isoformat()},
                              status=422)
    receipt = GoodsReceipt(sales_point_id=point.id, producer_id=producer.id, mode=mode, status="posted",
                           received_on=received_on, supplier_document=data.get("supplier_document"),
                           note=data.get("note"), created_by_id=user.id)
    db.session.add(receipt)
    number = _numbered(receipt, "GRN", point.code)
    for line, variant in resolved:
        movements = ledger.receive(point.stock_location_id, variant, line["quantity"], actor=user,
                                       reason=f"{number}: nhập hàng / goods receipt ({mode})", reference=number,
                                       lot_no=line.get("lot_no"), best_before=line.get("best_before"))
        receipt.lines.append(GoodsReceiptLine(variant_id=variant.id, quantity=line["quantity"],
                                              unit_cost=line.get("unit_cost", 0), lot_no=_lot_label(movements[0]),
                                              best_before=line.get("best_before")))
    audit.record("sales_point.receipt_posted", receipt, actor=user, province_code=point.province_code)
    db.session.flush()
    return receipt


def get_receipt(user: User, receipt_id: int) -> GoodsReceipt:
    """A receipt the user may see (producers: their own deliveries)."""
    receipt = db.session.get(GoodsReceipt, receipt_id)
    if receipt is None:
        raise NotFound("sales_point_receipt", "phiếu nhập")
    producer_id = access.require_view_or_producer(user, receipt.sales_point)
    if producer_id is not None and receipt.producer_id != producer_id:
        raise access.out_of_scope(receipt.sales_point_id)
    return receipt


def reverse_receipt(user: User, receipt: GoodsReceipt, reason: str) -> GoodsReceipt:
    """Correct a receipt by reversing it: negative adjustments of the same lots (never an edit). Does not commit.

    Fails with ``sales_point.reversal_impossible`` (409) when the goods have
    already left (sold, transferred): count or return them instead.
    """
    point = receipt.sales_point
    access.require_operate(user, point)
    if receipt.status != "posted":
        raise Conflict("sales_point.receipt_reversed", "Phiếu nhập đã được đảo trước đó.",
                       "The receipt was already reversed.", {"receipt": receipt.number})
    before = audit.snapshot(receipt)
    for line in receipt.lines:
        try:
            ledger.adjust(point.stock_location_id, line.variant_id, -line.quantity, actor=user,
                              reason=f"{receipt.number}: đảo phiếu nhập / receipt reversal: {reason}",
                              lot_no=line.lot_no or "")
        except DomainError as exc:
            if exc.code not in ("stock.negative", "stock.insufficient", "stock_lot.not_found"):
                raise
            raise Conflict("sales_point.reversal_impossible",
                           "Hàng của phiếu nhập đã xuất (bán, chuyển); không thể đảo. Hãy kiểm kê hoặc trả lại chủ thể.",
                           "Goods of this receipt have already left (sold, transferred); it cannot be reversed. "
                           "Count the stock or return goods to the producer instead.",
                           {"receipt": receipt.number, "sku": line.variant.sku, "lot_no": line.lot_no,
                            "cause": exc.code, **exc.details}) from exc
    receipt.status = "reversed"
    receipt.reversed_at = utcnow()
    receipt.reversed_on = clock.today()
    receipt.reversed_by_id = user.id
    receipt.reversal_reason = reason
    audit.record("sales_point.receipt_reversed", receipt, before=before, actor=user,
                 province_code=point.province_code)
    db.session.flush()
    return receipt


def _doc_filters(stmt, model, date_column, args: dict):
    if args.get("date_from"):
        stmt = stmt.where(date_column >= args["date_from"])
    if args.get("date_to"):
        stmt = stmt.where(date_column <= args["date_to"])
    if args.get("producer_id") and hasattr(model, "producer_id"):
        stmt = stmt.where(model.producer_id == args["producer_id"])
    return stmt


def list_receipts(user: User, point: SalesPoint, args: dict) -> dict:
    """Receipts of a point, newest first (producers: their own)."""
    producer_id = access.require_view_or_producer(user, point)
    stmt = select(GoodsReceipt).where(GoodsReceipt.sales_point_id == point.id)
    if producer_id is not None:
        stmt = stmt.where(GoodsReceipt.producer_id == producer_id)
    stmt = _doc_filters(stmt, GoodsReceipt, GoodsReceipt.received_on, args)
    return paginate(stmt.order_by(GoodsReceipt.id.desc()), args["page"], args["limit"])


# --- transfers ------------------------------------------------------------------------------
def dispatch_transfer(user: User, source: SalesPoint, data: dict) -> Transfer:
    """Step 1: goods leave ``source`` for another point (or a producer warehouse) and wait in transit. Does not commit.

    Lines name a lot or are picked first-expiry-first-out from unexpired lots.
    Ledger: ``transfer_out`` at the source, ``transfer_in`` at the in-transit location.
    """
    access.require_operate(user, source)
    require_open(source)
    dest_point = None
    if data.get("to_sales_point_id") is not None:
        dest_point = get_point(data["to_sales_point_id"])
        if dest_point.id == source.id:
            raise invalid("to_sales_point_id", "điểm nhận phải khác điểm gửi",
                          "the destination must differ from the source")
        require_open(dest_point)
        to_location_id, transit_id = dest_point.stock_location_id, dest_point.transit_location_id
    else:
        location = db.session.get(StockLocation, data["to_location_id"])
        if location is None:
            raise NotFound("stock_location", "kho hàng")
        if location.kind != ledger.PRODUCER_WAREHOUSE:
            raise invalid("to_location_id", "chỉ chuyển được tới điểm bán (to_sales_point_id) hoặc kho của chủ thể",
                          "transfer to a sales point (to_sales_point_id) or a producer warehouse")
        to_location_id, transit_id = location.id, source.transit_location_id
    resolved = _resolve_lines(data["lines"])
    transfer = Transfer(from_location_id=source.stock_location_id, transit_location_id=transit_id,
                        to_location_id=to_location_id, from_point_id=source.id,
                        to_point_id=dest_point.id if dest_point else None, status="dispatched",
                        note=data.get("note"), dispatched_by_id=user.id, dispatched_at=utcnow(),
                        dispatched_on=clock.today())
    db.session.add(transfer)
    number = _numbered(transfer, "TRF", source.code)
    destination = db.session.get(StockLocation, to_location_id)
    for line, variant in sorted(resolved, key=lambda pair: pair[1].id):
        ledger.check_stockable(destination, variant)
        if line.get("lot_no") is not None:
            picks = [(line["lot_no"], line["quantity"])]
        else:
            picks = [(lot.lot_no, qty) for lot, qty in
                     ledger.pick_fefo(source.stock_location_id, variant, line["quantity"])]
        for lot_no, qty in picks:
            movements = ledger.transfer(source.stock_location_id, transit_id, variant, qty, actor=user,
                                            reason=f"{number}: xuất chuyển kho / transfer dispatched",
                                            lot_no=lot_no, reference=number)
            arrived = [m for m in movements if m.kind == "transfer_in"]
            for m in arrived:
                lot = db.session.get(StockLot, m.lot_id)
                transfer.lines.append(TransferLine(variant_id=variant.id, lot_no=lot.lot_no or None,
                                                   best_before=lot.best_before, quantity_sent=m.quantity))
    audit.record("sales_point.transfer_dispatched", transfer, actor=user, province_code=source.province_code)
    db.session.flush()
    return transfer


def find_transfer(transfer_id: int) -> Transfer:
    """A transfer by id (404 ``sales_point_transfer.not_found``); callers check permissions."""
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFound("sales_point_transfer", "phiếu chuyển kho")
    return transfer


def get_transfer(user: User, transfer_id: int) -> Transfer:
    """A transfer seen by the operators of either end (and registry managers of their provinces)."""
    transfer = find_transfer(transfer_id)
    ends = [p for p in (transfer.from_point, transfer.to_point) if p is not None]
    if not any(access.can_see_point(user, p) for p in ends):
        raise access.out_of_scope(transfer.from_point_id)
    return transfer


def _require_receiver(user: User, transfer: Transfer) -> None:
    if transfer.to_point is not None:
        access.require_operate(user, transfer.to_point)
        return
    location = db.session.get(StockLocation, transfer.to_location_id)
    if user.role == "admin" or locations.can_manage_location(user, location):
        return
    raise access.out_of_scope(None, location_id=location.id)


def receive_transfer(user: User, transfer: Transfer, data: dict) -> Transfer:
    """Step 2: the destination confirms what arrived; shortfalls are written off with a reason. Does not commit.

    Lines not mentioned arrived in full. ``quantity_received`` above what was
    sent is refused (receive extra goods with a receipt). Ledger: transit →
    destination ``transfer_out``/``transfer_in``; a shortfall is an
    ``adjustment`` at the in-transit location.
    """
    _require_receiver(user, transfer)
    if transfer.status != "dispatched":
        raise Conflict("sales_point.transfer_received", "Phiếu chuyển kho đã được nhận.",
                       "The transfer was already received.", {"transfer": transfer.number})
    given = {}
    for i, row in enumerate(data.get("lines") or []):
        given[row["line_id"]] = (i, row)
    lines = {line.id: line for line in transfer.lines}
    unknown = [lid for lid in given if lid not in lines]
    if unknown:
        raise invalid("lines", f"dòng không thuộc phiếu: {unknown}", f"lines not on this transfer: {unknown}")
    for line in transfer.lines:
        i, row = given.get(line.id, (None, None))
        received = line.quantity_sent if row is None else row["quantity_received"]
        if received > line.quantity_sent:
            raise DomainError("sales_point.over_receipt", "Số nhận nhiều hơn số đã gửi; hàng thừa hãy lập phiếu nhập.",
                              "More received than sent; receive extra goods with a receipt.",
                              {"line": i, "line_id": line.id, "sent": line.quantity_sent, "received": received},
                              status=422)
        if received < line.quantity_sent and not (row and row.get("discrepancy_reason")):
            raise DomainError("sales_point.discrepancy_reason_required", "Cần ghi lý do chênh lệch khi nhận thiếu.",
                              "A shortfall needs a discrepancy reason.",
                              {"line": i, "line_id": line.id, "sent": line.quantity_sent, "received": received},
                              status=422)
        line.quantity_received = received
        line.discrepancy_reason = row.get("discrepancy_reason") if row else None
    number = transfer.number
    for line in sorted(transfer.lines, key=lambda ln: ln.variant_id):
        lot_no = line.lot_no or ""
        if line.quantity_received:
            ledger.transfer(transfer.transit_location_id, transfer.to_location_id, line.variant_id,
                                line.quantity_received, actor=user, lot_no=lot_no, reference=number,
                                reason=f"{number}: nhận chuyển kho / transfer received")
        missing = line.quantity_sent - line.quantity_received
        if missing:
            ledger.adjust(transfer.transit_location_id, line.variant_id, -missing, actor=user, lot_no=lot_no,
                              reason=f"{number}: hao hụt vận chuyển / transit shortfall: {line.discrepancy_reason}")
    transfer.status = "received"
    transfer.received_at = utcnow()
    transfer.received_on = clock.today()
    transfer.received_by_id = user.id
    transfer.receive_note = data.get("note")
    point = transfer.to_point or transfer.from_point
    audit.record("sales_point.transfer_received", transfer, actor=user, province_code=point.province_code)
    db.session.flush()
    return transfer


def list_transfers(user: User, point: SalesPoint, args: dict) -> dict:
    """Transfers leaving or reaching a point, newest first."""
    access.require_view(user, point)
    stmt = select(Transfer).where((Transfer.from_point_id == point.id) | (Transfer.to_point_id == point.id))
    if args.get("status"):
        stmt = stmt.where(Transfer.status == args["status"])
    return paginate(stmt.order_by(Transfer.id.desc()), args["page"], args["limit"])


# --- counts -------------------------------------------------------------------------------
def post_count(user: User, point: SalesPoint, data: dict) -> StockCount:
    """Post a stock count (kiểm kê): each line sets on hand of a variant (or one lot) to the count. Does not commit.

    A variance needs a reason (``sales_point.variance_reason_required``); the
    core writes one ``count`` movement per differing line. Counted quantities
    are never negative (the schema refuses them).
    """
    access.require_operate(user, point)
    resolved = _resolve_lines(data["lines"])
    seen = set()
    for i, (line, variant) in enumerate(resolved):
        key = (variant.id, line.get("lot_no"))
        if key in seen:
            raise invalid(f"lines[{i}]", "dòng kiểm kê bị trùng", "duplicate count line",
                          code="sales_point.duplicate_line")
        seen.add(key)
        if line["counted"] < 0:  # defence in depth; the schema already refuses it
            raise ValidationFailed({f"lines[{i}].counted": [Message("phải lớn hơn hoặc bằng 0", "must be >= 0")]}, code="sales_point.negative_count")
    count = StockCount(sales_point_id=point.id, note=data.get("note"), counted_by_id=user.id, counted_on=clock.today())
    db.session.add(count)
    number = _numbered(count, "CNT", point.code)
    for i, (line, variant) in enumerate(resolved):
        reason = line.get("reason")
        movements = ledger.count(point.stock_location_id, variant, line["counted"], actor=user,
                                     reason=f"{number}: kiểm kê / count ({reason or 'ok'})"
                                            + (f": {line['note']}" if line.get("note") else ""),
                                     lot_no=line.get("lot_no"))
        variance = sum(m.quantity for m in movements)
        if variance and not reason:
            raise DomainError("sales_point.variance_reason_required", "Chênh lệch kiểm kê cần ghi lý do.",
                              "A count variance needs a reason.",
                              {"line": i, "sku": variant.sku, "variance": variance}, status=422)
        count.lines.append(StockCountLine(variant_id=variant.id, lot_no=line.get("lot_no") or None,
                                          expected=line["counted"] - variance, counted=line["counted"],
                                          variance=variance, reason=reason if variance else None,
                                          note=line.get("note")))
    audit.record("sales_point.count_posted", count, actor=user, province_code=point.province_code)
    db.session.flush()
    return count


def list_counts(user: User, point: SalesPoint, args: dict) -> dict:
    """Counts of a point, newest first."""
    access.require_view(user, point)
    stmt = select(StockCount).where(StockCount.sales_point_id == point.id)
    return paginate(stmt.order_by(StockCount.id.desc()), args["page"], args["limit"])


# --- returns to producers -----------------------------------------------------------------------
def return_to_producer(user: User, point: SalesPoint, data: dict) -> ProducerReturn:
    """Hand goods back to their producer (unsold consignment stock, recalls). Does not commit.

    Lines name a lot or take expired lots first, then first-expiry-first-out.
    """
    access.require_operate(user, point)
    producer = get_producer(data["producer_id"])
    resolved = _resolve_lines(data["lines"])
    for i, (line, variant) in enumerate(resolved):
        if variant.product.producer_id != producer.id:
            raise DomainError("sales_point.wrong_producer", "Sản phẩm không thuộc chủ thể nhận lại.",
                              "The product does not belong to that producer.",
                              {"line": i, "sku": variant.sku}, status=422)
    doc = ProducerReturn(sales_point_id=point.id, producer_id=producer.id, returned_on=clock.today(),
                         reason=data["reason"], created_by_id=user.id)
    db.session.add(doc)
    number = _numbered(doc, "RTV", point.code)
    for line, variant in sorted(resolved, key=lambda pair: pair[1].id):
        movements = ledger.adjust(point.stock_location_id, variant, -line["quantity"], actor=user,
                                      reason=f"{number}: trả lại chủ thể / returned to producer: {data['reason']}",
                                      lot_no=line.get("lot_no"))
        for m in movements:
            doc.lines.append(ProducerReturnLine(variant_id=variant.id, lot_no=_lot_label(m), quantity=-m.quantity))
    audit.record("sales_point.producer_return", doc, actor=user, province_code=point.province_code)
    db.session.flush()
    return doc


# --- stock views -----------------------------------------------------------------------------
def _thresholds(point: SalesPoint) -> dict[int, int]:
    return dict(db.session.execute(select(StockThreshold.variant_id, StockThreshold.min_quantity)
                                   .where(StockThreshold.sales_point_id == point.id)).all())


def stock_rows(point: SalesPoint, producer_id: int | None = None, q: str | None = None, *,
               priced: bool = True) -> list[dict]:
    """On hand per variant (with lots) at a point, read from the core stock tables: three queries whatever
    the number of rows (stocks, their lots, and — ``priced`` — the point's channel prices, :func:`price_rows`)."""
    stmt = (select(Stock, Variant, Product).join(Variant, Variant.id == Stock.variant_id)
            .join(Product, Product.id == Variant.product_id)
            .where(Stock.location_id == point.stock_location_id))
    if producer_id is not None:
        stmt = stmt.where(Product.producer_id == producer_id)
    if q:
        stmt = stmt.where(contains_text(Product.name, q) | contains_text(Variant.sku, q))
    thresholds = _thresholds(point)
    found = db.session.execute(stmt.order_by(Product.name, Variant.sku)).all()
    lots_of: dict[int, list] = defaultdict(list)
    if found:
        for lot in db.session.execute(
                select(StockLot).where(StockLot.stock_id.in_([stock.id for stock, _, _ in found]), StockLot.on_hand > 0)
                .order_by(StockLot.stock_id, StockLot.best_before.is_(None), StockLot.best_before, StockLot.id)
        ).scalars():
            lots_of[lot.stock_id].append(lot)
    rows = []
    for stock, variant, product in found:
        threshold = thresholds.get(variant.id, point.low_stock_default)
        rows.append({"sales_point_id": point.id, "variant_id": variant.id, "sku": variant.sku,
                     "gtin": variant.gtin, "name": f"{product.name} – {variant.name}", "product_id": product.id,
                     "producer_id": product.producer_id, "price": None, "on_hand": stock.on_hand,
                     "allocated": stock.allocated, "available": stock.on_hand - stock.allocated,
                     "threshold": threshold, "low": stock.on_hand <= threshold,
                     "lots": [{"lot_no": lot.lot_no or None, "best_before": lot.best_before,
                               "on_hand": lot.on_hand, "allocated": lot.allocated} for lot in lots_of[stock.id]]})
    return price_rows(point, rows) if priced else rows


def price_rows(point: SalesPoint, rows: list[dict]) -> list[dict]:
    """Set each row's ``price``: one unit on the point's sales channel now, from the core price resolver
    (promotions of the point's channel included), for all the rows in one batch. Returns ``rows``."""
    if not rows:
        return rows
    prices = resolver.prices_for([row["variant_id"] for row in rows], db.session.get(SalesChannel,
                                                                                     point.sales_channel_id))
    for row in rows:
        row["price"] = prices[row["variant_id"]].unit_price
    return rows


def point_stock(user: User, point: SalesPoint, args: dict) -> dict:
    """Stock of a point (producers: only their products), paginated; the page is priced in one batch."""
    producer_id = access.require_view_or_producer(user, point)
    if producer_id is None:
        producer_id = args.get("producer_id")
    page = _page(stock_rows(point, producer_id, args.get("q"), priced=False), args)
    price_rows(point, page["results"])
    return page


def _page(rows: list, args: dict) -> dict:
    page, limit = args["page"], args["limit"]
    return {"results": rows[(page - 1) * limit: page * limit], "total": len(rows),
            "next": next_link(page, limit, len(rows))}


def producer_stock(user: User, args: dict) -> dict:
    """A producer's products at every point (producer users: their own; organisers: points of their province)."""
    producer_id = _producer_scope(user, args)
    stmt = select(SalesPoint).order_by(SalesPoint.province_code, SalesPoint.code)
    if user.role == "organiser":
        stmt = stmt.where(SalesPoint.province_code == user.province_code)
    rows, points = [], {}
    for point in db.session.execute(stmt).scalars():
        points[point.id] = point
        rows.extend(r for r in stock_rows(point, producer_id, priced=False) if r["on_hand"] or r["lots"])
    page = _page(rows, args)
    for point_id in dict.fromkeys(row["sales_point_id"] for row in page["results"]):  # each point's own prices
        price_rows(points[point_id], [row for row in page["results"] if row["sales_point_id"] == point_id])
    return page


def _producer_scope(user: User, args: dict) -> int:
    if user.role == "producer":
        if args.get("producer_id") not in (None, user.producer_id):
            raise access.out_of_scope(None, producer_id=args.get("producer_id"))
        return user.producer_id
    if not args.get("producer_id"):
        raise invalid("producer_id", "thiếu mã chủ thể", "producer_id is required")
    get_producer(args["producer_id"])
    return args["producer_id"]


# --- thresholds and alerts ---------------------------------------------------------------------
def list_thresholds(user: User, point: SalesPoint) -> dict:
    """Per-variant low-stock thresholds of a point."""
    access.require_view(user, point)
    rows = db.session.execute(select(StockThreshold, Variant).join(Variant, Variant.id == StockThreshold.variant_id)
                              .where(StockThreshold.sales_point_id == point.id).order_by(Variant.sku)).all()
    results = [{"variant_id": v.id, "sku": v.sku, "min_quantity": t.min_quantity} for t, v in rows]
    return {"results": results, "total": len(results), "next": None}


def set_thresholds(user: User, point: SalesPoint, data: dict) -> dict:
    """Set (upsert) per-variant low-stock thresholds. Does not commit."""
    access.require_operate(user, point)
    for i, (line, variant) in enumerate(_resolve_lines(data["thresholds"])):
        row = db.session.execute(select(StockThreshold).where(StockThreshold.sales_point_id == point.id,
                                                              StockThreshold.variant_id == variant.id)).scalar_one_or_none()
        if row is None:
            db.session.add(StockThreshold(sales_point_id=point.id, variant_id=variant.id,
                                          min_quantity=line["min_quantity"]))
        else:
            row.min_quantity = line["min_quantity"]
    db.session.flush()
    return list_thresholds(user, point)


def run_alerts(today: dt.date | None = None) -> dict:
    """Daily: raise low-stock, near-expiry and expired-lot alerts for every active point; resolve cleared ones.

    Idempotent (one open alert per point, kind, variant and lot). Does not commit.
    """
    today = today or clock.today()
    raised = resolved = 0
    for point in db.session.execute(select(SalesPoint).where(SalesPoint.status == "active")
                                    .order_by(SalesPoint.id)).scalars():
        wanted: dict[tuple, dict] = {}
        horizon = today + dt.timedelta(days=point.near_expiry_days)
        for row in stock_rows(point, priced=False):
            if row["on_hand"] <= row["threshold"]:
                wanted[("low_stock", row["variant_id"], None)] = {
                    "quantity": row["on_hand"], "threshold": row["threshold"], "best_before": None}
            for lot in row["lots"]:
                bb = lot["best_before"]
                if bb is None or bb > horizon:
                    continue
                kind = "expired" if bb < today else "near_expiry"
                wanted[(kind, row["variant_id"], lot["lot_no"])] = {
                    "quantity": lot["on_hand"], "threshold": None, "best_before": bb}
        open_alerts = db.session.execute(select(StockAlert).where(StockAlert.sales_point_id == point.id,
                                                                  StockAlert.resolved_at.is_(None))).scalars().all()
        have = {(a.kind, a.variant_id, a.lot_no): a for a in open_alerts}
        for key, alert in have.items():
            if key not in wanted:
                alert.resolved_at = utcnow()
                resolved += 1
            else:
                alert.quantity = wanted[key]["quantity"]
        for key, info in wanted.items():
            if key in have:
                continue
            kind, variant_id, lot_no = key
            db.session.add(StockAlert(sales_point_id=point.id, kind=kind, variant_id=variant_id, lot_no=lot_no,
                                      best_before=info["best_before"], quantity=info["quantity"],
                                      threshold=info["threshold"], raised_on=today,
                                      dedupe_key=f"{kind}:{point.id}:{variant_id}:{lot_no or ''}:{today.isoformat()}"))
            raised += 1
    db.session.flush()
    return {"raised": raised, "resolved": resolved}


def list_alerts(user: User, point: SalesPoint, args: dict) -> dict:
    """Open alerts of a point (operators and registry managers)."""
    access.require_view(user, point)
    stmt = select(StockAlert).where(StockAlert.sales_point_id == point.id, StockAlert.resolved_at.is_(None))
    if not args.get("include_acknowledged"):
        stmt = stmt.where(StockAlert.acknowledged_at.is_(None))
    if args.get("kind"):
        stmt = stmt.where(StockAlert.kind == args["kind"])
    return paginate(stmt.order_by(StockAlert.kind, StockAlert.id), args["page"], args["limit"])


def acknowledge_alert(user: User, alert_id: int) -> StockAlert:
    """An operator marks an alert as seen. Does not commit."""
    alert = db.session.get(StockAlert, alert_id)
    if alert is None:
        raise NotFound("sales_point_alert", "cảnh báo")
    access.require_operate(user, get_point(alert.sales_point_id))
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by_id = user.id
        db.session.flush()
    return alert


def movements_by_reference(reference: str) -> dict:
    """Signed quantities per (location, variant) posted under ``reference`` (diagnostics and tests)."""
    out: dict = defaultdict(int)
    for m, stock in db.session.execute(select(StockMovement, Stock).join(Stock, Stock.id == StockMovement.stock_id)
                                       .where(StockMovement.reference == reference)).all():
        out[(stock.location_id, stock.variant_id)] += m.quantity
    return dict(out)
