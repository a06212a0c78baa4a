"""Consignment settlement of one producer at one point over a period, with CSV and XLSX exports.

Quantities per variant come from the plugin's documents by business date
(Vietnam): receipts (net of reversals), transfers in/out, counter sales net
of customer returns, damaged returns written off, returns to the producer
and count variances. The closing figure is anchored on the core's current
on-hand at the point and rolled back over the documents dated after the
period, so for every line::

    opening + received + transferred_in − transferred_out − sold − written_off
            − returned_to_producer + adjustments = closing

(with nothing before the period: received − sold − returned = on hand).
The unit price is what the counter sales charged (their order lines' price snapshot: promotions of
the point's channel included), never a list price.
``other`` is stock that changed outside the plugin's documents (e.g. the core
admin stock API); it is 0 when the ledger and the documents agree
(``balanced``). Sales value is the net counter-sales value; commission is
``round(sales_value × rate / 10 000)`` with the agreement's rate (or the
point's default); the amount owed to the producer is the rest.
"""
from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import or_, select

from core.reports import append_row, csv_bytes
from core.db import db
from core.errors import DomainError
from core.catalogue.models import Product, Variant
from core.accounts.models import User
from core.inventory.models import Stock
from plugins.sales_points import access
from core.sales.models import OrderLine
from plugins.sales_points.models import (ConsignmentAgreement, GoodsReceipt, GoodsReceiptLine, PosReturn,
                                         PosReturnLine, PosSale, ProducerReturn, ProducerReturnLine,
                                         SalesPoint, StockCount, StockCountLine, Transfer, TransferLine)
from plugins.sales_points.services import get_producer
from core.errors import invalid

FLOW_KEYS = ("received", "transferred_in", "transferred_out", "sold", "customer_returns", "written_off",
             "returned_to_producer", "adjustments")
#: sign of each flow in the stock identity (customer_returns is informative: restocked returns reduce "sold")
STOCK_SIGN = {"received": 1, "transferred_in": 1, "transferred_out": -1, "sold": -1, "written_off": -1,
              "returned_to_producer": -1, "adjustments": 1}


def _events(point: SalesPoint, producer_id: int) -> list[tuple[dt.date, int, str, int, int]]:
    """Every dated flow ``(date, variant_id, flow, quantity, value)`` of the producer's goods at the point."""
    events = []
    owned = select(Variant.id).join(Product, Product.id == Variant.product_id).where(Product.producer_id == producer_id)
    for line, receipt in db.session.execute(
            select(GoodsReceiptLine, GoodsReceipt).join(GoodsReceipt, GoodsReceipt.id == GoodsReceiptLine.receipt_id)
            .where(GoodsReceipt.sales_point_id == point.id, GoodsReceiptLine.variant_id.in_(owned))).all():
        events.append((receipt.received_on, line.variant_id, "received", line.quantity, 0))
        if receipt.status == "reversed":
            events.append((receipt.reversed_on, line.variant_id, "received", -line.quantity, 0))
    for line, transfer in db.session.execute(
            select(TransferLine, Transfer).join(Transfer, Transfer.id == TransferLine.transfer_id)
            .where(or_(Transfer.from_point_id == point.id, Transfer.to_point_id == point.id),
                   TransferLine.variant_id.in_(owned))).all():
        if transfer.from_point_id == point.id:
            events.append((transfer.dispatched_on, line.variant_id, "transferred_out", line.quantity_sent, 0))
        if transfer.to_point_id == point.id and transfer.status == "received" and line.quantity_received:
            events.append((transfer.received_on, line.variant_id, "transferred_in", line.quantity_received, 0))
    for line, sale in db.session.execute(
            select(OrderLine, PosSale).join(PosSale, PosSale.order_id == OrderLine.order_id)
            .where(PosSale.sales_point_id == point.id, PosSale.status == "completed",
                   OrderLine.producer_id == producer_id)).all():
        events.append((sale.sold_on, line.variant_id, "sold", line.quantity, line.line_total))
    for rline, ret, sline in db.session.execute(
            select(PosReturnLine, PosReturn, OrderLine).join(PosReturn, PosReturn.id == PosReturnLine.return_id)
            .join(OrderLine, OrderLine.id == PosReturnLine.order_line_id)
            .join(PosSale, PosSale.id == PosReturn.sale_id)
            .where(PosSale.sales_point_id == point.id, OrderLine.producer_id == producer_id)).all():
        events.append((ret.returned_on, sline.variant_id, "sold", -rline.quantity, -rline.amount))
        events.append((ret.returned_on, sline.variant_id, "customer_returns", rline.quantity, 0))
        if not ret.restock:
            events.append((ret.returned_on, sline.variant_id, "written_off", rline.quantity, 0))
    for line, doc in db.session.execute(
            select(ProducerReturnLine, ProducerReturn)
            .join(ProducerReturn, ProducerReturn.id == ProducerReturnLine.producer_return_id)
            .where(ProducerReturn.sales_point_id == point.id, ProducerReturnLine.variant_id.in_(owned))).all():
        events.append((doc.returned_on, line.variant_id, "returned_to_producer", line.quantity, 0))
    for line, count in db.session.execute(
            select(StockCountLine, StockCount).join(StockCount, StockCount.id == StockCountLine.count_id)
            .where(StockCount.sales_point_id == point.id, StockCountLine.variant_id.in_(owned),
                   StockCountLine.variance != 0)).all():
        events.append((count.counted_on, line.variant_id, "adjustments", line.variance, 0))
    return events


def _stock_effect(flow: str, quantity: int) -> int:
    return STOCK_SIGN.get(flow, 0) * quantity


def commission_rate(point: SalesPoint, producer_id: int, date_from: dt.date, date_to: dt.date):
    """``(agreement, rate_bp)`` of the latest agreement overlapping the period; 422 when there is none."""
    agreement = db.session.execute(select(ConsignmentAgreement).where(
        ConsignmentAgreement.sales_point_id == point.id, ConsignmentAgreement.producer_id == producer_id,
        ConsignmentAgreement.valid_from <= date_to,
        or_(ConsignmentAgreement.valid_to.is_(None), ConsignmentAgreement.valid_to >= date_from))
        .order_by(ConsignmentAgreement.valid_from.desc())).scalars().first()
    if agreement is None:
        raise DomainError("sales_point.no_consignment_agreement",
                          "Không có hợp đồng ký gửi với chủ thể này trong kỳ.",
                          "No consignment agreement with this producer covers the period.",
                          {"producer_id": producer_id}, status=422)
    rate = agreement.commission_rate_bp if agreement.commission_rate_bp is not None else point.commission_rate_bp
    return agreement, rate


def compute(point: SalesPoint, producer_id: int, date_from: dt.date, date_to: dt.date) -> dict:
    """The settlement figures (see the module docstring)."""
    producer = get_producer(producer_id)
    agreement, rate = commission_rate(point, producer.id, date_from, date_to)
    events = _events(point, producer.id)
    on_hand = dict(db.session.execute(
        select(Stock.variant_id, Stock.on_hand).join(Variant, Variant.id == Stock.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(Stock.location_id == point.stock_location_id, Product.producer_id == producer.id)).all())
    variant_ids = set(on_hand) | {e[1] for e in events}
    per: dict[int, dict] = {vid: {k: 0 for k in FLOW_KEYS} | {"sales_value": 0, "after": 0, "all_time": 0}
                            for vid in variant_ids}
    charged: dict[int, list[int]] = {vid: [0, 0] for vid in variant_ids}  # (units, VND) sold in the period
    last_sale: dict[int, tuple] = {}  # the latest sale up to the period's end, for lines sold only before it
    for day, vid, flow, qty, value in events:
        if flow == "sold" and qty > 0 and day <= date_to:
            if day >= date_from:
                charged[vid][0] += qty
                charged[vid][1] += value
            if vid not in last_sale or day >= last_sale[vid][0]:
                last_sale[vid] = (day, value // qty)
        row = per[vid]
        effect = _stock_effect(flow, qty)
        row["all_time"] += effect
        if day > date_to:
            row["after"] += effect
        elif day >= date_from:
            row[flow] += qty
            row["sales_value"] += value
    lines = []
    variants = {v.id: v for v in db.session.execute(select(Variant).where(Variant.id.in_(variant_ids))).scalars()}
    for vid in sorted(variant_ids, key=lambda v: variants[v].sku):
        row, variant = per[vid], variants[vid]
        current = on_hand.get(vid, 0)
        other = current - row["all_time"]
        closing = current - row["after"]
        period_effect = sum(_stock_effect(k, row[k]) for k in FLOW_KEYS)
        opening = closing - period_effect
        lines.append({"variant_id": vid, "sku": variant.sku, "name": f"{variant.product.name} – {variant.name}",
                      "unit_price": _charged_unit_price(charged[vid], last_sale.get(vid)), "opening": opening,
                      **{k: row[k] for k in FLOW_KEYS}, "other": other, "closing": closing,
                      "sales_value": row["sales_value"]})
    totals = {k: sum(line[k] for line in lines) for k in
              ("opening", *FLOW_KEYS, "other", "closing", "sales_value")}
    commission = (totals["sales_value"] * rate + 5000) // 10000  # round half up, integer VND
    return {"sales_point": {"id": point.id, "code": point.code, "name": point.name},
            "producer": {"id": producer.id, "name": producer.name, "tax_code": producer.tax_code},
            "date_from": date_from, "date_to": date_to, "agreement_id": agreement.id, "commission_rate_bp": rate,
            "lines": lines, "totals": totals, "commission": commission,
            "amount_owed": totals["sales_value"] - commission, "balanced": totals["other"] == 0}


def _charged_unit_price(charged: list[int], last_sale: tuple | None) -> int | None:
    """What the sales charged for one unit (order line snapshots, after promotions): the average over the
    period's sales, rounded down; without sales in the period the latest sale before; else None."""
    units, value = charged
    if units:
        return value // units
    return last_sale[1] if last_sale else None


def settlement_for(user: User, point: SalesPoint, args: dict) -> dict:
    """Settlement visible to the point's operators, the province's organiser and the producer itself."""
    producer_id = access.require_view_or_producer(user, point)
    if producer_id is not None:
        if args.get("producer_id") not in (None, producer_id):
            raise access.out_of_scope(point.id, producer_id=args.get("producer_id"))
    else:
        producer_id = args.get("producer_id")
        if producer_id is None:
            raise invalid("producer_id", "thiếu mã chủ thể", "producer_id is required")
    return compute(point, producer_id, args["date_from"], args["date_to"])


COLUMNS = (("sku", "Mã SKU / SKU"), ("name", "Sản phẩm / Product"), ("unit_price", "Đơn giá / Unit price (VND)"),
           ("opening", "Tồn đầu kỳ / Opening"), ("received", "Nhập / Received"),
           ("transferred_in", "Chuyển đến / Transferred in"), ("transferred_out", "Chuyển đi / Transferred out"),
           ("sold", "Bán (thuần) / Sold (net)"), ("customer_returns", "Khách trả / Customer returns"),
           ("written_off", "Hỏng do khách trả / Written off"),
           ("returned_to_producer", "Trả chủ thể / Returned to producer"),
           ("adjustments", "Điều chỉnh kiểm kê / Count adjustments"), ("other", "Khác / Other"),
           ("closing", "Tồn cuối kỳ / Closing"), ("sales_value", "Doanh thu / Sales value (VND)"))


def _header_rows(s: dict) -> list[list]:
    return [["Quyết toán hàng ký gửi / Consignment settlement"],
            ["Điểm bán / Sales point", f"{s['sales_point']['code']} – {s['sales_point']['name']}"],
            ["Chủ thể / Producer", s["producer"]["name"]],
            ["Kỳ / Period", s["date_from"].isoformat(), s["date_to"].isoformat()],
            ["Hoa hồng / Commission rate (bp)", s["commission_rate_bp"]], []]


def _footer_rows(s: dict) -> list[list]:
    return [[], ["Doanh thu / Sales value (VND)", s["totals"]["sales_value"]],
            ["Hoa hồng / Commission (VND)", s["commission"]],
            ["Phải trả chủ thể / Amount owed to producer (VND)", s["amount_owed"]]]


def to_csv(s: dict) -> bytes:
    """The settlement as UTF-8 CSV (with BOM, so spreadsheet programs show Vietnamese correctly); text cells
    are escaped so that no name runs as a formula (:mod:`core.reports`)."""
    rows = list(_header_rows(s))
    rows.append([label for _, label in COLUMNS])
    rows.extend([line[key] for key, _ in COLUMNS] for line in s["lines"])
    rows.append(["", "Tổng / Total", ""] + [s["totals"][key] for key, _ in COLUMNS[3:]])
    rows.extend(_footer_rows(s))
    return csv_bytes(rows)


def to_xlsx(s: dict) -> bytes:
    """The settlement as an Excel workbook (openpyxl), every text cell stored as text (:mod:`core.reports`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    ws = wb.active
    ws.title = "Quyet toan"
    for row in _header_rows(s):
        append_row(ws, row)
    ws["A1"].font = Font(bold=True, size=13)
    append_row(ws, [label for _, label in COLUMNS])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for line in s["lines"]:
        append_row(ws, [line[key] for key, _ in COLUMNS])
    append_row(ws, ["", "Tổng / Total", ""] + [s["totals"][key] for key, _ in COLUMNS[3:]])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for row in _footer_rows(s):
        append_row(ws, row)
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 48
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def filename(s: dict, ext: str) -> str:
    """Download name: ``quyet-toan-<point>-cs<producer>-<from>-<to>.<ext>``."""
    return (f"quyet-toan-{s['sales_point']['code']}-cs{s['producer']['id']}-"
            f"{s['date_from'].isoformat()}-{s['date_to'].isoformat()}.{ext}")

