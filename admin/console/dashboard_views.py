"""Console: the province's OCOP dashboard (charts and tables), filtered by period and administrative unit,
and its XLSX and PDF exports (the same figures as ``GET /admin/v1/reports/province-dashboard``)."""
from __future__ import annotations

import datetime as dt
import json

from flask import Response, request

from admin.console.shell import render
from core.accounts.security import current_user
from core.geo.units import list_units
from core.sales.province_dashboard import VIEWER_ROLES, province_figures
from core.sales.province_dashboard_exports import figures_pdf, figures_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the provincial plans' reporting periods (6-monthly report before 10 May, yearly before 15 Nov)
PERIODS = {"year": ("Cả năm", "Whole year"), "h1": ("6 tháng đầu năm", "First half"),
           "h2": ("6 tháng cuối năm", "Second half"), "custom": ("Tuỳ chọn", "Custom")}
MAX_UNITS = 500


def add_pages(pages) -> None:
    pages.add_page("/dashboard", dashboard, endpoint="dashboard", roles=VIEWER_ROLES,
                   menu=("Số liệu tỉnh", "Province dashboard"), order=5)
    pages.add_page("/dashboard.xlsx", dashboard_xlsx, endpoint="dashboard_xlsx", roles=VIEWER_ROLES)
    pages.add_page("/dashboard.pdf", dashboard_pdf, endpoint="dashboard_pdf", roles=VIEWER_ROLES)


def _date(name: str) -> dt.date | None:
    value = (request.args.get(name) or "").strip()
    try:
        return dt.date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


def _code(name: str, length: int) -> str | None:
    value = (request.args.get(name) or "").strip()
    return value if value.isdigit() and len(value) <= length else None


def _args() -> dict:
    """The query string as the figures' filters (a malformed value is ignored, as if absent)."""
    year = request.args.get("year", "")
    year = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else None
    period = request.args.get("period", "year")
    date_from, date_to = None, None
    if year and period == "h1":
        date_from, date_to = dt.date(year, 1, 1), dt.date(year, 6, 30)
    elif year and period == "h2":
        date_from, date_to = dt.date(year, 7, 1), dt.date(year, 12, 31)
    elif period == "custom":
        date_from, date_to = _date("from"), _date("to")
    return {"province_code": _code("province", 5), "year": year, "unit_code": _code("unit", 10),
            "date_from": date_from, "date_to": date_to}


def dashboard():
    figures = province_figures(current_user(), **_args())
    units = list_units({"level": "commune", "parent": figures["province_code"], "page": 1, "limit": MAX_UNITS})["results"] \
        if figures["province_code"] else []
    return render("console/dashboard.html", f=figures, units=units, periods=PERIODS,
                  period=request.args.get("period", "year") if request.args.get("period") in PERIODS else "year",
                  chart_data=json.dumps(_chart_data(figures), ensure_ascii=False).replace("<", "\\u003c"))


def _file_name(figures: dict, extension: str) -> str:
    place = figures["unit_code"] or figures["province_code"] or "all"
    return f"ocop-{place}-{figures['date_from']}-{figures['date_to']}.{extension}"


def dashboard_xlsx():
    figures = province_figures(current_user(), **_args())
    return Response(figures_workbook(figures), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{_file_name(figures, "xlsx")}"'})


def dashboard_pdf():
    figures = province_figures(current_user(), **_args())
    return Response(figures_pdf(figures), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{_file_name(figures, "pdf")}"'})


def _chart_data(f: dict) -> dict:
    """Only what the charts draw (the tables carry the rest)."""
    stars = f["products_by_stars"]["totals"]
    gmv = f["gmv_by_channel_month"]
    return {
        "stars": {"labels": ["3★", "4★", "5★"], "values": [stars.get("3", 0), stars.get("4", 0), stars.get("5", 0)]},
        "groups": {"labels": [g["name"] for g in f["products_by_group"]],
                   "values": [g["products"] for g in f["products_by_group"]],
                   "targets": [g["target"] for g in f["products_by_group"]]},
        "mix": {"labels": [m["name"] for m in f["producer_mix"]["forms"]],
                "values": [m["producers"] for m in f["producer_mix"]["forms"]]},
        "gmv": {"labels": gmv["months"],
                "series": [{"label": c["code"], "values": [r["gmv"] for r in gmv["rows"] if r["channel"] == c["code"]]}
                           for c in gmv["channels"]]},
    }
