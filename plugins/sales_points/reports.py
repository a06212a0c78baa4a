"""Reports of the sales points plugin: sales by product/producer/group, stock on hand and value, slow movers,
near-expiry lots, a producer's goods across points, and the province totals organisers report
("number of sales points and their turnover").

Sales figures are net of customer returns and exclude voided sales; periods
are business dates in Vietnam (``sold_on``/``returned_on``).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from dataclasses import dataclass

from sqlalchemy import func, select

from core import clock
from core.db import db
from core.errors import invalid
from core.catalogue.models import Producer, Product
from core.accounts.models import User
from core.catalogue import groups
from core.sales.models import OrderLine
from plugins.sales_points import access
from plugins.sales_points.models import (LOCATION_KINDS, POINT_STATUSES, GoodsReceipt, GoodsReceiptLine, PosReturn,
                                         PosReturnLine, PosSale, SalesPoint, SalesPointOperator)
from plugins.sales_points.operations import _producer_scope, stock_rows


@dataclass(frozen=True)
class SoldLine:
    """A counter-sale line (the core order line) with its product group."""

    product_id: int
    product_name: str
    producer_id: int
    group_code: str
    variant_id: int
    sku: str
    name: str


def _sold_line(line: OrderLine, group_code: str) -> SoldLine:
    return SoldLine(line.product_id, line.product_name, line.producer_id, group_code, line.variant_id, line.sku,
                    f"{line.product_name} – {line.variant_name}")


def _net_lines(point_ids: list[int], date_from: dt.date, date_to: dt.date, producer_id: int | None = None):
    """``(sold_line, point_id, quantity, value, returned)`` rows: sales in the period (+) and returns in it (−)."""
    stmt = (select(OrderLine, PosSale.sales_point_id, Product.group_code)
            .join(PosSale, PosSale.order_id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(PosSale.sales_point_id.in_(point_ids), PosSale.status == "completed",
                   PosSale.sold_on >= date_from, PosSale.sold_on <= date_to))
    rstmt = (select(OrderLine, PosSale.sales_point_id, Product.group_code, PosReturnLine)
             .join(PosReturnLine, PosReturnLine.order_line_id == OrderLine.id)
             .join(PosReturn, PosReturn.id == PosReturnLine.return_id)
             .join(PosSale, PosSale.id == PosReturn.sale_id)
             .join(Product, Product.id == OrderLine.product_id)
             .where(PosSale.sales_point_id.in_(point_ids), PosReturn.returned_on >= date_from,
                    PosReturn.returned_on <= date_to))
    if producer_id is not None:
        stmt = stmt.where(OrderLine.producer_id == producer_id)
        rstmt = rstmt.where(OrderLine.producer_id == producer_id)
    rows = [(_sold_line(line, group), pid, line.quantity, line.line_total, 0)
            for line, pid, group in db.session.execute(stmt).all()]
    rows += [(_sold_line(line, group), pid, -r.quantity, -r.amount, r.quantity)
             for line, pid, group, r in db.session.execute(rstmt).all()]
    return rows


def sales_report(user: User, point: SalesPoint, args: dict) -> dict:
    """Net sales of a point in a period grouped by product, producer or group (producers: own products)."""
    producer_id = access.require_view_or_producer(user, point)
    by = args.get("by", "product")
    groups_out: dict = {}
    producers = {}
    for line, _pid, qty, value, returned in _net_lines([point.id], args["date_from"], args["date_to"], producer_id):
        if by == "product":
            key, label = line.product_id, line.product_name
        elif by == "producer":
            if line.producer_id not in producers:
                producers[line.producer_id] = db.session.get(Producer, line.producer_id).name
            key, label = line.producer_id, producers[line.producer_id]
        else:
            key, label = line.group_code, groups.label(line.group_code)["name"]
        row = groups_out.setdefault(key, {"key": key, "label": label, "quantity": 0, "returned": 0, "value": 0})
        row["quantity"] += qty
        row["returned"] += returned
        row["value"] += value
    rows = sorted(groups_out.values(), key=lambda r: (-r["value"], str(r["label"])))
    return {"sales_point_id": point.id, "from": args["date_from"].isoformat(), "to": args["date_to"].isoformat(),
            "by": by, "results": rows, "total": len(rows),
            "totals": {"quantity": sum(r["quantity"] for r in rows), "value": sum(r["value"] for r in rows)}}


def _average_costs(point: SalesPoint) -> dict[int, int]:
    rows = db.session.execute(
        select(GoodsReceiptLine.variant_id, func.sum(GoodsReceiptLine.quantity * GoodsReceiptLine.unit_cost),
               func.sum(GoodsReceiptLine.quantity))
        .join(GoodsReceipt, GoodsReceipt.id == GoodsReceiptLine.receipt_id)
        .where(GoodsReceipt.sales_point_id == point.id, GoodsReceipt.status == "posted")
        .group_by(GoodsReceiptLine.variant_id)).all()
    return {vid: round(int(cost) / int(qty)) for vid, cost, qty in rows if qty}


def stock_report(user: User, point: SalesPoint) -> dict:
    """On hand per variant with retail value (price) and cost value (average receipt cost)."""
    producer_id = access.require_view_or_producer(user, point)
    costs = _average_costs(point)
    rows = []
    for row in stock_rows(point, producer_id):
        if not row["on_hand"]:
            continue
        cost = costs.get(row["variant_id"])
        rows.append({"variant_id": row["variant_id"], "sku": row["sku"], "name": row["name"],
                     "producer_id": row["producer_id"], "on_hand": row["on_hand"], "price": row["price"],
                     "retail_value": row["on_hand"] * row["price"], "average_cost": cost,
                     "cost_value": row["on_hand"] * cost if cost is not None else None, "low": row["low"]})
    return {"sales_point_id": point.id, "as_of": clock.today().isoformat(), "results": rows, "total": len(rows),
            "totals": {"on_hand": sum(r["on_hand"] for r in rows),
                       "retail_value": sum(r["retail_value"] for r in rows),
                       "cost_value": sum(r["cost_value"] or 0 for r in rows)}}


def slow_movers(user: User, point: SalesPoint, args: dict) -> dict:
    """Goods on hand that sold at most ``max_sold`` units over the last ``days`` days, slowest first."""
    producer_id = access.require_view_or_producer(user, point)
    today = clock.today()
    start = today - dt.timedelta(days=args["days"] - 1)
    sold: dict[int, int] = defaultdict(int)
    for line, _pid, qty, _value, _ret in _net_lines([point.id], start, today, producer_id):
        sold[line.variant_id] += qty
    last = dict(db.session.execute(
        select(OrderLine.variant_id, func.max(PosSale.sold_on)).join(PosSale, PosSale.order_id == OrderLine.order_id)
        .where(PosSale.sales_point_id == point.id, PosSale.status == "completed")
        .group_by(OrderLine.variant_id)).all())
    rows = []
    for row in stock_rows(point, producer_id):
        if row["on_hand"] > 0 and sold[row["variant_id"]] <= args["max_sold"]:
            last_sold = last.get(row["variant_id"])
            rows.append({"variant_id": row["variant_id"], "sku": row["sku"], "name": row["name"],
                         "on_hand": row["on_hand"], "sold": sold[row["variant_id"]],
                         "last_sold_on": last_sold.isoformat() if last_sold else None,
                         "days_since_last_sale": (today - last_sold).days if last_sold else None,
                         "retail_value": row["on_hand"] * row["price"]})
    never = 10 ** 6  # never sold here: slowest of all
    rows.sort(key=lambda r: (r["sold"], -(r["days_since_last_sale"] if r["days_since_last_sale"] is not None
                                          else never), -r["retail_value"]))
    return {"sales_point_id": point.id, "days": args["days"], "results": rows, "total": len(rows)}


def near_expiry(user: User, point: SalesPoint, args: dict) -> dict:
    """Lots on hand whose best-before falls within ``days`` (default: the point's setting); expired ones flagged."""
    producer_id = access.require_view_or_producer(user, point)
    today = clock.today()
    days = args.get("days") if args.get("days") is not None else point.near_expiry_days
    horizon = today + dt.timedelta(days=days)
    rows = []
    for row in stock_rows(point, producer_id):
        for lot in row["lots"]:
            bb = lot["best_before"]
            if bb is not None and bb <= horizon:
                rows.append({"variant_id": row["variant_id"], "sku": row["sku"], "name": row["name"],
                             "lot_no": lot["lot_no"], "best_before": bb.isoformat(), "on_hand": lot["on_hand"],
                             "days_left": (bb - today).days, "expired": bb < today,
                             "retail_value": lot["on_hand"] * row["price"]})
    rows.sort(key=lambda r: (r["best_before"], r["sku"]))
    return {"sales_point_id": point.id, "days": days, "results": rows, "total": len(rows)}


def province_report(user: User, args: dict) -> dict:
    """Number of sales points (by status and location kind) and their turnover in a province over a period."""
    province = args.get("province") or user.province_code
    if not province:
        raise invalid("province", "thiếu mã tỉnh", "province is required")
    access.require_registry(user, province)
    points = db.session.execute(select(SalesPoint).where(SalesPoint.province_code == province)
                                .order_by(SalesPoint.code)).scalars().all()
    turnover: dict[int, int] = defaultdict(int)
    quantity: dict[int, int] = defaultdict(int)
    for _line, pid, qty, value, _ret in _net_lines([p.id for p in points], args["date_from"], args["date_to"]):
        turnover[pid] += value
        quantity[pid] += qty
    sales_count = dict(db.session.execute(
        select(PosSale.sales_point_id, func.count(PosSale.id))
        .where(PosSale.sales_point_id.in_([p.id for p in points]), PosSale.status == "completed",
               PosSale.sold_on >= args["date_from"], PosSale.sold_on <= args["date_to"])
        .group_by(PosSale.sales_point_id)).all()) if points else {}
    operators = dict(db.session.execute(
        select(SalesPointOperator.sales_point_id, func.count(SalesPointOperator.id))
        .group_by(SalesPointOperator.sales_point_id)).all())
    rows = [{"id": p.id, "code": p.code, "name": p.name, "location_kind": p.location_kind, "status": p.status,
             "commune_code": p.commune_code, "operators": operators.get(p.id, 0),
             "sales": sales_count.get(p.id, 0), "quantity": quantity[p.id], "turnover": turnover[p.id]}
            for p in points]
    by_status = {s: sum(1 for p in points if p.status == s) for s in POINT_STATUSES}
    by_kind = {k: sum(1 for p in points if p.location_kind == k) for k in LOCATION_KINDS}
    return {"province": province, "from": args["date_from"].isoformat(), "to": args["date_to"].isoformat(),
            "points": len(points), "active_points": by_status["active"], "by_status": by_status,
            "by_kind": {k: v for k, v in by_kind.items() if v},
            "turnover": sum(turnover.values()), "quantity": sum(quantity.values()),
            "results": rows, "total": len(rows)}


def producer_sales(user: User, args: dict) -> dict:
    """A producer's net counter sales per point and product in a period (producer users: their own)."""
    producer_id = _producer_scope(user, args)
    stmt = select(SalesPoint.id)
    if user.role == "organiser":
        stmt = stmt.where(SalesPoint.province_code == user.province_code)
    elif user.role not in ("admin", "producer"):
        raise access.out_of_scope(None)
    point_ids = list(db.session.execute(stmt).scalars())
    points = {p.id: p for p in db.session.execute(select(SalesPoint).where(SalesPoint.id.in_(point_ids))).scalars()}
    agg: dict = {}
    for line, pid, qty, value, returned in _net_lines(point_ids, args["date_from"], args["date_to"], producer_id):
        key = (pid, line.variant_id)
        row = agg.setdefault(key, {"sales_point_id": pid, "sales_point": points[pid].name,
                                   "variant_id": line.variant_id, "sku": line.sku, "name": line.name,
                                   "quantity": 0, "returned": 0, "value": 0})
        row["quantity"] += qty
        row["returned"] += returned
        row["value"] += value
    rows = sorted(agg.values(), key=lambda r: (r["sales_point"], r["sku"]))
    return {"producer_id": producer_id, "from": args["date_from"].isoformat(), "to": args["date_to"].isoformat(),
            "results": rows, "total": len(rows),
            "totals": {"quantity": sum(r["quantity"] for r in rows), "value": sum(r["value"] for r in rows)}}


def available_reports(user: User) -> list[dict]:
    """Entries for ``GET /admin/v1/reports`` (the ``reports`` hook)."""
    if user is None:
        return []
    base = "/admin/v1/sales-points"
    out = []
    if user.role in ("admin", "organiser"):
        out.append({"code": "sales_points.province", "name": "Điểm bán OCOP: số điểm và doanh thu của tỉnh",
                    "name_en": "OCOP sales points: number of points and turnover in the province",
                    "url": f"{base}/reports/province?from={{from}}&to={{to}}"})
    if user.role == "producer":
        out.append({"code": "sales_points.producer_stock", "name": "Tồn kho sản phẩm của tôi tại các điểm bán",
                    "name_en": "My products' stock at sales points", "url": f"{base}/producer/stock"})
        out.append({"code": "sales_points.producer_sales", "name": "Doanh số sản phẩm của tôi tại các điểm bán",
                    "name_en": "My products' sales at sales points",
                    "url": f"{base}/producer/sales?from={{from}}&to={{to}}"})
    if user.role in ("admin", "organiser", "operator"):
        for code, vi, en, path in (
                ("sales", "Doanh số theo sản phẩm, chủ thể, nhóm", "Sales by product, producer, group",
                 "reports/sales?from={from}&to={to}&by=product"),
                ("stock", "Tồn kho và giá trị", "Stock on hand and value", "reports/stock"),
                ("slow_movers", "Hàng bán chậm", "Slow movers", "reports/slow-movers?days=30"),
                ("near_expiry", "Lô sắp hết hạn", "Near-expiry lots", "reports/near-expiry")):
            out.append({"code": f"sales_points.{code}", "name": f"Điểm bán OCOP: {vi}",
                        "name_en": f"OCOP sales point: {en}", "url": f"{base}/{{sales_point_id}}/{path}"})
    return out
