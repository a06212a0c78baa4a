"""Fair reports (the ``reports`` hook): per event, and per province per year against the plan's target."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict

from sqlalchemy import func, select

from core.accounts.models import User
from core.catalogue.models import Product
from core.db import db
from core.errors import DomainError, invalid
from core.plugins import LazyModule
from plugins.fairs import access, trade
from plugins.fairs.booth_stock import safe_cell
from plugins.fairs.models import FairAssignment, FairBooth, FairDeal, FairEvent, FairSale

# openpyxl (with lxml) costs ~11 MB at import: loaded when a spreadsheet is first read or written
openpyxl = LazyModule("openpyxl")

BASE = "/admin/v1/fairs"
RAN = ("running", "closed", "reported")


def available_reports(user) -> list[dict]:
    """Entries for ``GET /admin/v1/reports``."""
    if user is None or user.role not in ("admin", "organiser"):
        return []
    return [{"code": "fairs.event", "name": "Hội chợ: gian hàng, doanh thu, khách tham quan, hợp đồng của một sự kiện",
             "name_en": "Fairs: booths, sales, visitors and deals of one event", "url": f"{BASE}/{{event_id}}/report"},
            {"code": "fairs.province_year", "name": "Hội chợ: số lượt gian hàng OCOP theo tỉnh và năm so với kế hoạch",
             "name_en": "Fairs: rounds of OCOP booths per province and year against the plan",
             "url": f"{BASE}/reports/province?province={{province}}&year={{year}}&target={{target}}",
             "dashboard": dashboard_rounds}]


def dashboard_rounds(*, province_code, unit_code, date_from, date_to) -> dict:
    """The province dashboard's figure ``fair_rounds``: exhibitor places at events that ran in the period
    (opening day inside it), per event; ``province_code`` None counts every province. Fairs are organised
    per province: under a district or commune filter the figure is left out."""
    if unit_code is not None:
        raise DomainError("fairs.not_per_unit", "Lượt gian hàng hội chợ chỉ tính theo tỉnh.",
                          "Fair booth rounds are counted per province only.", status=422)
    query = (select(FairEvent.name, FairEvent.starts_on, func.count(FairAssignment.id))
             .join(FairAssignment, FairAssignment.event_id == FairEvent.id)
             .where(FairEvent.status.in_(RAN), FairEvent.starts_on >= date_from, FairEvent.starts_on <= date_to)
             .group_by(FairEvent.id, FairEvent.name, FairEvent.starts_on).order_by(FairEvent.starts_on))
    if province_code is not None:
        query = query.where(FairEvent.province_code == province_code)
    rows = db.session.execute(query).all()
    return {"code": "fair_rounds", "name": "Lượt gian hàng OCOP tại hội chợ", "name_en": "OCOP booth rounds at fairs",
            "value": sum(n for _, _, n in rows), "unit": "lượt / rounds",
            "rows": [{"label": f"{name} ({starts:%d/%m/%Y})", "value": n} for name, starts, n in rows]}


def _sales(event_ids: list[int]) -> list:
    return db.session.execute(select(FairSale).where(FairSale.event_id.in_(event_ids))).scalars().all()


def event_report(user: User, event: FairEvent) -> dict:
    """Exhibitors, booths filled, sales by product group and producer, visitors, deals count and value."""
    access.require_manage(user, event)
    booths = db.session.execute(select(FairBooth).where(FairBooth.event_id == event.id)).scalars().all()
    assignments = db.session.execute(select(FairAssignment).where(FairAssignment.event_id == event.id)).scalars().all()
    by_group: dict[str, dict] = {}
    by_producer: dict[int, dict] = {}
    gmv = 0
    sales = _sales([event.id])
    products = {p.id: p for p in db.session.execute(select(Product).where(Product.id.in_(
        {line.product_id for sale in sales for line in sale.order.lines}))).scalars()}
    for sale in sales:
        for line in sale.order.lines:
            value = line.line_total - line.unit_price * line.returned_quantity
            quantity = line.quantity - line.returned_quantity
            gmv += value
            group = products[line.product_id].group_code
            g = by_group.setdefault(group, {"group": group, "quantity": 0, "value": 0})
            g["quantity"] += quantity
            g["value"] += value
            p = by_producer.setdefault(line.producer_id, {"producer_id": line.producer_id, "quantity": 0, "value": 0,
                                                          "orders": 0})
            p["quantity"] += quantity
            p["value"] += value
        for producer_id in {line.producer_id for line in sale.order.lines}:
            by_producer[producer_id]["orders"] += 1
    deals = db.session.execute(select(func.count(FairDeal.id), func.coalesce(func.sum(FairDeal.value), 0))
                               .where(FairDeal.event_id == event.id, FairDeal.status != "lapsed")).one()
    return {"event_id": event.id, "slug": event.slug, "name": event.name, "status": event.status,
            "exhibitors": len({a.producer_id for a in assignments}),
            "booths": len(booths), "booths_filled": len({a.booth_id for a in assignments}),
            "gmv": gmv, "orders": len(sales),
            "sales_by_group": sorted(by_group.values(), key=lambda g: -g["value"]),
            "sales_by_producer": sorted(by_producer.values(), key=lambda p: -p["value"]),
            "visitors": trade.visitor_figures(event)["total"], "deals": int(deals[0]), "deals_value": int(deals[1])}


def province_year(user: User, args: dict) -> dict:
    """Rounds of OCOP booths (exhibitor places at events that ran) in a province's year, against ``target``."""
    province = args.get("province") or (user.province_code if user.role == "organiser" else None)
    if province is None:
        raise invalid("province", "thiếu mã tỉnh", "province is required")
    access.require_organiser_province(user, province)
    year = args["year"]
    events = db.session.execute(select(FairEvent).where(
        FairEvent.province_code == province, FairEvent.status.in_(RAN),
        FairEvent.starts_on >= dt.date(year, 1, 1), FairEvent.starts_on <= dt.date(year, 12, 31))
        .order_by(FairEvent.starts_on)).scalars().all()
    ids = [e.id for e in events]
    assignments = db.session.execute(select(FairAssignment).where(FairAssignment.event_id.in_(ids))).scalars().all() \
        if ids else []
    gmv_by_event: dict[int, int] = defaultdict(int)
    for sale in _sales(ids) if ids else []:
        gmv_by_event[sale.event_id] += sum(l.line_total - l.unit_price * l.returned_quantity for l in sale.order.lines)
    rounds = len(assignments)
    target = args.get("target")
    return {"province_code": province, "year": year, "events": len(events), "booth_rounds": rounds,
            "target": target, "target_reached": (rounds >= target) if target else None,
            "producers": len({a.producer_id for a in assignments}), "gmv": sum(gmv_by_event.values()),
            "items": [{"event_id": e.id, "slug": e.slug, "name": e.name, "kind": e.kind, "starts_on": e.starts_on.isoformat(),
                       "booth_rounds": sum(1 for a in assignments if a.event_id == e.id),
                       "gmv": gmv_by_event.get(e.id, 0)} for e in events]}


PROVINCE_COLUMNS = (("slug", "Mã / Slug"), ("name", "Sự kiện / Event"), ("kind", "Loại / Kind"),
                    ("starts_on", "Khai mạc / Opens"), ("booth_rounds", "Lượt gian OCOP / Booth rounds"),
                    ("gmv", "Doanh thu / GMV (VND)"))


def province_rows(report: dict) -> list[list]:
    rows = [["Tỉnh / Province", report["province_code"], "Năm / Year", report["year"]],
            ["Lượt gian OCOP / Booth rounds", report["booth_rounds"], "Chỉ tiêu / Target", report["target"]],
            [], [label for _, label in PROVINCE_COLUMNS]]
    rows += [[str(item[k]) if k == "starts_on" else item[k] for k, _ in PROVINCE_COLUMNS] for item in report["items"]]
    return [[safe_cell(cell) for cell in row] for row in rows]


def rows_to_csv(rows: list[list]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def rows_to_xlsx(rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
